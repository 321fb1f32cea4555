-- Rates, items, workshops, the ledger, the audit log, chain heads and idempotency keys.
-- Append-only tables (rates, ledger entries, audit events) refuse UPDATE and DELETE by
-- trigger, so not even plain SQL access can rewrite them.

CREATE TABLE item_rates (
    id TEXT PRIMARY KEY NOT NULL,
    exam_tier TEXT NOT NULL CHECK (exam_tier IN ('associate', 'specialist', 'technology_core', 'ccie_lab')),
    item_type TEXT NOT NULL CHECK (item_type IN ('standard', 'performance')),
    credits BIGINT NOT NULL CHECK (credits >= 0),
    effective_from DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT REFERENCES users (id),
    CHECK (NOT (exam_tier = 'ccie_lab' AND item_type = 'standard'))
);
CREATE INDEX item_rates_lookup ON item_rates (exam_tier, item_type, effective_from, created_at);
CREATE INDEX item_rates_by_creation ON item_rates (created_at, id);

-- The published schedule (SPEC §3), in force from the beginning.
INSERT INTO item_rates (id, exam_tier, item_type, credits, effective_from, created_at, created_by) VALUES
    ('00000000-0000-4000-8000-000000000001', 'associate', 'standard', 1, '1970-01-01', '2026-11-28 00:00:00', NULL),
    ('00000000-0000-4000-8000-000000000002', 'associate', 'performance', 4, '1970-01-01', '2026-11-28 00:00:00', NULL),
    ('00000000-0000-4000-8000-000000000003', 'specialist', 'standard', 3, '1970-01-01', '2026-11-28 00:00:00', NULL),
    ('00000000-0000-4000-8000-000000000004', 'specialist', 'performance', 6, '1970-01-01', '2026-11-28 00:00:00', NULL),
    ('00000000-0000-4000-8000-000000000005', 'technology_core', 'standard', 3, '1970-01-01', '2026-11-28 00:00:00', NULL),
    ('00000000-0000-4000-8000-000000000006', 'technology_core', 'performance', 6, '1970-01-01', '2026-11-28 00:00:00', NULL),
    ('00000000-0000-4000-8000-000000000007', 'ccie_lab', 'performance', 12, '1970-01-01', '2026-11-28 00:00:00', NULL);

-- No values ship: an admin publishes them.
CREATE TABLE workshop_rates (
    id TEXT PRIMARY KEY NOT NULL,
    certification_level TEXT NOT NULL
        CHECK (certification_level IN ('entry', 'associate', 'specialist', 'professional', 'expert')),
    credits_per_day BIGINT NOT NULL CHECK (credits_per_day >= 0),
    effective_from DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT REFERENCES users (id)
);
CREATE INDEX workshop_rates_lookup ON workshop_rates (certification_level, effective_from, created_at);
CREATE INDEX workshop_rates_by_creation ON workshop_rates (created_at, id);

CREATE TABLE items (
    id TEXT PRIMARY KEY NOT NULL,
    sme_id TEXT NOT NULL REFERENCES users (id),
    exam_code TEXT NOT NULL,
    exam_tier TEXT NOT NULL CHECK (exam_tier IN ('associate', 'specialist', 'technology_core', 'ccie_lab')),
    item_type TEXT NOT NULL CHECK (item_type IN ('standard', 'performance')),
    authoring_channel TEXT NOT NULL CHECK (authoring_channel IN ('sme_program', 'external_vendor')),
    external_ref TEXT NOT NULL UNIQUE,
    blueprint_objective TEXT,
    status TEXT NOT NULL CHECK (status IN ('submitted', 'accepted', 'rejected', 'withdrawn', 'revoked')),
    eligible BOOLEAN NOT NULL,
    ineligible_reason TEXT,
    credits_awarded BIGINT,
    submitted_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by TEXT REFERENCES users (id),
    decision_reason TEXT,
    CHECK (NOT (exam_tier = 'ccie_lab' AND item_type = 'standard'))
);
CREATE INDEX items_by_submission ON items (submitted_at, id);
CREATE INDEX items_by_sme ON items (sme_id, submitted_at, id);
CREATE INDEX items_by_status ON items (status, submitted_at, id);

