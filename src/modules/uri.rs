//! `uri`: talks to a web service from the target (with its `curl`) and returns the
//! status, headers and content as Ansible's module does.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::http::{self, Request, Response};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};

/// Makes an HTTP request.
pub struct Uri;

/// The module's own parameters, besides [`http::REQUEST_PARAMS`].
const OWN_PARAMS: &[Param] = &[
    Param::new("method", Kind::Str),
    Param::new("body", Kind::Raw),
    Param::new("body_format", Kind::Str).choices(&["form-urlencoded", "json", "raw"]),
    Param::new("status_code", Kind::List),
    Param::new("return_content", Kind::Bool),
    Param::new("follow_redirects", Kind::Str)
        .choices(&["all", "no", "none", "safe", "urllib2", "yes"]),
    Param::new("dest", Kind::Str),
    Param::new("creates", Kind::Str),
    Param::new("removes", Kind::Str),
];

/// Percent-encodes as Python's `quote_plus`.
fn quote_plus(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A JSON value as text in a form or header (strings without quotes).
fn plain(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The request body and the content type it implies.
fn encode_body(body: &Json, format: &str) -> Result<(String, Option<&'static str>), String> {
    match (format, body) {
        ("json", Json::String(text)) => Ok((text.clone(), Some("application/json"))),
        ("json", other) => Ok((
            crate::output::pyjson::dumps(other, None),
            Some("application/json"),
        )),
        ("form-urlencoded", Json::Object(fields)) => Ok((
            fields
                .iter()
                .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(&plain(v))))
                .collect::<Vec<_>>()
                .join("&"),
            Some("application/x-www-form-urlencoded"),
        )),
        ("form-urlencoded", Json::Array(pairs)) => {
            let mut encoded = Vec::new();
            for pair in pairs {
                let (Some(k), Some(v)) = (pair.get(0), pair.get(1)) else {
                    return Err(
                        "failed to parse body as form_urlencoded: a list must hold pairs".into(),
                    );
                };
                encoded.push(format!(
                    "{}={}",
                    quote_plus(&plain(k)),
                    quote_plus(&plain(v))
                ));
            }
            Ok((encoded.join("&"), Some("application/x-www-form-urlencoded")))
        }
        ("form-urlencoded", Json::String(text)) => {
            Ok((text.clone(), Some("application/x-www-form-urlencoded")))
        }
        ("form-urlencoded", _) => Err("failed to parse body as form_urlencoded".into()),
        (_, other) => Ok((plain(other), None)),
    }
}

/// The accepted status codes (default 200).
fn status_codes(args: &Args) -> Result<Vec<i64>, String> {
    let given = args.strings("status_code");
    if given.is_empty() {
        return Ok(vec![200]);
    }
    given
        .iter()
        .map(|code| {
            code.trim()
                .parse()
                .map_err(|_| format!("status_code must be a list of integers, got '{code}'"))
        })
        .collect()
}

