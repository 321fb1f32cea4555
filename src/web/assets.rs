//! Static files, embedded in the binary and served under content-hashed names with a
//! year-long immutable cache: a new build with a changed file gets a new URL.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use super::errors::WebError;

const STYLESHEET: &str = include_str!("../../static/app.css");

/// `/static/app.<first 16 hex digits of its SHA-256>.css`.
pub fn stylesheet_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let digest = hex::encode(Sha256::digest(STYLESHEET.as_bytes()));
        format!("/static/app.{}.css", &digest[..16])
    })
}

pub async fn serve(name: web::Path<String>) -> Result<HttpResponse, WebError> {
    let asked = format!("/static/{}", name.as_str());
    if asked != stylesheet_url() {
        return Err(WebError::NotFound);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(STYLESHEET))
}
