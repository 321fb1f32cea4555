//! `/workshops`: MQC and JTA workshops and their attendance. Program managers create them and
//! log attendance; SMEs, program managers and auditors read them (an SME sees only their own
//! attendance).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::extract::{Json, Problems};
use super::pagination;
use super::views::EntryView;
use crate::audit::{self, Event};
use crate::auth::AuthUser;
use crate::db::ledger::{self as entries, EntryFilter};
use crate::db::workshops::{self as workshop_rows, WorkshopFilter, WorkshopRow};
use crate::domain::workshop::check_span;
use crate::domain::{CertificationLevel, Role, WorkshopKind, bounded_text, code};
use crate::error::ApiError;
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::state::AppState;
use crate::workshops::{self, Attendee, NewWorkshop};

const READERS: [Role; 3] = [Role::Sme, Role::ProgramManager, Role::Auditor];
/// Most days one attendance request may carry (a workshop's longest span).
const MAX_DAYS_PER_REQUEST: usize = 31;

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
            kind: row.kind,
            title: row.title,
            certification_level: row.certification_level,
            exam_code: row.exam_code,
            starts_on: row.starts_on,
            ends_on: row.ends_on,
            created_by: row.created_by,
            created_at: row.created_at.and_utc(),
        }
    }
}

fn parse_date(problems: &mut Problems, field: &str, raw: &str) -> Option<NaiveDate> {
    problems.check(field, crate::domain::parse_day(raw))
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
    user.require(&[Role::ProgramManager])?;
    let fingerprint = idempotency::fingerprint(&req, &*body);
    let mut problems = Problems::default();
    let kind = problems.check("kind", body.kind.parse::<WorkshopKind>());
    let title = problems.check("title", bounded_text(&body.title, 200));
    let level = problems.check(
        "certification_level",
        body.certification_level.parse::<CertificationLevel>(),
    );
    let exam_code = problems.optional("exam_code", body.exam_code.as_deref(), |raw| code(raw, 32));
    let starts_on = parse_date(&mut problems, "starts_on", &body.starts_on);
    let ends_on = parse_date(&mut problems, "ends_on", &body.ends_on);
    if let (Some(starts_on), Some(ends_on)) = (starts_on, ends_on) {
        problems.check("ends_on", check_span(starts_on, ends_on));
    }
    problems.finish()?;
    let (Some(kind), Some(title), Some(certification_level), Some(starts_on), Some(ends_on)) =
        (kind, title, level, starts_on, ends_on)
    else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let workshop = NewWorkshop {
        kind,
        title,
        certification_level,
        exam_code,
        starts_on,
        ends_on,
    };
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let row = workshops::create(conn, &actor, &workshop)?;
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

/// SME, program manager, auditor. Ordered by start date.
#[utoipa::path(get, path = "/api/v1/workshops", tag = "workshops", params(ListWorkshops), responses((status = 200, body = WorkshopList)))]
#[tracing::instrument(name = "list_workshops", skip_all)]
pub async fn list(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListWorkshops>,
) -> Result<HttpResponse, ApiError> {
    user.require(&READERS)?;
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let after =
        pagination::parse_time_cursor(query.cursor.as_deref())?.map(|(at, id)| (at.date(), id));
    let mut problems = Problems::default();
    let kind = problems.optional("kind", query.kind.as_deref(), str::parse::<WorkshopKind>);
    let level = problems.optional(
        "certification_level",
        query.certification_level.as_deref(),
        str::parse::<CertificationLevel>,
    );
    let starts_from = problems.optional(
        "starts_from",
        query.starts_from.as_deref(),
        crate::domain::parse_day,
    );
    let starts_to = problems.optional(
        "starts_to",
        query.starts_to.as_deref(),
        crate::domain::parse_day,
    );
    problems.finish()?;
    let filter = WorkshopFilter {
        kind: kind.map(|k| k.as_str().to_owned()),
        certification_level: level.map(|l| l.as_str().to_owned()),
        starts_from,
        starts_to,
    };
    let rows = state
        .db
        .run(move |conn| Ok(workshop_rows::page(conn, &filter, after, limit + 1)?))
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
    user.require(&READERS)?;
    let id = path.into_inner();
    let row = state
        .db
        .run(move |conn| workshop_rows::find(conn, &id)?.ok_or(ApiError::NotFound))
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
    let workshop_id = path.into_inner();
    let mut problems = Problems::default();
    if body.days.is_empty() || body.days.len() > MAX_DAYS_PER_REQUEST {
        problems.check::<(), _>(
            "days",
            Err(format!("must list 1 to {MAX_DAYS_PER_REQUEST} dates")),
        );
    }
    let days: Vec<NaiveDate> = body
        .days
        .iter()
        .take(MAX_DAYS_PER_REQUEST)
        .filter_map(|raw| parse_date(&mut problems, "days", raw))
        .collect();
    let attendee = match (body.sme_id.as_deref(), body.sme_email.as_deref()) {
        (Some(id), None) => problems
            .check("sme_id", crate::domain::parse_id(id))
            .map(Attendee::Id),
        (None, Some(email)) => problems
            .check("sme_email", crate::domain::Email::parse(email))
            .map(Attendee::Email),
        _ => problems.check(
            "sme_id",
            Err("name the SME with either sme_id or sme_email (one of the two)"),
        ),
    };
    problems.finish()?;
    let Some(attendee) = attendee else {
        return Err(ApiError::Internal(anyhow::anyhow!("attendee missing")));
    };
    let named = json!({ "sme_id": body.sme_id, "sme_email": body.sme_email });
    let actor = user.actor();
    state
        .db
        .run(move |conn| {
            let event = Event {
                action: crate::audit::AuditAction::WorkshopAttendanceLogged,
                target_type: "workshop",
                target_id: Some(&workshop_id),
                details: named,
            };
            if let Err(error) = user.require(&[Role::ProgramManager]) {
                return Err(audit::refusal(conn, &actor, &event, error));
            }
            idempotency::run(conn, &actor.id, key.0.as_deref(), &fingerprint, |conn| {
                let posted =
                    workshops::log_attendance(conn, &actor, &workshop_id, &attendee, &days)?;
                let entries: Vec<EntryView> = posted.into_iter().map(EntryView::from).collect();
                Reply::json(StatusCode::CREATED, &PostedEntries { entries })
            })
            .map_err(|error| audit::refusal(conn, &actor, &event, error))
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
    user.require(&READERS)?;
    let workshop_id = path.into_inner();
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let after = pagination::parse_seq_cursor(query.cursor.as_deref())?;
    let mut problems = Problems::default();
    let named = problems.optional("sme_id", query.sme_id.as_deref(), crate::domain::parse_id);
    problems.finish()?;
    let sme_id = if user.is(Role::Sme) {
        Some(user.id.clone())
    } else {
        named
    };
    let rows = state
        .db
        .run(move |conn| {
            workshop_rows::find(conn, &workshop_id)?.ok_or(ApiError::NotFound)?;
            let filter = EntryFilter {
                workshop_id: Some(workshop_id),
                sme_id,
                ..EntryFilter::default()
            };
            Ok(entries::page(conn, &filter, after, limit + 1)?)
        })
        .await?;
    let (rows, next_cursor) =
        pagination::finish(rows, limit, |row| pagination::seq_cursor(row.seq));
    let entries: Vec<EntryView> = rows.into_iter().map(EntryView::from).collect();
    Ok(HttpResponse::Ok().json(AttendancePage {
        entries,
        next_cursor,
    }))
}
