-- Recertification (SPEC §10): requirement versions by level (append-only, like the rates),
-- each SME's certifications, and the cycles of each certification (append-only: a renewal
-- adds a cycle, it never rewrites one).

CREATE TABLE recertification_requirements (
    id TEXT PRIMARY KEY NOT NULL,
    -- Entry-level certifications cannot be renewed with CE credits: no requirement exists.
    certification_level TEXT NOT NULL
        CHECK (certification_level IN ('associate', 'specialist', 'professional', 'expert')),
    credits BIGINT NOT NULL CHECK (credits >= 0 AND credits <= 1000),
    effective_from DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT REFERENCES users (id)
);
CREATE INDEX recertification_requirements_lookup
    ON recertification_requirements (certification_level, effective_from, created_at);
CREATE INDEX recertification_requirements_by_creation ON recertification_requirements (created_at, id);

-- The published program values (SPEC §10), in force from the beginning: credits over a
-- 3-year cycle. Published "at the beginning" too, so that any `as_of` sees them.
INSERT INTO recertification_requirements (id, certification_level, credits, effective_from, created_at, created_by) VALUES
    ('00000000-0000-4000-8000-000000000101', 'associate', 30, '1970-01-01', '1970-01-01 00:00:00', NULL),
    ('00000000-0000-4000-8000-000000000102', 'specialist', 40, '1970-01-01', '1970-01-01 00:00:00', NULL),
    ('00000000-0000-4000-8000-000000000103', 'professional', 80, '1970-01-01', '1970-01-01 00:00:00', NULL),
    ('00000000-0000-4000-8000-000000000104', 'expert', 120, '1970-01-01', '1970-01-01 00:00:00', NULL);

-- An SME's certifications. `cycle_starts_on` and `expires_on` repeat the current (latest)
-- cycle, for lists and the report; `certification_cycles` is the history.
CREATE TABLE certifications (
    id TEXT PRIMARY KEY NOT NULL,
    sme_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    -- The name compared for duplicates: case-folded, spaces collapsed.
    name_key TEXT NOT NULL,
    level TEXT NOT NULL
        CHECK (level IN ('entry', 'associate', 'specialist', 'professional', 'expert')),
    certified_on DATE NOT NULL,
    cycle_starts_on DATE NOT NULL,
    expires_on DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL,
    CHECK (certified_on <= cycle_starts_on),
    CHECK (cycle_starts_on < expires_on)
);
CREATE UNIQUE INDEX certifications_one_name_per_sme ON certifications (sme_id, name_key);
CREATE INDEX certifications_by_expiry ON certifications (expires_on, sme_id);

CREATE TABLE certification_cycles (
    id TEXT PRIMARY KEY NOT NULL,
    certification_id TEXT NOT NULL REFERENCES certifications (id),
    starts_on DATE NOT NULL,
    expires_on DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    CHECK (starts_on < expires_on)
);
CREATE UNIQUE INDEX certification_cycles_one_per_start ON certification_cycles (certification_id, starts_on);

CREATE TRIGGER recertification_requirements_no_update BEFORE UPDATE ON recertification_requirements
BEGIN SELECT RAISE(ABORT, 'recertification_requirements is append-only'); END;
CREATE TRIGGER recertification_requirements_no_delete BEFORE DELETE ON recertification_requirements
BEGIN SELECT RAISE(ABORT, 'recertification_requirements is append-only'); END;
CREATE TRIGGER certification_cycles_no_update BEFORE UPDATE ON certification_cycles
BEGIN SELECT RAISE(ABORT, 'certification_cycles is append-only'); END;
CREATE TRIGGER certification_cycles_no_delete BEFORE DELETE ON certification_cycles
BEGIN SELECT RAISE(ABORT, 'certification_cycles is append-only'); END;
