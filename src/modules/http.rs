//! What `uri` and `get_url` share: an HTTP request made ON THE TARGET with `curl`
//! (given its options as a config on standard input, so no secret shows in `ps`), and
//! the response read back: status, final URL, headers, timings and the body.

use serde_json::{Map, Value as Json, json};

use super::typed::module_args;
use crate::connection::{Command, quote};

/// Exit status of the request script when `curl` is missing.
const NO_CURL: i32 = 127;

/// Separates the response headers from the body in the script's output.
const BODY_MARKER: &[u8] = b"\x01\n";

module_args! {
    /// What `uri` and `get_url` both ask a request with: the URL, headers,
    /// credentials and how to connect. Each module takes it as a group of its
    /// arguments (`..request: http::UrlArgs`).
    pub struct UrlArgs {
        url: String => .required(),
        headers: Option<Map<String, Json>>,
        /// Seconds before the request is abandoned.
        timeout: i64 => .default_int(30),
        url_username: Option<String> => .aliases(&["user", "username"]),
        url_password: Option<String> => .aliases(&["password"]).no_log(),
        force_basic_auth: bool => .default_bool(false),
        validate_certs: bool => .default_bool(true),
        use_proxy: bool => .default_bool(true),
        http_agent: String => .default_str("ansible-httpget"),
        decompress: bool => .default_bool(true),
    }
}

