-- The dbcreds vault, schema 4: policies, and decisions in the audit log.
-- A policy says how an environment's secret may be revealed
-- (docs/security.md). It lives here, in the vault the agent alone writes
-- while it runs, so a process that can only write the config file cannot
-- weaken it. Removing an environment removes its policy in the same
-- transaction.
--   name               an environment, or '*production' (no environment can
--                      be called that): the default of every production
--                      environment without a policy of its own
--   confirm            'never', 'once-per-session' or 'always'
--   approve_for_secs   how long a once-per-session approval lasts
--   allow              JSON array of canonical executable paths; [] = any
--   max_unlocked_secs  the secret is forgotten this long after an unlock;
--                      NULL = as long as the vault stays unlocked
CREATE TABLE policies (
    name              TEXT PRIMARY KEY NOT NULL,
    confirm           TEXT NOT NULL CHECK (confirm IN ('never', 'once-per-session', 'always')),
    approve_for_secs  INTEGER NOT NULL,
    allow             TEXT NOT NULL DEFAULT '[]',
    max_unlocked_secs INTEGER,
    updated_at        INTEGER NOT NULL
) STRICT;

-- Operation 'decision' (a confirmation's outcome) carries what was decided,
-- by whom and for how long, as JSON; NULL for every other event.
ALTER TABLE audit ADD COLUMN detail TEXT;
