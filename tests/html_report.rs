//! `--report FILE`: the run as one HTML page, opened in a real headless browser
//! (chromium, installed by .ci/setup): it renders, shows the failed task opened with
//! its message, keeps a no_log result censored, and asks the network for nothing.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Scratch, stderr, stdout};

/// The browser's flags: headless, no background services, and a proxy on a closed
/// loopback port so nothing it tries can leave this machine.
const BROWSER_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--proxy-server=127.0.0.1:9",
];

/// The DOM chromium renders from `page`, and the URLs the page itself asked for
/// (from the browser's network log; its own background requests are left out).
fn open_in_browser(scratch: &Scratch, page: &Path) -> Option<(String, Vec<String>)> {
    let net_log = scratch.path().join(format!(
        "{}.netlog.json",
        page.file_name()?.to_string_lossy()
    ));
    let output = Command::new("chromium")
        .args(BROWSER_FLAGS)
        .arg(format!(
            "--user-data-dir={}",
            scratch.path().join("profile").display()
        ))
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output();
    let output = match output {
        Ok(output) => output,
        Err(err) => {
            eprintln!("skipped: chromium cannot run here ({err}); bash .ci/setup installs it");
            return None;
        }
    };
    assert!(output.status.success(), "{}", stderr(&output));
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&net_log).expect("the net log"))
            .expect("the net log is JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    let asked = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["type"] == start_job)
        .filter(|event| event["params"]["initiator"] != "not an origin")
        .filter_map(|event| event["params"]["url"].as_str().map(str::to_string))
        .collect();
    Some((stdout(&output), asked))
}

#[test]
fn the_report_renders_in_a_browser_shows_the_failure_and_fetches_nothing() {
    let scratch = Scratch::new();
    scratch.write("old.txt", "old\n");
    scratch.write(
        "site.yml",
        r#"
- name: Report <me>
  hosts: localhost
  gather_facts: false
  tasks:
    - name: write a file
      copy: {content: "new\n", dest: "{{ playbook_dir }}/old.txt"}
    - name: a secret
      command: echo s3cret-value
      no_log: true
    - name: this one fails
      command: /bin/false
"#,
    );
    let page = scratch.path().join("run.html");
    let report = page.display().to_string();
    let output = scratch.bosun(&["run", "site.yml", "-D", "--report", &report]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let html = std::fs::read_to_string(&page).expect("the report was written");
    assert!(!html.contains("s3cret-value"), "no_log stays censored");
    let Some((dom, asked)) = open_in_browser(&scratch, &page) else {
        return;
    };
    assert!(asked.is_empty(), "the page fetched {asked:?}");
    assert!(dom.contains("PLAY [Report &lt;me&gt;]"), "{dom}");
    assert!(
        dom.contains(
            "<details class=\"host failed\" open=\"\"><summary><span class=\"status\">failed</span>localhost &mdash; non-zero return code</summary>"
        ) || dom.contains(
            "<details class=\"host failed\" open=\"\"><summary><span class=\"status\">failed</span>localhost — non-zero return code</summary>"
        ),
        "{dom}"
    );
    assert!(dom.contains("TASK [this one fails]"), "{dom}");
    assert!(
        dom.contains("<span class=\"add\">+new</span>"),
        "the diff: {dom}"
    );
    assert!(
        dom.contains("<span class=\"del\">-old</span>"),
        "the diff: {dom}"
    );
    assert!(dom.contains("the output has been hidden"), "{dom}");
    let recap = "<tr><td>localhost</td><td class=\"ok\">2</td><td class=\"changed\">2</td>";
    assert!(dom.contains(recap), "{dom}");

    // The check above can fail: a page that loads an image is caught asking for it.
    let control = scratch.write(
        "control.html",
        "<!DOCTYPE html><html><body><img src=\"http://198.51.100.99/x.png\"></body></html>",
    );
    let (_, asked) = open_in_browser(&scratch, &control).expect("the browser ran before");
    assert!(
        asked.iter().any(|url| url.contains("198.51.100.99")),
        "{asked:?}"
    );
}
