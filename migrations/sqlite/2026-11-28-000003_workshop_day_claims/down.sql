DROP TABLE workshop_day_claims;
