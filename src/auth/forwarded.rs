//! Which address a request came from, behind trusted proxies, for per-client throttling.
//!
//! Each proxy appends the address it was connected from to `X-Forwarded-For`; everything
//! left of what the trusted proxies appended was written by the client and proves nothing.
//! So the client is the entry `hops` places from the right. Only `X-Forwarded-For` is read:
//! a `Forwarded` header is not set by the proxies this service is configured for, so a
//! client could choose it freely.

use std::net::{IpAddr, SocketAddr};

/// The client address from the `X-Forwarded-For` header values (in the order received;
/// several headers count as one comma-separated list), with `hops` trusted proxies in front.
/// `None` if no entry is there or the chosen one is not an IP address.
pub fn client_from_forwarded_for<'a>(
    header_values: impl IntoIterator<Item = &'a str>,
    hops: u32,
) -> Option<IpAddr> {
    let entries: Vec<&str> = header_values
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    let hops = usize::try_from(hops.max(1)).unwrap_or(1);
    // Fewer entries than proxies: all of them were appended by trusted proxies, the first by
    // the outermost.
    let index = entries.len().saturating_sub(hops);
    parse_address(entries.get(index)?)
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:5000`, `2001:db8::1` or
/// `[2001:db8::1]:5000`.
pub fn parse_address(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    raw.parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            raw.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(values: &[&str], hops: u32) -> Option<String> {
        client_from_forwarded_for(values.iter().copied(), hops).map(|ip| ip.to_string())
    }

    #[test]
    fn one_proxy_means_the_rightmost_entry() {
        assert_eq!(
            client(&["6.6.6.6, 203.0.113.7"], 1).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(client(&["203.0.113.7"], 1).as_deref(), Some("203.0.113.7"));
    }

    #[test]
    fn more_proxies_count_from_the_right() {
        let chain = ["1.1.1.1, 203.0.113.7, 10.0.0.2"];
        assert_eq!(client(&chain, 2).as_deref(), Some("203.0.113.7"));
        assert_eq!(client(&chain, 3).as_deref(), Some("1.1.1.1"));
        // Fewer entries than proxies: the outermost proxy's entry.
        assert_eq!(client(&chain, 5).as_deref(), Some("1.1.1.1"));
    }

    #[test]
    fn repeated_headers_form_one_list() {
        assert_eq!(
            client(&["6.6.6.6", "5.5.5.5, 203.0.113.7"], 1).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            client(&["6.6.6.6", "203.0.113.7"], 2).as_deref(),
            Some("6.6.6.6")
        );
    }

    #[test]
    fn ports_and_brackets_are_stripped() {
        assert_eq!(
            client(&["203.0.113.7:4711"], 1).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            client(&["[2001:db8::1]:4711"], 1).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            client(&["[2001:db8::1]"], 1).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(client(&["2001:db8::1"], 1).as_deref(), Some("2001:db8::1"));
    }

    #[test]
    fn empty_or_garbage_entries_give_no_address() {
        assert_eq!(client(&[], 1), None);
        assert_eq!(client(&[" , "], 1), None);
        assert_eq!(client(&["1.2.3.4, unknown"], 1), None);
        assert_eq!(client(&["1.2.3.4, _hidden"], 1), None);
    }
}
