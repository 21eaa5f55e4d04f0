-- The dbcreds vault, schema 5: sources (docs/team.md).
-- A source is a shared secret store an environment's secret comes from
-- (OpenBao/Vault, AWS). Its configuration holds no secret; its login secret
-- (a token, an AppRole secret-id, a userpass password) is sealed with the
-- data key like a password, with associated data 'source:' || name.
--   spec          JSON of dbcreds_sources::SourceSpec
--   sealed_login  NULL for sources that log in without one (aws)
CREATE TABLE sources (
    name          TEXT PRIMARY KEY NOT NULL,
    spec          TEXT NOT NULL,
    sealed_login  BLOB,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- Where an environment's password comes from when not sealed_password:
-- JSON {"kind", "source", "location", "cache_for_secs"}; NULL for a stored
-- password. The agent never stores what it fetches.
ALTER TABLE environments ADD COLUMN source TEXT;
