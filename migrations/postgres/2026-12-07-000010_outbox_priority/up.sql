-- Transactional mail (invitations, password resets) goes before bulk mail (notices,
-- reminders, digests): 0 = transactional, 1 = bulk, set at enqueue from the kind of notice.
-- Rows queued before this migration are given theirs from their kind.
ALTER TABLE outbox ADD COLUMN priority BIGINT NOT NULL DEFAULT 1 CHECK (priority IN (0, 1));
UPDATE outbox SET priority = 0 WHERE kind IN ('invitation', 'password_reset');
-- The worker's claim: due rows of one priority, oldest due first.
CREATE INDEX outbox_due_by_priority ON outbox (status, priority, next_attempt_at);
-- The reminders an SME was sent today (the daily cap).
CREATE INDEX outbox_by_user ON outbox (user_id, kind, created_at);
