//! `sequence`: numbers formatted as strings, from `start=1 end=5 stride=1 format=%d`
//! or the shortcut `[start-]end[/stride][:format]`.

use std::sync::LazyLock;

use minijinja::value::Value;
use regex::Regex;

use super::{Failure, Options, Outcome, fail};
use crate::template::pyfmt::py_str;

static SHORTCUT: LazyLock<Regex> = LazyLock::new(|| {
    let num = "(0?x?[0-9a-f]+)";
    Regex::new(&format!("(?i)^({num}-)?{num}(/{num})?(:(.+))?$")).expect("valid regex")
});

const FIELDS: &[&str] = &["start", "end", "stride", "count", "format"];

/// The options of one term, as given (strings or numbers).
#[derive(Clone, Default)]
struct Fields {
    start: Option<Value>,
    end: Option<Value>,
    stride: Option<Value>,
    count: Option<Value>,
    format: Option<String>,
}

impl Fields {
    fn set(&mut self, key: &str, value: Value) {
        match key {
            "start" => self.start = Some(value),
            "end" => self.end = Some(value),
            "stride" => self.stride = Some(value),
            "count" => self.count = Some(value),
            _ => self.format = Some(py_str(&value)),
        }
    }
}

pub(super) fn run(terms: &[Value], options: &Options) -> Outcome {
    let mut defaults = Fields::default();
    for key in options.keys() {
        if FIELDS.contains(&key)
            && let Some(value) = options.get(key)
        {
            defaults.set(key, value.clone());
        }
    }
    let terms: Vec<String> = if terms.is_empty() && options.keys().next().is_some() {
        vec![String::new()]
    } else {
        terms.iter().map(py_str).collect()
    };
    let mut out = Vec::new();
    for term in terms {
        let mut fields = defaults.clone();
        if let Some(caps) = SHORTCUT.captures(&term) {
            for (key, group) in [("start", 2), ("end", 3), ("stride", 5), ("format", 7)] {
                if let Some(m) = caps.get(group) {
                    fields.set(key, Value::from(m.as_str()));
                }
            }
        } else {
            let mut args = crate::playbook::args::parse_kv(&term, None);
            for key in FIELDS {
                if let Some(value) = args.shift_remove(*key) {
                    fields.set(key, Value::from_serialize(&value));
                }
            }
            if !args.is_empty() {
                let keys: Vec<String> = args.keys().map(|k| format!("'{k}'")).collect();
                return fail(format!(
                    "unrecognized arguments to with_sequence: [{}]",
                    keys.join(", ")
                ));
            }
        }
        out.extend(generate(&fields)?.into_iter().map(Value::from));
    }
    Ok(out)
}

/// An integer option as Ansible's config converts it: whole decimal numbers only.
fn integer(key: &str, value: &Option<Value>, default: Option<i64>) -> Result<Option<i64>, Failure> {
    let Some(value) = value else {
        return Ok(default);
    };
    if let Some(n) = value.as_i64() {
        return Ok(Some(n));
    }
    let text = py_str(value);
    let trimmed = text.trim();
    let parsed = trimmed.parse::<i64>().ok().or_else(|| {
        trimmed
            .parse::<f64>()
            .ok()
            .filter(|f| f.fract() == 0.0 && f.is_finite() && !trimmed.contains(['x', 'X']))
            .map(|f| f as i64)
    });
    parsed.map(Some).ok_or_else(|| {
        Failure::from(format!(
            "Config '{key}' for 'sequence' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'integer': '{text}'"
        ))
    })
}

fn generate(fields: &Fields) -> Result<Vec<String>, Failure> {
    let start = integer("start", &fields.start, Some(1))?.unwrap_or(1);
    let mut end = integer("end", &fields.end, None)?;
    let stride = integer("stride", &fields.stride, Some(1))?.unwrap_or(1);
    let count = integer("count", &fields.count, None)?;
    let format = fields.format.clone().unwrap_or_else(|| "%d".into());
    match (count, end) {
        (None, None) => return fail("must specify count or end in with_sequence"),
        (Some(_), Some(_)) => return fail("can't specify both count and end in with_sequence"),
        (Some(0), None) => return Ok(Vec::new()),
        (Some(count), None) => end = Some(start + count * stride - 1),
        _ => {}
    }
    let end = end.unwrap_or(start);
    if stride > 0 && end < start {
        return fail("to count backwards make stride negative");
    }
    if stride < 0 && end > start {
        return fail("to count forward don't make stride negative");
    }
    if stride == 0 {
        return Ok(Vec::new());
    }
    if format.matches('%').count() != 1 {
        return fail(format!("bad formatting string: {format}"));
    }
    let mut out = Vec::new();
    let mut i = start;
    let last = if stride > 0 { end + 1 } else { end - 1 };
    while (stride > 0 && i < last) || (stride < 0 && i > last) {
        out.push(
            printf(&format, i)
                .ok_or_else(|| Failure::from(format!("problem formatting {i} with '{format}'")))?,
        );
        i += stride;
    }
    Ok(out)
}

