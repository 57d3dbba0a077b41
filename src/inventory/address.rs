//! Host addresses with an optional port, as Ansible's `parse_address` reads them:
//! `host`, `host:22`, `10.0.0.[1:9]`, `[fe80::1]:22`, `web[01:10].example.com`.

use std::sync::LazyLock;

use regex::Regex;

/// A `[1:9]` or `[1:9:2]` numeric range inside an address.
const NUMERIC_RANGE: &str = r"\[[0-9]+:[0-9]+(?::[0-9]+)?\]";
/// A numeric or one-letter alphabetic range inside a host name.
const ALPHANUMERIC_RANGE: &str = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";

static BRACKETED_HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[(.+)\]:([0-9]+)$").expect("valid regex"));
static HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").expect("valid regex"));
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    let part = format!("(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUMERIC_RANGE})");
    Regex::new(&format!(r"(?i)^(?:{part}\.){{3}}{part}$")).expect("valid regex")
});
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    let c = format!("(?:[0-9a-f]{{1,4}}|{NUMERIC_RANGE})");
    let forms = [
        format!("(?:{c}:){{7}}{c}"),
        format!("(?:{c}:){{1,6}}:"),
        format!("(?:{c}:)(?::{c}){{1,6}}"),
        format!("(?:{c}:){{2}}(?::{c}){{1,5}}"),
        format!("(?:{c}:){{3}}(?::{c}){{1,4}}"),
        format!("(?:{c}:){{4}}(?::{c}){{1,3}}"),
        format!("(?:{c}:){{5}}(?::{c}){{1,2}}"),
        format!("(?:{c}:){{6}}(?::{c})"),
        format!(":(?::{c}){{1,6}}"),
        format!("{c}?::"),
        format!(r"(?:0:){{6}}(?:{c}\.){{3}}{c}"),
        format!(r"::(?:ffff:)?(?:{c}\.){{3}}{c}"),
        format!(r"(?:0:){{5}}ffff:(?:{c}\.){{3}}{c}"),
    ];
    Regex::new(&format!("(?i)^(?:{})$", forms.join("|"))).expect("valid regex")
});
static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    let r = ALPHANUMERIC_RANGE;
    // A label starts with a word character or a range and does not end in `_` or `-`.
    let last = format!(r"(?:[\w&&[^_]]|{r})");
    let label = format!(r"(?:{last}|(?:\w|{r})(?:[\w-]|{r})*{last})");
    Regex::new(&format!(r"(?i)^{label}(?:\.{label})*$")).expect("valid regex")
});

/// Splits `address` into a host and an optional port, or returns `None` when it is
/// not a host name, IPv4 or IPv6 address. Ranges such as `[1:3]` are accepted only
/// when `allow_ranges` is set. An IPv6 address takes a port only inside brackets.
pub fn parse_address(address: &str, allow_ranges: bool) -> Option<(String, Option<u64>)> {
    let mut host = address.to_string();
    let mut port = None;
    for pattern in [&*BRACKETED_HOSTPORT, &*HOSTPORT] {
        if let Some(caps) = pattern.captures(&host) {
            port = Some(caps[2].parse().ok()?);
            host = caps[1].to_string();
        }
    }
    let valid = IPV4.is_match(&host) || IPV6.is_match(&host) || HOSTNAME.is_match(&host);
    if !valid || (!allow_ranges && host.contains('[')) {
        return None;
    }
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input, whether ranges are allowed, and the expected host and port.
    type Case = (&'static str, bool, Option<(&'static str, Option<u64>)>);

    #[test]
    fn addresses_and_ports() {
        let cases: &[Case] = &[
            ("web1", false, Some(("web1", None))),
            ("web1:2222", false, Some(("web1", Some(2222)))),
            ("web1.example.com", false, Some(("web1.example.com", None))),
            ("10.0.0.1:22", false, Some(("10.0.0.1", Some(22)))),
            ("fe80::1", false, Some(("fe80::1", None))),
            ("[fe80::1]:22", false, Some(("fe80::1", Some(22)))),
            ("::1", false, Some(("::1", None))),
            (
                "web[01:10].example.com",
                true,
                Some(("web[01:10].example.com", None)),
            ),
            ("web[01:10]:22", true, Some(("web[01:10]", Some(22)))),
            ("db[a:c]", true, Some(("db[a:c]", None))),
            ("web[01:10]", false, None),
            ("10.0.[1:3].1", true, Some(("10.0.[1:3].1", None))),
            ("bad_", false, None),
            ("-bad", false, None),
            ("_ok", false, Some(("_ok", None))),
            ("web:db", false, None),
            ("web:&db", false, None),
            ("a b", false, None),
        ];
        for (input, ranges, expected) in cases {
            let got = parse_address(input, *ranges);
            let expected = expected.map(|(h, p)| (h.to_string(), p));
            assert_eq!(got, expected, "{input}");
        }
    }
}
