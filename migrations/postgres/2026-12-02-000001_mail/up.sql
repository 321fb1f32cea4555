-- Email: the transactional outbox, one-time account links (invitations, password resets),
-- and each user's notice preferences.

-- Messages to send, inserted in the same transaction as the change that causes them and sent
-- by a background worker. `cause` names that change (one message per cause, ever);
-- `message_id` is fixed at insert, so a resend after an unknown outcome reuses it.
-- `payload` holds what the templates need (including a one-time link's token until the
-- message is sent, when it is cleared).
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    cause TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    user_id TEXT REFERENCES users (id),
    recipient TEXT NOT NULL,
    recipient_name TEXT NOT NULL,
    payload TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    -- While `sending`: until when the claiming worker holds the message; after that another
    -- worker may take it (the first one died with the outcome unknown).
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_creation ON outbox (created_at, id);

-- One-time links sent by email: SHA-256 of the token only, single use, with an expiry.
CREATE TABLE account_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX account_tokens_by_user ON account_tokens (user_id, purpose);

-- Notices about one's own items and credits (invitations and resets always go).
ALTER TABLE users ADD COLUMN notify BOOLEAN NOT NULL DEFAULT TRUE;
-- Program managers: a daily digest of the review queue.
ALTER TABLE users ADD COLUMN review_digest BOOLEAN NOT NULL DEFAULT FALSE;
-- Invited, and the invitation not used yet: nobody knows a password of the account.
ALTER TABLE users ADD COLUMN invitation_pending BOOLEAN NOT NULL DEFAULT FALSE;
