//! `/workshops`: MQC and JTA workshops and their attendance. Program managers create them and
//! log attendance; SMEs, program managers and auditors read them (an SME sees only their own
//! attendance).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::extract::Json;
use super::views::EntryView;
use crate::app::pagination;
use crate::app::workshops::{self, AttendanceAttempt, Attendee, NewWorkshop};
use crate::auth::AuthUser;
use crate::db::workshops::WorkshopRow;
use crate::domain::workshop::check_span;
use crate::domain::{CertificationLevel, WorkshopKind, bounded_text, code};
use crate::error::{ApiError, FieldError};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkshopView {
    id: String,
    kind: String,
    title: String,
    certification_level: String,
    exam_code: Option<String>,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    created_by: String,
    created_at: DateTime<Utc>,
}

impl From<WorkshopRow> for WorkshopView {
    fn from(row: WorkshopRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind.as_str().to_owned(),
            title: row.title,
            certification_level: row.certification_level.as_str().to_owned(),
            exam_code: row.exam_code,
            starts_on: row.starts_on,
            ends_on: row.ends_on,
            created_by: row.created_by,
            created_at: row.created_at.and_utc(),
        }
    }
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkshop {
    #[schema(value_type = crate::domain::WorkshopKind)]
    kind: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    title: String,
    #[schema(value_type = crate::domain::CertificationLevel)]
    certification_level: String,
    #[schema(pattern = r"^[A-Za-z0-9._/:-]{1,32}$")]
    exam_code: Option<String>,
    #[schema(format = Date)]
    starts_on: String,
    #[schema(format = Date)]
    ends_on: String,
}

/// One field's value, or why it was refused.
fn field<T, E: std::fmt::Display>(name: &str, parsed: Result<T, E>) -> Result<T, FieldError> {
    parsed.map_err(|error| FieldError::new(name, error))
}

