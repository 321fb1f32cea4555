//! The web interface (SPEC §9): server-rendered pages for people, at `/`, beside the JSON API
//! under `/api/v1`. Pages parse the form, call the same use cases in `app/` as the API, and
//! render an askama template; no rule and no SQL lives here.
//!
//! - [`session`]: the signed-in person (a server-side session behind a cookie);
//! - [`csrf`]: every POST is checked for its origin and its per-session token;
//! - [`assets`]: the stylesheet under a content-hashed URL;
//! - one module per page group, and [`errors`] for the friendly error pages.

mod account;
mod assets;
mod audit;
mod auth;
mod certifications;
mod charts;
mod csrf;
mod errors;
mod exports;
mod forms;
mod items;
mod ledger;
mod links;
mod page;
mod rates;
mod recertification;
mod reports;
mod review;
mod separation;
mod session;
mod sme;
mod smes;
mod statement;
mod svg;
mod users;
mod workshops;

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

pub use errors::WebError;
pub use session::SignedIn;

use crate::app::web_sessions::Lifetimes;
use crate::config::Settings;
use crate::domain::Role;

/// What the web layer needs from the settings.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// `__Host-sme_session` over https, `sme_session` over plain http.
    pub cookie_name: &'static str,
    pub secure_cookie: bool,
    /// The origin forms must come from (`https://host[:port]`), when the public URL is set.
    pub public_origin: Option<String>,
    pub lifetimes: Lifetimes,
}

impl WebConfig {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let public_origin = settings
            .public_url
            .as_deref()
            .map(csrf::origin_of)
            .transpose()?;
        let secure = public_origin
            .as_deref()
            .is_some_and(|origin| origin.starts_with("https://"));
        Ok(Self {
            cookie_name: if secure {
                "__Host-sme_session"
            } else {
                "sme_session"
            },
            secure_cookie: secure,
            public_origin,
            lifetimes: Lifetimes {
                idle: chrono::TimeDelta::minutes(
                    i64::try_from(settings.session_idle_minutes).unwrap_or(30),
                ),
                absolute: chrono::TimeDelta::hours(
                    i64::try_from(settings.session_max_hours).unwrap_or(12),
                ),
            },
        })
    }
}

/// Declares the page routes once, like the API's table.
macro_rules! page_table {
    ($($path:literal => { $($method:ident : $handler:path),+ $(,)? }),+ $(,)?) => {
        /// Every `(method, path)` of the web interface.
        pub const ROUTES: &[(&str, &str)] = &[$($((stringify!($method), $path)),+),+];

        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.service(
                web::resource($path)
                    $(.route(web::$method().to($handler)))+
                    .default_service(web::to(errors::method_not_allowed))
            );)+
        }
    };
}

page_table! {
    "/" => { get: sme::home },
    "/static/{name}" => { get: assets::serve },
    "/sign-in" => { get: auth::sign_in_page, post: auth::sign_in },
    "/sign-out" => { post: auth::sign_out },
    "/invitation" => { get: links::invitation_page, post: links::accept_invitation },
    "/password-reset" => { get: links::reset_page, post: links::request_reset },
    "/password-reset/confirm" => { post: links::confirm_reset },
    "/account" => { get: account::show },
    "/account/notices" => { post: account::update_notices },
    "/account/password" => { get: auth::password_page, post: auth::change_password },
    "/items" => { get: items::list },
    "/items/new" => { get: sme::submit_page, post: sme::submit },
    "/items/{id}" => { get: review::item_page },
    "/items/{id}/withdraw" => { get: sme::withdraw_page, post: sme::withdraw },
    "/items/{id}/accept" => { post: review::accept },
    "/items/{id}/reject" => { post: review::reject },
    "/items/{id}/revoke" => { post: review::revoke },
    "/statement" => { get: statement::statement },
    "/statement.csv" => { get: statement::statement_csv },
    "/workshop-days" => { get: sme::workshop_days },
    "/certifications" => { get: certifications::mine, post: certifications::record_mine },
    "/certifications/{id}/renew" => { post: certifications::renew },
    "/review" => { get: review::queue },
    "/review/accept" => { post: review::bulk_accept },
    "/smes" => { get: smes::list },
    "/smes/new" => { get: smes::new_page, post: smes::create },
    "/smes/{id}/certifications" => { get: certifications::of_sme, post: certifications::record_for },
    "/workshops" => { get: workshops::list },
    "/workshops/new" => { get: workshops::new_page, post: workshops::create },
    "/workshops/{id}" => { get: workshops::show },
    "/workshops/{id}/attendance" => { post: workshops::log_attendance },
    "/ledger" => { get: ledger::browse },
    "/verify" => { get: ledger::verify },
    "/audit-log" => { get: audit::list },
    "/separation-of-duties" => { get: separation::page },
    "/exports" => { get: exports::page },
    "/exports/ledger.csv" => { get: exports::csv },
    "/exports/ledger.jsonl" => { get: exports::jsonl },
    "/exports/ledger.manifest.json" => { get: exports::manifest_file },
    "/exports/signing-key.txt" => { get: exports::signing_key },
    "/summary" => { get: reports::summary },
    "/summary.csv" => { get: reports::summary_csv },
    "/recertification" => { get: recertification::page },
    "/recertification.csv" => { get: recertification::csv },
    "/users" => { get: users::list },
    "/users/new" => { get: users::new_page, post: users::create },
    "/users/{id}" => { get: users::show },
    "/users/{id}/role" => { post: users::change_role },
    "/users/{id}/access" => { post: users::change_access },
    "/users/{id}/password" => { post: users::reset_password },
    "/users/{id}/unlock" => { post: users::unlock },
    "/rates" => { get: rates::list },
    "/rates/{kind}/new" => { get: rates::new_page, post: rates::publish },
}

