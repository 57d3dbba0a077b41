//! `uri`, `get_url` and `wait_for` run by the real binary over SSH against a Debian
//! container with systemd as PID 1. The HTTP server they talk to runs on this
//! machine at the bridge address 198.51.100.1 (started and stopped by each test); the
//! effects are checked on the container and in the server's request log.

mod common;

use common::http::HttpServer;
use common::nspawn::SystemdFleet;
use common::ssh::or_skip;
use sha2::{Digest, Sha256};

/// This machine's address on the containers' bridge.
const BRIDGE: &str = "198.51.100.1";

/// Installs curl in the container (the base has none), once per test binary.
fn with_curl(fleet: &SystemdFleet) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| fleet.apt_install(&["curl"]));
}

#[test]
fn uri_talks_json_follows_redirects_and_checks_status() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let server = HttpServer::start(BRIDGE);
    if fleet.on_host(0, "command -v curl || echo none") == "none" {
        let playbook = format!(
            "
- hosts: all
  gather_facts: false
  tasks:
    - uri: url={}
",
            server.url("/json")
        );
        let (code, out) = fleet.play("nocurl.yml", &playbook, &[]);
        assert_eq!(code, 2, "{out}");
        assert!(
            out.contains("curl is not installed on the target: install the 'curl' package"),
            "{out}"
        );
    }
    with_curl(fleet);

    let playbook = format!(
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: GET JSON
      uri:
        url: {json}
      register: doc
    - name: POST JSON with basic auth
      uri:
        url: {echo}
        method: POST
        body_format: json
        body: {{"n": 2, "name": "{{{{ doc.json.name }}}}"}}
        url_username: admin
        url_password: "s3cret:x"
        force_basic_auth: true
        status_code: [201]
        return_content: true
      register: posted
    - name: a redirect, not followed
      uri:
        url: {redirect}
        follow_redirects: none
        status_code: 302
      register: moved
    - name: a redirect, followed (safe, for GET)
      uri: url={redirect}
      register: followed
    - name: a form
      uri:
        url: {echo}
        method: POST
        body_format: form-urlencoded
        body: {{a: "x y", b: "1&2"}}
        status_code: 201
    - name: saved to a file
      uri:
        url: {json}
        dest: /tmp/api.json
        creates: /tmp/api.json
    - name: what the results said
      copy:
        dest: /tmp/uri-results
        content: |
          {{{{ doc.status }}}} {{{{ doc.content_type }}}} {{{{ doc.json['items'] | sum }}}} {{{{ doc.redirected }}}}
          {{{{ posted.status }}}} {{{{ posted.json.type }}}} {{{{ posted.json.body }}}}
          {{{{ moved.status }}}} {{{{ moved.location }}}}
          {{{{ followed.status }}}} {{{{ followed.redirected }}}} {{{{ followed.url }}}}
"#,
        json = server.url("/json"),
        echo = server.url("/echo"),
        redirect = server.url("/redirect"),
    );
    let check = format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - uri: url={} dest=/tmp/api.json method=POST