#[async_trait]
impl Module for Uri {
    fn name(&self) -> &'static str {
        "uri"
    }

    fn params(&self) -> &'static [Param] {
        OWN_PARAMS
    }

    fn all_params(&self) -> std::borrow::Cow<'static, [Param]> {
        http::with_request_params(OWN_PARAMS)
    }

    fn supports_check_mode(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        if let Some(skip) = creates_or_removes(ctx, args).await? {
            return Ok(skip);
        }
        let codes = status_codes(args).map_err(ModuleError::Failed)?;
        let mut request = Request::from_args(args);
        request.method = args.str("method").unwrap_or("GET").to_ascii_uppercase();
        let follow = args.str("follow_redirects").unwrap_or("safe");
        request.follow = match follow {
            "all" | "yes" | "urllib2" => true,
            "safe" => matches!(request.method.as_str(), "GET" | "HEAD"),
            _ => false,
        };
        if let Some(body) = args.get("body") {
            let format = args.str("body_format").unwrap_or("raw");
            let (text, content_type) = encode_body(body, format).map_err(ModuleError::Failed)?;
            if let Some(content_type) = content_type.filter(|_| !request.has_header("Content-Type"))
            {
                request
                    .headers
                    .push(("Content-Type".into(), content_type.into()));
            }
            request.body = Some(text);
        }
        let dest = args.str("dest");
        let (make_temp, after) = match dest {
            Some(dest) => {
                let d = quote(dest);
                (
                    http::temp_in(http::parent(dest)),
                    format!(
                        "if [ -s \"$b\" ] && [ \"$(sha1sum < \"$b\")\" = \"$(sha1sum < {d} 2>/dev/null)\" ]; \
                         then rm -f \"$b\"; echo same; elif [ -s \"$b\" ]; then chmod 0644 \"$b\" && mv -f \"$b\" {d} && echo written; \
                         else rm -f \"$b\"; fi"
                    ),
                )
            }
            None => (
                "$(mktemp)".to_string(),
                "cat \"$b\"; rm -f \"$b\"".to_string(),
            ),
        };
        let mut command = request.command("\"$b\"", &after);
        command.script = format!("b={make_temp} || exit 1; {}", command.script);
        let done = ctx.conn.exec(&command).await?;
        let response = Response::parse(done.rc, &done.stdout, &done.stderr_text())
            .map_err(ModuleError::Failed)?;

        let mut outcome = super::ok(false);
        for (key, value) in &response.headers {
            outcome.insert(key.clone(), value.clone());
        }
        if let Some(location) = response.headers.get("location").and_then(Json::as_str) {
            outcome.insert("location".into(), json!(absolute(&response.url, location)));
        }
        outcome.extend(response.common_fields("status"));
        outcome.insert("redirected".into(), json!(response.redirected));
        outcome.insert("cookies_string".into(), json!(""));
        let content = match dest {
            Some(dest) => {
                let written = String::from_utf8_lossy(&response.rest).contains("written");
                outcome.insert("changed".into(), json!(written));
                outcome.insert("path".into(), json!(dest));
                None
            }
            None => Some(String::from_utf8_lossy(&response.rest).into_owned()),
        };
        let is_json = response
            .headers
            .get("content_type")
            .and_then(Json::as_str)
            .is_some_and(|t| t.contains("json"));
        if let (true, Some(text)) = (is_json, &content)
            && let Ok(parsed) = serde_json::from_str::<Json>(text)
        {
            outcome.insert("json".into(), parsed);
        }
        if args.bool_or("return_content", false) {
            outcome.insert("content".into(), json!(content.clone().unwrap_or_default()));
        }
        let msg = if response.status < 0 {
            response.failure_message()
        } else {
            response.ok_message()
        };
        if !codes.contains(&response.status) {
            outcome.insert("failed".into(), json!(true));
            outcome.insert(
                "msg".into(),
                json!(format!(
                    "Status code was {} and not {codes:?}: {msg}",
                    response.status
                )),
            );
        } else {
            outcome.insert("msg".into(), json!(msg));
        }
        Ok(outcome)
    }
}

/// The `skipped` result Ansible gives when `creates` exists or `removes` does not.
async fn creates_or_removes(
    ctx: &ModuleContext<'_>,
    args: &Args,
) -> Result<Option<Outcome>, ModuleError> {
    let creates = args.str("creates");
    let removes = args.str("removes");
    if creates.is_none() && removes.is_none() {
        return Ok(None);
    }
    let test = |path: Option<&str>| {
        path.map(|p| format!("[ -e {} ] && echo y || echo n", quote(p)))
            .unwrap_or_else(|| "echo -".into())
    };
    let script = format!("{}; {}", test(creates), test(removes));
    let out = ctx.conn.exec(&Command::new(script)).await?;
    let text = out.stdout_text();
    let mut lines = text.lines();
    let (created, removed) = (lines.next(), lines.next());
    let message = match (creates, removes) {
        (Some(path), _) if created == Some("y") => format!("skipped, since '{path}' exists"),
        (_, Some(path)) if removed == Some("n") => {
            format!("skipped, since '{path}' does not exist")
        }
        _ => return Ok(None),
    };
    let mut outcome = super::ok(false);
    outcome.insert("msg".into(), json!(message));
    outcome.insert("skipped".into(), json!(true));
    Ok(Some(outcome))
}

/// `location` made absolute against the URL that answered.
fn absolute(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let origin_end = base
        .find("://")
        .and_then(|at| base[at + 3..].find('/').map(|slash| at + 3 + slash))
        .unwrap_or(base.len());
    if location.starts_with('/') {
        format!("{}{location}", &base[..origin_end])
    } else {
        let dir_end = base
            .rfind('/')
            .filter(|i| *i >= origin_end)
            .unwrap_or(origin_end);
        format!("{}/{location}", &base[..dir_end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_encode_as_ansible_encodes_them() {
        assert_eq!(
            encode_body(&json!({"a": 1, "b": [2]}), "json"),
            Ok(("{\"a\": 1, \"b\": [2]}".into(), Some("application/json")))
        );
        assert_eq!(
            encode_body(&json!({"name": "a b", "x": "1&2"}), "form-urlencoded")
                .map(|(body, _)| body),
            Ok("name=a+b&x=1%262".into())
        );
        assert_eq!(
            encode_body(&json!([["k", "v"]]), "form-urlencoded").map(|(body, _)| body),
            Ok("k=v".into())
        );
        assert_eq!(
            encode_body(&json!("raw text"), "raw"),
            Ok(("raw text".into(), None))
        );
    }

    #[test]
    fn locations_become_absolute() {
        assert_eq!(absolute("http://h:8/a/b", "/c"), "http://h:8/c");
        assert_eq!(absolute("http://h/a/b", "c"), "http://h/a/c");
        assert_eq!(absolute("http://h/a", "https://x/y"), "https://x/y");
    }
}
