//! Python `configparser`'s basic interpolation, which Ansible's INI readers use (local
//! facts in `.fact` files, `lookup('ini')`): `%%` is a percent sign, `%(name)s` the
//! value of option `name` in the same section, itself interpolated.

/// How deep `%(name)s` may refer before Python gives up.
const MAX_DEPTH: usize = 10;

/// Interpolates `value`; `option` gives an option's raw value (by lowercased name),
/// `missing` words the error for a name without one.
pub fn interpolate(
    value: &str,
    option: &dyn Fn(&str) -> Option<String>,
    missing: &dyn Fn(&str) -> String,
) -> Result<String, String> {
    interpolate_at(value, option, missing, 1)
}

fn interpolate_at(
    value: &str,
    option: &dyn Fn(&str) -> Option<String>,
    missing: &dyn Fn(&str) -> String,
    depth: usize,
) -> Result<String, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "Recursion limit exceeded in value substitution: '{value}'"
        ));
    }
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(inner) = rest.strip_prefix("%(")
            && let Some(end) = inner.find(")s")
        {
            let name = inner[..end].to_lowercase();
            let referenced = option(&name).ok_or_else(|| missing(&name))?;
            out.push_str(&interpolate_at(&referenced, option, missing, depth + 1)?);
            rest = &inner[end + 2..];
        } else {
            return Err(format!(
                "'%' must be followed by '%' or '(', found: '{rest}'"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::interpolate;

    fn options(name: &str) -> Option<String> {
        match name {
            "home" => Some("/srv".into()),
            "data" => Some("%(home)s/data".into()),
            "loop" => Some("%(loop)s".into()),
            _ => None,
        }
    }

    #[test]
    fn references_percents_and_errors_as_configparser() {
        let missing = |name: &str| format!("missing {name}");
        assert_eq!(
            interpolate("%(DATA)s at 100%%", &options, &missing),
            Ok("/srv/data at 100%".into())
        );
        assert_eq!(
            interpolate("%(nope)s", &options, &missing),
            Err("missing nope".into())
        );
        assert!(
            interpolate("%(loop)s", &options, &missing)
                .is_err_and(|e| e.starts_with("Recursion limit exceeded"))
        );
        assert!(
            interpolate("50% off", &options, &missing)
                .is_err_and(|e| e.starts_with("'%' must be followed"))
        );
    }
}
