//! The command line.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use crate::app::Actor;
use crate::app::users::{self, Account, Origin, Recovery};
use crate::auth::PasswordHasher;
use crate::config::{DatabaseSettings, Settings};
use crate::db::serving::AlreadyServed;
use crate::db::{DatabaseMissing, Db};
use crate::domain::{DisplayName, Email, NewPassword, Role};
use crate::error::ApiError;
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
    /// Copy a live SQLite database, consistently, into a new file (`VACUUM INTO`), and print
    /// the ledger head (seq and hash) the copy holds. The service may keep running. On
    /// PostgreSQL it refuses: use `pg_dump`.
    Backup {
        #[command(flatten)]
        database: DatabaseSettings,
        /// The new file (must not exist yet).
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
    },
    /// Check a downloaded export against its signed manifest, offline. Exit 0 only if it is
    /// genuine: consistent with its manifest, signed by the trusted key given with
    /// --public-key. 1: not genuine; 2: an input cannot be read; 3: consistent with its
    /// manifest but no trusted key was given, so who signed it is unknown.
    VerifyExport {
        /// The manifest (from GET /api/v1/reports/ledger.manifest, with the export's until_seq).
        #[arg(long)]
        manifest: std::path::PathBuf,
        /// The export (ledger.csv or ledger.jsonl).
        #[arg(long)]
        data: std::path::PathBuf,
        /// The service's public key, obtained from the service itself, not from the manifest:
        /// the 64 hexadecimal digits themselves, or a file holding them or the JSON of
        /// GET /api/v1/reports/signing-key.
        #[arg(long, value_name = "HEX|FILE")]
        public_key: Option<String>,
    },
    /// Fill an existing database (see `migrate`) with SMEs, accepted items and workshop days,
    /// through the service's own use cases (for trials and benchmarks). The password is read
    /// from standard input.
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
    /// Create an account. The password is asked for without echo at a terminal, else read
    /// from the first line of standard input.
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
    /// Recovery: enable a disabled account (its sessions end).
    Enable {
        #[command(flatten)]
        database: DatabaseSettings,
        #[arg(long)]
        email: String,
    },
    /// Recovery: set a new password, which the account must change at its next sign-in; every
    /// session of the account ends. The password is asked for without echo at a terminal,
    /// else read from the first line of standard input.
    ResetPassword {
        #[command(flatten)]
        database: DatabaseSettings,
        #[arg(long)]
        email: String,
    },
    /// Recovery: change an account's role (its sessions end).
    SetRole {
        #[command(flatten)]
        database: DatabaseSettings,
        #[arg(long)]
        email: String,
        /// sme, program_manager, auditor or admin.
        #[arg(long)]
        role: String,
    },
}

