-- The dbcreds vault, schema 3: how each environment logs in.
--   auth              'password' (a sealed password), 'none' (trust/peer, a
--                     SQLite file) or 'cert' (a client certificate in the
--                     options); the sealed password of 'none' and 'cert' is
--                     the empty string
--   password_missing  1 for a 'password' environment whose password was never
--                     given (imported from metadata alone): Get refuses it
ALTER TABLE environments ADD COLUMN auth TEXT NOT NULL DEFAULT 'password'
    CHECK (auth IN ('password', 'none', 'cert'));
ALTER TABLE environments ADD COLUMN password_missing INTEGER NOT NULL DEFAULT 0;
-- SQLite files had no password of their own before; they are 'none' now.
UPDATE environments SET auth = 'none' WHERE kind = 'sqlite';
