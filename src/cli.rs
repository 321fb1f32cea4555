//! The command line (SPEC §7).

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use secrecy::SecretString;

use crate::auth::PasswordHasher;
use crate::config::{DatabaseSettings, Settings};
use crate::db::{self, Db, users};
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
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    let password = NewPassword::parse(SecretString::from(password))
        .map_err(|rule| anyhow::anyhow!("the password {}", rule.message()))?;
    let password_hash = PasswordHasher::hash_now(password)?;

    let db = Db::connect(database)?;
    let mut conn = db.get().map_err(|error| anyhow::anyhow!("{error}"))?;
    let now = db::now();
    let id = uuid::Uuid::new_v4().to_string();
    users::insert(
        &mut conn,
        &users::NewUserRow {
            id: &id,
            email: email.as_str(),
            display_name: &display_name,
            role: role.as_str(),
            password_hash: &password_hash,
            disabled: false,
            must_change_password: false,
            token_version: 0,
            created_at: now,
            updated_at: now,
        },
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