pub fn main() -> ExitCode {
    // Whatever the service or a command creates is its account's alone (the files that must
    // be are also made owner-only explicitly: see `private_files`).
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
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
        Command::Backup { database, to } => {
            telemetry::init_for_command();
            backup(&database, &to)
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
        Command::Users { command } => {
            telemetry::init_for_command();
            users_command(command)
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.downcast_ref::<DatabaseMissing>().is_some()
                || error.downcast_ref::<AlreadyServed>().is_some()
                || error.downcast_ref::<UsageError>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn users_command(command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Create {
            database,
            email,
            role,
            display_name,
        } => create_user(&database, &email, &role, display_name.as_deref()),
        UsersCommand::Enable { database, email } => {
            let email = parse_email(&email)?;
            recover(&Db::connect_existing(&database)?, &email, Recovery::Enable)
        }
        UsersCommand::ResetPassword { database, email } => {
            let email = parse_email(&email)?;
            // The database is checked first: no password is asked for in vain.
            let db = Db::connect_existing(&database)?;
            let password = NewPassword::parse(read_password(&format!("New password for {email}"))?)
                .map_err(|rule| anyhow::anyhow!("the password {}", rule.message()))?;
            let hash = PasswordHasher::hash_now(password)?;
            recover(&db, &email, Recovery::ResetPassword(hash))
        }
        UsersCommand::SetRole {
            database,
            email,
            role,
        } => {
            let email = parse_email(&email)?;
            let role: Role = role
                .parse()
                .map_err(|error| anyhow::anyhow!("--role {error}"))?;
            recover(
                &Db::connect_existing(&database)?,
                &email,
                Recovery::SetRole(role),
            )
        }
    }
}

fn parse_email(email: &str) -> anyhow::Result<Email> {
    Email::parse(email).map_err(|error| anyhow::anyhow!("--email {error}"))
}

/// Applies `recovery` to the account with `email` through [`users::recover`]: its sessions
/// end and an audit event by the operator is recorded, in one transaction.
fn recover(db: &Db, email: &Email, recovery: Recovery) -> anyhow::Result<()> {
    let mut conn = db.get().map_err(|error| anyhow::anyhow!("{error}"))?;
    let done = match &recovery {
        Recovery::Enable => format!("Enabled {email}"),
        Recovery::ResetPassword(_) => {
            format!("Reset the password of {email}; it must be changed at the next sign-in")
        }
        Recovery::SetRole(role) => format!("Set the role of {email} to {role}"),
    };
    users::recover(
        &mut conn,
        &Actor::operator(),
        email,
        recovery,
        operator_name(),
    )
    .map_err(|error| match error {
        ApiError::NotFound => anyhow::anyhow!("there is no account with the email {email}"),
        other => anyhow::anyhow!("{other}"),
    })?;
    eprintln!("{done}; every session of the account has ended.");
    Ok(())
}

/// The login name of whoever runs the command, for the audit log.
fn operator_name() -> Option<String> {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
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
    let display_name = display_name
        .map(DisplayName::parse)
        .transpose()
        .map_err(|error| anyhow::anyhow!("--display-name {error}"))?;
    // The database is checked first: no password is asked for an account that cannot be made.
    let db = Db::connect_existing(database)?;
    let password = NewPassword::parse(read_password(&format!("Password for {email}"))?)
        .map_err(|rule| anyhow::anyhow!("the password {}", rule.message()))?;
    let password_hash = PasswordHasher::hash_now(password)?;
    let origin = Origin::CommandLine {
        operator: operator_name(),
    };
    // The operator chose the password for themselves (or hands it over in person).
    let account = Account::new(email, role, display_name, password_hash, false, origin);

    let mut conn = db.get().map_err(|error| anyhow::anyhow!("{error}"))?;
    let created = users::create(&mut conn, &Actor::operator(), &account)
        .map_err(|error| anyhow::anyhow!("{}: {error}", account.email))?;
    println!("{}", created.id);
    eprintln!("Created {role} account {} ({}).", account.email, created.id);
    Ok(())
}

/// `backup`: a consistent copy of a live SQLite database, and the ledger head it holds.
fn backup(database: &DatabaseSettings, to: &std::path::Path) -> anyhow::Result<()> {
    let db = Db::connect_existing(database)?;
    if db.backend() == crate::db::Backend::Postgres {
        return Err(UsageError(
            "backup copies SQLite databases; for PostgreSQL use pg_dump (for example \
             `pg_dump --format=custom --file=sme-ledger.dump \"$DATABASE_URL\"`) and pg_restore"
                .into(),
        )
        .into());
    }
    let to = std::path::absolute(to).unwrap_or_else(|_| to.to_path_buf());
    // `symlink_metadata`, not `exists`: a symbolic link there (even one to nowhere) is refused
    // rather than followed, so the copy cannot be sent somewhere else.
    if std::fs::symlink_metadata(&to).is_ok() {
        return Err(UsageError(format!(
            "{} already exists (or is a symbolic link); give the backup a new file name",
            to.display()
        ))
        .into());
    }
    let target = to
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the backup path is not valid UTF-8"))?;
    // Created empty and owner-only first (VACUUM INTO fills an empty file), so the copy of
    // the database is never readable by others, whatever the umask.
    crate::private_files::create_new(&to)
        .map_err(|error| anyhow::anyhow!("cannot create the backup {}: {error}", to.display()))?;
    let mut conn = db.get().map_err(|error| anyhow::anyhow!("{error}"))?;
    let copied = crate::db::backup_into(&mut conn, target);
    drop(conn);
    if let Err(error) = copied {
        let _ = std::fs::remove_file(&to);
        anyhow::bail!("cannot write the backup to {}: {error}", to.display());
    }
    crate::private_files::restrict_sqlite(&to)
        .map_err(|error| anyhow::anyhow!("cannot make {} owner-only: {error}", to.display()))?;

    // The head is read from the copy itself: what was written is what is reported.
    let copy = DatabaseSettings {
        database_url: Some(SecretString::from(target.to_owned())),
        ..database.clone()
    };
    let copy = Db::connect_existing(&copy)?;
    let mut conn = copy.get().map_err(|error| anyhow::anyhow!("{error}"))?;
    let (seq, hash) =
        crate::db::chain_heads::read(&mut conn, crate::db::chain_heads::Chain::Ledger)
            .map_err(|error| anyhow::anyhow!("cannot read the backup's ledger head: {error}"))?;
    println!("{seq} {hash}");
    eprintln!(
        "Backed up to {}: the ledger up to seq {seq}, head hash {hash}. Check it with \
         `sme-ledger verify-ledger --database-url {}`; restore by starting the service on it \
         (copy it to the data directory as sme-ledger.db, or point DATABASE_URL at it).",
        to.display(),
        to.display()
    );
    Ok(())
}

/// The command was used wrongly: exit status 2, like a missing database.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

/// Prints the verification of both chains; exit status 0 only if both verify.
fn verify_ledger(database: &DatabaseSettings) -> ExitCode {
    let outcome = (|| -> anyhow::Result<bool> {
        let db = Db::connect_existing(database)?;
        let mut conn = db.get().map_err(|error| anyhow::anyhow!("{error}"))?;
        let mut all_ok = true;
        for (name, verification) in [
            (
                "ledger",
                crate::app::ledger::verify(&mut conn, &crate::app::Actor::operator()),
            ),
            (
                "audit log",
                crate::app::audit_log::verify(&mut conn, &crate::app::Actor::operator()),
            ),
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

/// A new password: asked for twice without echo when standard input is a terminal, else the
/// first line of standard input. Empty is refused as "no password given".
fn read_password(prompt: &str) -> anyhow::Result<SecretString> {
    let password = if std::io::stdin().is_terminal() {
        let first = SecretString::from(rpassword::prompt_password(format!("{prompt}: "))?);
        if !first.expose_secret().is_empty() {
            let again = rpassword::prompt_password("The same again: ")?;
            if again != first.expose_secret() {
                anyhow::bail!("the two passwords differ");
            }
        }
        first
    } else {
        read_password_line()?
    };
    if password.expose_secret().is_empty() {
        anyhow::bail!(
            "no password given (type it at the prompt, or pipe it as the first line of standard input)"
        );
    }
    Ok(password)
}

fn seed(
    database: &DatabaseSettings,
    plan: &crate::seed::SeedPlan,
    run: &str,
) -> anyhow::Result<()> {
    let db = Db::connect_existing(database)?;
    let password = read_password("Password for the seeded accounts")?;
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

/// The text of `--public-key`: the hex key itself, or the content of the file it names.
fn public_key_text(argument: &str) -> Result<String, String> {
    let trimmed = argument.trim();
    if trimmed.len() == 64 && trimmed.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(trimmed.to_owned());
    }
    std::fs::read_to_string(argument).map_err(|error| {
        format!("--public-key is neither 64 hexadecimal digits nor a readable file ({argument}: {error})")
    })
}

/// Prints what was checked. Exit status 0 only for a genuine export: consistent with its
/// manifest and signed by the trusted key; 1 when it is not, 2 when an input cannot be read,
/// 3 when it is consistent but no trusted key was given.
fn verify_export(
    manifest: &std::path::Path,
    data: &std::path::Path,
    public_key: Option<&str>,
) -> ExitCode {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
    };
    let inputs = (|| -> Result<_, String> {
        Ok((
            read(manifest)?,
            read(data)?,
            public_key.map(public_key_text).transpose()?,
        ))
    })();
    let (manifest, data, key) = match inputs {
        Ok(inputs) => inputs,
        Err(reason) => {
            println!("FAILED: {reason}");
            return ExitCode::from(2);
        }
    };
    match crate::reports::manifest::verify_export(&manifest, &data, key.as_deref()) {
        Ok(verified) if verified.signer_trusted => {
            println!(
                "ok: {} export of {} rows up to seq {} matches its manifest, signed by the trusted key",
                verified.format.as_str(),
                verified.rows,
                verified.until_seq
            );
            ExitCode::SUCCESS
        }
        Ok(verified) => {
            println!(
                "UNVERIFIED SIGNER: the {} export of {} rows up to seq {} is consistent with its manifest, \
                 but the manifest was checked only with the key it carries itself, which a forger can \
                 replace; pass --public-key with the service's key (GET /api/v1/reports/signing-key) \
                 to know who signed it",
                verified.format.as_str(),
                verified.rows,
                verified.until_seq
            );
            ExitCode::from(3)
        }
        Err(reason) => {
            println!("FAILED: {reason}");
            ExitCode::FAILURE
        }
    }
}
