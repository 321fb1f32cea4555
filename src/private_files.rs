//! Files only the service's own account may read: the SQLite database and its journals,
//! backups, generated secrets, the `.eml` outbox and the serve lock. They hold password
//! hashes, one-time link records and personal data, so each is owner-only (0600) whatever the
//! umask or the mode of the directory it is in (systemd's `StateDirectory=` makes 0755 ones).

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Read and write for the owner, nothing for anyone else.
pub const OWNER_ONLY: u32 = 0o600;

/// Creates `path`, which must not exist (a symbolic link there, even a dangling one, is
/// refused too), owner-only.
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(OWNER_ONLY)
        .open(path)
}

/// Opens `path` for reading and writing, creating it owner-only if missing, and makes an
/// existing one owner-only.
pub fn open_or_create(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(OWNER_ONLY)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(OWNER_ONLY))?;
    Ok(file)
}

/// Writes `bytes` to the new file `path`, owner-only.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = create_new(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes the regular file `path` owner-only, if it exists (a file an earlier release or
/// another umask left readable). Symbolic links are left alone, never followed.
pub fn restrict(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() && meta.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, Permissions::from_mode(OWNER_ONLY))
        }
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// The SQLite database at `path` and the files SQLite keeps beside it (`-wal`, `-shm`,
/// `-journal`), made owner-only. SQLite creates its journals with the database file's mode.
pub fn restrict_sqlite(path: &Path) -> io::Result<()> {
    restrict(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        restrict(Path::new(&name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    #[test]
    fn new_files_are_owner_only_and_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("a");
        write_new(&path, b"x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mode(&path), 0o600);
        assert!(
            write_new(&path, b"y").is_err(),
            "an existing file is refused"
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(create_new(&link).is_err(), "a dangling symlink is refused");
        assert!(!dir.path().join("elsewhere").exists());
    }

    #[test]
    fn an_existing_readable_file_is_restricted() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = dir.path().join("x.db");
        let wal = dir.path().join("x.db-wal");
        for path in [&db, &wal] {
            std::fs::write(path, b"").unwrap_or_else(|e| panic!("{e}"));
            std::fs::set_permissions(path, Permissions::from_mode(0o644))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        restrict_sqlite(&db).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
    }
}
