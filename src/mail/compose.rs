//! A queued message turned into an email: subject, plain-text and HTML parts from the
//! templates under `templates/mail/` (askama escapes the HTML part), headers with lettre
//! (which encodes display names and subjects, so no value can add a header).

use askama::Template;
use lettre::Message;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use super::{Notice, OneTimeLink};
use crate::auth::LinkKey;
use crate::db::account_tokens;
use crate::db::outbox::OutboxRow;

/// What every message needs beside its own payload.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub from: Mailbox,
    /// Base of every link, without a trailing slash.
    pub public_url: String,
    /// Makes the tokens of one-time links (see [`crate::auth::link_key`]).
    pub link_key: LinkKey,
}

impl MailConfig {
    pub fn new(from: &str, public_url: &str, link_key: LinkKey) -> anyhow::Result<Self> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|error| anyhow::anyhow!("SME_LEDGER_MAIL_FROM is not an address: {error}"))?;
        let public_url = single_line(public_url.trim())
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            anyhow::bail!("SME_LEDGER_PUBLIC_URL must start with http:// or https://");
        }
        Ok(Self {
            from,
            public_url,
            link_key,
        })
    }

    fn token(&self, purpose: &str, link: &OneTimeLink) -> String {
        match link {
            OneTimeLink::LinkId(id) => self.link_key.token(purpose, id),
            OneTimeLink::Token(token) => token.clone(),
        }
    }

    pub fn invitation_link(&self, link: &OneTimeLink) -> String {
        let token = self.token(account_tokens::INVITATION, link);
        format!("{}/invitation?token={token}", self.public_url)
    }

    pub fn password_reset_link(&self, link: &OneTimeLink) -> String {
        let token = self.token(account_tokens::PASSWORD_RESET, link);
        format!("{}/password-reset?token={token}", self.public_url)
    }

    /// Where a user turns notices off (the web interface's account page).
    pub fn preferences_link(&self) -> String {
        format!("{}/account", self.public_url)
    }
}

