//! Python's printf-style string formatting, `"%s/%05.1f" % (a, b)`, which Jinja2
//! templates inherit from Python: conversions `s r a d i u o x X e E f F g G c %`,
//! `%(key)s` with a mapping, flags `-+ #0`, width and precision (also `*`), and
//! Python's errors. (Jinja has no tuple type: a list on the right is the arguments
//! when the format takes other than one; with one conversion it is the one value.)

use minijinja::value::{Value, ValueKind};

use super::pyfmt::{py_repr, py_str, type_name};

/// The `%` operator on a string in templates (minijinja's hook, see
/// vendor/minijinja/PATCHES.md).
pub fn rem(fmt: &Value, args: &Value) -> Result<Value, minijinja::Error> {
    format(fmt.as_str().unwrap_or_default(), args)
        .map(Value::from)
        .map_err(|message| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message))
}

/// `fmt % args` as Python computes it, or Python's `TypeError`/`ValueError` text.
pub fn format(fmt: &str, args: &Value) -> Result<String, String> {
    let pieces = parse(fmt)?;
    let keyed = pieces
        .iter()
        .any(|p| matches!(p, Piece::Conversion(c) if c.key.is_some()));
    let needed: usize = pieces.iter().map(Piece::arguments).sum();
    let is_map = args.kind() == ValueKind::Map;
    if keyed && !is_map {
        return Err("format requires a mapping".into());
    }
    let positional: Vec<Value> = match args.kind() {
        ValueKind::Seq if needed != 1 => args.try_iter().map(Iterator::collect).unwrap_or_default(),
        _ => vec![args.clone()],
    };
    let mut next = positional.into_iter();
    let mut take = || -> Result<Value, String> {
        next.next()
            .ok_or_else(|| "not enough arguments for format string".to_string())
    };
    let mut out = String::new();
    for piece in &pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Conversion(spec) => {
                let width = match spec.width {
                    Count::Star => Some(star(&take()?)?),
                    Count::Fixed(width) => Some(width),
                    Count::None => None,
                };
                let precision = match spec.precision {
                    Count::Star => Some(star(&take()?)?),
                    Count::Fixed(precision) => Some(precision),
                    Count::None => None,
                };
                let value = match &spec.key {
                    Some(key) => args
                        .get_item(&Value::from(key.as_str()))
                        .ok()
                        .filter(|v| !v.is_undefined())
                        .ok_or_else(|| format!("KeyError: '{key}'"))?,
                    None if spec.kind == '%' => Value::from(()),
                    None => take()?,
                };
                out.push_str(&convert(spec, &value, width, precision)?);
            }
        }
    }
    if next.len() > 0 && !is_map {
        return Err("not all arguments converted during string formatting".into());
    }
    Ok(out)
}

/// A part of a format: text as written, or one conversion.
enum Piece {
    Text(String),
    Conversion(Spec),
}

impl Piece {
    /// How many positional arguments this piece takes.
    fn arguments(&self) -> usize {
        match self {
            Piece::Text(_) => 0,
            Piece::Conversion(spec) => {
                let stars = [spec.width, spec.precision]
                    .iter()
                    .filter(|c| matches!(c, Count::Star))
                    .count();
                let own = usize::from(spec.key.is_none() && spec.kind != '%');
                stars + own
            }
        }
    }
}

/// A width or precision: none, written, or taken from the arguments (`*`).
#[derive(Clone, Copy)]
enum Count {
    None,
    Fixed(usize),
    Star,
}

/// One `%` conversion.
struct Spec {
    key: Option<String>,
    flags: String,
    width: Count,
    precision: Count,
    kind: char,
}

/// Splits `fmt` into text and conversions.
fn parse(fmt: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = fmt.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        let mut key = None;
        if chars.peek().is_some_and(|(_, c)| *c == '(') {
            chars.next();
            let mut depth = 1;
            let mut name = String::new();
            for (_, c) in chars.by_ref() {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                if depth == 0 {
                    break;
                }
                name.push(c);
            }
            if depth != 0 {
                return Err("incomplete format key".into());
            }
            key = Some(name);
        }
        let mut flags = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| "-+ #0".contains(*c)) {
            flags.push(c);
        }
        let count = |chars: &mut std::iter::Peekable<std::str::CharIndices>| {
            if chars.next_if(|(_, c)| *c == '*').is_some() {
                return Count::Star;
            }
            let mut digits = String::new();
            while let Some((_, d)) = chars.next_if(|(_, c)| c.is_ascii_digit()) {
                digits.push(d);
            }
            digits.parse().map_or(Count::None, Count::Fixed)
        };
        let width = count(&mut chars);
        let precision = match chars.next_if(|(_, c)| *c == '.') {
            Some(_) => match count(&mut chars) {
                Count::None => Count::Fixed(0),
                other => other,
            },
            None => Count::None,
        };
        while chars.next_if(|(_, c)| "hlL".contains(*c)).is_some() {}
        let Some((at, kind)) = chars.next() else {
            return Err("incomplete format".into());
        };
        if !"sradiuoxXeEfFgGc%".contains(kind) {
            return Err(format!(
                "unsupported format character '{kind}' ({:#x}) at index {at}",
                kind as u32
            ));
        }
        pieces.push(Piece::Conversion(Spec {
            key,
            flags,
            width,
            precision,
            kind,
        }));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// A `*` width or precision from its argument (an int; negative widths left-align
