DROP INDEX account_tokens_by_expiry;
DROP INDEX login_throttle_by_window;
DROP INDEX idempotency_keys_by_age;
DROP INDEX refresh_tokens_by_expiry;
