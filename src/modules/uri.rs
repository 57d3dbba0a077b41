//! `uri`: talks to a web service from the target (with its `curl`) and returns the
//! status, headers and content as Ansible's module does.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::http::{self, Request, Response};
use super::typed::{TypedArgs, arg_enum, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};

/// Makes an HTTP request. It stays a plain [`Module`], off the query/decide/apply
/// contract: the request is the action (nothing is read first to compare with), so it
/// cannot say in check mode what it would change and is skipped there, as in Ansible.
pub struct Uri;

module_args! {
    /// `uri`'s arguments.
    pub struct UriArgs {
        ..request: http::UrlArgs,
        method: String => .default_str("GET"),
        body: Json,
        body_format: BodyFormat => .default_str("raw"),
        /// The accepted status codes.
        status_code: Vec<String>,
        return_content: bool => .default_bool(false),
        follow_redirects: String => .default_str("safe")
            .choices(&["all", "no", "none", "safe", "urllib2", "yes"]),
        /// Write the body to this file instead of returning it.
        dest: Option<String>,
        creates: Option<String>,
        removes: Option<String>,
    }
}

arg_enum! {
    /// How `body` is encoded.
    pub enum BodyFormat {
        FormUrlencoded = "form-urlencoded",
        Json = "json",
        Raw = "raw",
    }
}

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
fn encode_body(body: &Json, format: BodyFormat) -> Result<(String, Option<&'static str>), String> {
    match (format.as_str(), body) {
        ("json", Json::String(text)) => Ok((text.clone(), Some("application/json"))),
        ("json", other) => Ok((crate::pyjson::dumps(other, None), Some("application/json"))),
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
fn status_codes(given: &[String]) -> Result<Vec<i64>, String> {
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
        UriArgs::PARAMS
    }

    fn supports_check_mode(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = UriArgs::from_args(args).map_err(ModuleError::Failed)?;
        if let Some(skip) = creates_or_removes(ctx, &args).await? {
            return Ok(skip);
        }
        let codes = status_codes(&args.status_code).map_err(ModuleError::Failed)?;
        let mut request = Request::new(&args.request);
        request.method = args.method.to_ascii_uppercase();
        request.follow = match args.follow_redirects.as_str() {
            "all" | "yes" | "urllib2" => true,
            "safe" => matches!(request.method.as_str(), "GET" | "HEAD"),
            _ => false,
        };
        if !args.body.is_null() {
            let (text, content_type) =
                encode_body(&args.body, args.body_format).map_err(ModuleError::Failed)?;
            if let Some(content_type) = content_type.filter(|_| !request.has_header("Content-Type"))
            {
                request
                    .headers
                    .push(("Content-Type".into(), content_type.into()));
            }
            request.body = Some(text);
        }
        let dest = args.dest.as_deref();
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
        if args.return_content {
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
    args: &UriArgs,
) -> Result<Option<Outcome>, ModuleError> {
    let creates = args.creates.as_deref();
    let removes = args.removes.as_deref();
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
            encode_body(&json!({"a": 1, "b": [2]}), BodyFormat::Json),
            Ok(("{\"a\": 1, \"b\": [2]}".into(), Some("application/json")))
        );
        assert_eq!(
            encode_body(
                &json!({"name": "a b", "x": "1&2"}),
                BodyFormat::FormUrlencoded
            )
            .map(|(body, _)| body),
            Ok("name=a+b&x=1%262".into())
        );
        assert_eq!(
            encode_body(&json!([["k", "v"]]), BodyFormat::FormUrlencoded).map(|(body, _)| body),
            Ok("k=v".into())
        );
        assert_eq!(
            encode_body(&json!("raw text"), BodyFormat::Raw),
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
