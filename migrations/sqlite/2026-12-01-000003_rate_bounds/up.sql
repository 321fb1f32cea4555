-- The database refuses what the code refuses: a rate is 0 to 1,000 credits (domain::Credits).
-- SQLite cannot add a CHECK to an existing table, so triggers check new versions (rates are
-- append-only: no version is ever updated).
CREATE TRIGGER item_rates_credits_in_range BEFORE INSERT ON item_rates
WHEN NEW.credits < 0 OR NEW.credits > 1000
BEGIN SELECT RAISE(ABORT, 'item_rates.credits must be 0 to 1000'); END;
CREATE TRIGGER workshop_rates_credits_in_range BEFORE INSERT ON workshop_rates
WHEN NEW.credits_per_day < 0 OR NEW.credits_per_day > 1000
BEGIN SELECT RAISE(ABORT, 'workshop_rates.credits_per_day must be 0 to 1000'); END;