/// in Python, kept simple here as their size).
fn star(value: &Value) -> Result<usize, String> {
    value
        .as_i64()
        .filter(|_| value.kind() == ValueKind::Number)
        .map(|n| n.unsigned_abs() as usize)
        .ok_or_else(|| "* wants int".into())
}

/// One conversion of `value`, padded to `width`.
fn convert(
    spec: &Spec,
    value: &Value,
    width: Option<usize>,
    precision: Option<usize>,
) -> Result<String, String> {
    let (sign, body) = match spec.kind {
        '%' => (String::new(), "%".to_string()),
        's' | 'r' | 'a' => {
            let text = if spec.kind == 's' {
                py_str(value)
            } else {
                py_repr(value)
            };
            let text = match precision {
                Some(p) => text.chars().take(p).collect(),
                None => text,
            };
            (String::new(), text)
        }
        'c' => (String::new(), character(value)?),
        'd' | 'i' | 'u' | 'o' | 'x' | 'X' => integer(spec, value, precision)?,
        _ => float(spec, value, precision)?,
    };
    let len = sign.chars().count() + body.chars().count();
    let pad = width.unwrap_or(0).saturating_sub(len);
    let numeric = !matches!(spec.kind, 's' | 'r' | 'a' | 'c' | '%');
    Ok(if spec.flags.contains('-') {
        format!("{sign}{body}{}", " ".repeat(pad))
    } else if spec.flags.contains('0') && numeric {
        format!("{sign}{}{body}", "0".repeat(pad))
    } else {
        format!("{}{sign}{body}", " ".repeat(pad))
    })
}

/// The sign a number shows: `-`, else `+` or a space when the flags ask.
fn sign_of(negative: bool, flags: &str) -> String {
    match (negative, flags.contains('+'), flags.contains(' ')) {
        (true, _, _) => "-".into(),
        (false, true, _) => "+".into(),
        (false, false, true) => " ".into(),
        _ => String::new(),
    }
}

/// `%d %i %u %o %x %X`: the sign and the digits.
fn integer(
    spec: &Spec,
    value: &Value,
    precision: Option<usize>,
) -> Result<(String, String), String> {
    let exact = matches!(spec.kind, 'o' | 'x' | 'X');
    let n: i128 = match value.kind() {
        ValueKind::Bool => i128::from(value.is_true()),
        ValueKind::Number => match value.as_i64() {
            Some(n) => i128::from(n),
            None if exact => {
                return Err(format!(
                    "%{} format: an integer is required, not {}",
                    spec.kind,
                    type_name(value)
                ));
            }
            None => f64::try_from(value.clone()).map_or(0, |f| f.trunc() as i128),
        },
        _ if exact => {
            return Err(format!(
                "%{} format: an integer is required, not {}",
                spec.kind,
                type_name(value)
            ));
        }
        _ => {
            return Err(format!(
                "%{} format: a real number is required, not {}",
                spec.kind,
                type_name(value)
            ));
        }
    };
    let magnitude = n.unsigned_abs();
    let alternate = spec.flags.contains('#');
    let mut digits = match spec.kind {
        'o' => format!("{magnitude:o}"),
        'x' => format!("{magnitude:x}"),
        'X' => format!("{magnitude:X}"),
        _ => magnitude.to_string(),
    };
    if let Some(p) = precision
        && digits.len() < p
    {
        digits = format!("{}{digits}", "0".repeat(p - digits.len()));
    }
    let prefix = match (alternate, spec.kind) {
        (true, 'o') => "0o",
        (true, 'x') => "0x",
        (true, 'X') => "0X",
        _ => "",
    };
    Ok((sign_of(n < 0, &spec.flags) + prefix, digits))
}

/// `%e %E %f %F %g %G`: the sign and the digits.
fn float(spec: &Spec, value: &Value, precision: Option<usize>) -> Result<(String, String), String> {
    let x = match value.kind() {
        ValueKind::Bool => f64::from(u8::from(value.is_true())),
        ValueKind::Number => f64::try_from(value.clone()).unwrap_or(0.0),
        _ => {
            return Err(format!("must be real number, not {}", type_name(value)));
        }
    };
    let negative = x.is_sign_negative() && !x.is_nan();
    let x = x.abs();
    let upper = spec.kind.is_ascii_uppercase();
    let body = if x.is_infinite() {
        "inf".to_string()
    } else if x.is_nan() {
        "nan".to_string()
    } else {
        let p = precision.unwrap_or(6);
        match spec.kind.to_ascii_lowercase() {
            'f' => format!("{x:.p$}"),
            'e' => exponent(x, p),
            _ => general(x, p, spec.flags.contains('#')),
        }
    };
    let body = if upper { body.to_uppercase() } else { body };
    Ok((sign_of(negative, &spec.flags), body))
}

