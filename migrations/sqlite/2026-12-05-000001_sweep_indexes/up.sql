-- Housekeeping finds expired rows by age without reading whole tables.
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
CREATE INDEX login_throttle_by_window ON login_throttle (window_started_at);
CREATE INDEX account_tokens_by_expiry ON account_tokens (expires_at);
