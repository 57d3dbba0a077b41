//! The compose plugin's version, compared as the collection's `LooseVersion` compares
//! it: the numbers in it, in order (`2.26.1-4` is 2, 26, 1, 4).

use std::cmp::Ordering;

/// A compose plugin version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    text: String,
    numbers: Vec<u64>,
}

/// The numbers of a version string.
fn numbers(text: &str) -> Vec<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().unwrap_or(u64::MAX))
        .collect()
}

impl Version {
    /// Reads a version as `docker compose version` prints it (`v` dropped).
    pub fn parse(text: &str) -> Version {
        let text = text.trim().trim_start_matches('v').to_string();
        Version {
            numbers: numbers(&text),
            text,
        }
    }

    /// The version as the plugin wrote it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether this version is `other` or later.
    pub fn at_least(&self, other: &str) -> bool {
        self.numbers.cmp(&numbers(other)) != Ordering::Less
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_their_numbers() {
        let debian = Version::parse("2.26.1-4");
        assert!(debian.at_least("2.18.0"));
        assert!(debian.at_least("2.26.1"));
        assert!(!debian.at_least("2.29.0"));
        assert_eq!(Version::parse("v2.30.3").text(), "2.30.3");
        assert!(!Version::parse("2.17.9").at_least("2.18.0"));
    }
}
