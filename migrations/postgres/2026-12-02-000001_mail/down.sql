ALTER TABLE users DROP COLUMN invitation_pending;
ALTER TABLE users DROP COLUMN review_digest;
ALTER TABLE users DROP COLUMN notify;
DROP TABLE account_tokens;
DROP TABLE outbox;
