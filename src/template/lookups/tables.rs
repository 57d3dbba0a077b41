//! Lookups reading tables from control-node files: `ini` (INI and Java properties
//! files, read as Python's configparser reads them) and `csvfile`.

use indexmap::IndexMap;
use minijinja::value::Value;

use super::search::find_file;
use super::{Ctx, Failure, Options, Outcome, boolean, fail};
use crate::template::pyfmt::py_str;

/// Reads `path` decoded from `encoding` (UTF-8 or Latin-1 and its kin).
fn read_encoded(path: &str, encoding: &str) -> Result<String, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|err| Failure::from(format!("could not read {path}: {err}")))?;
    let latin = [
        "latin-1",
        "latin1",
        "iso8859-1",
        "iso-8859-1",
        "iso8859-15",
        "iso-8859-15",
        "cp1252",
    ];
    if latin.contains(&encoding.to_ascii_lowercase().as_str()) {
        return Ok(bytes.iter().map(|b| char::from(*b)).collect());
    }
    String::from_utf8(bytes).map_err(|_| Failure::from(format!("'{path}' is not valid {encoding}")))
}

/// The options of one term: the lookup's keyword options, then inline `k=v` words.
fn inline_options(
    term: &str,
    options: &Options,
    defaults: &[(&str, &str)],
    split_values: bool,
) -> Result<(String, IndexMap<String, String>), Failure> {
    let mut params: IndexMap<String, String> = defaults
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for key in options.keys() {
        if let Some(value) = options.get(key) {
            params.insert(key.to_string(), py_str(value));
        }
    }
    let mut key = term.to_string();
    if !split_values {
        return Ok((key, params));
    }
    // ini's `_parse_params`: words after `name=` belong to that option's value.
    let mut current = "key".to_string();
    let mut values: IndexMap<String, String> = IndexMap::new();
    for (i, word) in term.split_whitespace().enumerate() {
        if word.contains('=')
            && let Some(name) = params.keys().find(|k| word.contains(&format!("{k}=")))
        {
            current = name.clone();
        }
        match values.get_mut(&current) {
            Some(value) if i > 0 && !value.is_empty() => {
                value.push(' ');
                value.push_str(word);
            }
            _ => {
                values.insert(current.clone(), word.to_string());
            }
        }
    }
    let mut found_key = false;
    for (name, phrase) in values {
        if name == "key" && !phrase.contains('=') {
            key = phrase;
            found_key = true;
            continue;
        }
        let Some((option, value)) = phrase.split_once('=') else {
            continue;
        };
        if !params.contains_key(option) {
            return fail(format!("'{option}' is not a valid option."));
        }
        params.insert(option.to_string(), value.to_string());
    }
    if !found_key {
        return fail(format!(
            "No key to look up was provided as first term within string inline options: {term}"
        ));
    }
    Ok((key, params))
}

/// `ini`: values of keys (or of keys matching a regex) in a section of an INI file.
pub(super) fn ini(ctx: &Ctx, terms: &[Value], options: &Options) -> Outcome {
    let defaults = [
        ("type", "ini"),
        ("file", "ansible.ini"),
        ("section", "global"),
        ("re", "False"),
        ("encoding", "utf-8"),
        ("default", ""),
        ("case_sensitive", "False"),
        ("allow_no_value", "False"),
        ("allow_none", "False"),
        ("interpolation", "True"),
    ];
    let flag = |params: &IndexMap<String, String>, key: &str| {
        params
            .get(key)
            .and_then(|v| boolean(&Value::from(v.as_str())))
            .unwrap_or(false)
    };
    let mut out = Vec::new();
    for term in terms.iter().map(py_str) {
        let inline = term.contains('=') || term.trim().contains(' ');
        let (key, params) = inline_options(&term, options, &defaults, inline)?;
        let file = &params["file"];
        let Some(path) = find_file(ctx, Some("files"), file) else {
            return fail(format!("Unable to find '{file}' in expected paths"));
        };
        let mut text = read_encoded(&path, &params["encoding"])?;
        let mut section = params["section"].clone();
        if params["type"] == "properties" {
            text = format!("[java_properties]\n{text}");
            section = "java_properties".into();
        }
        let parser = ConfigParser {
            case_sensitive: flag(&params, "case_sensitive"),
            allow_no_value: flag(&params, "allow_no_value") || flag(&params, "allow_none"),
        };
        let sections = parser.read(&text, file)?;
        let Some(options) = sections.get(&section) else {
            return fail(format!("No section '{section}' in '{file}'."));
        };
        let interpolate = flag(&params, "interpolation");
        // A key without a value (allow_no_value) gives nothing, as in Ansible.
        let value = |raw: &str| -> Result<Value, Failure> {
            if interpolate {
                let option = |name: &str| options.get(name).cloned().flatten();
                let missing = |name: &str| {
                    format!("Bad value substitution: option '{name}' has no value for '{raw}'")
                };
                let value =
                    crate::pyconfig::interpolate(raw, &option, &missing).map_err(Failure::from)?;
                Ok(Value::from(value))
            } else {
                Ok(Value::from(raw))
            }
        };
        if flag(&params, "re") {
            let re = crate::pyre::compile(&key, Default::default(), crate::pyre::Anchor::Start)
                .map_err(Failure::from)?;
            for (name, raw) in options {
                if let Some(raw) = raw
                    && re.is_match(name).unwrap_or(false)
                {
                    out.push(value(raw)?);
                }
            }
        } else {
            let lookup_key = if parser.case_sensitive {
                key.clone()
            } else {
                key.to_lowercase()
            };
            match options.get(&lookup_key) {
                Some(Some(raw)) => out.push(value(raw)?),
                Some(None) => {}
                None => out.push(Value::from(params["default"].as_str())),
            }
        }
    }
    Ok(out)
}