impl UrlArgs {
    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// One HTTP request.
#[derive(Debug, Default)]
pub struct Request {
    /// The URL.
    pub url: String,
    /// The method (`GET` when empty).
    pub method: String,
    /// Request headers, in order.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Option<String>,
    /// User name and password for basic authentication.
    pub credentials: Option<(String, String)>,
    /// Seconds before the request is abandoned.
    pub timeout: i64,
    /// Whether TLS certificates are checked.
    pub validate_certs: bool,
    /// Whether redirects are followed.
    pub follow: bool,
    /// Whether the environment's proxy settings apply.
    pub use_proxy: bool,
    /// The `User-Agent`.
    pub agent: String,
    /// Whether a compressed body is asked for and decompressed (`decompress`).
    pub decompress: bool,
    /// Whether credentials go with the first request (`force_basic_auth`), or only
    /// after the server asks for them.
    pub force_basic_auth: bool,
}

impl Request {
    /// A `GET` request built from the shared arguments.
    pub fn new(args: &UrlArgs) -> Request {
        let headers = args
            .headers
            .iter()
            .flatten()
            .map(|(name, value)| {
                let value = match value {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (name.clone(), value)
            })
            .collect();
        let credentials = args
            .url_username
            .as_ref()
            .map(|user| (user.clone(), args.url_password.clone().unwrap_or_default()));
        Request {
            url: args.url.clone(),
            method: String::new(),
            headers,
            body: None,
            credentials,
            timeout: args.timeout,
            validate_certs: args.validate_certs,
            follow: true,
            use_proxy: args.use_proxy,
            agent: args.http_agent.clone(),
            decompress: args.decompress,
            force_basic_auth: args.force_basic_auth,
        }
    }

    /// Whether a header was given (case-insensitively).
    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The request as a curl config file (read with `-K -`).
    fn config(&self) -> String {
        let mut lines = vec![
            format!("url = {}", config_string(&self.url)),
            format!("user-agent = {}", config_string(&self.agent)),
            format!("max-time = {}", self.timeout.max(1)),
            "silent".to_string(),
            "show-error".to_string(),
        ];
        match self.method.as_str() {
            "" | "GET" => {}
            "HEAD" => lines.push("head".into()),
            method => lines.push(format!("request = {}", config_string(method))),
        }
        for (name, value) in &self.headers {
            lines.push(format!(
                "header = {}",
                config_string(&format!("{name}: {value}"))
            ));
        }
        if let Some(body) = &self.body {
            lines.push(format!("data-raw = {}", config_string(body)));
        }
        if let Some((user, password)) = &self.credentials {
            lines.push(
                if self.force_basic_auth {
                    "basic"
                } else {
                    "anyauth"
                }
                .into(),
            );
            lines.push(format!(
                "user = {}",
                config_string(&format!("{user}:{password}"))
            ));
        }
        if !self.validate_certs {
            lines.push("insecure".into());
        }
        if self.decompress {
            lines.push("compressed".into());
        }
        if self.follow {
            lines.push("location".into());
            lines.push("max-redirs = 50".into());
        }
        if !self.use_proxy {
            lines.push("noproxy = \"*\"".into());
        }
        lines.join("\n") + "\n"
    }

    /// The command that makes the request, writing the body to `out` (a shell word,
    /// already quoted or a variable) and printing the outcome for [`Response::parse`]
    /// followed by `after` (more script, run with the body file in place and the
    /// status in `$code`).
    pub fn command(&self, out: &str, after: &str) -> Command {
        let script = format!(
            "command -v curl >/dev/null 2>&1 || exit {NO_CURL}; h=$(mktemp) || exit 1; \
             w=$(curl -K - -D \"$h\" -o {out} -w '%{{http_code}} %{{num_redirects}} %{{time_total}} %{{size_download}} %{{url_effective}}'); \
             printf '%s\\nRC:%s\\n' \"$w\" $?; cat \"$h\"; rm -f \"$h\"; printf '\\001\\n'; code=${{w%% *}}; {after}"
        );
        let mut command = Command::new(script);
        command.stdin = Some(self.config().into_bytes());
        command
    }
}

/// A curl config string: double-quoted, with curl's escapes.
fn config_string(value: &str) -> String {
    let mut quoted = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// What came back.
#[derive(Debug, Default)]
pub struct Response {
    /// The HTTP status (`-1` when no response came).
    pub status: i64,
    /// The URL finally answered (after redirects).
    pub url: String,
    /// Whether a redirect was followed.
    pub redirected: bool,
    /// Seconds the request took.
    pub elapsed: f64,
    /// Bytes of body received.
    pub size: u64,
    /// The final response's headers: lowercased, `-` as `_`, as Ansible's `uri` has them.
    pub headers: Map<String, Json>,
    /// curl's complaint, when the request failed.
    pub error: Option<String>,
    /// What the script printed after the response (see [`Request::command`]).
    pub rest: Vec<u8>,
}

impl Response {
    /// Reads the output of [`Request::command`]; `Err` says what is missing on the
    /// target.
    pub fn parse(rc: i32, stdout: &[u8], stderr: &str) -> Result<Response, String> {
        if rc == NO_CURL {
            return Err(
                "curl is not installed on the target: install the 'curl' package (apt: name=curl)"
                    .to_string(),
            );
        }
        let at = stdout
            .windows(BODY_MARKER.len())
            .position(|w| w == BODY_MARKER)
            .ok_or_else(|| format!("the request did not run (rc={rc}): {}", stderr.trim()))?;
        let head = String::from_utf8_lossy(&stdout[..at]);
        let mut lines = head.lines();
        let summary: Vec<&str> = lines.next().unwrap_or_default().splitn(5, ' ').collect();
        let field = |i: usize| summary.get(i).copied().unwrap_or_default();
        let curl_rc: i32 = lines
            .next()
            .and_then(|l| l.strip_prefix("RC:"))
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(-1);
        let status = field(0)
            .parse::<i64>()
            .ok()
            .filter(|s| *s > 0)
            .unwrap_or(-1);
        let header_text: Vec<&str> = lines.collect();
        Ok(Response {
            status,
            redirected: field(1).parse::<u32>().unwrap_or(0) > 0,
            elapsed: field(2).parse().unwrap_or(0.0),
            size: field(3).parse().unwrap_or(0),
            url: field(4).to_string(),
            headers: last_headers(&header_text),
            error: (curl_rc != 0).then(|| stderr.trim().to_string()),
            rest: stdout[at + BODY_MARKER.len()..].to_vec(),
        })
    }

    /// Ansible's `msg` for a response: `OK (<content-length> bytes)`.
    pub fn ok_message(&self) -> String {
        let length = self
            .headers
            .get("content_length")
            .and_then(Json::as_str)
            .unwrap_or("unknown");
        format!("OK ({length} bytes)")
    }

    /// Ansible's message for a request that got no response.
    pub fn failure_message(&self) -> String {
        format!(
            "Request failed: {}",
            self.error.as_deref().unwrap_or("no response")
        )
    }

    /// The fields both modules return: `status`/`status_code`, `url`, `elapsed`.
    pub fn common_fields(&self, status_key: &str) -> Map<String, Json> {
        let mut fields = Map::new();
        fields.insert(status_key.into(), json!(self.status));
        fields.insert("url".into(), json!(self.url));
        fields.insert("elapsed".into(), json!(self.elapsed.round() as i64));
        fields
    }
}

/// The headers of the last response in a `-D` dump (one block per redirect), named
/// as Ansible's `uri` names them; repeated headers are joined with `, `.
fn last_headers(lines: &[&str]) -> Map<String, Json> {
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("HTTP/"))
        .map_or(lines.len(), |i| i + 1);
    let mut headers = Map::new();
    for line in &lines[start..] {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let key = name.trim().to_ascii_lowercase().replace('-', "_");
        let value = value.trim().to_string();
        let joined = match headers.get(&key).and_then(Json::as_str) {
            Some(before) => format!("{before}, {value}"),
            None => value,
        };
        headers.insert(key, json!(joined));
    }
    headers
}

/// A temporary file beside `dir`'s entries (a shell expression for `mktemp`).
pub fn temp_in(dir: &str) -> String {
    format!("$(mktemp -p {} .bosun-http.XXXXXX)", quote(dir))
}

/// The directory part of a path (`.` for a bare name).
pub fn parent(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((dir, _)) => dir,
        None => ".",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_strings_escape_what_curl_unescapes() {
        assert_eq!(config_string("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        let request = Request {
            url: "http://198.51.100.1/x".into(),
            method: "POST".into(),
            body: Some("{\"k\": 1}".into()),
            credentials: Some(("u".into(), "p:w".into())),
            timeout: 5,
            ..Request::default()
        };
        let config = request.config();
        assert!(config.contains("request = \"POST\"\n"), "{config}");
        assert!(
            config.contains("data-raw = \"{\\\"k\\\": 1}\"\n"),
            "{config}"
        );
        assert!(config.contains("anyauth\nuser = \"u:p:w\"\n"), "{config}");
        let forced = Request {
            force_basic_auth: true,
            ..request
        };
        assert!(forced.config().contains("basic\nuser = "), "{config}");
    }

    #[test]
    fn responses_parse_with_the_last_headers() {
        let out = b"201 1 0.25 7 http://h/new\nRC:0\nHTTP/1.0 302 Found\r\nLocation: /new\r\n\r\nHTTP/1.0 201 Created\r\nContent-Type: application/json\r\nContent-Length: 7\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n\x01\n{\"a\":1}";
        let response = Response::parse(0, out, "").expect("parses");
        assert_eq!(response.status, 201);
        assert!(response.redirected);
        assert_eq!(response.url, "http://h/new");
        assert_eq!(response.headers["content_type"], json!("application/json"));
        assert_eq!(response.headers["set_cookie"], json!("a=1, b=2"));
        assert!(!response.headers.contains_key("location"));
        assert_eq!(response.rest, b"{\"a\":1}");
        assert_eq!(response.ok_message(), "OK (7 bytes)");
        assert!(Response::parse(127, b"", "").is_err());
        let failed = Response::parse(7, b"000 0 0 0 http://h/\nRC:7\n\x01\n", "curl: (7) refused")
            .expect("parses");
        assert_eq!(failed.status, -1);
        assert_eq!(
            failed.failure_message(),
            "Request failed: curl: (7) refused"
        );
    }
}
