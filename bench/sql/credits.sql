-- GET /me/credits, as the service sends it to PostgreSQL (captured from the connection by
-- tests/api/reports.rs), without the pool's `SELECT 1` check-out probes. The values the service
-- binds are variables here too, so that pgbench -M prepared plans the statements as the
-- service's are planned: :sme (the SME's id), :as_of (now), :head (the ledger's last seq),
-- :one (1), :chain ('ledger').
-- The token check reads the account:
SELECT "users"."id", "users"."email", "users"."display_name", "users"."role", "users"."password_hash", "users"."disabled", "users"."must_change_password", "users"."token_version", "users"."created_at", "users"."updated_at" FROM "users" WHERE ("users"."id" = :sme) LIMIT :one;
-- `ledger::settle`: the head and when it was posted; then, since `as_of` is now, a wait for
-- any posting in flight (the head shared) and the database's clock:
SELECT "chain_heads"."seq", "chain_heads"."hash" FROM "chain_heads" WHERE ("chain_heads"."chain" = :chain) LIMIT :one;
SELECT "ledger_entries"."posted_at" FROM "ledger_entries" WHERE ("ledger_entries"."seq" = :head) LIMIT :one;
BEGIN;
SELECT seq FROM chain_heads WHERE chain = :chain FOR SHARE;
SELECT CAST(clock_timestamp() AT TIME ZONE 'UTC' AS timestamp);
COMMIT;
-- The SME's entries added up by kind, by the tier and type of the item an award names and
-- by the level of the workshop a day names (`ledger::credit_subtotals`):
SELECT entry_groups.kind AS kind, CASE WHEN entry_groups.kind = 'item_award' THEN (SELECT items.exam_tier FROM items WHERE items.id = entry_groups.item_id) END AS exam_tier, CASE WHEN entry_groups.kind = 'item_award' THEN (SELECT items.item_type FROM items WHERE items.id = entry_groups.item_id) END AS item_type, CASE WHEN entry_groups.kind = 'workshop_day' THEN (SELECT workshops.certification_level FROM workshops WHERE workshops.id = entry_groups.workshop_id) END AS certification_level, entry_groups.item_id IS NOT NULL AS names_item, entry_groups.workshop_id IS NOT NULL AS names_workshop, CAST(SUM(entry_groups.entries) AS BIGINT) AS entries, CAST(SUM(entry_groups.credits) AS BIGINT) AS credits FROM (SELECT ledger_entries.kind AS kind, ledger_entries.item_id AS item_id, ledger_entries.workshop_id AS workshop_id, COUNT(*) AS entries, CAST(SUM(ledger_entries.amount) AS BIGINT) AS credits FROM ledger_entries WHERE ledger_entries.sme_id = :sme AND ledger_entries.posted_at <= :as_of GROUP BY ledger_entries.kind, ledger_entries.item_id, ledger_entries.workshop_id) AS entry_groups GROUP BY 1, 2, 3, 4, 5, 6;
