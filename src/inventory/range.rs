//! Host ranges in inventory host names: `web[01:10].example.com`, `db[a:c]`,
//! `node[1:10:2]`; several ranges in one name multiply out, ends are inclusive.

use super::address::parse_address;

/// The letters an alphabetic range walks through, in Python's `string.ascii_letters` order.
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A host key from an inventory file (a name, address or range with an optional
/// `:port`) expanded into host names, with the port if one was given.
pub fn expand_host_pattern(pattern: &str) -> Result<(Vec<String>, Option<u64>), String> {
    let (host, port) = parse_address(pattern, true).unwrap_or_else(|| (pattern.to_string(), None));
    let names = if host.contains('[') {
        expand(&host)?
    } else {
        vec![host]
    };
    Ok((names, port))
}

/// The most host names one pattern may expand to: `h[1:100000000]` would otherwise
/// allocate gigabytes before anything could be said about it.
pub const MAX_RANGE_HOSTS: usize = 100_000;

/// Expands every `[begin:end(:step)]` range in `name`; a name without `[` is returned
/// as is. The error says what is wrong with the first bad range, or how many names
/// the ranges would make when that is more than [`MAX_RANGE_HOSTS`].
pub fn expand(name: &str) -> Result<Vec<String>, String> {
    let count = name_count(name)?;
    if count > MAX_RANGE_HOSTS {
        return Err(format!(
            "the host ranges in '{name}' make {count} host names; at most {MAX_RANGE_HOSTS} are allowed"
        ));
    }
    expand_ranges(name)
}

/// How many names the ranges in `name` make, counted without making them
/// (saturating, so absurd products stay absurd instead of wrapping).
fn name_count(name: &str) -> Result<usize, String> {
    let mut count: usize = 1;
    let mut rest = name;
    while let Some((_, range, tail)) = first_range(name, rest)? {
        count = count.saturating_mul(range.len());
        rest = tail;
    }
    Ok(count)
}

/// Expands the ranges of a name whose size has been checked.
fn expand_ranges(name: &str) -> Result<Vec<String>, String> {
    let Some((head, range, tail)) = first_range(name, name)? else {
        return Ok(vec![name.to_string()]);
    };
    let mut names = Vec::new();
    for item in range.items() {
        names.extend(expand_ranges(&format!("{head}{item}{tail}"))?);
    }
    Ok(names)
}

/// The first range in `text` (part of `name`, for messages): the text before it,
/// the range, and the text after it.
fn first_range<'t>(name: &str, text: &'t str) -> Result<Option<(&'t str, Range, &'t str)>, String> {
    let Some(open) = text.find('[') else {
        return Ok(None);
    };
    let close = text[open..]
        .find(']')
        .map(|at| open + at)
        .ok_or_else(|| format!("host range in '{name}' has no closing ']'"))?;
    let spec = &text[open + 1..close];
    let range =
        Range::parse(spec).map_err(|why| format!("bad host range [{spec}] in '{name}': {why}"))?;
    Ok(Some((&text[..open], range, &text[close + 1..])))
}

/// One range spec (the text between the brackets), checked.
struct Range {
    /// First and last value, as indexes into [`LETTERS`] or as numbers.
    first: usize,
    last: usize,
    step: usize,
    /// Letters, or numbers zero-padded to this width (0: not padded).
    kind: RangeKind,
}

/// What a range walks through.
enum RangeKind {
    Letters,
    Numbers { width: usize },
}

impl Range {
    /// Parses `begin:end` or `begin:end:step`, checking the bounds as Ansible does.
    fn parse(spec: &str) -> Result<Range, String> {
        let bounds: Vec<&str> = spec.split(':').collect();
        let (begin, end, step) = match bounds[..] {
            [begin, end] => (begin, end, "1"),
            [begin, end, step] => (begin, end, step),
            _ => return Err("a host range must be begin:end or begin:end:step".into()),
        };
        let begin = if begin.is_empty() { "0" } else { begin };
        if end.is_empty() {
            return Err("a host range must specify an end value".into());
        }
        let step: usize = number(step)?;
        if step == 0 {
            return Err("the step of a host range must be at least 1".into());
        }
        let (first, last, kind) =
            if let (Some(first), Some(last)) = (letter_index(begin), letter_index(end)) {
                (first, last, RangeKind::Letters)
            } else {
                let width = if begin.len() > 1 && begin.starts_with('0') {
                    if begin.len() != end.len() {
                        return Err(
                            "a zero-padded host range needs begin and end of equal length".into(),
                        );
                    }
                    begin.len()
                } else {
                    0
                };
                (number(begin)?, number(end)?, RangeKind::Numbers { width })
            };
        if first > last {
            return Err("a host range must have begin <= end".into());
        }
        Ok(Range {
            first,
            last,
            step,
            kind,
        })
    }

