-- The dbcreds vault, schema 1.
-- Non-secret fields are plain columns so listing and auditing need no unlock;
-- each password is AES-256-GCM sealed (nonce || ciphertext) under the data key
-- with the environment name as associated data.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

-- How the data key is unlocked. keyring: the key sits in the OS keyring under
-- (service "dbcreds", user = vault id), wrapped_key is NULL. passphrase:
-- params holds the Argon2id parameters and salt, wrapped_key the sealed key.
CREATE TABLE unlockers (
    kind        TEXT PRIMARY KEY NOT NULL CHECK (kind IN ('keyring', 'passphrase')),
    params      TEXT NOT NULL,
    wrapped_key BLOB
) STRICT;

CREATE TABLE environments (
    name                TEXT PRIMARY KEY NOT NULL,
    kind                TEXT NOT NULL,
    host                TEXT NOT NULL,
    port                INTEGER NOT NULL,
    database            TEXT NOT NULL,
    username            TEXT NOT NULL,
    options             TEXT NOT NULL DEFAULT '{}',
    production          INTEGER NOT NULL DEFAULT 0,
    description         TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    password_updated_at INTEGER NOT NULL,
    expires_days        INTEGER,
    sealed_password     BLOB NOT NULL
) STRICT;

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    environment TEXT NOT NULL,
    operation   TEXT NOT NULL,
    client_pid  INTEGER,
    client_uid  INTEGER,
    client_exe  TEXT,
    outcome     TEXT NOT NULL
) STRICT;

CREATE INDEX audit_by_env_time ON audit (environment, at);
