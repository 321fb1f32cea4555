-- Browser sessions of the web interface (SPEC §9). The cookie holds a random id; only its
-- SHA-256 is stored. The row keeps the user's token_version at sign-in, so disable, role
-- change and password change (which raise it) end the session at once.
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    token_version BIGINT NOT NULL,
    -- The per-session token every form carries.
    csrf_token TEXT NOT NULL,
    -- A one-line message for the next page shown ("Accepted BANK-1 …").
    flash TEXT,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    -- The absolute end; the idle end is last_seen_at plus the idle timeout.
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