/// The page routes, and the fallback that answers unknown paths: a problem+json 404 under
/// `/api/`, a friendly page elsewhere. Mount after the API's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    register(cfg);
    cfg.default_service(web::to(errors::not_found));
}

/// Middleware: the headers of SPEC §9 on every page (everything outside `/api/`), and
/// `Cache-Control: no-store` on any page that did not choose its own caching.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let is_page = !req.path().starts_with("/api/");
    let mut response = next.call(req).await?.map_into_boxed_body();
    // An error page met by someone signed in keeps their navigation and sign-out.
    let reframed = {
        let content = response
            .response()
            .extensions()
            .get::<errors::ErrorPageContent>()
            .cloned();
        let who = response.request().extensions().get::<SignedIn>().cloned();
        content
            .zip(who)
            .map(|(content, who)| content.render_for(&who, response.status()))
    };
    if let Some(page) = reframed {
        let request_id = response
            .headers()
            .get(crate::telemetry::REQUEST_ID_HEADER)
            .cloned();
        response = response.into_response(page);
        if let Some(request_id) = request_id {
            response
                .headers_mut()
                .insert(crate::telemetry::REQUEST_ID_HEADER, request_id);
        }
    }
    if is_page {
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    Ok(response)
}

/// One link of the main navigation.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The signed-in person as the page header shows them.
pub struct NavUser {
    pub display_name: String,
    pub role_label: &'static str,
    pub links: Vec<NavLink>,
}

/// What every page's frame shows.
pub struct Layout {
    pub title: String,
    pub css: &'static str,
    pub user: Option<NavUser>,
    pub csrf: String,
    pub flash: Option<String>,
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Sme => "SME",
        Role::ProgramManager => "program manager",
        Role::Auditor => "auditor",
        Role::Admin => "admin",
    }
}

/// The account page, last in every role's navigation.
const ACCOUNT_LINK: &[(&str, &str)] = &[("/account", "Your account")];

fn nav_links(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::Sme => &[
            ("/", "Home"),
            ("/items/new", "Submit an item"),
            ("/items", "My items"),
            ("/workshop-days", "My workshop days"),
            ("/statement", "My statement"),
            ("/certifications", "My certifications"),
        ],
        Role::ProgramManager => &[
            ("/review", "Review queue"),
            ("/items", "Items"),
            ("/smes", "SMEs"),
            ("/workshops", "Workshops"),
            ("/summary", "Summary"),
            ("/recertification", "Recertification"),
        ],
        Role::Auditor => &[
            ("/ledger", "Ledger"),
            ("/items", "Items"),
            ("/verify", "Verify"),
            ("/audit-log", "Audit log"),
            ("/separation-of-duties", "Separation of duties"),
            ("/exports", "Exports"),
            ("/summary", "Summary"),
            ("/recertification", "Recertification"),
        ],
        Role::Admin => &[
            ("/users", "Users"),
            ("/rates", "Rates"),
            ("/verify", "Verify"),
            ("/audit-log", "Audit log"),
        ],
    }
}

impl Layout {
    /// The frame of a page for someone not signed in.
    pub fn public(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            css: assets::stylesheet_url(),
            user: None,
            csrf: String::new(),
            flash: None,
        }
    }

    /// The frame of a page for `who`; `section` is the navigation entry to mark.
    pub fn signed_in(who: &SignedIn, title: impl Into<String>, section: &str) -> Self {
        let links = if who.must_change_password {
            Vec::new()
        } else {
            nav_links(who.role)
                .iter()
                .chain(ACCOUNT_LINK)
                .map(|(href, label)| NavLink {
                    href,
                    label,
                    current: *href == section,
                })
                .collect()
        };
        Self {
            title: title.into(),
            css: assets::stylesheet_url(),
            user: Some(NavUser {
                display_name: who.display_name.clone(),
                role_label: role_label(who.role),
                links,
            }),
            csrf: who.csrf_token.clone(),
            flash: who.flash.clone(),
        }
    }
}

/// An HTML answer with `status`.
pub fn html(
    status: actix_web::http::StatusCode,
    page: &impl Template,
) -> Result<HttpResponse, WebError> {
    let body = page
        .render()
        .map_err(|error| WebError::from(crate::error::ApiError::Internal(error.into())))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// A 200 page.
pub fn ok(page: &impl Template) -> Result<HttpResponse, WebError> {
    html(actix_web::http::StatusCode::OK, page)
}

/// `303 See Other` to a local path.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The request's path and query, as a `next` target after sign-in.
fn here(req: &HttpRequest) -> String {
    match req.uri().path_and_query() {
        Some(path) => path.as_str().to_owned(),
        None => "/".to_owned(),
    }
}