/// A link with the words that introduce it.
pub struct Link {
    pub label: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct TextPart<'a> {
    name: &'a str,
    paragraphs: &'a [String],
    link: Option<&'a Link>,
    footer: &'a str,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlPart<'a> {
    subject: &'a str,
    name: &'a str,
    paragraphs: &'a [String],
    link: Option<&'a Link>,
    footer: &'a str,
}

/// What a message says, before it is rendered.
pub struct Content {
    pub subject: String,
    pub paragraphs: Vec<String>,
    pub link: Option<Link>,
}

fn day(time: chrono::NaiveDateTime) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn credits(n: i64) -> String {
    if n == 1 {
        "1 credit".to_owned()
    } else {
        format!("{n} credits")
    }
}

/// The words of each kind of message.
pub fn content(config: &MailConfig, notice: &Notice) -> Content {
    match notice {
        Notice::Invitation {
            link,
            invited_by,
            expires_at,
        } => Content {
            subject: "Your sme-ledger account: choose your password".into(),
            paragraphs: vec![
                format!("{invited_by} has created an sme-ledger account for you."),
                format!(
                    "Choose your password with the link below. It works once, until {}; \
                     if it has expired, ask for a new invitation.",
                    day(*expires_at)
                ),
            ],
            link: Some(Link {
                label: "Choose your password".into(),
                url: config.invitation_link(link),
            }),
        },
        Notice::PasswordReset { link, expires_at } => Content {
            subject: "Reset your sme-ledger password".into(),
            paragraphs: vec![
                "Someone asked to reset the password of your sme-ledger account.".into(),
                format!(
                    "If it was you, choose a new password with the link below. It works once, \
                     until {}. Using it signs you out everywhere. If it was not you, ignore \
                     this message: your password stays as it is.",
                    day(*expires_at)
                ),
            ],
            link: Some(Link {
                label: "Choose a new password".into(),
                url: config.password_reset_link(link),
            }),
        },
        Notice::ItemAccepted {
            external_ref,
            exam_code,
            credits: amount,
            ineligible_reason,
        } => Content {
            subject: format!("Item {external_ref} accepted"),
            paragraphs: vec![match ineligible_reason {
                Some(why) => format!(
                    "Your item {external_ref} for exam {exam_code} was accepted, but it earns \
                     no credit because it was {why}. Nothing was posted to your ledger."
                ),
                None => format!(
                    "Your item {external_ref} for exam {exam_code} was accepted: {} posted to \
                     your ledger.",
                    credits(*amount)
                ),
            }],
            link: None,
        },
        Notice::ItemRejected {
            external_ref,
            exam_code,
            reason,
        } => Content {
            subject: format!("Item {external_ref} rejected"),
            paragraphs: vec![
                format!("Your item {external_ref} for exam {exam_code} was rejected."),
                format!("Reason: {reason}"),
            ],
            link: None,
        },
        Notice::ItemRevoked {
            external_ref,
            exam_code,
            reason,
            credits_reversed,
        } => Content {
            subject: format!("Item {external_ref} revoked"),
            paragraphs: vec![
                format!(
                    "The acceptance of your item {external_ref} for exam {exam_code} was \
                     revoked: {} reversed.",
                    credits(*credits_reversed)
                ),
                format!("Reason: {reason}"),
            ],
            link: None,
        },
        Notice::WorkshopCredited {
            title,
            days,
            credits: amount,
        } => Content {
            subject: format!("Workshop credits: {title}"),
            paragraphs: vec![format!(
                "Your attendance at {title} was logged: {days} day(s), {} posted to your \
                 ledger.",
                credits(*amount)
            )],
            link: None,
        },
        Notice::ReviewDigest {
            waiting,
            oldest_submitted_at,
        } => Content {
            subject: format!("Review queue: {waiting} item(s) waiting"),
            paragraphs: vec![match oldest_submitted_at {
                Some(oldest) => format!(
                    "{waiting} item(s) wait for a decision; the oldest was submitted on {}.",
                    day(*oldest)
                ),
                None => format!("{waiting} item(s) wait for a decision."),
            }],
            link: Some(Link {
                label: "Open the review queue".into(),
                url: format!("{}/review", config.public_url),
            }),
        },
        Notice::RecertificationReminder {
            certification,
            level,
            expires_on,
            days_left,
            earned,
            required,
            remaining,
        } => Content {
            subject: format!(
                "Recertification: {} still to earn for {certification}",
                credits(*remaining)
            ),
            paragraphs: vec![
                format!(
                    "The current cycle of your {level} certification {certification} ends on \
                     {expires_on}, in {days_left} day(s)."
                ),
                format!(
                    "You have earned {earned} of the {required} credits it requires here; {} \
                     still to earn. Credits from training and events elsewhere count too: once \
                     the renewal is granted, record it on your certifications page.",
                    credits(*remaining)
                ),
            ],
            link: Some(Link {
                label: "See your progress".into(),
                url: format!("{}/certifications", config.public_url),
            }),
        },
    }
}

/// Control characters (CR, LF, TAB…) become spaces: one line, whatever a name holds.
fn single_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `List-Unsubscribe` (RFC 2369): where to turn notices off.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", single_line(&self.0)))
    }
}

