//! `human_readable` and `human_to_bytes`: Ansible's `bytes_to_human` and
//! `human_to_bytes` formatters (module_utils/common/text/formatters.py).

use std::sync::LazyLock;

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, State, Value};
use regex::Regex;

use crate::template::args::{Params, ensure_defined, fail};
use crate::template::pyfmt::py_str;

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("human_readable", human_readable);
    env.add_filter("human_to_bytes", human_to_bytes);
}

/// The unit letters, largest first, with their size as a power of 1024.
const RANGES: [(char, i32); 9] = [
    ('Y', 8),
    ('Z', 7),
    ('E', 6),
    ('P', 5),
    ('T', 4),
    ('G', 3),
    ('M', 2),
    ('K', 1),
    ('B', 0),
];

/// The long and short spelling of each unit, bytes then bits.
fn unit_names(letter: char) -> Option<[(&'static str, &'static str); 2]> {
    Some(match letter {
        'B' => [("byte", "B"), ("bit", "b")],
        'K' => [("kilobyte", "KB"), ("kilobit", "Kb")],
        'M' => [("megabyte", "MB"), ("megabit", "Mb")],
        'G' => [("gigabyte", "GB"), ("gigabit", "Gb")],
        'T' => [("terabyte", "TB"), ("terabit", "Tb")],
        'P' => [("petabyte", "PB"), ("petabit", "Pb")],
        'E' => [("exabyte", "EB"), ("exabit", "Eb")],
        'Z' => [("zetabyte", "ZB"), ("zetabit", "Zb")],
        'Y' => [("yottabyte", "YB"), ("yottabit", "Yb")],
        _ => return None,
    })
}

/// `bytes_to_human(size, isbits, unit)`: `10.00 KB`, `1.00 Bytes`.
pub(crate) fn bytes_to_human(size: f64, isbits: bool, unit: Option<&str>) -> String {
    let wanted = unit
        .and_then(|u| u.chars().next())
        .map(|c| c.to_ascii_uppercase());
    let (letter, power) = RANGES
        .iter()
        .copied()
        .find(|(letter, power)| match wanted {
            None => size >= 1024f64.powi(*power),
            Some(w) => w == *letter,
        })
        .unwrap_or(('B', 0));
    let base = if isbits { "bits" } else { "Bytes" };
    let suffix = if power == 0 {
        base.to_string()
    } else {
        format!("{letter}{}", &base[..1])
    };
    format!("{:.2} {suffix}", size / 1024f64.powi(power))
}

static HUMAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$").expect("a valid pattern")
});

/// `human_to_bytes(number, default_unit, isbits)`: `'10 KB'` is 10240.
pub(crate) fn parse_human(
    text: &str,
    default_unit: Option<&str>,
    isbits: bool,
) -> Result<i64, String> {
    let caps = HUMAN
        .captures(text)
        .ok_or_else(|| format!("human_to_bytes() can't interpret following string: {text}"))?;
    let number: f64 = caps[1].parse().map_err(|_| {
        format!(
            "human_to_bytes() can't interpret following number: {} (original input string: {text})",
            &caps[1]
        )
    })?;
    let Some(unit) = caps.get(2).map(|m| m.as_str()).or(default_unit) else {
        return Ok(number.round_ties_even() as i64);
    };
    let letter = unit
        .chars()
        .next()
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or(' ');
    let Some(&(_, power)) = RANGES.iter().find(|(l, _)| *l == letter) else {
        return Err(format!(
            "human_to_bytes() failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
        ));
    };
    if unit.chars().count() > 1 {
        let (class, class_name) = if isbits { ('b', "bit") } else { ('B', "byte") };
        let expect = if letter == 'B' {
            format!("expect {class} or {class_name}")
        } else {
            format!("expect {letter}{class} or {letter}")
        };
        let names = unit_names(letter).unwrap_or([("", ""); 2])[usize::from(isbits)];
        if unit.to_lowercase() != names.0 && unit != names.1 {
            return Err(format!(
                "human_to_bytes() failed to convert {text}. Value is not a valid string ({expect})"
            ));
        }
    }
    Ok((number * 1024f64.powi(power)).round_ties_even() as i64)
}

/// `human_readable(isbits=False, unit=None)`.
fn human_readable(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind("human_readable", &["isbits", "unit"], args, kwargs)?;
    ensure_defined(state, value, "human_readable")?;
    let size = match value.kind() {
        ValueKind::Number | ValueKind::Bool => f64::try_from(value.clone()).unwrap_or(0.0),
        _ => {
            return Err(fail(
                "human_readable",
                "human_readable() failed on bad input",
            ));
        }
    };
    let unit = p.get("unit").filter(|u| !u.is_none()).map(py_str);
    Ok(Value::from(bytes_to_human(
        size,
        p.flag("isbits", false),
        unit.as_deref(),
    )))
}

/// `human_to_bytes(default_unit=None, isbits=False)`.
fn human_to_bytes(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind("human_to_bytes", &["default_unit", "isbits"], args, kwargs)?;
    ensure_defined(state, value, "human_to_bytes")?;
    let unit = p.get("default_unit").filter(|u| !u.is_none()).map(py_str);
    parse_human(&py_str(value), unit.as_deref(), p.flag("isbits", false))
        .map(Value::from)
        .map_err(|err| {
            fail(
                "human_to_bytes",
                format!("human_to_bytes() can't interpret the input: {err}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_as_ansible_prints_them() {
        assert_eq!(bytes_to_human(1.0, false, None), "1.00 Bytes");
        assert_eq!(bytes_to_human(1.0, true, None), "1.00 bits");
        assert_eq!(bytes_to_human(10240.0, false, None), "10.00 KB");
        assert_eq!(bytes_to_human(102400000.0, false, None), "97.66 MB");
        assert_eq!(bytes_to_human(102400000.0, false, Some("G")), "0.10 GB");
        assert_eq!(bytes_to_human(102400000.0, true, Some("G")), "0.10 Gb");
    }

    #[test]
    fn human_sizes_parse_as_ansible_parses_them() {
        assert_eq!(parse_human("0.9", None, false), Ok(1));
        assert_eq!(parse_human("0.5", None, false), Ok(0));
        assert_eq!(parse_human("11 MB", None, false), Ok(11534336));
        assert_eq!(parse_human("1.1 GB", None, false), Ok(1181116006));
        assert_eq!(parse_human("10.00 Kb", None, true), Ok(10240));
        assert_eq!(parse_human("2", Some("K"), false), Ok(2048));
        assert!(parse_human("10.00 foo", None, false).is_err());
        assert!(parse_human("10 Kb", None, false).is_err());
    }
}