/// The parts of Python's configparser the ini lookup relies on.
struct ConfigParser {
    case_sensitive: bool,
    allow_no_value: bool,
}

type Sections = IndexMap<String, IndexMap<String, Option<String>>>;

impl ConfigParser {
    /// Sections and their options (DEFAULT's merged under each), values raw.
    fn read(&self, text: &str, file: &str) -> Result<Sections, Failure> {
        let mut sections: Sections = IndexMap::new();
        let mut defaults: IndexMap<String, Option<String>> = IndexMap::new();
        let mut current: Option<String> = None;
        let mut last_key: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for (number, line) in text.lines().enumerate() {
            let stripped = line.trim();
            if stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            if stripped.is_empty() {
                last_key = None;
                continue;
            }
            let indented = line.starts_with([' ', '\t']);
            if indented && let Some(key) = &last_key {
                let target = match current.as_deref() {
                    Some("DEFAULT") => defaults.get_mut(key),
                    Some(name) => sections.get_mut(name).and_then(|s| s.get_mut(key)),
                    None => None,
                };
                if let Some(Some(value)) = target {
                    value.push('\n');
                    value.push_str(stripped);
                    continue;
                }
            }
            if let Some(name) = stripped.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                if name != "DEFAULT" {
                    sections.entry(name.to_string()).or_default();
                }
                current = Some(name.to_string());
                last_key = None;
                continue;
            }
            let Some(section) = current.clone() else {
                return fail(format!(
                    "File contains no section headers.\nfile: '{file}', line: {}\n'{line}'",
                    number + 1
                ));
            };
            let split = stripped.find(['=', ':']);
            let (key, value) = match split {
                Some(at) => (
                    stripped[..at].trim(),
                    Some(stripped[at + 1..].trim().to_string()),
                ),
                None if self.allow_no_value => (stripped, None),
                None => {
                    return fail(format!(
                        "Source contains parsing errors: '{file}'\n\t[line {:2}]: '{line}'",
                        number + 1
                    ));
                }
            };
            let key = if self.case_sensitive {
                key.to_string()
            } else {
                key.to_lowercase()
            };
            if !seen.insert((section.clone(), key.clone())) {
                return fail(format!("Duplicate option in '{file}'."));
            }
            if section == "DEFAULT" {
                defaults.insert(key.clone(), value);
            } else if let Some(options) = sections.get_mut(&section) {
                options.insert(key.clone(), value);
            }
            last_key = Some(key);
        }
        for options in sections.values_mut() {
            for (key, value) in &defaults {
                options.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
        Ok(sections)
    }
}

/// `csvfile`: the column `col` of the row whose column `keycol` is the key.
pub(super) fn csvfile(ctx: &Ctx, terms: &[Value], options: &Options) -> Outcome {
    if terms.is_empty() {
        return fail("Search key is required but was not found");
    }
    let known = ["col", "keycol", "default", "delimiter", "file", "encoding"];
    let mut out = Vec::new();
    for term in terms.iter().map(py_str) {
        let mut params: IndexMap<String, Option<String>> = IndexMap::from([
            ("col".to_string(), Some("1".to_string())),
            ("keycol".to_string(), Some("0".to_string())),
            ("default".to_string(), None),
            ("delimiter".to_string(), Some("TAB".to_string())),
            ("file".to_string(), Some("ansible.csv".to_string())),
            ("encoding".to_string(), Some("utf-8".to_string())),
        ]);
        for key in options.keys() {
            params.insert(key.to_string(), options.get(key).map(py_str));
        }
        let mut raw = Vec::new();
        let mut inline_default = false;
        for word in crate::playbook::args::split_args(&term) {
            match word.split_once('=').filter(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }) {
                Some((name, value)) => {
                    if !known.contains(&name) {
                        return fail(format!("'{name}' is not a valid option"));
                    }
                    inline_default |= name == "default";
                    params.insert(
                        name.to_string(),
                        Some(crate::playbook::args::unquote(value)),
                    );
                }
                None => raw.push(word),
            }
        }
        if raw.is_empty() {
            return fail("Search key is required but was not found");
        }
        let key = raw.join(" ");
        let get = |k: &str| params.get(k).cloned().flatten().unwrap_or_default();
        let delimiter = match get("delimiter").as_str() {
            "TAB" | "\\t" => '\t',
            other => other.chars().next().unwrap_or(','),
        };
        // Integer options as Ansible's config converts them, in its words.
        let integer = |key: &str| -> Result<usize, Failure> {
            let text = get(key);
            text.trim().parse().map_err(|_| {
                Failure::from(format!(
                    "Config '{key}' for 'csvfile' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'integer': '{text}'"
                ))
            })
        };
        let col = integer("col")?;
        let keycol = integer("keycol")?;
        let file = get("file");
        let Some(path) = find_file(ctx, Some("files"), &file) else {
            // Ansible opens the path it did not find (None), and Python says so.
            return fail(format!(
                "csvfile: {file}: expected str, bytes or os.PathLike object, not NoneType"
            ));
        };
        let text = read_encoded(&path, &get("encoding"))?;
        let mut found = None;
        for row in csv_rows(&text, delimiter) {
            if row.get(keycol) == Some(&key) {
                found = Some(
                    row.get(col)
                        .cloned()
                        .ok_or_else(|| Failure::from("list index out of range".to_string()))?,
                );
                break;
            }
        }
        // A list given as default=... adds its items, as Ansible extends with it.
        let list_default = options
            .get("default")
            .filter(|d| d.kind() == minijinja::value::ValueKind::Seq && !inline_default);
        match (found, list_default) {
            (Some(value), _) => out.push(Value::from(value)),
            (None, Some(list)) => out.extend(list.try_iter().into_iter().flatten()),
            (None, None) => {
                if let Some(value) = params.get("default").cloned().flatten() {
                    out.push(Value::from(value));
                }
            }
        }
    }
    Ok(out)
}

