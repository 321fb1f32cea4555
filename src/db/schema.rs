//! Table definitions, restricted to the types both backends share: text ids, `Timestamp`
//! holding UTC, `BigInt` numbers, `Bool`.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_skeleton -> Nullable<Text>,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        must_change_password -> Bool,
        token_version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        notify -> Bool,
        review_digest -> Bool,
        invitation_pending -> Bool,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> BigInt,
        window_started_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    item_rates (id) {
        id -> Text,
        exam_tier -> Text,
        item_type -> Text,
        credits -> BigInt,
        effective_from -> Date,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    workshop_rates (id) {
        id -> Text,
        certification_level -> Text,
        credits_per_day -> BigInt,
        effective_from -> Date,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    items (id) {
        id -> Text,
        sme_id -> Text,
        exam_code -> Text,
        exam_tier -> Text,
        item_type -> Text,
        authoring_channel -> Text,
        external_ref -> Text,
        blueprint_objective -> Nullable<Text>,
        status -> Text,
        eligible -> Bool,
        ineligible_reason -> Nullable<Text>,
        credits_awarded -> Nullable<BigInt>,
        submitted_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decided_by -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
    }
}

diesel::table! {
    workshops (id) {
        id -> Text,
        kind -> Text,
        title -> Text,
        certification_level -> Text,
        exam_code -> Nullable<Text>,
        starts_on -> Date,
        ends_on -> Date,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_entries (seq) {
        seq -> BigInt,
        id -> Text,
        sme_id -> Text,
        kind -> Text,
        amount -> BigInt,
        rate_id -> Nullable<Text>,
        item_id -> Nullable<Text>,
        workshop_id -> Nullable<Text>,
        day -> Nullable<Date>,
        reverses_entry_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        posted_at -> Timestamp,
        posted_by -> Text,
        prev_hash -> Text,
        hash -> Text,
        source_type -> Text,
        source_id -> Text,
        encoding -> Integer,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        id -> Text,
        occurred_at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        action -> Text,
        outcome -> Text,
        status -> BigInt,
        target_type -> Text,
        target_id -> Nullable<Text>,
        request_id -> Text,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    chain_heads (chain) {
        chain -> Text,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Text,
        key -> Text,
        request_hash -> Text,
        state -> Text,
        response_status -> Nullable<BigInt>,
        response_body -> Nullable<Text>,
        response_location -> Nullable<Text>,
        created_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    workshop_day_claims (sme_id, day) {
        sme_id -> Text,
        day -> Date,
        entry_id -> Text,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(items -> users (sme_id));
diesel::joinable!(ledger_entries -> items (item_id));
diesel::joinable!(ledger_entries -> workshops (workshop_id));
diesel::table! {
    item_references (item_id) {
        item_id -> Text,
        sme_id -> Text,
        reference_key -> Text,
    }
}

diesel::table! {
    credited_references (reference_key) {
        reference_key -> Text,
        item_id -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        cause -> Text,
        kind -> Text,
        user_id -> Nullable<Text>,
        recipient -> Text,
        recipient_name -> Text,
        payload -> Text,
        message_id -> Text,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        priority -> BigInt,
    }
}

diesel::table! {
    account_tokens (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    recertification_requirements (id) {
        id -> Text,
        certification_level -> Text,
        credits -> BigInt,
        effective_from -> Date,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    web_sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        token_version -> BigInt,
        csrf_token -> Text,
        flash -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(web_sessions -> users (user_id));

diesel::table! {
    certifications (id) {
        id -> Text,
        sme_id -> Text,
        name -> Text,
        name_key -> Text,
        level -> Text,
        certified_on -> Date,
        cycle_starts_on -> Date,
        expires_on -> Date,
        created_at -> Timestamp,
        created_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    certification_cycles (id) {
        id -> Text,
        certification_id -> Text,
        starts_on -> Date,
        expires_on -> Date,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::joinable!(certification_cycles -> certifications (certification_id));

diesel::table! {
    onboarders (id) {
        id -> Text,
        user_id -> Text,
        onboarder_id -> Text,
        how -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    account_clients (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        address -> Text,
        user_agent -> Text,
        first_seen_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    refresh_tokens,
    login_throttle,
    item_rates,
    workshop_rates,
    items,
    workshops,
    ledger_entries,
    audit_events,
    chain_heads,
    idempotency_keys,
    workshop_day_claims,
    item_references,
    credited_references,
    outbox,
    account_tokens,
    web_sessions,
    recertification_requirements,
    certifications,
    certification_cycles,
    onboarders,
    account_clients,
);