",
        server.url("/echo")
    );
    let (code, out) = fleet.play("uri-check.yml", &check, &["--check"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("skipping: [c"),
        "uri is skipped in check mode: {out}"
    );
    assert!(server.requests().is_empty(), "no request in check mode");
    assert_eq!(
        fleet.on_host(0, "ls /tmp/api.json 2>/dev/null || echo none"),
        "none"
    );

    let (code, out) = fleet.play("uri.yml", &playbook, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        fleet.changed(0, &out),
        "changed=2",
        "dest and the results: {out}"
    );
    assert_eq!(
        fleet.on_host(0, "cat /tmp/uri-results"),
        format!(
            "200 application/json 3 False\n\
             201 application/json {{\"n\": 2, \"name\": \"bosun\"}}\n\
             302 {json}\n\
             200 True {json}",
            json = server.url("/json")
        )
    );
    assert_eq!(
        fleet.on_host(0, "cat /tmp/api.json"),
        r#"{"name": "bosun", "items": [1, 2]}"#
    );
    let requests = server.requests();
    let posts: Vec<_> = requests.iter().filter(|r| r["method"] == "POST").collect();
    assert_eq!(posts.len(), 2, "{requests:?}");
    assert_eq!(
        posts[0]["auth"], "Basic YWRtaW46czNjcmV0Ong=",
        "admin:s3cret:x"
    );
    assert_eq!(posts[1]["body"], "a=x+y&b=1%262");
    assert_eq!(posts[1]["type"], "application/x-www-form-urlencoded");
    assert_eq!(requests[0]["agent"], "ansible-httpget");

    let before = server.requests().len();
    let out = fleet.play_expecting("uri.yml", &playbook, &[], 0);
    assert!(
        out.contains("TASK [saved to a file] ****") && out.contains("skipping: [c"),
        "{out}"
    );
    assert_eq!(
        server.requests().len(),
        before + 6,
        "six requests again (the followed redirect is two), none for dest: creates skipped it"
    );

    let private = format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - uri: url={} url_username=admin url_password=pw
      register: private
    - copy: dest=/tmp/uri-private content='{{{{ private.json.secret }}}}'
",
        server.url("/private")
    );
    let before = server.requests().len();
    fleet.play_expecting("private.yml", &private, &[], 1);
    assert_eq!(fleet.on_host(0, "cat /tmp/uri-private"), "42");
    let asked: Vec<_> = server.requests()[before..]
        .iter()
        .map(|r| r["auth"].clone())
        .collect();
    assert_eq!(
        asked,
        [serde_json::Value::Null, "Basic YWRtaW46cHc=".into()],
        "without force_basic_auth, credentials go only once the server asks"
    );

    let teapot = format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - uri: url={}
",
        server.url("/teapot")
    );
    fleet.play_fails(
        "teapot.yml",
        &teapot,
        &[],
        "Status code was 418 and not [200]: OK (15 bytes)",
    );
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn get_url_downloads_verifies_and_skips_what_is_there() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let server = HttpServer::start(BRIDGE);
    with_curl(fleet);
    let data = b"release 1.0\n";
    server.serve("tool-1.0.txt", data);
    fleet.on_host(
        0,
        "rm -rf /opt/dl; mkdir -p /opt/dl; useradd -M dluser 2>/dev/null; true",
    );
    let playbook = format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - get_url:
        url: {url}
        dest: /opt/dl/tool.txt
        mode: '0640'
        owner: dluser
        checksum: 'sha256:{sum}'
",
        url = server.url("/tool-1.0.txt"),
        sum = sha256(data)
    );
    let file = "stat -c '%a %U' /opt/dl/tool.txt && cat /opt/dl/tool.txt; ls -A /opt/dl";
    fleet.play_expecting("get.yml", &playbook, &["--check"], 1);
    assert_eq!(
        fleet.on_host(0, "ls -A /opt/dl"),
        "",
        "check mode downloaded nothing"
    );
    assert!(server.requests().is_empty());

    fleet.play_expecting("get.yml", &playbook, &[], 1);
    assert_eq!(fleet.on_host(0, file), "640 dluser\nrelease 1.0\ntool.txt");
    fleet.play_expecting("get.yml", &playbook, &[], 0);
    assert_eq!(
        server.requests().len(),
        1,
        "the second run downloaded nothing"
    );

    server.serve("tool-1.0.txt", b"release 1.0, tampered\n");
    fleet.on_host(0, "rm -f /opt/dl/tool.txt");
    let (code, out) = fleet.play("get.yml", &playbook, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "The checksum for /opt/dl/tool.txt did not match {}",
            sha256(data)
        )),
        "{out}"
    );
    assert_eq!(
        fleet.on_host(0, "ls -A /opt/dl"),
        "",
        "no file and no temp file left"
    );

    let into_dir = format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - get_url: url={url} dest=/opt/dl/ force={{{{ force | default(false) }}}}
      register: got
    - copy: dest=/tmp/get-url-result content='{{{{ got.dest }}}} {{{{ got.status_code | default(0) }}}} {{{{ got.checksum_src | default('') }}}}'
