//! A small HTTP server for tests of modules that fetch from the network (`uri`,
//! `get_url`): Python's `http.server` on an address of this machine, serving a
//! directory plus a few fixed endpoints, and logging every request to a file the
//! test can read. Stopped (by its PID) when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The server: static files from `root`, and
/// `/json` (a JSON document), `/redirect` (302 to `/json`), `/teapot` (418),
/// `/private` (401 asking for basic authentication, a JSON document with it) and
/// `POST /echo` (201, the request's body, content type and authorization as JSON).
const SERVER: &str = r#"
import http.server, json, sys
root, log, host = sys.argv[1], sys.argv[2], sys.argv[3]

class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=root, **kwargs)

    def record(self, body=b""):
        with open(log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "body": body.decode(), "auth": self.headers.get("Authorization"),
                                "type": self.headers.get("Content-Type"),
                                "agent": self.headers.get("User-Agent")}) + "\n")

    def reply(self, status, body, kind="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.record()
        if self.path == "/json":
            self.reply(200, b'{"name": "bosun", "items": [1, 2]}')
        elif self.path == "/redirect":
            self.reply(302, b"", "text/plain", [("Location", "/json")])
        elif self.path == "/teapot":
            self.reply(418, b"short and stout", "text/plain")
        elif self.path == "/private" and not self.headers.get("Authorization"):
            self.reply(401, b"who are you?", "text/plain", [("WWW-Authenticate", 'Basic realm="bosun"')])
        elif self.path == "/private":
            self.reply(200, b'{"secret": 42}')
        else:
            super().do_GET()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.record(body)
        answer = {"body": body.decode(), "type": self.headers.get("Content-Type"),
                  "auth": self.headers.get("Authorization")}
        self.reply(201, json.dumps(answer).encode())

server = http.server.ThreadingHTTPServer((host, 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// A running test server.
pub struct HttpServer {
    child: Child,
    port: u16,
    host: String,
    dir: tempfile::TempDir,
}

impl HttpServer {
    /// Starts the server on `host` (an address of this machine), on a free port.
    pub fn start(host: &str) -> HttpServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("www")).expect("create www");
        let script = dir.path().join("server.py");
        std::fs::write(&script, SERVER).expect("write the server");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(dir.path().join("www"))
            .arg(dir.path().join("requests.log"))
            .arg(host)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the test HTTP server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server prints its port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the server did not start: {line:?}"));
        HttpServer {
            child,
            port,
            host: host.to_string(),
            dir,
        }
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory the server serves files from.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    /// `http://host:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.host, self.port)
    }

    /// Writes a file the server serves at `/name`.
    pub fn serve(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root().join(name);
        std::fs::write(&path, bytes).expect("write a served file");
        path
    }

    /// The requests seen so far, one JSON object a line.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let log: &Path = &self.dir.path().join("requests.log");
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a logged request"))
            .collect()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
