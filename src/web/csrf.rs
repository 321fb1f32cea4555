//! Cross-site request forgery: every POST must come from this site's own pages. Two checks,
//! both before anything else happens:
//!
//! 1. the browser's `Origin` header names this site (or, without `Origin`,
//!    `Sec-Fetch-Site: same-origin`); a request with neither is refused;
//! 2. with a session, the form carries the session's token (`csrf_token`), compared in
//!    constant time.
//!
//! The sign-in form has no session yet: check 1 alone guards it (login CSRF).
//!
//! A download that writes an audit event (the ledger exports and their manifest) is a GET
//! that changes something: the tamper-evident trail. The session cookie is `SameSite=Lax`,
//! so a link on another site would still carry it; [`AuditedDownload`] refuses a request
//! the browser says another site started (`Sec-Fetch-Site: cross-site` or `same-site`).

use actix_web::HttpRequest;
use actix_web::http::header;
use sha2::{Digest, Sha256};

use super::WebConfig;
use super::errors::WebError;

/// The origin (`scheme://host[:port]`) of a URL such as the public URL setting.
pub fn origin_of(url: &str) -> anyhow::Result<String> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        anyhow::anyhow!("SME_LEDGER_PUBLIC_URL must start with http:// or https://")
    })?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        anyhow::bail!("SME_LEDGER_PUBLIC_URL must start with http:// or https://");
    }
    let host = rest
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if host.is_empty() {
        anyhow::bail!("SME_LEDGER_PUBLIC_URL names no host");
    }
    Ok(format!("{scheme}://{host}"))
}

/// The origin this request's pages were served from.
fn own_origin(req: &HttpRequest, config: &WebConfig) -> Option<String> {
    if let Some(origin) = &config.public_origin {
        return Some(origin.clone());
    }
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{}", host.to_ascii_lowercase()))
}

/// Check 1: the request comes from this site.
pub fn check_origin(req: &HttpRequest, config: &WebConfig) -> Result<(), WebError> {
    let headers = req.headers();
    let same_site = match headers.get(header::ORIGIN) {
        Some(origin) => origin
            .to_str()
            .ok()
            .zip(own_origin(req, config))
            .is_some_and(|(origin, own)| origin.eq_ignore_ascii_case(&own)),
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|site| site.as_bytes() == b"same-origin"),
    };
    if same_site {
        Ok(())
    } else {
        tracing::warn!(event = "csrf_refused", reason = "origin", "form refused");
        Err(WebError::ForeignForm)
    }
}

/// Whether the browser says another site started this request. A request without
/// `Sec-Fetch-Site` (a script, an older browser) is not refused: the header is what
/// browsers send on navigations, and the API's clients (bearer tokens, no cookie) never
/// reach these pages' cookies anyway.
fn started_elsewhere(req: &HttpRequest) -> bool {
    match req.headers().get("sec-fetch-site") {
        None => false,
        Some(site) => !matches!(site.as_bytes(), b"same-origin" | b"none"),
    }
}

/// A GET that records an audit event (an export): refused, before the session is read or
/// anything is recorded, when another site started it. Take it as the handler's first
/// argument; the download links stay plain links.
pub struct AuditedDownload;

impl actix_web::FromRequest for AuditedDownload {
    type Error = WebError;
    type Future = std::future::Ready<Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(if started_elsewhere(req) {
            tracing::warn!(
                event = "csrf_refused",
                reason = "cross_site_download",
                "download refused"
            );
            Err(WebError::ForeignDownload)
        } else {
            Ok(AuditedDownload)
        })
    }
}

/// Check 2: the form's token is the session's.
pub fn check_token(expected: &str, sent: Option<&str>) -> Result<(), WebError> {
    // Comparing digests keeps the comparison's time independent of where they differ.
    let matches = sent.is_some_and(|sent| {
        !expected.is_empty()
            && Sha256::digest(sent.as_bytes()) == Sha256::digest(expected.as_bytes())
    });
    if matches {
        Ok(())
    } else {
        tracing::warn!(event = "csrf_refused", reason = "token", "form refused");
        Err(WebError::ForeignForm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_gives_its_origin() {
        assert_eq!(
            origin_of("https://Ledger.example.org/app/").ok().as_deref(),
            Some("https://ledger.example.org")
        );
        assert!(origin_of("ftp://x").is_err());
        assert!(origin_of("ledger.example.org").is_err());
    }

    #[test]
    fn a_missing_or_wrong_token_is_refused() {
        assert!(check_token("abc", Some("abc")).is_ok());
        assert!(check_token("abc", Some("abd")).is_err());
        assert!(check_token("abc", None).is_err());
        assert!(check_token("", Some("")).is_err());
    }
}