",
        url = server.url("/tool-1.0.txt")
    );
    let (code, out) = fleet.play("dir.yml", &into_dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        fleet.on_host(0, "cat /opt/dl/tool-1.0.txt; cat /tmp/get-url-result"),
        format!(
            "release 1.0, tampered\n/opt/dl/tool-1.0.txt 200 {}",
            fleet.on_host(0, "sha1sum < /opt/dl/tool-1.0.txt | cut -d' ' -f1")
        )
    );
    let (_, out) = fleet.play("dir.yml", &into_dir, &[]);
    assert_eq!(fleet.changed(0, &out), "changed=0", "same content: {out}");

    let missing = format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - get_url: url={} dest=/opt/dl/nothing.txt
",
        server.url("/no-such-file")
    );
    let out = fleet.play_fails("missing.yml", &missing, &[], "Request failed");
    assert!(out.contains("\"status_code\": 404"), "{out}");
    assert_eq!(fleet.on_host(0, "ls -A /opt/dl"), "tool-1.0.txt");

    server.serve("tool-1.0.txt", b"release 2.0\n");
    let replace = format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - get_url: url={} dest=/opt/dl/tool-1.0.txt force=true backup=true
      register: got
    - copy: dest=/tmp/get-url-backup content='{{{{ got.backup_file }}}}'
",
        server.url("/tool-1.0.txt")
    );
    fleet.play_expecting("backup.yml", &replace, &[], 2);
    let backup = fleet.on_host(0, "cat /tmp/get-url-backup");
    assert!(
        backup.starts_with("/opt/dl/tool-1.0.txt.") && backup.ends_with('~'),
        "{backup}"
    );
    assert_eq!(
        fleet.on_host(0, &format!("cat /opt/dl/tool-1.0.txt '{backup}'")),
        "release 2.0\nrelease 1.0, tampered",
        "the new file in place, the old one kept beside it"
    );
}

#[test]
fn wait_for_ports_files_and_timeouts() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let address = fleet.hosts()[0].addr;
    fleet.on_host(
        0,
        "systemctl stop bosun-banner.service 2>/dev/null; rm -f /tmp/wf-ready; true",
    );
    let playbook = format!(
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: a listener in two seconds
      command: systemd-run --unit bosun-banner /bin/sh -c 'sleep 2; exec systemd-socket-activate -l 8765 -a --inetd /bin/echo "ready v1.2"'
    - name: a file in one second
      command: systemd-run /bin/sh -c 'sleep 1; echo state=done > /tmp/wf-ready'
    - wait_for: port=8765 timeout=30
      register: port
    - wait_for:
        host: {address}
        port: 8765
        search_regex: 'ready v(\d+)\.(\d+)'
      register: banner
    - wait_for:
        path: /tmp/wf-ready
        search_regex: 'state=(?P<state>\w+)'
      register: file
    - name: the file goes in a second
      command: systemd-run /bin/sh -c 'sleep 1; rm -f /tmp/wf-ready'
    - wait_for: path=/tmp/wf-ready state=absent timeout=20
    - command: systemctl stop bosun-banner.service
    - wait_for: port=8765 state=stopped timeout=20
    - copy:
        dest: /tmp/wait-for-results
        content: "{{{{ port.elapsed >= 1 }}}} {{{{ banner.match_groups }}}} {{{{ file.match_groupdict.state }}}}"
"#
    );
    let (code, out) = fleet.play("wait.yml", &playbook, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        fleet.on_host(0, "cat /tmp/wait-for-results; echo; ls /tmp/wf-ready 2>/dev/null; ss -ltn 2>/dev/null | grep -c 8765 || true"),
        "True ['1', '2'] done\n0"
    );

    let timeout = "
- hosts: all
  gather_facts: false
  tasks:
    - wait_for: port=8799 timeout=2
      ignore_errors: true
    - wait_for: path=/tmp/never timeout=1 msg='the file never came'
";
    let out = fleet.play_fails(
        "timeout.yml",
        timeout,
        &["--check"],
        "Timeout when waiting for 127.0.0.1:8799",
    );
    assert!(out.contains("\"elapsed\": 2"), "{out}");
    assert!(out.contains("the file never came"), "{out}");
    assert_eq!(fleet.changed(0, &out), "changed=0", "{out}");
}
