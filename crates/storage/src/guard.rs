//! The SSRF guard of server-side downloads: only globally routable addresses may be reached.
//!
//! Names are resolved by [`GuardedResolver`], which drops every address that is not global, so a
//! name that points inside (or is re-pointed inside after a first check) cannot be connected to;
//! literal IPs, which skip resolution, are checked before the request and on every redirect.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

const MAX_REDIRECTS: usize = 5;

/// Which addresses may be fetched besides global ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Allowance {
    /// Global addresses only: the setting for every deployment.
    #[default]
    GlobalOnly,
    /// Also loopback (127.0.0.0/8, ::1), so tests can reach local emulators. Never in production.
    AlsoLoopback,
}

impl Allowance {
    pub fn permits(self, ip: IpAddr) -> bool {
        is_global(ip) || (self == Self::AlsoLoopback && ip.is_loopback())
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()        // 169.254/16, including cloud metadata 169.254.169.254
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0                    // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0)       // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19))   // benchmarking 198.18/15
        || a >= 240) // reserved
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_global_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) embeds an IPv4 address.
    if segments[0..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 =
            Ipv4Addr::new((segments[6] >> 8) as u8, segments[6] as u8, (segments[7] >> 8) as u8, segments[7] as u8);
        return is_global_v4(v4);
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || segments[0] == 0x0100) // discard-only 100::/64
}

/// Whether `ip` is routable on the public internet.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

/// A resolver that answers only the addresses `allowance` permits.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allowance: Allowance,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allowance = self.allowance;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found.into_iter().filter(|a| allowance.permits(a.ip())).collect();
            if permitted.is_empty() {
                return Err(format!("{host} resolves only to addresses that may not be fetched").into());
            }
            let addrs: Addrs = Box::new(permitted.into_iter());
            Ok(addrs)
        })
    }
}

/// Refuses what may never be fetched: other schemes, missing hosts, literal inside addresses
/// (names are checked by [`GuardedResolver`] when they are resolved).
pub fn check_url(url: &Url, allowance: Allowance) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme '{}' is not http or https", url.scheme()));
    }
    match url.host() {
        None => Err("the URL has no host".into()),
        Some(url::Host::Ipv4(ip)) if !allowance.permits(IpAddr::V4(ip)) => Err(format!("address {ip} is not public")),
        Some(url::Host::Ipv6(ip)) if !allowance.permits(IpAddr::V6(ip)) => Err(format!("address {ip} is not public")),
        Some(_) => Ok(()),
    }
}

/// An HTTP client for server-side calls to addresses that users choose (downloads, provider base
/// URLs): names resolve only to permitted addresses and every redirect is checked again.
pub fn guarded_client(allowance: Allowance) -> reqwest::ClientBuilder {
    let redirect = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error("too many redirects");
        }
        match check_url(attempt.url(), allowance) {
            Ok(()) => attempt.follow(),
            Err(reason) => attempt.error(format!("redirect refused: {reason}")),
        }
    });
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { allowance }))
        .redirect(redirect)
        .connect_timeout(Duration::from_secs(10))
        .no_proxy()
        .user_agent("cinegen/1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_addresses_are_not_global() {
        for inside in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "192.0.2.1",
            "198.18.0.1",
        ] {
            assert!(!is_global(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["1.1.1.1", "8.8.8.8", "203.0.114.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"] {
            assert!(is_global(outside.parse().unwrap()), "{outside}");
        }
    }

    #[test]
    fn loopback_only_opens_when_allowed() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(!Allowance::GlobalOnly.permits(loopback));
        assert!(Allowance::AlsoLoopback.permits(loopback));
        assert!(!Allowance::AlsoLoopback.permits("10.0.0.1".parse().unwrap()));
    }

    #[tokio::test]
    async fn names_resolving_inside_are_refused() {
        let resolver = GuardedResolver { allowance: Allowance::GlobalOnly };
        let refused = resolver.resolve("localhost".parse().unwrap()).await;
        assert!(refused.is_err());
        let allowed =
            GuardedResolver { allowance: Allowance::AlsoLoopback }.resolve("localhost".parse().unwrap()).await;
        assert!(allowed.is_ok());
    }
}