/// An optional field's value: absent stays `None` without complaint.
fn optional<T, E: std::fmt::Display>(
    name: &str,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, FieldError> {
    field(name, raw.map(parse).transpose())
}

/// Every refusal among `checked`, as one 422.
fn refused(checked: impl IntoIterator<Item = Option<FieldError>>) -> ApiError {
    ApiError::Validation(checked.into_iter().flatten().collect())
}

/// Every field's problem at once.
impl TryFrom<CreateWorkshop> for NewWorkshop {
    type Error = ApiError;

    fn try_from(body: CreateWorkshop) -> Result<Self, ApiError> {
        let kind = field("kind", body.kind.parse::<WorkshopKind>());
        let title = field("title", bounded_text(&body.title, 200));
        let level = field(
            "certification_level",
            body.certification_level.parse::<CertificationLevel>(),
        );
        let exam_code = optional("exam_code", body.exam_code.as_deref(), |raw| code(raw, 32));
        let starts_on = field("starts_on", crate::domain::parse_day(&body.starts_on));
        let ends_on = match (
            &starts_on,
            field("ends_on", crate::domain::parse_day(&body.ends_on)),
        ) {
            (Ok(starts_on), Ok(ends_on)) => {
                field("ends_on", check_span(*starts_on, ends_on)).map(|()| ends_on)
            }
            (_, ends_on) => ends_on,
        };
        match (kind, title, level, exam_code, starts_on, ends_on) {
            (
                Ok(kind),
                Ok(title),
                Ok(certification_level),
                Ok(exam_code),
                Ok(starts_on),
                Ok(ends_on),
            ) => Ok(NewWorkshop {
                kind,
                title,
                certification_level,
                exam_code,
                starts_on,
                ends_on,
            }),
            (kind, title, level, exam_code, starts_on, ends_on) => Err(refused([
                kind.err(),
                title.err(),
                level.err(),
                exam_code.err(),
                starts_on.err(),
                ends_on.err(),
            ])),
        }
    }
}

/// Program manager.
#[utoipa::path(post, path = "/api/v1/workshops", tag = "workshops", params(IdempotencyKey), request_body = CreateWorkshop, responses((status = 201, body = WorkshopView)))]
#[tracing::instrument(name = "create_workshop", skip_all)]
pub async fn create(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<CreateWorkshop>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = idempotency::fingerprint(&req, &*body);
    let workshop = NewWorkshop::try_from(body.into_inner());
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let row = workshops::create(conn, &actor, workshop)?;
                let location = format!("/api/v1/workshops/{}", row.id);
                Ok(Reply::json(StatusCode::CREATED, &WorkshopView::from(row))?
                    .with_location(location))
            })
        })
        .await
        .map(idempotency::Outcome::into_response)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListWorkshops {
    #[param(value_type = Option<crate::domain::WorkshopKind>)]
    kind: Option<String>,
    #[param(value_type = Option<crate::domain::CertificationLevel>)]
    certification_level: Option<String>,
    #[param(format = Date)]
    starts_from: Option<String>,
    #[param(format = Date)]
    starts_to: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WorkshopList {
    workshops: Vec<WorkshopView>,
    next_cursor: Option<String>,
}

/// The page size, as [`pagination::limit`] checks it, as a field refusal.
fn limit(requested: Option<u32>) -> Result<i64, FieldError> {
    pagination::limit(requested).map_err(|_| {
        FieldError::new(
            "limit",
            format!("must be between 1 and {}", pagination::MAX_LIMIT),
        )
    })
}

impl TryFrom<ListWorkshops> for workshops::ListWorkshops {
    type Error = ApiError;

    fn try_from(query: ListWorkshops) -> Result<Self, ApiError> {
        let after =
            pagination::parse_time_cursor(query.cursor.as_deref())?.map(|(at, id)| (at.date(), id));
        let limit = limit(query.limit);
        let kind = optional("kind", query.kind.as_deref(), str::parse::<WorkshopKind>);
        let level = optional(
            "certification_level",
            query.certification_level.as_deref(),
            str::parse::<CertificationLevel>,
        );
        let starts_from = optional(
            "starts_from",
            query.starts_from.as_deref(),
            crate::domain::parse_day,
        );
        let starts_to = optional(
            "starts_to",
            query.starts_to.as_deref(),
            crate::domain::parse_day,
        );
        match (limit, kind, level, starts_from, starts_to) {
            (Ok(limit), Ok(kind), Ok(certification_level), Ok(starts_from), Ok(starts_to)) => {
                Ok(Self {
                    kind,
                    certification_level,
                    starts_from,
                    starts_to,
                    after,
                    fetch: limit + 1,
                })
            }
            (limit, kind, level, starts_from, starts_to) => Err(refused([
                limit.err(),
                kind.err(),
                level.err(),
                starts_from.err(),
                starts_to.err(),
            ])),
        }
    }
}

/// SME, program manager, auditor. Ordered by start date.
#[utoipa::path(get, path = "/api/v1/workshops", tag = "workshops", params(ListWorkshops), responses((status = 200, body = WorkshopList)))]
#[tracing::instrument(name = "list_workshops", skip_all)]
pub async fn list(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListWorkshops>,
) -> Result<HttpResponse, ApiError> {
    let query = workshops::ListWorkshops::try_from(query.into_inner());
    let limit = query.as_ref().map_or(0, |query| query.fetch - 1);
    let actor = user.actor();
    let rows = state
        .db
        .run(move |conn| workshops::list(conn, &actor, query))
        .await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |row| {
        pagination::time_cursor(
            row.starts_on.and_hms_opt(0, 0, 0).unwrap_or_default(),
            &row.id,
        )
    });
    Ok(HttpResponse::Ok().json(WorkshopList {
        workshops: rows.into_iter().map(WorkshopView::from).collect(),
        next_cursor,
    }))
}

/// SME, program manager, auditor.
#[utoipa::path(get, path = "/api/v1/workshops/{id}", tag = "workshops", params(("id" = String, Path)), responses((status = 200, body = WorkshopView)))]
#[tracing::instrument(name = "show_workshop", skip_all, fields(workshop_id = ?path.as_str()))]
pub async fn show(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let actor = user.actor();
    let row = state
        .db
        .run(move |conn| workshops::show(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(WorkshopView::from(row)))
}

/// The entries an attendance request posted, one per day.
#[derive(Serialize, ToSchema)]
pub struct PostedEntries {
    entries: Vec<EntryView>,
}

/// A workshop's postings: its days and their reversals, in `seq` order.
#[derive(Serialize, ToSchema)]
pub struct AttendancePage {
    entries: Vec<EntryView>,
    next_cursor: Option<String>,
}

/// The SME is named by `sme_id` or by `sme_email`: exactly one of the two.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogAttendance {
    sme_id: Option<String>,
    #[schema(max_length = 254)]
    sme_email: Option<String>,
    #[schema(min_items = 1, max_items = 31, value_type = Vec<chrono::NaiveDate>)]
    days: Vec<String>,
}

