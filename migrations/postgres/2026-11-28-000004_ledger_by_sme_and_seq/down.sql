CREATE INDEX ledger_by_sme ON ledger_entries (sme_id, posted_at, seq);
DROP INDEX ledger_by_sme_seq;
