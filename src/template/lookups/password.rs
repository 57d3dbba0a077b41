//! `password`: a random password kept in a control-node file (made on first use, read
//! after), as Ansible's password lookup does; `/dev/null` keeps nothing.

use std::path::Path;

use minijinja::value::Value;

use super::search::unfrack;
use super::{Ctx, Failure, Options, Outcome, fail};
use crate::template::pyfmt::py_str;
use crate::template::pyrandom::{PyRandom, Seed, system_below};

const VALID: &[&str] = &["length", "encrypt", "chars", "ident", "seed"];

/// Python's `string` module constants the `chars` option may name.
fn named_chars(name: &str) -> Option<String> {
    let lower = "abcdefghijklmnopqrstuvwxyz";
    let upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let digits = "0123456789";
    let punctuation = r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##;
    Some(match name {
        "ascii_letters" => format!("{lower}{upper}"),
        "ascii_lowercase" => lower.into(),
        "ascii_uppercase" => upper.into(),
        "digits" => digits.into(),
        "hexdigits" => "0123456789abcdefABCDEF".into(),
        "octdigits" => "01234567".into(),
        "punctuation" => punctuation.into(),
        "whitespace" => " \t\n\r\x0b\x0c".into(),
        "printable" => format!("{digits}{lower}{upper}{punctuation} \t\n\r\x0b\x0c"),
        _ => return None,
    })
}

pub(super) fn run(ctx: &Ctx, terms: &[Value], options: &Options) -> Outcome {
    let mut out = Vec::new();
    for term in terms.iter().map(py_str) {
        let (relpath, inline) = parse_term(&term)?;
        let setting = |key: &str| -> Option<Value> {
            inline
                .get(key)
                .map(|v| Value::from(v.as_str()))
                .or_else(|| options.get(key).cloned())
        };
        let length = match setting("length") {
            None => 20,
            Some(v) => py_str(&v)
                .trim()
                .parse::<usize>()
                .map_err(|_| Failure::from(format!("Invalid value for 'length': {v}")))?,
        };
        let chars = candidate_chars(setting("chars"));
        let path = if relpath.starts_with('/') || relpath.starts_with('~') {
            unfrack(&relpath)
        } else {
            unfrack(&ctx.basedir().join(&relpath).to_string_lossy())
        };
        let stored = if path == "/dev/null" {
            None
        } else {
            std::fs::read_to_string(&path)
                .ok()
                .map(|t| t.trim_end().to_string())
        };
        let (password, salt, ident, mut changed) = match stored {
            Some(content) => {
                let (password, salt, ident) = parse_content(&content);
                (password, salt, ident, false)
            }
            None => {
                let password = generate(length, &chars, setting("seed").as_ref())?;
                (password, None, None, true)
            }
        };
        let encrypt = setting("encrypt")
            .map(|v| py_str(&v))
            .filter(|e| !e.is_empty());
        let salt = match (&encrypt, salt) {
            (Some(_), None) => {
                changed = true;
                Some(crate::template::filters::crypt::random_salt(16))
            }
            (_, salt) => salt,
        };
        if changed && path != "/dev/null" {
            write_file(
                &path,
                &format_content(&password, salt.as_deref(), ident.as_deref()),
            )?;
        }
        let value = match encrypt {
            Some(scheme) => {
                crate::template::filters::crypt::encrypt(&password, &scheme, salt, None, None)
                    .map_err(Failure::from)?
            }
            None => password,
        };
        out.push(Value::from(value));
    }
    Ok(out)
}

/// A password file's content split as Ansible's `_parse_content`: the password, then
/// ` salt=` and ` ident=` if written.
fn parse_content(content: &str) -> (String, Option<String>, Option<String>) {
    let Some(at) = content.rfind(" salt=") else {
        return (content.to_string(), None, None);
    };
    let rest = &content[at + " salt=".len()..];
    let password = content[..at].to_string();
    if rest.is_empty() {
        return (password, None, None);
    }
    match rest.rfind(" ident=") {
        Some(i) => (
            password,
            Some(rest[..i].to_string()),
            Some(rest[i + " ident=".len()..].to_string()),
        ),
        None => (password, Some(rest.to_string()), None),
    }
}

/// What a password file holds, as Ansible's `_format_content` writes it.
fn format_content(password: &str, salt: Option<&str>, ident: Option<&str>) -> String {
    match (salt, ident) {
        (None, _) => password.to_string(),
        (Some(salt), Some(ident)) => format!("{password} salt={salt} ident={ident}"),
        (Some(salt), None) => format!("{password} salt={salt}"),
    }
}

