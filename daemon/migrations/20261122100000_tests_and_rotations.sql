-- The dbcreds vault, schema 2: connection tests and password rotations.
-- Both live in tables of their own, keyed by environment name, so replacing
-- an environment's row (put/update) never wipes them; removing an
-- environment removes its rows here in the same transaction.

-- The outcome of the last `dbcreds test` of an environment (or of the login
-- a rotation verified with). No secret here.
CREATE TABLE environment_tests (
    name       TEXT PRIMARY KEY NOT NULL,
    at         INTEGER NOT NULL,
    ok         INTEGER NOT NULL,
    detail     TEXT NOT NULL,
    latency_ms INTEGER NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    tls        INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The password-rotation state machine, one row per environment ever rotated
-- (in the manner of AWS Secrets Manager's AWSPENDING/AWSCURRENT/AWSPREVIOUS):
--   pending   the new password is stored here; the server may not have it yet
--   set       the server accepted it (ALTER ROLE / ALTER USER returned)
--   verified  a login with it worked
--   done      promoted: environments.sealed_password holds it, sealed_previous
--             the password it replaced
--   rolled_back, restored_previous   an interrupted rotation was undone
-- sealed_pending and sealed_previous are AES-256-GCM sealed under the data key
-- like environments.sealed_password, with associated data of their own
-- ("dbcreds/v1/rotation/pending/<name>", ".../previous/<name>"), so neither
-- can be passed off as a current password.
CREATE TABLE rotations (
    name            TEXT PRIMARY KEY NOT NULL,
    state           TEXT NOT NULL CHECK (state IN
                        ('pending', 'set', 'verified', 'done', 'rolled_back', 'restored_previous')),
    sealed_pending  BLOB,
    sealed_previous BLOB,
    admin           TEXT,
    started_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