/// Rows of a CSV text in Python's `csv.excel` dialect: quotes with doubled quotes
/// inside, fields spanning lines when quoted.
fn csv_rows(text: &str, delimiter: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut started = false;
    while let Some(c) = chars.next() {
        started = true;
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && field.is_empty() {
            quoted = true;
        } else if c == delimiter {
            row.push(std::mem::take(&mut field));
        } else if c == '\n' || c == '\r' {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            row.push(std::mem::take(&mut field));
            rows.push(std::mem::take(&mut row));
            started = false;
        } else {
            field.push(c);
        }
    }
    if started {
        row.push(field);
        rows.push(row);
    }
    rows.into_iter()
        .filter(|r| !(r.len() == 1 && r[0].is_empty()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::eval_in;
    use serde_json::json;

    #[test]
    fn ini_reads_sections_properties_and_regexes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        std::fs::write(
            p.join("lookup.ini"),
            "[global]\n# c\nvalue1=Text one\nField.With.Space = another space\n\n[section1]\nvalue1=s1/v1\nvalue2=s1/v2\nother=x\n[interp]\nbase=/opt\npath=%(base)s/bin\npct=100%%\n",
        )
        .expect("write");
        std::fs::write(p.join("lookup.properties"), "value1=Text\nvalue.dot=dot\n").expect("write");
        let eval = |e: &str| eval_in(e, p, json!({}));
        assert_eq!(
            eval("lookup('ini', 'value1', section='global', file='lookup.ini')"),
            Ok(json!("Text one"))
        );
        assert_eq!(
            eval("lookup('ini', 'field.with.space  section=global file=lookup.ini')"),
            Ok(json!("another space"))
        );
        assert_eq!(
            eval("lookup('ini', 'value.dot', type='properties', file='lookup.properties')"),
            Ok(json!("dot"))
        );
        assert_eq!(
            eval("lookup('ini', 'value1 type=properties file=lookup.properties')"),
            Ok(json!("Text"))
        );
        assert_eq!(
            eval("lookup('ini', 'value[1-2] section=section1 file=lookup.ini re=true')"),
            Ok(json!("s1/v1,s1/v2"))
        );
        assert_eq!(
            eval("lookup('ini', 'unknown default=dflt section=section1 file=lookup.ini')"),
            Ok(json!("dflt"))
        );
        assert_eq!(
            eval("lookup('ini', 'path', section='interp', file='lookup.ini')"),
            Ok(json!("/opt/bin"))
        );
        assert_eq!(
            eval("lookup('ini', 'pct', section='interp', file='lookup.ini')"),
            Ok(json!("100%"))
        );
        assert_eq!(
            eval("lookup('ini', 'path', section='interp', file='lookup.ini', interpolation=False)"),
            Ok(json!("%(base)s/bin"))
        );
        let err =
            eval("lookup('ini', 'x', section='nope', file='lookup.ini')").expect_err("no section");
        assert!(err.contains("No section 'nope' in 'lookup.ini'."), "{err}");
        std::fs::write(p.join("dup.ini"), "[a]\nk=1\nK=2\n").expect("write");
        let err = eval("lookup('ini', 'k', section='a', file='dup.ini')").expect_err("duplicate");
        assert!(err.contains("Duplicate option in 'dup.ini'."), "{err}");
        assert_eq!(
            eval("lookup('ini', 'K', section='a', file='dup.ini', case_sensitive=True)"),
            Ok(json!("2"))
        );
        std::fs::write(p.join("my.ini"), "[mysqld]\nuser=mysql\nskip-innodb\n").expect("write");
        assert_eq!(
            eval("lookup('ini', 'skip-innodb', file='my.ini', section='mysqld', allow_none=True)"),
            Ok(json!([]))
        );
        assert_eq!(
            eval("lookup('ini', 'user', file='my.ini', section='mysqld', allow_no_value=True)"),
            Ok(json!("mysql"))
        );
    }

    #[test]
    fn csvfile_finds_rows_by_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        std::fs::write(
            p.join("people.csv"),
            "name,age,town\nalice,30,\"Paris, FR\"\nbob,40,Oslo\n",
        )
        .expect("write");
        let eval = |e: &str| eval_in(e, p, json!({}));
        assert_eq!(
            eval("lookup('csvfile', 'alice file=people.csv delimiter=,')"),
            Ok(json!("30"))
        );
        assert_eq!(
            eval("lookup('csvfile', 'alice', file='people.csv', delimiter=',', col=2)"),
            Ok(json!("Paris, FR"))
        );
        assert_eq!(
            eval("lookup('csvfile', 'carol file=people.csv delimiter=, default=none')"),
            Ok(json!("none"))
        );
        let err = eval("lookup('csvfile', 'carol file=missing.csv')").expect_err("no file");
        assert!(
            err.contains("expected str, bytes or os.PathLike object"),
            "{err}"
        );
        assert_eq!(
            eval("q('csvfile', 'carol file=people.csv delimiter=,')"),
            Ok(json!([]))
        );
        let err = eval("lookup('csvfile', 'file=people.csv')").expect_err("no key");
        assert!(
            err.contains("Search key is required but was not found"),
            "{err}"
        );
        let err = eval("lookup('csvfile', 'x file=people.csv col=2, default=w')").expect_err("col");
        assert!(err.contains("has an invalid value"), "{err}");
        let err = eval("lookup('csvfile', 'alice bogus=1')").expect_err("bad option");
        assert!(err.contains("'bogus' is not a valid option"), "{err}");
        assert_eq!(
            eval(
                "lookup('csvfile', 'carol', file='people.csv', delimiter=',', default=['a', 'b'])"
            ),
            Ok(json!("a,b"))
        );
    }
}