/// The email of a queued message. An error means it can never be built (a stored payload
/// or address that does not parse): trying again cannot help.
pub fn build(config: &MailConfig, row: &OutboxRow) -> Result<Message, String> {
    let notice: Notice = serde_json::from_str(&row.payload)
        .map_err(|error| format!("the stored message cannot be read: {error}"))?;
    let Content {
        subject,
        paragraphs,
        link,
    } = content(config, &notice);
    let subject = single_line(&subject);
    let name = single_line(&row.recipient_name);
    let footer = if notice.is_account_message() {
        "You receive this message because of your account at sme-ledger.".to_owned()
    } else {
        format!(
            "You receive these notices because of your account at sme-ledger. Turn them off \
             at {}.",
            config.preferences_link()
        )
    };
    let text = TextPart {
        name: &name,
        paragraphs: &paragraphs,
        link: link.as_ref(),
        footer: &footer,
    }
    .render()
    .map_err(|error| format!("the text template failed: {error}"))?;
    let html = HtmlPart {
        subject: &subject,
        name: &name,
        paragraphs: &paragraphs,
        link: link.as_ref(),
        footer: &footer,
    }
    .render()
    .map_err(|error| format!("the HTML template failed: {error}"))?;
    let address = row
        .recipient
        .parse()
        .map_err(|error| format!("the recipient's address is not usable: {error}"))?;
    let mut builder = Message::builder()
        .from(config.from.clone())
        .to(Mailbox::new(Some(name), address))
        .subject(subject)
        .message_id(Some(row.message_id.clone()));
    if !notice.is_account_message() {
        builder = builder.header(ListUnsubscribe(config.preferences_link()));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|error| format!("the message cannot be built: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, notice: &Notice) -> OutboxRow {
        let now = chrono::Utc::now().naive_utc();
        OutboxRow {
            id: "id".into(),
            cause: "cause".into(),
            kind: notice.kind().into(),
            user_id: None,
            recipient: "ann@example.org".into(),
            recipient_name: name.into(),
            payload: serde_json::to_string(notice).unwrap_or_default(),
            message_id: "<x@sme-ledger.invalid>".into(),
            status: "sending".into(),
            attempts: 1,
            next_attempt_at: now,
            locked_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
            priority: 1,
        }
    }

    /// The message with its quoted-printable parts decoded.
    fn decoded(message: &Message) -> String {
        let raw = message.formatted();
        let bytes =
            quoted_printable::decode(&raw, quoted_printable::ParseMode::Robust).unwrap_or(raw);
        String::from_utf8_lossy(&bytes).to_string()
    }

    fn key() -> LinkKey {
        LinkKey::derive(&secrecy::SecretString::from(
            "a secret of at least thirty-two bytes!!",
        ))
    }

    fn config() -> MailConfig {
        MailConfig::new(
            "sme-ledger <noreply@example.org>",
            "https://ledger.example.org/",
            key(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_display_name_with_line_breaks_adds_no_header() {
        let notice = Notice::ItemRejected {
            external_ref: "EXT-1".into(),
            exam_code: "CX-1".into(),
            reason: "<b>off topic</b>".into(),
        };
        let message = build(&config(), &row("Ann\r\nBcc: evil@example.org", &notice))
            .unwrap_or_else(|e| panic!("{e}"));
        let text = decoded(&message);
        assert!(!text.lines().any(|line| line.starts_with("Bcc:")), "{text}");
        assert!(text.contains("List-Unsubscribe: <https://ledger.example.org/account>"));
        assert!(
            text.contains("&#60;b&#62;off topic&#60;/b&#62;"),
            "the HTML part escapes: {text}"
        );
    }

    #[test]
    fn account_messages_carry_no_unsubscribe_header() {
        let notice = Notice::PasswordReset {
            link: OneTimeLink::Token("abc".into()),
            expires_at: chrono::Utc::now().naive_utc(),
        };
        let message = build(&config(), &row("Ann", &notice)).unwrap_or_else(|e| panic!("{e}"));
        let text = decoded(&message);
        assert!(!text.contains("List-Unsubscribe"));
        assert!(text.contains("Message-ID: <x@sme-ledger.invalid>"));
        assert!(text.contains("https://ledger.example.org/password-reset?token=abc"));
    }

    #[test]
    fn a_stored_link_names_its_id_and_the_message_carries_the_token_made_from_it() {
        let expires_at = chrono::Utc::now().naive_utc();
        let notice = Notice::Invitation {
            link: OneTimeLink::LinkId("4b1c".into()),
            invited_by: "Pat".into(),
            expires_at,
        };
        let stored = serde_json::to_value(&notice).unwrap_or_default();
        assert_eq!(stored["kind"], "invitation");
        assert_eq!(stored["link_id"], "4b1c");
        assert!(stored.get("token").is_none(), "{stored}");
        assert_eq!(
            serde_json::from_value::<Notice>(stored).ok().as_ref(),
            Some(&notice)
        );
        let message = build(&config(), &row("Ann", &notice)).unwrap_or_else(|e| panic!("{e}"));
        let token = key().token(account_tokens::INVITATION, "4b1c");
        assert!(
            decoded(&message).contains(&format!("/invitation?token={token}")),
            "{}",
            decoded(&message)
        );
    }

    #[test]
    fn a_message_queued_by_an_earlier_release_still_carries_its_token() {
        let stored = serde_json::json!({
            "kind": "password_reset",
            "token": "legacy-token",
            "expires_at": "2026-12-01T10:00:00",
        });
        let notice: Notice = serde_json::from_value(stored).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            &notice,
            Notice::PasswordReset { link: OneTimeLink::Token(t), .. } if t == "legacy-token"
        ));
    }

    /// One notice of every kind, with long values, as a message would carry them.
    fn every_kind() -> Vec<Notice> {
        let at = chrono::Utc::now().naive_utc();
        vec![
            Notice::Invitation {
                link: OneTimeLink::LinkId("4b1c".into()),
                invited_by: "Pat Manager".into(),
                expires_at: at,
            },
            Notice::PasswordReset {
                link: OneTimeLink::LinkId("4b1c".into()),
                expires_at: at,
            },
            Notice::ItemAccepted {
                external_ref: "EXT-1".into(),
                exam_code: "CX-1".into(),
                credits: 6,
                ineligible_reason: None,
            },
            Notice::ItemAccepted {
                external_ref: "EXT-2".into(),
                exam_code: "CX-1".into(),
                credits: 0,
                ineligible_reason: Some(crate::domain::credits::INELIGIBLE_EXTERNAL_VENDOR.into()),
            },
            Notice::ItemRejected {
                external_ref: "EXT-1".into(),
                exam_code: "CX-1".into(),
                reason: "off topic".into(),
            },
            Notice::ItemRevoked {
                external_ref: "EXT-1".into(),
                exam_code: "CX-1".into(),
                reason: "leaked".into(),
                credits_reversed: 6,
            },
            Notice::WorkshopCredited {
                title: "MQC Security".into(),
                days: 2,
                credits: 8,
            },
            Notice::ReviewDigest {
                waiting: 3,
                oldest_submitted_at: Some(at),
            },
            Notice::ReviewDigest {
                waiting: 3,
                oldest_submitted_at: None,
            },
            Notice::RecertificationReminder {
                certification: "CCNP Enterprise".into(),
                level: "professional".into(),
                expires_on: at.date(),
                days_left: 60,
                earned: 20,
                required: 80,
                remaining: 60,
            },
        ]
    }

    /// The plain-text part of a built message, decoded.
    fn text_part(notice: &Notice) -> String {
        let message = build(&config(), &row("Ann Lee", notice)).unwrap_or_else(|e| panic!("{e}"));
        let all = decoded(&message);
        let start = all
            .find("Content-Type: text/plain")
            .unwrap_or_else(|| panic!("a text part: {all}"));
        let part = &all[start..];
        let body = part.find("\r\n\r\n").map_or(part, |i| &part[i + 4..]);
        let end = body.find("\r\n--").unwrap_or(body.len());
        body[..end].to_owned()
    }

    #[test]
    fn no_text_part_of_any_kind_of_message_has_a_run_of_spaces_inside_a_line() {
        for notice in every_kind() {
            let text = text_part(&notice);
            assert!(text.contains("Hello Ann Lee,"), "{text}");
            for line in text.lines() {
                let inside = line.trim();
                assert!(
                    !inside.contains("  "),
                    "{}: a run of spaces in {line:?}\n{text}",
                    notice.kind()
                );
            }
            // Every paragraph of the content is in the text part as one line.
            for paragraph in content(&config(), &notice).paragraphs {
                assert!(!paragraph.contains("  "), "{paragraph:?}");
                assert!(text.contains(&paragraph), "{paragraph:?} in\n{text}");
            }
        }
    }

    #[test]
    fn an_external_vendor_item_is_accepted_without_credit_and_the_notice_says_why() {
        let notice = &every_kind()[3];
        let text = text_part(notice);
        assert!(
            text.contains("was accepted, but it earns no credit"),
            "{text}"
        );
        assert!(text.contains("authored by an external vendor"), "{text}");
        assert!(!text.contains("0 credits posted"), "{text}");
    }

    #[test]
    fn an_acceptance_queued_by_the_previous_release_still_reads() {
        let stored =
            r#"{"kind":"item_accepted","external_ref":"EXT-1","exam_code":"CX-1","credits":6}"#;
        let notice: Notice = serde_json::from_str(stored).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            notice,
            Notice::ItemAccepted {
                external_ref: "EXT-1".into(),
                exam_code: "CX-1".into(),
                credits: 6,
                ineligible_reason: None,
            }
        );
        assert!(text_part(&notice).contains("6 credits posted to your ledger"));
    }
}
