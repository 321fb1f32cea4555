//! argon2id hashing on a few threads of its own, so that logins take a bounded share of the
//! CPU and of memory.

use std::cell::RefCell;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Semaphore, oneshot};

use crate::domain::NewPassword;
use crate::error::ApiError;

/// OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

/// How long a login may queue for a hashing slot before the service answers 503.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

thread_local! {
    /// The 19 MiB of working memory of each hashing thread, allocated at its first hash
    /// and reused for every later one.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// What `Argon2::hash_password` computes, in this thread's reusable working memory.
fn compute<'a>(
    hasher: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: Salt<'a>,
    output_len: usize,
) -> password_hash::Result<PasswordHash<'a>> {
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let output =
        MEMORY.with_borrow_mut(|memory| {
            memory.resize(params.block_count(), Block::default());
            Output::init_with(output_len, |out| {
                Ok(hasher.hash_password_into_with_memory(
                    password,
                    salt_bytes,
                    out,
                    &mut memory[..],
                )?)
            })
        })?;
    Ok(PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt),
        hash: Some(output),
    })
}

fn hash_blocking(password: &SecretString) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .map_err(|error| anyhow::anyhow!("argon2 parameters: {error}"))?;
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let hash = compute(
        &hasher,
        &params,
        password.expose_secret().as_bytes(),
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
    )
    .map_err(|error| anyhow::anyhow!("argon2 hashing: {error}"))?;
    Ok(hash.to_string())
}

/// Whether `password` hashes to `stored` with the parameters `stored` names (argon2id only).
fn matches(password: &[u8], stored: &PasswordHash<'_>) -> password_hash::Result<bool> {
    if stored.algorithm != argon2::ARGON2ID_IDENT {
        return Err(password_hash::Error::Algorithm);
    }
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return Err(password_hash::Error::PhcStringField);
    };
    let version = stored
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(stored)?;
    let hasher = Argon2::new(Algorithm::Argon2id, version, params.clone());
    let computed = compute(&hasher, &params, password, salt, expected.len())?;
    // `Output`'s equality takes the same time whatever the bytes.
    Ok(computed.hash == Some(expected))
}

/// A hash of a random password with the same parameters, verified against when the email is
/// unknown so that both answers take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random = SecretString::from(uuid::Uuid::new_v4().to_string());
    hash_blocking(&random).unwrap_or_default()
});

fn verify_blocking(password: &SecretString, stored: Option<&str>) -> bool {
    let known = stored.is_some();
    let phc = stored.unwrap_or(DUMMY_HASH.as_str());
    let matches = PasswordHash::new(phc)
        .and_then(|parsed| matches(password.expose_secret().as_bytes(), &parsed))
        .unwrap_or(false);
    known && matches
}

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords off the actix workers, on `concurrency` threads of its own,
/// so that a storm of logins cannot starve other requests of CPU. Each hash needs 19 MiB:
/// on the shared blocking pool, every thread that ever hashed kept that much in its malloc
/// arena (0.7 to 1.8 GB after a storm of 32 clients, measured in BENCHMARKS.md); on these
/// threads it is `concurrency` × 19 MiB, allocated once.
#[derive(Clone)]
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..concurrency {
            let queue = queue.clone();
            // Threads end when every sender (every clone of the hasher) is gone.
            let spawned = std::thread::Builder::new()
                .name(format!("password-hasher-{n}"))
                .spawn(move || run_jobs(&queue));
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        // The dummy hash is made now, on a hashing thread, rather than during the first
        // unknown-email login.
        let _ = jobs.send(Box::new(|| {
            LazyLock::force(&DUMMY_HASH);
        }));
        Self {
            slots: Arc::new(Semaphore::new(concurrency)),
            jobs,
        }
    }

    async fn with_slot<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let closed = || ApiError::Internal(anyhow::anyhow!("the password hashing threads stopped"));
        // A slot per thread: a job handed over starts at once (or after the job of a request
        // that gave up waiting for its answer), and the queue is the semaphore's, which a
        // request leaves after `QUEUE_TIMEOUT`.
        let _permit = tokio::time::timeout(QUEUE_TIMEOUT, self.slots.acquire())
            .await
            .map_err(|_| ApiError::Unavailable("password hashing queue is full".into()))?
            .map_err(|_| ApiError::Unavailable("password hasher closed".into()))?;
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        self.jobs.send(job).map_err(|_| closed())?;
        answered.await.map_err(|_| closed())
    }

    pub async fn hash(&self, password: NewPassword) -> Result<String, ApiError> {
        let secret = password.into_secret();
        self.with_slot(move || hash_blocking(&secret))
            .await?
            .map_err(ApiError::Internal)
    }

    /// True only if `stored` is present and matches. With `None` the same work is done
    /// against a dummy hash and the answer is false.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, ApiError> {
        self.with_slot(move || verify_blocking(&password, stored.as_deref()))
            .await
    }

    /// For the command line, which has no async runtime.
    pub fn hash_now(password: NewPassword) -> anyhow::Result<String> {
        hash_blocking(&password.into_secret())
    }
}

fn run_jobs(queue: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, not while hashing.
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match next {
            // A panicking job answers nobody (its caller gets a 500), but the thread lives on.
            Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let secret = SecretString::from("a long enough passphrase");
        let hash = hash_blocking(&secret).unwrap_or_default();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_blocking(&secret, Some(&hash)));
        assert!(!verify_blocking(
            &SecretString::from("a long enough passphrasE"),
            Some(&hash)
        ));
    }

    /// Hashes stay interchangeable with the argon2 crate's own, whatever their parameters:
    /// accounts made before this code reused memory keep logging in.
    #[test]
    fn hashes_agree_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let secret = SecretString::from("a long enough passphrase");
        let ours = hash_blocking(&secret).unwrap_or_default();
        let parsed = PasswordHash::new(&ours).expect("our hash parses");
        assert!(
            Argon2::default()
                .verify_password(b"a long enough passphrase", &parsed)
                .is_ok()
        );

        for (memory, iterations) in [(MEMORY_KIB, ITERATIONS), (8 * 1024, 3), (64, 1)] {
            let params = Params::new(memory, iterations, LANES, None).expect("valid parameters");
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(
                    b"a long enough passphrase",
                    &SaltString::generate(&mut OsRng),
                )
                .expect("the crate hashes")
                .to_string();
            assert!(verify_blocking(&secret, Some(&theirs)), "{theirs}");
            assert!(!verify_blocking(
                &SecretString::from("another passphrase"),
                Some(&theirs)
            ));
        }
    }

    #[test]
    fn an_unknown_account_never_verifies() {
        assert!(!verify_blocking(
            &SecretString::from("anything at all"),
            None
        ));
    }

    #[test]
    fn a_malformed_stored_hash_does_not_verify() {
        assert!(!verify_blocking(
            &SecretString::from("anything at all"),
            Some("not-a-phc-string")
        ));
    }
}
