//! Bulk data for trials and benchmarks, made through the service's own use cases (the same
//! item workflow, postings, chain and audit records as the API), in large transactions.

use chrono::{Duration, Utc};
use secrecy::SecretString;

use crate::app::items::{self, Decide, Submission};
use crate::app::users::{self as accounts, Account, Origin};
use crate::app::workshops::{self, LogAttendance, NewWorkshop};
use crate::audit::Actor;
use crate::auth::PasswordHasher;
use crate::db::{self, DbConn, rates, write_transaction};
use crate::domain::{
    AuthoringChannel, CertificationLevel, Email, ExamTier, ItemAction, ItemType, NewPassword, Role,
    WorkshopKind,
};
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub smes: usize,
    pub items_per_sme: usize,
    pub workshop_days_per_sme: usize,
    /// Items submitted after the accepted ones and left pending.
    pub pending_items_per_sme: usize,
    /// Operations per transaction.
    pub batch: usize,
}

#[derive(Debug, Default)]
pub struct Seeded {
    pub smes: Vec<String>,
    pub program_manager: String,
    pub entries: u64,
}

const TIERS: [(ExamTier, ItemType); 4] = [
    (ExamTier::Associate, ItemType::Standard),
    (ExamTier::Specialist, ItemType::Performance),
    (ExamTier::TechnologyCore, ItemType::Standard),
    (ExamTier::CcieLab, ItemType::Performance),
];

/// One seeded account, made like every account ([`accounts::create`], with its audit event),
/// by `operator`; all share one password hash (hashing each would dominate a large seed).
fn new_user(
    conn: &mut DbConn,
    operator: &Actor,
    email: &str,
    role: Role,
    password_hash: &str,
) -> Result<String, ApiError> {
    let email = Email::parse(email).map_err(|why| ApiError::invalid("run", why))?;
    let account = Account::new(
        email,
        role,
        None,
        password_hash.to_owned(),
        false,
        Origin::Seed,
    );
    Ok(accounts::create(conn, operator, &account)?.id)
}

/// Creates `plan.smes` SMEs (`sme-00001@seed.invalid`, …) and one program manager
/// (`pm@seed.invalid`), all with `password`; then for each SME submits and accepts
/// `items_per_sme` items, submits `pending_items_per_sme` more that stay pending, and logs
/// `workshop_days_per_sme` past workshop days.
pub fn seed(
    conn: &mut DbConn,
    plan: &SeedPlan,
    password: SecretString,
    run: &str,
) -> anyhow::Result<Seeded> {
    let password = NewPassword::parse(password)
        .map_err(|rule| anyhow::anyhow!("the password {}", rule.message()))?;
    let hash = PasswordHasher::hash_now(password)?;
    let err = |error: ApiError| anyhow::anyhow!("{error}: {error:?}");
    let batch = plan.batch.max(1);

    let mut seeded = Seeded::default();
    let operator = Actor {
        request_id: format!("seed-{run}"),
        ..Actor::operator()
    };
    write_transaction(conn, |conn| -> Result<(), ApiError> {
        seeded.program_manager = new_user(
            conn,
            &operator,
            &format!("pm-{run}@seed.invalid"),
            Role::ProgramManager,
            &hash,
        )?;
        for n in 0..plan.smes {
            seeded.smes.push(new_user(
                conn,
                &operator,
                &format!("sme-{run}-{n:05}@seed.invalid"),
                Role::Sme,
                &hash,
            )?);
        }
        Ok(())
    })
    .map_err(err)?;
    let pm = Actor::user(
        seeded.program_manager.clone(),
        Role::ProgramManager,
        format!("seed-{run}"),
    );

    // Items: submitted by each SME, the first `items_per_sme` accepted by the program manager.
    let per_sme = plan.items_per_sme + plan.pending_items_per_sme;
    let work: Vec<(usize, usize)> = (0..plan.smes)
        .flat_map(|s| (0..per_sme).map(move |i| (s, i)))
        .collect();
    for chunk in work.chunks(batch) {
        write_transaction(conn, |conn| -> Result<(), ApiError> {
            for &(s, i) in chunk {
                let sme = Actor::user(seeded.smes[s].clone(), Role::Sme, pm.request_id.clone());
                let (exam_tier, item_type) = TIERS[i % TIERS.len()];
                let submission = Submission {
                    exam_code: "350-401".into(),
                    exam_tier: exam_tier.as_str().into(),
                    item_type: item_type.as_str().into(),
                    authoring_channel: AuthoringChannel::SmeProgram.as_str().into(),
                    // Fixed widths: references are compared by their letters and digits
                    // only, so `1-23` and `12-3` would be one reference.
                    external_ref: format!("SEED-{run}-{s:05}-{i:05}"),
                    blueprint_objective: None,
                };
                let row = items::submit(conn, &sme, &submission)?;
                if i < plan.items_per_sme {
                    let accept = Decide {
                        item_id: row.id,
                        action: ItemAction::Accept,
                        reason: None,
                    };
                    items::decide(conn, &pm, &accept, items::in_write_transaction)?;
                }
            }
            Ok(())
        })
        .map_err(err)?;
        seeded.entries += chunk
            .iter()
            .filter(|&&(_, i)| i < plan.items_per_sme)
            .count() as u64;
    }

    // Workshop days: consecutive past days, in workshops of at most 31 days.
    if plan.workshop_days_per_sme > 0 {
        let today = Utc::now().date_naive();
        write_transaction(conn, |conn| {
            let rate = rates::WorkshopRateRow {
                id: uuid::Uuid::new_v4().to_string(),
                certification_level: CertificationLevel::Professional,
                credits_per_day: 5,
                effective_from: today,
                created_at: db::now(),
                created_by: None,
            };
            rates::insert_workshop_rate(conn, &rate).map_err(ApiError::from)
        })
        .map_err(err)?;
        let mut first_day = today - Duration::days(plan.workshop_days_per_sme as i64);
        let mut remaining = plan.workshop_days_per_sme;
        while remaining > 0 {
            let span = remaining.min(31);
            let last_day = first_day + Duration::days(span as i64 - 1);
            let days: Vec<_> = (0..span)
                .map(|d| first_day + Duration::days(d as i64))
                .collect();
            let workshop = write_transaction(conn, |conn| {
                workshops::create(
                    conn,
                    &pm,
                    Ok(NewWorkshop {
                        kind: WorkshopKind::Jta,
                        title: format!("Seeded JTA from {first_day}"),
                        certification_level: CertificationLevel::Professional,
                        exam_code: None,
                        starts_on: first_day,
                        ends_on: last_day,
                    }),
                )
            })
            .map_err(err)?;
            let per_batch = (batch / span).max(1);
            for smes in seeded.smes.chunks(per_batch) {
                write_transaction(conn, |conn| -> Result<(), ApiError> {
                    for sme in smes {
                        let attendance = LogAttendance {
                            attendee: workshops::Attendee::Id(sme.clone()),
                            days: days.clone(),
                        };
                        workshops::log_attendance(conn, &pm, &workshop.id, &attendance)?;
                    }
                    Ok(())
                })
                .map_err(err)?;
                seeded.entries += (smes.len() * span) as u64;
            }
            first_day = last_day + Duration::days(1);
            remaining -= span;
        }
    }
    Ok(seeded)
}
