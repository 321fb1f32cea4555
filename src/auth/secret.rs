//! Secrets the service generates for itself, kept in the data directory, owner-only.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

/// Smallest accepted signing secret: 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;

/// The secret from the settings if given (refused if shorter than 256 bits), else the one
/// in `data_dir/file_name`, generated (`generated_bytes` random bytes, hex) with mode 0600 on
/// first use.
pub fn load_or_generate(
    configured: Option<&SecretString>,
    data_dir: &Path,
    file_name: &str,
    generated_bytes: usize,
) -> anyhow::Result<SecretString> {
    if let Some(secret) = configured {
        anyhow::ensure!(
            secret.expose_secret().len() >= MIN_SECRET_BYTES,
            "the configured secret is shorter than {MIN_SECRET_BYTES} bytes (256 bits)"
        );
        return Ok(secret.clone());
    }
    crate::db::create_private_dir(data_dir)?;
    let path = data_dir.join(file_name);
    let mut bytes = vec![0u8; generated_bytes.max(MIN_SECRET_BYTES)];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let fresh = hex::encode(bytes);
    // `create_new` makes two processes starting together agree on one secret.
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut file) => {
            file.write_all(fresh.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(file = %path.display(), "generated a new secret");
            Ok(SecretString::from(fresh))
        }
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {
            let mut stored = String::new();
            std::fs::File::open(&path)
                .and_then(|mut file| file.read_to_string(&mut stored))
                .with_context(|| format!("cannot read {}", path.display()))?;
            let stored = stored.trim().to_owned();
            anyhow::ensure!(
                stored.len() >= MIN_SECRET_BYTES,
                "{} holds fewer than {MIN_SECRET_BYTES} bytes; delete it to generate a new one",
                path.display()
            );
            Ok(SecretString::from(stored))
        }
        Err(error) => Err(error).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_generated_secret_is_owner_only_and_stable() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let first = load_or_generate(None, dir.path(), "jwt-secret", 64)?;
        let second = load_or_generate(None, dir.path(), "jwt-secret", 64)?;
        assert_eq!(first.expose_secret(), second.expose_secret());
        assert_eq!(first.expose_secret().len(), 128);
        let mode = std::fs::metadata(dir.path().join("jwt-secret"))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        Ok(())
    }

    #[test]
    fn a_short_configured_secret_is_refused() {
        let dir = tempfile::tempdir().ok();
        let path = dir
            .as_ref()
            .map(|d| d.path())
            .unwrap_or(Path::new("/nonexistent"));
        let short = SecretString::from("x".repeat(31));
        assert!(load_or_generate(Some(&short), path, "jwt-secret", 64).is_err());
        let enough = SecretString::from("x".repeat(32));
        assert!(load_or_generate(Some(&enough), path, "jwt-secret", 64).is_ok());
    }
}
