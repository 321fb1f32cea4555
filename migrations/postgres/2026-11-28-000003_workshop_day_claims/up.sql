-- An SME is credited at most once per calendar day of workshop attendance, across all
-- workshops. The primary key enforces it. A claim names the entry that holds the day; when
-- that entry is reversed the claim is released, so the day can be logged again. The ledger
-- itself stays append-only.
CREATE TABLE workshop_day_claims (
    sme_id TEXT NOT NULL REFERENCES users (id),
    day DATE NOT NULL,
    entry_id TEXT NOT NULL UNIQUE REFERENCES ledger_entries (id),
    PRIMARY KEY (sme_id, day)
);