/// The path and the `k=v` parameters after it.
fn parse_term(term: &str) -> Result<(String, indexmap::IndexMap<String, String>), Failure> {
    let Some((first, rest)) = term.split_once(' ') else {
        return Ok((term.to_string(), Default::default()));
    };
    let mut params = indexmap::IndexMap::new();
    let mut path = first.to_string();
    let mut raw = Vec::new();
    for word in crate::playbook::args::split_args(rest) {
        match word.split_once('=').filter(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }) {
            Some((key, value)) => {
                params.insert(key.to_string(), crate::playbook::args::unquote(value));
            }
            None => raw.push(word),
        }
    }
    if !raw.is_empty() {
        path = format!("{path} {}", raw.join(" "));
        if !term.starts_with(&path) {
            return fail("Unrecognized value after key=value parameters given to password lookup");
        }
    }
    let invalid: Vec<&str> = params
        .keys()
        .map(String::as_str)
        .filter(|k| !VALID.contains(k))
        .collect();
    if !invalid.is_empty() {
        return fail(format!(
            "Unrecognized parameter(s) given to password lookup: {}",
            invalid.join(", ")
        ));
    }
    Ok((path, params))
}

/// The characters a password draws from: named sets or literal text, comma separated
/// (`,,` a comma), quotes left out.
fn candidate_chars(spec: Option<Value>) -> Vec<char> {
    let specs: Vec<String> = match spec {
        None => vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
        Some(value) if value.as_str().is_some() => {
            let text = py_str(&value);
            let mut specs = Vec::new();
            if text.contains(",,") {
                specs.push(",".to_string());
            }
            specs.extend(
                text.replace(",,", ",")
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            specs
        }
        Some(value) => value
            .try_iter()
            .map(|items| items.map(|i| py_str(&i)).collect())
            .unwrap_or_default(),
    };
    specs
        .iter()
        .map(|spec| named_chars(spec).unwrap_or_else(|| spec.clone()))
        .collect::<String>()
        .chars()
        .filter(|c| *c != '"' && *c != '\'')
        .collect()
}

/// Ansible's `random_password`: `length` choices from `chars`, reproducible with a seed.
fn generate(length: usize, chars: &[char], seed: Option<&Value>) -> Result<String, Failure> {
    if chars.is_empty() {
        return fail("Cannot choose from an empty sequence");
    }
    let n = chars.len();
    let mut seeded = seed.map(|seed| match seed.as_i64() {
        Some(number) => PyRandom::new(Seed::Int(i128::from(number))),
        None => PyRandom::new(Seed::Str(&py_str(seed))),
    });
    Ok((0..length)
        .map(|_| {
            let index = match &mut seeded {
                Some(random) => random.below(n as u128) as usize,
                None => system_below(n as u64) as usize,
            };
            chars[index]
        })
        .collect())
}

fn write_file(path: &str, password: &str) -> Result<(), Failure> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let file = Path::new(path);
    if let Some(dir) = file.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|err| Failure::from(format!("could not create {}: {err}", dir.display())))?;
    }
    std::fs::write(file, format!("{password}\n"))
        .and_then(|()| std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)))
        .map_err(|err| Failure::from(format!("could not write {path}: {err}")))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::eval_in;
    use serde_json::json;

    #[test]
    fn password_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        let eval = |e: &str| eval_in(e, p, json!({}));
        let first = eval("lookup('password', 'creds/db length=12 chars=digits')").expect("made");
        let text = first.as_str().expect("a string").to_string();
        assert_eq!(text.len(), 12);
        assert!(text.chars().all(|c| c.is_ascii_digit()), "{text}");
        assert_eq!(
            std::fs::read_to_string(p.join("creds/db")).expect("kept"),
            format!("{text}\n")
        );
        assert_eq!(
            eval("lookup('password', 'creds/db length=12')"),
            Ok(json!(text))
        );
        let a = eval("lookup('password', '/dev/null seed=foo')").expect("made");
        let b = eval("lookup('password', '/dev/null', seed='foo')").expect("made");
        assert_eq!(a, b);
        assert_eq!(a.as_str().map(str::len), Some(20));
        let err = eval("lookup('password', '/dev/null bogus=1')").expect_err("bad param");
        assert!(
            err.contains("Unrecognized parameter(s) given to password lookup: bogus"),
            "{err}"
        );
    }
}
