//! A small SMTP server for the tests: accepts every message on 127.0.0.1 and keeps it. It can
//! be stopped (nothing listens: senders get "connection refused") and started again on the
//! same port, keeping what it received.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One message as received: its envelope recipients and its raw data.
#[derive(Debug, Clone)]
pub struct Received {
    pub recipients: Vec<String>,
    pub data: String,
}

impl Received {
    /// The message with its quoted-printable parts decoded (as a reader sees the text).
    pub fn text(&self) -> String {
        let bytes =
            quoted_printable::decode(self.data.as_bytes(), quoted_printable::ParseMode::Robust)
                .unwrap_or_else(|_| self.data.clone().into_bytes());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The value of the header `name` (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let mut lines = self.data.split("\r\n").peekable();
        while let Some(line) = lines.next() {
            if line.is_empty() {
                return None;
            }
            if line.to_ascii_lowercase().starts_with(&prefix) {
                let mut value = line[prefix.len()..].trim().to_owned();
                while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
                    value.push(' ');
                    value.push_str(next.trim());
                    lines.next();
                }
                return Some(value);
            }
        }
        None
    }

    /// The token of the first link in the text that starts with `prefix` (`/invitation?token=`).
    pub fn link_token(&self, prefix: &str) -> Option<String> {
        let text = self.text();
        let start = text.find(prefix)? + prefix.len();
        Some(
            text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect(),
        )
    }
}

pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    hang_ups: Arc<AtomicUsize>,
    /// Set once a client authenticated (any credentials are accepted).
    authenticated: Arc<AtomicUsize>,
    server: Option<JoinHandle<()>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let hang_ups = Arc::new(AtomicUsize::new(0));
        let authenticated = Arc::new(AtomicUsize::new(0));
        let server = Some(tokio::spawn(serve(
            listener,
            received.clone(),
            hang_ups.clone(),
            authenticated.clone(),
        )));
        Self {
            port,
            received,
            hang_ups,
            authenticated,
            server,
        }
    }

    /// What the service's `SME_LEDGER_SMTP_URL` should be.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops listening: connections are refused until [`SmtpSink::resume`].
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn resume(&mut self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(error) if tries < 50 => {
                    tries += 1;
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("cannot listen on port {} again: {error}", self.port),
            }
        };
        self.server = Some(tokio::spawn(serve(
            listener,
            self.received.clone(),
            self.hang_ups.clone(),
            self.authenticated.clone(),
        )));
    }

    /// The next `count` messages are kept, but the connection is closed instead of
    /// answering their data: the sender cannot tell whether they were delivered.
    pub fn hang_up_after_data(&self, count: usize) {
        self.hang_ups.store(count, Ordering::SeqCst);
    }

    /// Whether a client has authenticated.
    pub fn authenticated(&self) -> bool {
        self.authenticated.load(Ordering::SeqCst) > 0
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (up to 20 s) until the messages received satisfy `done`; returns them.
    pub async fn wait_until(&self, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..200 {
            let received = self.received();
            if done(&received) {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the expected mail did not arrive in 20 s; received: {:#?}",
            self.received()
        );
    }

    /// Waits for the first message to `email`.
    pub async fn message_to(&self, email: &str) -> Received {
        let email = email.to_owned();
        let received = self
            .wait_until(|messages| messages.iter().any(|m| m.recipients.contains(&email)))
            .await;
        received
            .into_iter()
            .find(|m| m.recipients.contains(&email))
            .unwrap()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(
    listener: TcpListener,
    received: Arc<Mutex<Vec<Received>>>,
    hang_ups: Arc<AtomicUsize>,
    authenticated: Arc<AtomicUsize>,
) {
    // Connections are served inside this task, so that aborting it ends them too.
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    sessions.spawn(session(
                        stream,
                        received.clone(),
                        hang_ups.clone(),
                        authenticated.clone(),
                    ));
                }
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

/// One SMTP conversation (RFC 5321, the commands lettre uses).
async fn session(
    stream: TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
    hang_ups: Arc<AtomicUsize>,
    authenticated: Arc<AtomicUsize>,
) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    if writer.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
        } else if command.starts_with("AUTH PLAIN") {
            authenticated.store(1, Ordering::SeqCst);
            b"235 2.7.0 accepted\r\n"
        } else if command.starts_with("HELO") {
            b"250 sink\r\n"
        } else if command.starts_with("MAIL FROM") {
            recipients.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or_default()
                .to_owned();
            recipients.push(address);
            b"250 OK\r\n"
        } else if command == "DATA" {
            if writer.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                let mut data_line = String::new();
                match reader.read_line(&mut data_line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if data_line == ".\r\n" {
                    break;
                }
                let unstuffed = data_line.strip_prefix('.').unwrap_or(&data_line);
                data.push_str(unstuffed);
            }
            received.lock().unwrap().push(Received {
                recipients: std::mem::take(&mut recipients),
                data,
            });
            let hang_up = hang_ups
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if hang_up {
                return;
            }
            b"250 OK queued\r\n"
        } else if command == "QUIT" {
            let _ = writer.write_all(b"221 bye\r\n").await;
            return;
        } else if command == "RSET" || command == "NOOP" {
            b"250 OK\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        if writer.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// A service that sends its mail to a new sink, its worker quick to poll and to retry.
pub async fn spawn_app_with_sink() -> (crate::helpers::TestApp, SmtpSink) {
    spawn_app_with_sink_and(|_| {}).await
}

pub async fn spawn_app_with_sink_and(
    customize: impl FnOnce(&mut sme_ledger::config::Settings),
) -> (crate::helpers::TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = crate::helpers::spawn_app_with(|settings| {
        quick_mail(settings, &url);
        customize(settings);
    })
    .await;
    (app, sink)
}

/// Mail to `smtp_url`, polled every 50 ms, retried after 100 ms (doubling); `/metrics` open
/// to [`crate::helpers::METRICS_TOKEN`], so that a test can wait for the worker's rounds.
pub fn quick_mail(settings: &mut sme_ledger::config::Settings, smtp_url: &str) {
    settings.smtp_url = Some(secrecy::SecretString::from(smtp_url.to_owned()));
    settings.metrics_token = Some(secrecy::SecretString::from(crate::helpers::METRICS_TOKEN));
    settings.mail_poll_ms = 50;
    settings.mail_retry_base_ms = 100;
}