/// Every field's problem at once.
impl TryFrom<&LogAttendance> for workshops::LogAttendance {
    type Error = ApiError;

    fn try_from(body: &LogAttendance) -> Result<Self, ApiError> {
        let (days, refusals) = match workshops::parse_days("days", &body.days) {
            Ok(days) => (days, Vec::new()),
            Err(refusals) => (Vec::new(), refusals),
        };
        let attendee = match (body.sme_id.as_deref(), body.sme_email.as_deref()) {
            (Some(id), None) => field("sme_id", crate::domain::parse_id(id)).map(Attendee::Id),
            (None, Some(email)) => {
                field("sme_email", crate::domain::Email::parse(email)).map(Attendee::Email)
            }
            _ => Err(FieldError::new(
                "sme_id",
                "name the SME with either sme_id or sme_email (one of the two)",
            )),
        };
        match attendee {
            Ok(attendee) if refusals.is_empty() => Ok(Self { attendee, days }),
            attendee => Err(refused(
                refusals.into_iter().map(Some).chain([attendee.err()]),
            )),
        }
    }
}

/// Program manager, never for themselves: one `workshop_day` posting per day, all or nothing.
#[utoipa::path(post, path = "/api/v1/workshops/{id}/attendance", tag = "workshops", params(("id" = String, Path), IdempotencyKey), request_body = LogAttendance, responses((status = 201, body = PostedEntries)))]
#[tracing::instrument(name = "log_attendance", skip_all, fields(workshop_id = ?path.as_str()))]
pub async fn log_attendance(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: Json<LogAttendance>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = idempotency::fingerprint(&req, &*body);
    let command = workshops::LogAttendance::try_from(&*body)?;
    let attempt = AttendanceAttempt {
        workshop_id: path.into_inner(),
        named: json!({ "sme_id": body.sme_id, "sme_email": body.sme_email }),
    };
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let posted =
                    workshops::log_attendance(conn, &actor, &attempt.workshop_id, &command)?;
                let entries: Vec<EntryView> = posted.into_iter().map(EntryView::from).collect();
                Reply::json(StatusCode::CREATED, &PostedEntries { entries })
            })
            .map_err(|error| attempt.refused(conn, &actor, error))
        })
        .await
        .map(idempotency::Outcome::into_response)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListAttendance {
    sme_id: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    cursor: Option<String>,
}

impl TryFrom<ListAttendance> for workshops::ListAttendance {
    type Error = ApiError;

    fn try_from(query: ListAttendance) -> Result<Self, ApiError> {
        let after = pagination::parse_seq_cursor(query.cursor.as_deref())?;
        match (
            limit(query.limit),
            optional("sme_id", query.sme_id.as_deref(), crate::domain::parse_id),
        ) {
            (Ok(limit), Ok(sme_id)) => Ok(Self {
                sme_id,
                after,
                fetch: limit + 1,
            }),
            (limit, sme_id) => Err(refused([limit.err(), sme_id.err()])),
        }
    }
}

/// SME (own days), program manager, auditor: the workshop's postings — its days and their
/// reversals — in `seq` order.
#[utoipa::path(get, path = "/api/v1/workshops/{id}/attendance", tag = "workshops", params(("id" = String, Path), ListAttendance), responses((status = 200, body = AttendancePage)))]
#[tracing::instrument(name = "list_attendance", skip_all, fields(workshop_id = ?path.as_str()))]
pub async fn list_attendance(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ListAttendance>,
) -> Result<HttpResponse, ApiError> {
    let workshop_id = path.into_inner();
    let query = workshops::ListAttendance::try_from(query.into_inner());
    let limit = query.as_ref().map_or(0, |query| query.fetch - 1);
    let actor = user.actor();
    let rows = state
        .db
        .run(move |conn| workshops::list_attendance(conn, &actor, &workshop_id, query))
        .await?;
    let (rows, next_cursor) =
        pagination::finish(rows, limit, |row| pagination::seq_cursor(row.seq));
    let entries: Vec<EntryView> = rows.into_iter().map(EntryView::from).collect();
    Ok(HttpResponse::Ok().json(AttendancePage {
        entries,
        next_cursor,
    }))
}
