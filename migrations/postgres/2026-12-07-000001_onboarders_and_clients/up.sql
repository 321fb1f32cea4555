-- Separation of duties (SPEC §2). An account's onboarders: everyone who sent it an
-- invitation (first or re-sent), created it, or set its password for its owner. They never
-- decide items, log attendance or approve claims for it. Kept for good (append-only): a later
-- reset link goes to a mailbox an onboarder may control.
CREATE TABLE onboarders (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    onboarder_id TEXT NOT NULL REFERENCES users (id),
    how TEXT NOT NULL CHECK (how IN ('invited', 'created', 'set_password')),
    at TIMESTAMP NOT NULL
);
CREATE INDEX onboarders_by_user ON onboarders (user_id, onboarder_id);

-- What the audit log already says of earlier releases' onboarding (actions by an operator at
-- the command line name no account, and so no onboarder).
INSERT INTO onboarders (id, user_id, onboarder_id, how, at)
SELECT 'audit-' || seq, target_id, actor_id,
       CASE action WHEN 'user.invited' THEN 'invited'
                   WHEN 'user.created' THEN 'created'
                   ELSE 'set_password' END,
       occurred_at
FROM audit_events
WHERE outcome = 'ok' AND target_type = 'user' AND actor_id IS NOT NULL AND target_id IS NOT NULL
  AND target_id <> actor_id
  AND (action IN ('user.invited', 'user.created')
       OR (action = 'user.updated' AND (details::jsonb ->> 'password_reset') = 'true'))
  AND EXISTS (SELECT 1 FROM users WHERE users.id = audit_events.target_id)
  AND EXISTS (SELECT 1 FROM users WHERE users.id = audit_events.actor_id);

CREATE TRIGGER onboarders_append_only BEFORE UPDATE OR DELETE ON onboarders
    FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER onboarders_no_truncate BEFORE TRUNCATE ON onboarders
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();

-- The clients (address and user agent) accounts signed in from, and those of each account's
-- first sign-in and password changes: the separation-of-duties report compares them. One row
-- per account, kind and client.
CREATE TABLE account_clients (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('sign_in', 'first_sign_in', 'password_change')),
    address TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    first_seen_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX account_clients_once ON account_clients (user_id, kind, address, user_agent);
CREATE INDEX account_clients_by_client ON account_clients (address, user_agent, kind);