/// `x` as Python's `%.{p}e`: the exponent signed and at least two digits.
fn exponent(x: f64, p: usize) -> String {
    let formatted = format!("{x:.p$e}");
    let (mantissa, exp) = formatted.split_once('e').unwrap_or((&formatted, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// `x` as Python's `%.{p}g`: fixed or exponent notation by the exponent, trailing
/// zeros dropped unless `alternate`.
fn general(x: f64, p: usize, alternate: bool) -> String {
    let p = p.max(1);
    let probe = format!("{x:.prec$e}", prec = p - 1);
    let exp: i32 = probe
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let p_i = i32::try_from(p).unwrap_or(i32::MAX);
    let text = if (-4..p_i).contains(&exp) {
        let decimals = usize::try_from(p_i - 1 - exp).unwrap_or(0);
        format!("{x:.decimals$}")
    } else {
        exponent(x, p - 1)
    };
    if alternate {
        return text;
    }
    match text.split_once('e') {
        Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa)),
        None => trim_zeros(&text),
    }
}

/// `text` without trailing zeros after a decimal point (and the point, if bare).
fn trim_zeros(text: &str) -> String {
    if !text.contains('.') {
        return text.to_string();
    }
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `%c`: a one-character string, or the character of an integer code point.
fn character(value: &Value) -> Result<String, String> {
    if let Some(text) = value.as_str() {
        if text.chars().count() == 1 {
            return Ok(text.to_string());
        }
        return Err("%c requires an int or a unicode character, not a string of length".into());
    }
    value
        .as_i64()
        .and_then(|n| u32::try_from(n).ok())
        .and_then(char::from_u32)
        .map(String::from)
        .ok_or_else(|| {
            format!(
                "%c requires an int or a unicode character, not {}",
                type_name(value)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, args: Value) -> Result<String, String> {
        format(fmt, &args)
    }

    fn tuple(items: &[Value]) -> Value {
        Value::from(items.to_vec())
    }

    #[test]
    fn conversions_match_python() {
        let cases: &[(&str, Value, &str)] = &[
            ("%s/%s", tuple(&[Value::from("a"), Value::from(1)]), "a/1"),
            ("%5.1f|", Value::from(4.25), "  4.2|"),
            ("%-6d|", Value::from(42), "42    |"),
            ("%06.2f", Value::from(-3.5), "-03.50"),
            ("%+d % d", tuple(&[Value::from(5), Value::from(5)]), "+5  5"),
            (
                "%x %X %#o",
                tuple(&[Value::from(255), Value::from(255), Value::from(8)]),
                "ff FF 0o10",
            ),
            ("%e", Value::from(12345.678), "1.234568e+04"),
            (
                "%g %g %g",
                tuple(&[
                    Value::from(0.0001),
                    Value::from(1234567.0),
                    Value::from(2.5),
                ]),
                "0.0001 1.23457e+06 2.5",
            ),
            ("%d", Value::from(3.9), "3"),
            ("%.3s", Value::from("abcdef"), "abc"),
            ("%r", Value::from("x"), "'x'"),
            ("%c%c", tuple(&[Value::from(65), Value::from("b")]), "Ab"),
            ("100%%", tuple(&[]), "100%"),
            ("%*d", tuple(&[Value::from(4), Value::from(7)]), "   7"),
            ("%s", Value::from(vec![1, 2]), "[1, 2]"),
        ];
        for (fmt, args, want) in cases {
            assert_eq!(f(fmt, args.clone()).as_deref(), Ok(*want), "{fmt}");
        }
    }

    #[test]
    fn mapping_keys_are_looked_up() {
        let args = Value::from_serialize(serde_json::json!({"name": "web", "n": 3}));
        assert_eq!(f("%(name)s-%(n)03d", args).as_deref(), Ok("web-003"));
        assert_eq!(
            f("%(x)s", Value::from(1)).unwrap_err(),
            "format requires a mapping"
        );
    }

    #[test]
    fn argument_count_errors_are_pythons() {
        assert_eq!(
            f("%s %s", Value::from("a")).unwrap_err(),
            "not enough arguments for format string"
        );
        assert_eq!(
            f(
                "%s %s",
                tuple(&[Value::from(1), Value::from(2), Value::from(3)])
            )
            .unwrap_err(),
            "not all arguments converted during string formatting"
        );
        assert_eq!(
            f("abc", Value::from(5)).unwrap_err(),
            "not all arguments converted during string formatting"
        );
        assert_eq!(
            f("%d", Value::from("x")).unwrap_err(),
            "%d format: a real number is required, not str"
        );
        assert_eq!(
            f("%z", Value::from(1)).unwrap_err(),
            "unsupported format character 'z' (0x7a) at index 1"
        );
    }
}
