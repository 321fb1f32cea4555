-- The confusable skeleton (Unicode TR39) of each account's email: two addresses that look
-- alike (a Cyrillic "а" for a Latin "a", "rn" for "m") share one, and the unique index lets
-- only one account hold it, however many requests race. Filled by the application (SQL cannot
-- compute it): on insert, and for rows older than this column at service start.
ALTER TABLE users ADD COLUMN email_skeleton TEXT;
CREATE UNIQUE INDEX users_by_email_skeleton ON users (email_skeleton);