CREATE TABLE workshops (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('mqc', 'jta')),
    title TEXT NOT NULL,
    certification_level TEXT NOT NULL
        CHECK (certification_level IN ('entry', 'associate', 'specialist', 'professional', 'expert')),
    exam_code TEXT,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    CHECK (starts_on <= ends_on)
);
CREATE INDEX workshops_by_start ON workshops (starts_on, id);

-- The ledger. `seq` is gapless: it is assigned under the lock on chain_heads('ledger').
CREATE TABLE ledger_entries (
    seq BIGINT PRIMARY KEY NOT NULL CHECK (seq >= 1),
    id TEXT NOT NULL UNIQUE,
    sme_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('item_award', 'workshop_day', 'reversal')),
    amount BIGINT NOT NULL,
    rate_id TEXT,
    item_id TEXT REFERENCES items (id),
    workshop_id TEXT REFERENCES workshops (id),
    day DATE,
    -- Each entry can be reversed once: the column is unique.
    reverses_entry_id TEXT UNIQUE REFERENCES ledger_entries (id),
    reason TEXT,
    posted_at TIMESTAMP NOT NULL,
    posted_by TEXT NOT NULL REFERENCES users (id),
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    CHECK (kind = 'reversal' OR reverses_entry_id IS NULL),
    CHECK (kind <> 'reversal' OR (reverses_entry_id IS NOT NULL AND reason IS NOT NULL)),
    CHECK (kind <> 'item_award' OR (item_id IS NOT NULL AND rate_id IS NOT NULL AND amount >= 0)),
    CHECK (kind <> 'workshop_day' OR (workshop_id IS NOT NULL AND day IS NOT NULL AND rate_id IS NOT NULL AND amount >= 0))
);
-- Exactly once: an item yields at most one award, whatever the concurrency or retries.
CREATE UNIQUE INDEX ledger_one_award_per_item ON ledger_entries (item_id) WHERE kind = 'item_award';
CREATE INDEX ledger_by_sme ON ledger_entries (sme_id, posted_at, seq);
CREATE INDEX ledger_by_kind ON ledger_entries (kind, seq);
CREATE INDEX ledger_by_posting ON ledger_entries (posted_at, seq);

-- The audit log, chained like the ledger.
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY NOT NULL CHECK (seq >= 1),
    id TEXT NOT NULL UNIQUE,
    occurred_at TIMESTAMP NOT NULL,
    actor_id TEXT REFERENCES users (id),
    actor_role TEXT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused')),
    status BIGINT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    request_id TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_by_target ON audit_events (target_type, target_id, seq);
CREATE INDEX audit_by_actor ON audit_events (actor_id, seq);
CREATE INDEX audit_by_time ON audit_events (occurred_at, seq);

-- The last link of each chain. Appending locks the row, so links are numbered one by one;
-- verification also checks that the chain really ends here (nothing cut off its tail).
CREATE TABLE chain_heads (
    chain TEXT PRIMARY KEY NOT NULL CHECK (chain IN ('ledger', 'audit')),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO chain_heads (chain, seq, hash) VALUES
    ('ledger', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('audit', 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Idempotency-Key records, per user. The response is stored in the effect's transaction.
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL REFERENCES users (id),
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'completed')),
    response_status BIGINT,
    response_body TEXT,
    response_location TEXT,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,
    PRIMARY KEY (user_id, key)
);

CREATE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER item_rates_append_only BEFORE UPDATE OR DELETE ON item_rates
    FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER item_rates_no_truncate BEFORE TRUNCATE ON item_rates
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER workshop_rates_append_only BEFORE UPDATE OR DELETE ON workshop_rates
    FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER workshop_rates_no_truncate BEFORE TRUNCATE ON workshop_rates
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();