    /// How many values the range stands for.
    fn len(&self) -> usize {
        ((self.last - self.first) / self.step).saturating_add(1)
    }

    /// The values the range stands for.
    fn items(&self) -> Vec<String> {
        match self.kind {
            RangeKind::Letters => LETTERS[self.first..=self.last]
                .chars()
                .step_by(self.step)
                .map(String::from)
                .collect(),
            RangeKind::Numbers { width } => (self.first..=self.last)
                .step_by(self.step)
                .map(|n| format!("{n:0width$}"))
                .collect(),
        }
    }
}

fn letter_index(bound: &str) -> Option<usize> {
    let mut chars = bound.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => LETTERS.find(c),
        _ => None,
    }
}

fn number(text: &str) -> Result<usize, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{text}' is not a number or a single letter"));
    }
    text.parse()
        .map_err(|_| format!("'{text}' is too large for a host range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_ranges() {
        let cases: &[(&str, &[&str])] = &[
            ("web1", &["web1"]),
            ("web[1:3]", &["web1", "web2", "web3"]),
            (
                "web[01:03].example.com",
                &[
                    "web01.example.com",
                    "web02.example.com",
                    "web03.example.com",
                ],
            ),
            ("web[08:10]", &["web08", "web09", "web10"]),
            ("db[a:c]", &["dba", "dbb", "dbc"]),
            ("db[y:B]", &["dby", "dbz", "dbA", "dbB"]),
            ("n[1:10:4]", &["n1", "n5", "n9"]),
            ("n[:2]", &["n0", "n1", "n2"]),
            ("r[1:2]c[a:b]", &["r1ca", "r1cb", "r2ca", "r2cb"]),
            ("x[5:5]", &["x5"]),
        ];
        for (input, expected) in cases {
            assert_eq!(expand(input).expect(input), *expected, "{input}");
        }
    }

    #[test]
    fn host_patterns_with_ports() {
        let cases: &[(&str, &[&str], Option<u64>)] = &[
            ("web1", &["web1"], None),
            ("web1:2222", &["web1"], Some(2222)),
            ("web[1:2]:22", &["web1", "web2"], Some(22)),
            ("[fe80::1]:22", &["fe80::1"], Some(22)),
            ("odd!name", &["odd!name"], None),
        ];
        for (input, names, port) in cases {
            let (got, got_port) = expand_host_pattern(input).expect(input);
            assert_eq!(got, *names, "{input}");
            assert_eq!(got_port, *port, "{input}");
        }
    }

    #[test]
    fn ranges_up_to_the_limit_expand() {
        let names = expand("n[1:100000]").expect("within the limit");
        assert_eq!(names.len(), MAX_RANGE_HOSTS);
        assert_eq!(names.last().map(String::as_str), Some("n100000"));
    }

    #[test]
    fn rejects_bad_ranges() {
        let cases: &[(&str, &str)] = &[
            ("web[1:]", "end value"),
            ("web[1]", "begin:end"),
            ("web[1:2:3:4]", "begin:end"),
            ("web[01:100]", "equal length"),
            ("web[3:1]", "begin <= end"),
            ("web[c:a]", "begin <= end"),
            ("web[1:3:0]", "step"),
            ("web[a:5]", "not a number"),
            ("web[1:3", "closing"),
            (
                "h[1:100000000]",
                "make 100000000 host names; at most 100000",
            ),
            ("h[1:1000]x[1:1000]", "make 1000000 host names"),
            (
                "h[0:18446744073709551615][0:18446744073709551615]",
                "make 18446744073709551615 host names",
            ),
        ];
        for (input, needle) in cases {
            let err = expand(input).expect_err(input);
            assert!(err.contains(needle), "{input}: {err}");
            assert!(err.contains(input), "{input}: {err}");
        }
    }
}