/// Python's `format % number`.
fn printf(format: &str, n: i64) -> Option<String> {
    crate::template::percent::format(format, &minijinja::Value::from(n)).ok()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::eval_in;
    use super::printf;
    use serde_json::json;

    fn q(expr: &str) -> Result<serde_json::Value, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        eval_in(expr, dir.path(), json!({}))
    }

    #[test]
    fn sequences_as_ansible_generates_them() {
        assert_eq!(
            q("q('sequence', 'start=0 end=3')"),
            Ok(json!(["0", "1", "2", "3"]))
        );
        assert_eq!(
            q("q('sequence', 'start=3 end=0 stride=-1')"),
            Ok(json!(["3", "2", "1", "0"]))
        );
        assert_eq!(q("q('sequence', 'count=0')"), Ok(json!([])));
        assert_eq!(q("q('sequence', '4')"), Ok(json!(["1", "2", "3", "4"])));
        assert_eq!(q("q('sequence', '2-6/2')"), Ok(json!(["2", "4", "6"])));
        assert_eq!(
            q("q('sequence', '7-8:host%02d')"),
            Ok(json!(["host07", "host08"]))
        );
        assert_eq!(
            q("q('sequence', count=5, start=10)"),
            Ok(json!(["10", "11", "12", "13", "14"]))
        );
        assert_eq!(
            q("q('sequence', 'count=5 start=0', stride=-1)"),
            Ok(json!(["0", "-1", "-2", "-3", "-4", "-5", "-6"]))
        );
        assert_eq!(
            q("q('sequence', 'count=5 start=0', 'count=5', start=20)"),
            Ok(json!([
                "0", "1", "2", "3", "4", "20", "21", "22", "23", "24"
            ]))
        );
        assert_eq!(q("q('sequence')"), Ok(json!([])));
        assert_eq!(
            q("q('sequence', 'count=5 start=0', stride=0)"),
            Ok(json!([]))
        );
        assert_eq!(
            q("q('sequence', 'start=1 end=3 format=%5.2f')"),
            Ok(json!([" 1.00", " 2.00", " 3.00"]))
        );
    }

    #[test]
    fn sequence_errors_use_ansibles_words() {
        let err = |e: &str| q(e).expect_err("fails");
        assert!(
            err("q('sequence', 'start=0 junk=3')")
                .contains("unrecognized arguments to with_sequence: ['junk']")
        );
        assert!(err("q('sequence', 'start=A end=3')").contains("has an invalid value"));
        assert!(err("q('sequence', 'A-4/2')").contains("has an invalid value"));
        assert!(
            err("q('sequence', 'start=1')").contains("must specify count or end in with_sequence")
        );
        assert!(
            err("q('sequence', 'start=1 end=4 count=2')")
                .contains("can't specify both count and end")
        );
        assert!(
            err("q('sequence', 'start=4 end=1 stride=2')")
                .contains("to count backwards make stride negative")
        );
        assert!(
            err("q('sequence', 'start=1 end=4 stride=-2')")
                .contains("to count forward don't make stride negative")
        );
        assert!(
            err("q('sequence', 'start=1 end=4 format=d')").contains("bad formatting string: d")
        );
    }

    #[test]
    fn printf_follows_python() {
        assert_eq!(printf("%04x", 3840).as_deref(), Some("0f00"));
        assert_eq!(printf("testuser%02x", 10).as_deref(), Some("testuser0a"));
        assert_eq!(printf("%-4d|", 7).as_deref(), Some("7   |"));
        assert_eq!(printf("%+d", 7).as_deref(), Some("+7"));
        assert_eq!(printf("%#o", 8).as_deref(), Some("0o10"));
    }
}
