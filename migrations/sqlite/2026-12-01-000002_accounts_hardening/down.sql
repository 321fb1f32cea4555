DROP INDEX users_by_email_skeleton;
ALTER TABLE users DROP COLUMN email_skeleton;
