//! Python's `configparser` as Ansible's INI readers use it (ansible.cfg, local facts in
//! `.fact` files, `lookup('ini')`): sections, `DEFAULT`, `=` or `:`, lowercased keys,
//! indented continuation lines, and basic interpolation: `%%` is a percent sign,
//! `%(name)s` the value of option `name` in the same section, itself interpolated.

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

/// INI text read as `configparser.ConfigParser` reads it, before interpolation.
#[derive(Debug, Default)]
pub struct Ini {
    defaults: Vec<(String, String)>,
    sections: Vec<(String, Vec<(String, String)>)>,
}

impl Ini {
    /// Reads `text`; `inline_comments` makes `;` after whitespace start a comment, as
    /// Ansible's `ConfigParser(inline_comment_prefixes=(';',))`. The error is
    /// configparser's complaint, with the line number.
    pub fn parse(text: &str, inline_comments: bool) -> Result<Ini, String> {
        let mut ini = Ini::default();
        let mut in_default = false;
        let mut last_key: Option<String> = None;
        for (number, raw) in text.lines().enumerate() {
            let number = number + 1;
            let raw = if inline_comments {
                strip_inline_comment(raw)
            } else {
                raw
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with(['#', ';']) {
                if line.is_empty() {
                    last_key = None;
                }
                continue;
            }
            if raw.starts_with([' ', '\t'])
                && let Some(key) = &last_key
                && let Some(options) = ini.current(in_default)
                && let Some((_, value)) = options.iter_mut().find(|(k, _)| k == key)
            {
                value.push('\n');
                value.push_str(line);
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                if name == "DEFAULT" {
                    in_default = true;
                } else if ini.sections.iter().any(|(n, _)| n == name) {
                    return Err(format!(
                        "While reading from '<string>' [line {number:2}]: section '{name}' already exists"
                    ));
                } else {
                    in_default = false;
                    ini.sections.push((name.to_string(), Vec::new()));
                }
                last_key = None;
                continue;
            }
            let Some(options) = ini.current(in_default) else {
                return Err(format!(
                    "File contains no section headers.\nfile: '<string>', line: {number}\n'{raw}'"
                ));
            };
            let Some(at) = line.find(['=', ':']) else {
                return Err(format!(
                    "Source contains parsing errors: '<string>'\n\t[line {number:2}]: '{raw}'"
                ));
            };
            let key = line[..at].trim().to_lowercase();
            if options.iter().any(|(k, _)| *k == key) {
                let section = if in_default {
                    "DEFAULT".to_string()
                } else {
                    ini.sections
                        .last()
                        .map(|(n, _)| n.clone())
                        .unwrap_or_default()
                };
                return Err(format!(
                    "While reading from '<string>' [line {number:2}]: option '{key}' in section '{section}' already exists"
                ));
            }
            let Some(options) = ini.current(in_default) else {
                continue;
            };
            options.push((key.clone(), line[at + 1..].trim().to_string()));
            last_key = Some(key);
        }
        Ok(ini)
    }

    fn current(&mut self, in_default: bool) -> Option<&mut Vec<(String, String)>> {
        if in_default {
            Some(&mut self.defaults)
        } else {
            self.sections.last_mut().map(|(_, options)| options)
        }
    }

    /// The section names, in file order (`DEFAULT` is not one).
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|(n, _)| n.as_str())
    }

    /// The raw options of `section`, `DEFAULT`'s included (the section's own first).
    fn raw_options(&self, section: &str) -> Option<Vec<(String, String)>> {
        let (_, options) = self.sections.iter().find(|(n, _)| n == section)?;
        let mut all = options.clone();
        for (key, value) in &self.defaults {
            if !all.iter().any(|(k, _)| k == key) {
                all.push((key.clone(), value.clone()));
            }
        }
        Some(all)
    }

    /// Every option of `section` with its interpolated value; an error for the first
    /// value that cannot be interpolated.
    pub fn items(&self, section: &str) -> Result<Vec<(String, String)>, String> {
        let all = self.raw_options(section).unwrap_or_default();
        all.iter()
            .map(|(key, value)| Ok((key.clone(), interpolate_in(&all, value)?)))
            .collect()
    }

    /// One option's interpolated value, if the section has it.
    pub fn get(&self, section: &str, key: &str) -> Option<Result<String, String>> {
        let all = self.raw_options(section)?;
        let (_, value) = all.iter().find(|(k, _)| k == key)?;
        Some(interpolate_in(&all, value))
    }
}

/// `value` interpolated from the other options of its section.
fn interpolate_in(all: &[(String, String)], value: &str) -> Result<String, String> {
    let option = |name: &str| all.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let missing =
        |name: &str| format!("Bad value substitution: option '{name}' references a missing option");
    interpolate(value, &option, &missing)
}

/// The line up to a `;` that follows whitespace.
fn strip_inline_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (at, byte) in bytes.iter().enumerate() {
        if *byte == b';' && at > 0 && bytes[at - 1].is_ascii_whitespace() {
            return &line[..at];
        }
    }
    line
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
