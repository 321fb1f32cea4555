DROP INDEX outbox_by_user;
DROP INDEX outbox_due_by_priority;
ALTER TABLE outbox DROP COLUMN priority;
