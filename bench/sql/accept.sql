-- POST /items/{id}/accept, as the service sends it to PostgreSQL (captured with
-- log_statement = all), without the pool's `SELECT 1` check-out probes. The entry's hash is
-- computed by the database here, by the service in Rust. Variables: :pm (the program
-- manager's id). The items come from bench_queue (made by bench/run), one per transaction.
SELECT item_id FROM bench_queue WHERE n = (SELECT nextval('bench_queue_seq')) \gset
-- The token check reads the account:
SELECT "users"."id", "users"."email", "users"."display_name", "users"."role", "users"."password_hash", "users"."disabled", "users"."must_change_password", "users"."token_version", "users"."created_at", "users"."updated_at" FROM "users" WHERE ("users"."id" = :pm) LIMIT 1;
BEGIN;
SELECT "items"."id", "items"."sme_id", "items"."exam_code", "items"."exam_tier", "items"."item_type", "items"."authoring_channel", "items"."external_ref", "items"."blueprint_objective", "items"."status", "items"."eligible", "items"."ineligible_reason", "items"."credits_awarded", "items"."submitted_at", "items"."decided_at", "items"."decided_by", "items"."decision_reason" FROM "items" WHERE ("items"."id" = :item_id) LIMIT 1 \gset i_
SELECT "item_rates"."id", "item_rates"."exam_tier", "item_rates"."item_type", "item_rates"."credits", "item_rates"."effective_from", "item_rates"."created_at", "item_rates"."created_by" FROM "item_rates" WHERE ((("item_rates"."exam_tier" = :i_exam_tier) AND ("item_rates"."item_type" = :i_item_type)) AND ("item_rates"."effective_from" <= CURRENT_DATE)) \gset r_
UPDATE "items" SET "status" = 'accepted', "decided_at" = now(), "decided_by" = :pm, "decision_reason" = NULL WHERE (("items"."id" = :item_id) AND ("items"."status" = 'submitted'));
UPDATE "items" SET "credits_awarded" = :r_credits WHERE ("items"."id" = :item_id);
UPDATE "chain_heads" SET "seq" = "chain_heads"."seq" WHERE ("chain_heads"."chain" = 'ledger');
SELECT "chain_heads"."seq" AS head_seq, "chain_heads"."hash" AS head_hash FROM "chain_heads" WHERE ("chain_heads"."chain" = 'ledger') LIMIT 1 \gset
\set next_seq :head_seq + 1
INSERT INTO "ledger_entries" ("seq", "id", "sme_id", "kind", "amount", "rate_id", "item_id", "posted_at", "posted_by", "prev_hash", "hash") VALUES (:next_seq::bigint, gen_random_uuid()::text, :i_sme_id::text, 'item_award', :r_credits::bigint, :r_id::text, :item_id::text, now(), :pm::text, :head_hash::text, encode(sha256(convert_to(:head_hash::text || :item_id::text || :next_seq::text, 'UTF8')), 'hex')) RETURNING "hash" AS new_hash \gset
UPDATE "chain_heads" SET "seq" = :next_seq, "hash" = :new_hash WHERE ("chain_heads"."chain" = 'ledger');
SELECT "items"."id", "items"."sme_id", "items"."exam_code", "items"."exam_tier", "items"."item_type", "items"."authoring_channel", "items"."external_ref", "items"."blueprint_objective", "items"."status", "items"."eligible", "items"."ineligible_reason", "items"."credits_awarded", "items"."submitted_at", "items"."decided_at", "items"."decided_by", "items"."decision_reason" FROM "items" WHERE ("items"."id" = :item_id) LIMIT 1;
UPDATE "chain_heads" SET "seq" = "chain_heads"."seq" WHERE ("chain_heads"."chain" = 'audit');
SELECT "chain_heads"."seq" AS audit_seq, "chain_heads"."hash" AS audit_hash FROM "chain_heads" WHERE ("chain_heads"."chain" = 'audit') LIMIT 1 \gset
\set next_audit :audit_seq + 1
INSERT INTO "audit_events" ("seq", "id", "occurred_at", "actor_id", "actor_role", "action", "outcome", "status", "target_type", "target_id", "request_id", "details", "prev_hash", "hash") VALUES (:next_audit::bigint, gen_random_uuid()::text, now(), :pm::text, 'program_manager', 'item.accepted', 'ok', 200, 'item', :item_id::text, gen_random_uuid()::text, json_build_object('amount', :r_credits::bigint, 'from_status', 'submitted', 'ledger_entry_id', :item_id::text, 'reason', NULL, 'to_status', 'accepted')::text, :audit_hash::text, encode(sha256(convert_to(:audit_hash::text || :item_id::text || :next_audit::text, 'UTF8')), 'hex')) RETURNING "hash" AS new_audit_hash \gset
UPDATE "chain_heads" SET "seq" = :next_audit, "hash" = :new_audit_hash WHERE ("chain_heads"."chain" = 'audit');
COMMIT;
