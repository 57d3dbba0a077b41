//! `--report FILE`: the run as one self-contained HTML page (no scripts, no fonts,
//! nothing fetched), written when the run ends: the recap, then every play and task
//! with its place, time and each host's status, message, result and diff. Results are
//! the ones output shows, so `no_log` results stay censored.

use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::record::{Ending, HostRecord, PlayRecord, Record, Recording, TaskRecord};
use super::{Stats, Status};

/// The page written when the run ends ([`Recording`] records the run).
pub struct HtmlReport {
    path: PathBuf,
}

impl HtmlReport {
    /// A report to be written to `path`, recorded as the run goes.
    pub fn new(path: PathBuf) -> Recording<HtmlReport> {
        Recording::new(HtmlReport { path })
    }
}

impl Ending for HtmlReport {
    fn end(
        &self,
        record: &Record,
        stats: &Stats,
        _custom: &serde_json::Map<String, serde_json::Value>,
    ) {
        let page = page(record, stats);
        if let Err(message) = crate::local_write::write_atomic(&self.path, page.as_bytes()) {
            eprintln!(
                "[WARNING]: could not write the report {}: {message}",
                self.path.display()
            );
        }
    }
}

/// The page's style: status colours as Ansible's default callback has them.
const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}\
table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #ddd}\
.meta{color:#666;font-size:.9em}.task{margin:1em 0 .3em;font-weight:600}\
details{margin:.1em 0 .1em 1.5em}summary{cursor:pointer}\
pre{background:#f6f6f6;color:#222;padding:.6em;overflow:auto;margin:.3em 0}\
.status{display:inline-block;min-width:7em;font-weight:600}\
.ok{color:#080}.changed{color:#a60}.failed,.unreachable{color:#c00}.skipped{color:#08a}\
.ignored{color:#a0a}.diff .add{color:#080}.diff .del{color:#c00}";

/// The whole page.
fn page(record: &Record, stats: &Stats) -> String {
    let mut html = String::new();
    let title = record.plays.first().map_or("bosun run".to_string(), |p| {
        format!("bosun run: {}", p.entry.name)
    });
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    recap(&mut html, stats);
    for play in &record.plays {
        play_section(&mut html, play);
    }
    html.push_str("</body></html>\n");
    html
}

/// The PLAY RECAP as a table.
fn recap(html: &mut String, stats: &Stats) {
    html.push_str("<h2 id=\"recap\">PLAY RECAP</h2><table><tr><th>host</th>");
    let columns = [
        "ok",
        "changed",
        "unreachable",
        "failed",
        "skipped",
        "rescued",
        "ignored",
    ];
    for column in columns {
        let _ = write!(html, "<th>{column}</th>");
    }
    html.push_str("</tr>\n");
    for (host, counts) in stats {
        let values = [
            counts.ok,
            counts.changed,
            counts.unreachable,
            counts.failures,
            counts.skipped,
            counts.rescued,
            counts.ignored,
        ];
        let _ = write!(html, "<tr><td>{}</td>", escape(host));
        for (column, value) in columns.iter().zip(values) {
            let class = if value > 0 { column } else { "" };
            let _ = write!(html, "<td class=\"{class}\">{value}</td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
}

fn play_section(html: &mut String, play: &PlayRecord) {
    let _ = writeln!(
        html,
        "<section class=\"play\"><h2>PLAY [{}]</h2><p class=\"meta\">{}{}</p>",
        escape(&play.entry.name),
        escape(&play.entry.path),
        took(play.entry.elapsed)
    );
    for task in &play.tasks {
        task_block(html, task);
    }
    html.push_str("</section>\n");
}

fn task_block(html: &mut String, task: &TaskRecord) {
    let kind = if task.handler {
        "RUNNING HANDLER"
    } else {
        "TASK"
    };
    let _ = writeln!(
        html,
        "<div class=\"task\">{kind} [{}] <span class=\"meta\">{}{}</span></div>",
        escape(&task.entry.name),
        escape(&task.entry.path),
        took(task.entry.elapsed)
    );
    for (host, record) in &task.hosts {
        host_details(html, host, record);
    }
}

/// One host's line, opened to its result and diff.
fn host_details(html: &mut String, host: &str, record: &HostRecord) {
    let status = status_word(record);
    let message = record
        .result
        .get("msg")
        .and_then(|m| m.as_str())
        .filter(|_| matches!(record.status, Status::Failed | Status::Unreachable))
        .map(|m| format!(" &mdash; {}", escape(m)))
        .unwrap_or_default();
    let open = if record.status == Status::Failed && !record.ignored {
        " open"
    } else {
        ""
    };
    let _ = write!(
        html,
        "<details class=\"host {status}\"{open}><summary><span class=\"status\">{status}</span>{}{message}</summary>",
        escape(host)
    );
    let shown = serde_json::Value::Object(record.result.clone());
    let _ = write!(
        html,
        "<pre>{}</pre>",
        escape(&crate::pyjson::dumps(&shown, Some(4)))
    );
    diff_block(html, record);
    html.push_str("</details>\n");
}

/// The result's diff as a coloured unified diff, if it has one.
fn diff_block(html: &mut String, record: &HostRecord) {
    let diffs = match record.result.get("diff") {
        Some(serde_json::Value::Array(items)) => items.clone(),
        Some(diff @ serde_json::Value::Object(_)) => vec![diff.clone()],
        _ => return,
    };
    for diff in diffs {
        let text = super::human::render_diff(&diff);
        if text.is_empty() {
            continue;
        }
        html.push_str("<pre class=\"diff\">");
        for line in text.lines() {
            let class = match line.chars().next() {
                Some('+') if !line.starts_with("+++") => "add",
                Some('-') if !line.starts_with("---") => "del",
                _ => "",
            };
            let _ = writeln!(html, "<span class=\"{class}\">{}</span>", escape(line));
        }
        html.push_str("</pre>");
    }
}

/// The status as its class and word: `ok`, `changed`, `failed`, `ignored` ...
fn status_word(record: &HostRecord) -> &'static str {
    match record.status {
        Status::Failed if record.ignored => "ignored",
        Status::Failed => "failed",
        Status::Ok => "ok",
        Status::Changed => "changed",
        Status::Skipped => "skipped",
        Status::Unreachable => "unreachable",
    }
}

/// ` · 1.234 s` for a known duration.
fn took(elapsed: Option<Duration>) -> String {
    elapsed
        .map(|d| format!(" &middot; {:.3} s", d.as_secs_f64()))
        .unwrap_or_default()
}

/// `text` safe inside HTML elements and attributes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_elements_and_attributes() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn an_ignored_failure_is_shown_as_ignored() {
        let record = HostRecord {
            status: Status::Failed,
            ignored: true,
            loop_summary: false,
            action: "command".into(),
            result: serde_json::Map::new(),
        };
        assert_eq!(status_word(&record), "ignored");
    }
}
