//! Where a request came from, as both front ends (the API and the pages) record it: the
//! client address used for throttling and the audit log, and the `User-Agent`.

use actix_web::{HttpRequest, web};

use crate::state::AppState;

/// Where the request came from: [`client_address`] and the `User-Agent` header (cut to
/// [`Client::MAX_USER_AGENT`] bytes).
pub fn client(req: &HttpRequest) -> crate::app::Client {
    let user_agent = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    crate::app::Client::new(client_address(req), user_agent)
}

/// The client address used for per-client login throttling: the peer address, or, with
/// `--trust-forwarded-for`, the `X-Forwarded-For` entry the trusted proxies vouch for (see
/// [`crate::auth::forwarded`]). Client-chosen entries and `Forwarded` are never used.
pub fn client_address(req: &HttpRequest) -> String {
    let state = req.app_data::<web::Data<AppState>>();
    let forwarded = state
        .filter(|state| state.trust_forwarded_for)
        .and_then(|state| {
            let values = req
                .headers()
                .get_all("x-forwarded-for")
                .filter_map(|value| value.to_str().ok());
            crate::auth::forwarded::client_from_forwarded_for(values, state.trusted_proxy_hops)
        });
    match forwarded {
        Some(ip) => ip.to_string(),
        // Without the header (or with garbage where the proxy's entry should be) the peer
        // is the best knowledge there is: the proxy itself.
        None => req
            .peer_addr()
            .map_or_else(|| "unknown".to_owned(), |peer| peer.ip().to_string()),
    }
}
