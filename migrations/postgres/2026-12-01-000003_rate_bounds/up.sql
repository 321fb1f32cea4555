-- The database refuses what the code refuses: a rate is 0 to 1,000 credits (domain::Credits).
ALTER TABLE item_rates ADD CONSTRAINT item_rates_credits_at_most_1000 CHECK (credits <= 1000);
ALTER TABLE workshop_rates
    ADD CONSTRAINT workshop_rates_credits_at_most_1000 CHECK (credits_per_day <= 1000);
