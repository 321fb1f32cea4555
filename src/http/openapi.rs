//! The OpenAPI 3 document, generated from the handlers' annotations and types, served at
//! `GET /api/v1/openapi.json`.
//!
//! Each handler documents its success responses; [`Conventions`] adds what every operation
//! shares: the problem+json error responses and the bearer-token requirement (all but the
//! public routes).

use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::{
    audit, auth, certifications, health, invitations, items, ledger, me, outbox, password_reset,
    rates, reports, separation, users, workshops,
};
use crate::domain;
use crate::error::{FieldError, Problem};

/// Operations anyone may call, without a token.
const PUBLIC: [&str; 9] = [
    "/healthz",
    "/readyz",
    "/api/v1/openapi.json",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/auth/invitations/accept",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/confirm",
];

/// The error responses every operation may give, as problem+json.
const PROBLEMS: [(u16, &str); 12] = [
    (
        400,
        "Malformed request: bad JSON, an unknown field, a bad query parameter or cursor",
    ),
    (
        401,
        "Not authenticated: a missing, invalid or outdated access token",
    ),
    (403, "Authenticated, but the role or a rule forbids it"),
    (404, "No such resource, or not the caller's to see"),
    (405, "The path does not take this method"),
    (409, "Conflicts with the current state"),
    (413, "The body is larger than the limit"),
    (415, "The body is not application/json"),
    (422, "Invalid values; `errors` lists them"),
    (
        429,
        "Too many attempts (logins, reset requests); see Retry-After",
    ),
    (500, "An unexpected error; quote the request_id"),
    (503, "The database is unavailable"),
];

struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                // Handler names repeat across resources (`list`, `show`); ids must not.
                let words: String = path
                    .trim_start_matches("/api/v1")
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let words: Vec<&str> = words.split('_').filter(|w| !w.is_empty()).collect();
                operation.operation_id = Some(format!("{method}_{}", words.join("_")));
                for (status, description) in PROBLEMS {
                    let problem = ResponseBuilder::new()
                        .description(description)
                        .content(
                            crate::error::PROBLEM_JSON,
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        )
                        .build();
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert(problem.into());
                }
                if !PUBLIC.contains(&path.as_str()) {
                    operation.security = Some(vec![SecurityRequirement::new(
                        "bearer",
                        Vec::<String>::new(),
                    )]);
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sme-ledger",
        description = "The continuing-education credit ledger of a certification program's exam authors."
    ),
    paths(
        health::healthz,
        health::readyz,
        openapi_json,
        auth::login,
        auth::refresh,
        auth::logout,
        auth::logout_all,
        invitations::accept,
        password_reset::request,
        password_reset::confirm,
        me::show,
        me::update,
        me::change_password,
        reports::my_credits,
        users::list,
        users::create,
        users::show,
        users::update,
        users::unlock,
        invitations::resend,
        rates::list_item_rates,
        rates::publish_item_rate,
        rates::list_workshop_rates,
        rates::publish_workshop_rate,
        items::list,
        items::submit,
        items::show,
        items::history,
        items::accept,
        items::reject,
        items::withdraw,
        items::revoke,
        workshops::list,
        workshops::create,
        workshops::show,
        workshops::list_attendance,
        workshops::log_attendance,
        ledger::list,
        ledger::verify,
        ledger::reverse,
        reports::sme_credits,
        reports::ledger_csv,
        reports::ledger_jsonl,
        reports::ledger_manifest,
        reports::signing_key,
        reports::summary,
        reports::summary_csv,
        certifications::my_list,
        certifications::my_record,
        certifications::sme_list,
        certifications::sme_record,
        certifications::correct,
        certifications::renew,
        certifications::my_progress,
        certifications::sme_progress,
        certifications::report_json,
        certifications::report_csv,
        separation::report,
        certifications::list_requirements,
        certifications::publish_requirement,
        audit::list,
        audit::verify,
        outbox::list,
        outbox::retry,
    ),
    components(schemas(
        Problem,
        FieldError,
        domain::Role,
        domain::ExamTier,
        domain::ItemType,
        domain::AuthoringChannel,
        domain::CertificationLevel,
        domain::WorkshopKind,
        domain::EntryKind,
        domain::ItemStatus,
    )),
    modifiers(&Conventions)
)]
pub struct ApiDoc;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|_| String::from("{}"))
});

/// Anyone: this document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3 document", body = Object)))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}
