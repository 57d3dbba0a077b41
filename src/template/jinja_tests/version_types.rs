//! The `version` test's `semver` and `pep440` version types: Ansible's
//! `SemanticVersion` (ansible.utils.version) and the `packaging` library's `Version`.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

/// A semantic version's comparison key: the release numbers and the pre-release
/// identifiers (build metadata does not take part in comparisons).
#[derive(Debug, PartialEq, Eq)]
struct SemanticKey {
    release: [u128; 3],
    prerelease: Vec<Identifier>,
}

/// One pre-release identifier: numbers sort before text.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier {
    Num(u128),
    Text(String),
}

static SEMVER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$",
    )
    .expect("a valid pattern")
});

fn semantic_key(version: &str) -> Result<SemanticKey, String> {
    let invalid = || format!("invalid semantic version '{version}'");
    let caps = SEMVER.captures(version).ok_or_else(invalid)?;
    let number = |i: usize| caps[i].parse::<u128>().map_err(|_| invalid());
    let prerelease = caps
        .get(4)
        .map(|pre| {
            pre.as_str()
                .split('.')
                .map(|part| match part.parse::<u128>() {
                    Ok(n) if part.bytes().all(|b| b.is_ascii_digit()) => Identifier::Num(n),
                    _ => Identifier::Text(part.to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(SemanticKey {
        release: [number(1)?, number(2)?, number(3)?],
        prerelease,
    })
}

/// Compares two semantic versions; a version without pre-release identifiers sorts
/// after the same version with them.
pub(super) fn compare_semantic(a: &str, b: &str) -> Result<Ordering, String> {
    let (a, b) = (semantic_key(a)?, semantic_key(b)?);
    Ok(a.release.cmp(&b.release).then_with(|| {
        match (a.prerelease.is_empty(), b.prerelease.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => a.prerelease.cmp(&b.prerelease),
        }
    }))
}

static PEP440: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*v?
        (?:(?P<epoch>[0-9]+)!)?
        (?P<release>[0-9]+(?:\.[0-9]+)*)
        (?P<pre>[-_\.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_\.]?(?P<pre_n>[0-9]+)?)?
        (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_\.]?(?P<post_l>post|rev|r)[-_\.]?(?P<post_n2>[0-9]+)?))?
        (?P<dev>[-_\.]?(?P<dev_l>dev)[-_\.]?(?P<dev_n>[0-9]+)?)?
        (?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?
        \s*$",
    )
    .expect("a valid pattern")
});

/// A segment that may be absent, sorting as `packaging`'s infinities place it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Bounded<T> {
    Below,
    At(T),
    Above,
}

/// One part of a local version label: text sorts before numbers.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    Text(String),
    Num(u128),
}

/// `packaging.version._cmpkey`, as a tuple compared field by field.
type Pep440Key = (
    u128,
    Vec<u128>,
    Bounded<(u8, u128)>,
    Bounded<u128>,
    Bounded<u128>,
    Bounded<Vec<LocalPart>>,
);

fn pep440_key(version: &str) -> Result<Pep440Key, String> {
    let invalid = || format!("Invalid version: '{version}'");
    let caps = PEP440.captures(version).ok_or_else(invalid)?;
    let number = |name: &str| -> Result<Option<u128>, String> {
        caps.name(name)
            .map(|m| m.as_str().parse::<u128>().map_err(|_| invalid()))
            .transpose()
    };
    let epoch = number("epoch")?.unwrap_or(0);
    let mut release = caps["release"]
        .split('.')
        .map(|n| n.parse::<u128>().map_err(|_| invalid()))
        .collect::<Result<Vec<_>, _>>()?;
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let pre_rank = caps
        .name("pre_l")
        .map(|l| match l.as_str().to_ascii_lowercase().as_str() {
            "a" | "alpha" => 0,
            "b" | "beta" => 1,
            _ => 2,
        });
    let post = caps
        .name("post")
        .map(|_| Ok::<_, String>(number("post_n1")?.or(number("post_n2")?).unwrap_or(0)))
        .transpose()?;
    let dev = caps
        .name("dev")
        .map(|_| number("dev_n").map(|n| n.unwrap_or(0)))
        .transpose()?;
    let pre = match pre_rank {
        Some(rank) => Bounded::At((rank, number("pre_n")?.unwrap_or(0))),
        None if post.is_none() && dev.is_some() => Bounded::Below,
        None => Bounded::Above,
    };
    let local = caps.name("local").map(|l| {
        l.as_str()
            .split(['-', '_', '.'])
            .map(|part| match part.parse::<u128>() {
                Ok(n) => LocalPart::Num(n),
                Err(_) => LocalPart::Text(part.to_ascii_lowercase()),
            })
            .collect()
    });
    Ok((
        epoch,
        release,
        pre,
        post.map_or(Bounded::Below, Bounded::At),
        dev.map_or(Bounded::Above, Bounded::At),
        local.map_or(Bounded::Below, Bounded::At),
    ))
}

/// Compares two PEP 440 versions as `packaging.version.Version` does.
pub(super) fn compare_pep440(a: &str, b: &str) -> Result<Ordering, String> {
    Ok(pep440_key(a)?.cmp(&pep440_key(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantic_versions_order_pre_releases_before_releases() {
        assert_eq!(compare_semantic("1.2.3", "2.0.0"), Ok(Ordering::Less));
        assert_eq!(compare_semantic("1.0.0-rc.1", "1.0.0"), Ok(Ordering::Less));
        assert_eq!(
            compare_semantic("1.0.0-alpha.1", "1.0.0-alpha.beta"),
            Ok(Ordering::Less)
        );
        assert_eq!(
            compare_semantic("1.0.0+b1", "1.0.0+b2"),
            Ok(Ordering::Equal)
        );
        assert_eq!(
            compare_semantic("nope", "1.0.0"),
            Err("invalid semantic version 'nope'".into())
        );
    }

    #[test]
    fn pep440_versions_order_as_packaging_does() {
        for (a, b) in [
            ("2.14.0rc1", "2.14.0"),
            ("1.0.dev1", "1.0a1"),
            ("1.0a1", "1.0b1"),
            ("1.0", "1.0.post1"),
            ("1.0", "1.0+local"),
            ("1!0.1", "1!0.2"),
            ("2.0", "1!0.1"),
            ("1.0+abc", "1.0+5"),
        ] {
            assert_eq!(compare_pep440(a, b), Ok(Ordering::Less), "{a} < {b}");
        }
        assert_eq!(compare_pep440("1.0", "1.0.0"), Ok(Ordering::Equal));
        assert_eq!(compare_pep440("v1.0-ALPHA", "1.0a0"), Ok(Ordering::Equal));
        assert_eq!(
            compare_pep440("nope", "1.0"),
            Err("Invalid version: 'nope'".into())
        );
    }
}
