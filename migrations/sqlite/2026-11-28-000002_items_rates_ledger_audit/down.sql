DROP TABLE idempotency_keys;
DROP TABLE chain_heads;
DROP TABLE audit_events;
DROP TABLE ledger_entries;
DROP TABLE workshops;
DROP TABLE items;
DROP TABLE workshop_rates;
DROP TABLE item_rates;
