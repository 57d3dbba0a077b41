//! URL filters: `urlencode` (Jinja's), `urldecode` (Python's `unquote_plus`) and
//! `urlsplit` (Python's `urllib.parse.urlsplit` as a mapping, or one of its parts).

use minijinja::{Environment, Error, State, Value};

use crate::template::args::{ensure_defined, fail};
use crate::template::pyfmt::py_str;

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter(
        "urldecode",
        |s: &State, v: &Value| -> Result<Value, Error> {
            ensure_defined(s, v, "urldecode")?;
            Ok(Value::from(unquote_plus(&py_str(v))))
        },
    );
    env.add_filter("urlsplit", urlsplit);
    env.add_filter("urlencode", urlencode);
}

/// Jinja's `urlencode`: a string (or any non-iterable) quoted with `/` kept; a
/// mapping, or a sequence of pairs, as a query string (`k=v&...`, spaces as `+`).
fn urlencode(value: &Value) -> Result<String, Error> {
    if value.as_str().is_some() || value.try_iter().is_err() {
        return Ok(quote(&py_str(value), false));
    }
    let pairs: Vec<(Value, Value)> = if value.kind() == minijinja::value::ValueKind::Map {
        value
            .try_iter()?
            .map(|key| {
                let item = value.get_item(&key).unwrap_or_default();
                (key, item)
            })
            .collect()
    } else {
        value
            .try_iter()?
            .map(|pair| {
                let mut parts = pair.try_iter().map_err(|_| not_a_pair(&pair))?;
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(key), Some(item), None) => Ok((key, item)),
                    _ => Err(not_a_pair(&pair)),
                }
            })
            .collect::<Result<_, Error>>()?
    };
    Ok(pairs
        .iter()
        .map(|(k, v)| format!("{}={}", quote(&py_str(k), true), quote(&py_str(v), true)))
        .collect::<Vec<_>>()
        .join("&"))
}

/// The error for a sequence item `urlencode` cannot unpack into a key and value.
fn not_a_pair(item: &Value) -> Error {
    fail(
        "urlencode",
        format!("cannot unpack {} into a key and a value", py_str(item)),
    )
}

/// Jinja's `url_quote`: Python's `quote` of the UTF-8 bytes, keeping letters,
/// digits, `_.-~` and (outside a query string) `/`; in a query string spaces become
/// `+`.
fn quote(text: &str, for_query: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(byte as char)
            }
            b'/' if !for_query => out.push('/'),
            b' ' if for_query => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// `+` as a space and `%XX` escapes decoded; bad UTF-8 replaced.
pub(crate) fn unquote_plus(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                Ok(byte) if text.is_char_boundary(i + 1) && text.is_char_boundary(i + 3) => {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The parts of a URL, named as Python's `SplitResult` attributes.
pub(crate) fn split(url: &str) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value as Json;
    let mut rest = url;
    let mut scheme = String::new();
    if let Some(colon) = url.find(':') {
        let candidate = &url[..colon];
        let valid = candidate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if valid {
            scheme = candidate.to_ascii_lowercase();
            rest = &url[colon + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (userinfo, hostport) = match netloc.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        Some(info) => match info.split_once(':') {
            Some((u, p)) => (Json::from(u), Json::from(p)),
            None => (Json::from(info), Json::Null),
        },
        None => (Json::Null, Json::Null),
    };
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => (bracketed, None),
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let hostname = if host.is_empty() {
        Json::Null
    } else {
        Json::from(host.to_lowercase())
    };
    let port = port
        .filter(|p| !p.is_empty())
        .and_then(|p| p.parse::<u16>().ok())
        .map_or(Json::Null, Json::from);
    let mut parts = serde_json::Map::new();
    parts.insert("fragment".into(), Json::from(fragment));
    parts.insert("hostname".into(), hostname);
    parts.insert("netloc".into(), Json::from(netloc));
    parts.insert("password".into(), password);
    parts.insert("path".into(), Json::from(path));
    parts.insert("port".into(), port);
    parts.insert("query".into(), Json::from(query));
    parts.insert("scheme".into(), Json::from(scheme));
    parts.insert("username".into(), username);
    parts
}

fn urlsplit(state: &State, value: &Value, query: Option<String>) -> Result<Value, Error> {
    ensure_defined(state, value, "urlsplit")?;
    let parts = split(&py_str(value));
    match query.filter(|q| !q.is_empty()) {
        None => Ok(Value::from_serialize(&parts)),
        Some(query) => match parts.get(&query) {
            Some(part) => Ok(Value::from_serialize(part)),
            None => Err(fail("urlsplit", format!("unknown URL component: {query}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn urldecode_is_unquote_plus() {
        assert_eq!(eval("'a%20b+c%2Fd%'|urldecode", json!({})), "a b c/d%");
        assert_eq!(eval("'%C3%A9t%C3%A9'|urldecode", json!({})), "été");
        assert_eq!(eval("('x y/z'|urlencode)|urldecode", json!({})), "x y/z");
        assert_eq!(eval("'x y/z&'|urlencode", json!({})), "x%20y/z%26");
        assert_eq!(eval("()|urlencode", json!({})), "");
        assert_eq!(
            eval("{'a b': 'c&d/', 'n': 1}|urlencode", json!({})),
            "a+b=c%26d%2F&n=1"
        );
        assert_eq!(
            eval("[['k', 'v'], ('x', 2)]|urlencode", json!({})),
            "k=v&x=2"
        );
    }

    #[test]
    fn urlsplit_gives_pythons_parts() {
        let url = "'http://mary:MySecret@www.acme.com:9000/dir/index.html?query=term#fragment'";
        assert_eq!(
            eval(&format!("{url}|urlsplit('hostname')"), json!({})),
            "www.acme.com"
        );
        assert_eq!(
            eval(&format!("{url}|urlsplit('port') == 9000"), json!({})),
            "True"
        );
        assert_eq!(
            eval(&format!("{url}|urlsplit('netloc')"), json!({})),
            "mary:MySecret@www.acme.com:9000"
        );
        assert_eq!(
            eval(&format!("{url}|urlsplit('password')"), json!({})),
            "MySecret"
        );
        assert_eq!(
            eval(
                &format!(
                    "{url}|urlsplit == {{'fragment': 'fragment', 'hostname': 'www.acme.com', 'netloc': 'mary:MySecret@www.acme.com:9000', 'password': 'MySecret', 'path': '/dir/index.html', 'port': 9000, 'query': 'query=term', 'scheme': 'http', 'username': 'mary'}}"
                ),
                json!({})
            ),
            "True"
        );
        assert_eq!(
            eval("'file:///etc/x'|urlsplit('path')", json!({})),
            "/etc/x"
        );
        assert!(
            eval_err("'http://x'|urlsplit('bad')", json!({}))
                .contains("unknown URL component: bad")
        );
    }
}
