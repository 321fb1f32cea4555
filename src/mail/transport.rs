//! Where messages go: an SMTP server (lettre; STARTTLS or TLS with rustls, optional
//! authentication), or, without one, `.eml` files in a directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// How long one SMTP conversation may take before its outcome counts as unknown.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Each message written as `<outbox id>.eml` in this directory.
    Files(PathBuf),
}

/// Why a send failed.
#[derive(Debug)]
pub enum SendError {
    /// Worth trying again later (server down, 4xx reply, timeout).
    Transient(String),
    /// Trying again cannot help (5xx reply, a message that cannot be built).
    Permanent(String),
}

impl SendError {
    pub fn message(&self) -> &str {
        match self {
            SendError::Transient(m) | SendError::Permanent(m) => m,
        }
    }
}

impl Transport {
    /// SMTP when `smtp_url` is set (`smtp://user:pass@host:587?tls=required` for STARTTLS,
    /// `smtps://host:465` for TLS, `smtp://host:25` for a local relay without TLS), else
    /// files under `<data_dir>/outbox/`.
    pub fn from_settings(smtp_url: Option<&SecretString>, data_dir: &Path) -> anyhow::Result<Self> {
        match smtp_url.map(|url| url.expose_secret().trim().to_owned()) {
            Some(url) if !url.is_empty() => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .map_err(|error| {
                        anyhow::anyhow!("SME_LEDGER_SMTP_URL is not a usable SMTP URL: {error}")
                    })?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                Ok(Transport::Smtp(transport))
            }
            _ => {
                let dir = data_dir.join("outbox");
                crate::db::create_private_dir(&dir).with_context(|| {
                    format!("cannot create the mail directory {}", dir.display())
                })?;
                Ok(Transport::Files(dir))
            }
        }
    }

    pub async fn send(&self, message: &Message, name: &str) -> Result<(), SendError> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message.clone()).await.map(drop).map_err(|error| {
                if error.is_permanent() {
                    SendError::Permanent(error.to_string())
                } else {
                    SendError::Transient(error.to_string())
                }
            }),
            Transport::Files(dir) => {
                let bytes = message.formatted();
                let final_path = dir.join(format!("{name}.eml"));
                let partial = dir.join(format!("{name}.eml.partial"));
                tokio::task::spawn_blocking(move || {
                    // Written aside and renamed, so a reader never sees half a message; the
                    // message may hold a one-time link, so only the owner may read it.
                    let _ = std::fs::remove_file(&partial);
                    crate::private_files::write_new(&partial, &bytes)?;
                    std::fs::rename(&partial, &final_path)
                })
                .await
                .map_err(|error| SendError::Transient(error.to_string()))?
                .map_err(|error| SendError::Transient(format!("cannot write the message: {error}")))
            }
        }
    }
}
