//! Package specs as `apt` takes them (`nginx`, `nginx=1.22*`, `nginx>=1.22`) and the
//! order of Debian versions (dpkg's `verrevcmp`).

use std::cmp::Ordering;

/// Which versions of a package a spec accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionReq {
    /// Any version.
    Any,
    /// `name=pattern`: versions matching the shell wildcard.
    Matches(String),
    /// `name>=version`: that version or a later one.
    AtLeast(String),
}

/// One entry of `name`: a package name (a shell wildcard is allowed) and a version
/// requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageSpec {
    /// The package name, possibly with `:arch`.
    pub name: String,
    /// The versions it accepts.
    pub req: VersionReq,
}

impl PackageSpec {
    /// Parses `name`, `name=pattern` or `name>=version`, as Ansible splits them.
    pub fn parse(spec: &str) -> Result<PackageSpec, String> {
        let spec = spec.trim();
        if spec.matches('=').count() > 1 {
            return Err(format!("invalid package spec: {spec}"));
        }
        let Some((head, version)) = spec.split_once('=') else {
            return Ok(PackageSpec {
                name: spec.to_string(),
                req: VersionReq::Any,
            });
        };
        let (name, req) = match head.strip_suffix('>') {
            Some(name) => (name, VersionReq::AtLeast(version.to_string())),
            None => (head, VersionReq::Matches(version.to_string())),
        };
        Ok(PackageSpec {
            name: name.to_string(),
            req,
        })
    }

    /// Whether the name is a shell wildcard (`apt*`), to expand against the cache.
    pub fn is_pattern(&self) -> bool {
        self.name.contains(['*', '?', '[', ']', '!'])
    }

    /// Whether the installed `version` satisfies the spec.
    pub fn accepts(&self, version: &str) -> bool {
        match &self.req {
            VersionReq::Any => true,
            VersionReq::Matches(pattern) => crate::glob::matches(pattern, version),
            VersionReq::AtLeast(minimum) => compare(version, minimum) != Ordering::Less,
        }
    }

    /// The spec as given (`name`, `name=1.0`, `name>=1.0`).
    pub fn text(&self) -> String {
        match &self.req {
            VersionReq::Any => self.name.clone(),
            VersionReq::Matches(version) => format!("{}={version}", self.name),
            VersionReq::AtLeast(version) => format!("{}>={version}", self.name),
        }
    }
}

/// Compares two Debian versions (`[epoch:]upstream[-revision]`) as dpkg does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (epoch_a, upstream_a, revision_a) = split_version(a);
    let (epoch_b, upstream_b, revision_b) = split_version(b);
    epoch_a
        .cmp(&epoch_b)
        .then_with(|| verrevcmp(upstream_a, upstream_b))
        .then_with(|| verrevcmp(revision_a, revision_b))
}

/// Epoch (0 when absent), upstream version and revision (empty when absent).
fn split_version(version: &str) -> (u64, &str, &str) {
    let version = version.trim();
    let (epoch, rest) = match version.split_once(':') {
        Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => {
            (epoch.parse().unwrap_or(0), rest)
        }
        _ => (0, version),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

/// dpkg's weight of a character in the non-digit parts: `~` sorts before everything,
/// even the end of the string; letters before other characters.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit and digit runs.
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (x, y) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if x != y {
                return x.cmp(&y);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_split_as_ansible_splits_them() {
        let spec = PackageSpec::parse("nginx").expect("valid");
        assert_eq!(spec.req, VersionReq::Any);
        let spec = PackageSpec::parse("nginx=1.22*").expect("valid");
        assert_eq!(
            (spec.name.as_str(), spec.req),
            ("nginx", VersionReq::Matches("1.22*".into()))
        );
        let spec = PackageSpec::parse("libc6:amd64>=2.36").expect("valid");
        assert_eq!(
            (spec.name.as_str(), spec.req),
            ("libc6:amd64", VersionReq::AtLeast("2.36".into()))
        );
        assert_eq!(
            PackageSpec::parse("a=1=2"),
            Err("invalid package spec: a=1=2".into())
        );
        assert!(PackageSpec::parse("python3-*").expect("valid").is_pattern());
    }

    #[test]
    fn installed_versions_are_checked_against_the_spec() {
        let wildcard = PackageSpec::parse("tree=2.1*").expect("valid");
        assert!(wildcard.accepts("2.1.0-1"));
        assert!(!wildcard.accepts("2.0.4-1"));
        let minimum = PackageSpec::parse("tree>=2.1").expect("valid");
        assert!(minimum.accepts("2.1.0-1"));
        assert!(!minimum.accepts("2.0.4-1"));
        assert!(minimum.accepts("1:0.1"));
    }

    #[test]
    fn versions_order_as_dpkg_orders_them() {
        let cases = [
            ("1.0", "1.0", Ordering::Equal),
            ("1.0", "1.0-0", Ordering::Equal),
            ("0:1.0", "1.0", Ordering::Equal),
            ("1.0-1", "1.0-2", Ordering::Less),
            ("1.10", "1.9", Ordering::Greater),
            ("1.0~rc1", "1.0", Ordering::Less),
            ("1.0~~", "1.0~", Ordering::Less),
            ("1.0", "1.0a", Ordering::Less),
            ("1.0a", "1.0+", Ordering::Less),
            ("1:0.9", "2.0", Ordering::Greater),
            ("2.36-9+deb12u4", "2.36-9+deb12u10", Ordering::Less),
            ("1.22.1-9", "1.22.1-9+deb12u1", Ordering::Less),
            ("007", "7", Ordering::Equal),
        ];
        for (a, b, expected) in cases {
            assert_eq!(compare(a, b), expected, "{a} vs {b}");
            assert_eq!(compare(b, a), expected.reverse(), "{b} vs {a}");
        }
    }
}
