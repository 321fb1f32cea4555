//! The command line (SPEC §7).

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use secrecy::SecretString;

use crate::auth::PasswordHasher;
use crate::config::{DatabaseSettings, Settings};
use crate::db::{Db, users};
use crate::domain::{DisplayName, Email, NewPassword, Role};
use crate::{Application, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "sme-ledger",
    version,
    about = "Continuing-education credit ledger for exam authors"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service (migrations run first).
    Serve(Box<Settings>),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseSettings),
    /// Recompute the ledger's hash chain (and the audit log's); exit 0 only if both verify.
    VerifyLedger(DatabaseSettings),
    /// Check a downloaded export against its signed manifest, offline; exit 0 only if it is
    /// genuine.
    VerifyExport {
        /// The manifest (from GET /api/v1/reports/ledger.manifest).
        #[arg(long)]
        manifest: std::path::PathBuf,
        /// The export (ledger.csv or ledger.jsonl).
        #[arg(long)]
        data: std::path::PathBuf,
        /// The service's public key: the JSON of GET /api/v1/reports/signing-key, or its hex.
        /// Without it the key inside the manifest is used, which proves integrity but not who
        /// signed.
        #[arg(long)]
        public_key: Option<std::path::PathBuf>,
    },
    /// Fill the database with SMEs, accepted items and workshop days, through the service's
    /// own use cases (for trials and benchmarks). The password is read from standard input.
    Seed {
        #[command(flatten)]
        database: DatabaseSettings,
        #[arg(long, default_value_t = 10)]
        smes: usize,
        #[arg(long, default_value_t = 10)]
        items_per_sme: usize,
        #[arg(long, default_value_t = 0)]
        workshop_days_per_sme: usize,
        /// Items per SME left submitted and undecided, after the accepted ones (a review queue).
        #[arg(long, default_value_t = 0)]
        pending_items_per_sme: usize,
        /// Operations per transaction.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Distinguishes the accounts and item references of one seeding run from another's.
        #[arg(long, default_value = "a")]
        run: String,
    },
    /// Manage accounts.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create an account; the password is read from the first line of standard input.
    Create {
        #[command(flatten)]
        database: DatabaseSettings,
        #[arg(long)]
        email: String,
        /// sme, program_manager, auditor or admin.
        #[arg(long)]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve(settings) => serve(*settings),
        Command::Migrate(database) => {
            telemetry::init_for_command();
            Db::connect(&database).map(|_| eprintln!("The database schema is up to date."))
        }
        Command::VerifyLedger(database) => {
            telemetry::init_for_command();
            return verify_ledger(&database);
        }
        Command::VerifyExport {
            manifest,
            data,
            public_key,
        } => {
            return verify_export(&manifest, &data, public_key.as_deref());
        }
        Command::Seed {
            database,
            smes,
            items_per_sme,
            workshop_days_per_sme,
            pending_items_per_sme,
            batch,
            run,
        } => {
            telemetry::init_for_command();
            let plan = crate::seed::SeedPlan {
                smes,
                items_per_sme,
                workshop_days_per_sme,
                pending_items_per_sme,
                batch,
            };
            seed(&database, &plan, &run)
        }
        Command::Users {
            command:
                UsersCommand::Create {
                    database,
                    email,
                    role,
                    display_name,
                },
        } => {
            telemetry::init_for_command();
            create_user(&database, &email, &role, display_name.as_deref())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init(settings.log_format)?;
    actix_web::rt::System::new().block_on(async move {
        let application = Application::build(settings).await?;
        application.run_until_stopped().await?;
        tracing::info!("stopped");
        Ok(())
    })
}

fn create_user(
    database: &DatabaseSettings,
    email: &str,
    role: &str,
    display_name: Option<&str>,
) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|error| anyhow::anyhow!("--email {error}"))?;
    let role: Role = role
        .parse()
        .map_err(|error| anyhow::anyhow!("--role {error}"))?;
    let display_name = match display_name {
        Some(name) => DisplayName::parse(name)
            .map_err(|error| anyhow::anyhow!("--display-name {error}"))?
            .into_inner(),
        None => email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    let password = NewPassword::parse(read_password_line()?)
        .map_err(|rule| anyhow::anyhow!("the password {}", rule.message()))?;
    let password_hash = PasswordHasher::hash_now(password)?;

    let db = Db::connect(database)?;
    let mut conn = db.get().map_err(|error| anyhow::anyhow!("{error}"))?;
    let id = users::create(
        &mut conn,
        email.as_str(),
        &display_name,
        role,
        &password_hash,
        false,
    )
    .map_err(|error| match error {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => {
            anyhow::anyhow!("an account with the email {email} already exists")
        }
        other => other.into(),
    })?;
    println!("{id}");
    eprintln!("Created {role} account {email} ({id}).");
    Ok(())
}

/// Prints the verification of both chains; exit status 0 only if both verify.
fn verify_ledger(database: &DatabaseSettings) -> ExitCode {
    let outcome = (|| -> anyhow::Result<bool> {
        let db = Db::connect(database)?;
        let mut conn = db.get().map_err(|error| anyhow::anyhow!("{error}"))?;
        let mut all_ok = true;
        for (name, verification) in [
            ("ledger", crate::ledger::verify(&mut conn)),
            ("audit log", crate::audit::verify(&mut conn)),
        ] {
            let verification = verification.map_err(|error| anyhow::anyhow!("{error}"))?;
            match verification.first_bad_seq {
                None => println!(
                    "{name}: ok, {} entries, head seq {} hash {}",
                    verification.entries, verification.head_seq, verification.head_hash
                ),
                Some(seq) => {
                    all_ok = false;
                    println!(
                        "{name}: BROKEN at seq {seq} ({} entries read)",
                        verification.entries
                    );
                }
            }
        }
        Ok(all_ok)
    })();
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn read_password_line() -> anyhow::Result<SecretString> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(SecretString::from(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

fn seed(
    database: &DatabaseSettings,
    plan: &crate::seed::SeedPlan,
    run: &str,
) -> anyhow::Result<()> {
    let password = read_password_line()?;
    let db = Db::connect(database)?;
    let mut conn = db.get().map_err(|error| anyhow::anyhow!("{error}"))?;
    let started = std::time::Instant::now();
    let seeded = crate::seed::seed(&mut conn, plan, password, run)?;
    eprintln!(
        "Seeded {} SMEs and {} ledger entries in {:.1} s; program manager pm-{run}@seed.invalid.",
        seeded.smes.len(),
        seeded.entries,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Prints what was checked; exit status 0 only for a genuine export.
fn verify_export(
    manifest: &std::path::Path,
    data: &std::path::Path,
    public_key: Option<&std::path::Path>,
) -> ExitCode {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
    };
    let outcome = (|| -> Result<crate::reports::manifest::Verified, String> {
        let manifest = read(manifest)?;
        let data = read(data)?;
        let key = public_key
            .map(read)
            .transpose()?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        crate::reports::manifest::verify_export(&manifest, &data, key.as_deref())
    })();
    match outcome {
        Ok(verified) => {
            println!(
                "ok: {} export of {} rows up to seq {} matches its signed manifest",
                verified.format.as_str(),
                verified.rows,
                verified.until_seq
            );
            if verified.key_from_manifest {
                println!(
                    "note: the signature was checked with the key inside the manifest; pass --public-key to check who signed it"
                );
            }
            ExitCode::SUCCESS
        }
        Err(reason) => {
            println!("FAILED: {reason}");
            ExitCode::FAILURE
        }
    }
}
