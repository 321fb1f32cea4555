-- GET /me/credits, as the service sends it to PostgreSQL (captured with log_statement = all),
-- without the pool's `SELECT 1` check-out probes. The values the service binds are variables
-- here too, so that pgbench -M prepared plans the statements as the service's are planned:
-- :sme (the SME's id), :as_of (now), :first (0), :last (the seq of the SME's 1,000th entry,
-- where the second, empty page starts), :batch (1000), :one (1), :workshops (the ids of the
-- workshops the first page names, as a PostgreSQL array literal).
-- The token check reads the account:
SELECT "users"."id", "users"."email", "users"."display_name", "users"."role", "users"."password_hash", "users"."disabled", "users"."must_change_password", "users"."token_version", "users"."created_at", "users"."updated_at" FROM "users" WHERE ("users"."id" = :sme) LIMIT :one;
-- The tier and type of the SME's items:
SELECT "items"."id", "items"."exam_tier", "items"."item_type" FROM "items" WHERE ("items"."sme_id" = :sme);
-- The entries, a page of 1,000 at a time until a page comes back short, each followed by the
-- levels of the workshops it names that are not yet known:
SELECT "ledger_entries"."seq", "ledger_entries"."kind", "ledger_entries"."amount", "ledger_entries"."item_id", "ledger_entries"."workshop_id" FROM "ledger_entries" WHERE ((("ledger_entries"."seq" > :first) AND ("ledger_entries"."sme_id" = :sme)) AND ("ledger_entries"."posted_at" <= :as_of)) ORDER BY "ledger_entries"."seq" ASC LIMIT :batch;
SELECT "workshops"."id", "workshops"."certification_level" FROM "workshops" WHERE ("workshops"."id" = ANY(:workshops));
SELECT "ledger_entries"."seq", "ledger_entries"."kind", "ledger_entries"."amount", "ledger_entries"."item_id", "ledger_entries"."workshop_id" FROM "ledger_entries" WHERE ((("ledger_entries"."seq" > :last) AND ("ledger_entries"."sme_id" = :sme)) AND ("ledger_entries"."posted_at" <= :as_of)) ORDER BY "ledger_entries"."seq" ASC LIMIT :batch;
