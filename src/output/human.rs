//! Ansible's default output: banners, `ok: [host]` lines, diffs and PLAY RECAP.

use std::io::Write;
use std::sync::Mutex;

use serde_json::{Map, Value as Json};

use super::{HostResult, PlayStart, Reporter, Stats, Status, TaskStart, clean_for};
use crate::pyjson;

/// Prints results the way `ansible-playbook` does.
pub struct Human {
    verbosity: u8,
    color: bool,
    diff: bool,
    columns: usize,
    out: Mutex<()>,
    progress: Option<super::progress::Progress>,
    show_ok: bool,
    show_skipped: bool,
    /// A task banner (and its `task path:` line under `-vv`) held back until a
    /// result of the task is shown (when ok or skipped results are hidden, as the
    /// default callback does).
    pending: Mutex<Option<(String, Option<String>)>>,
    palette: super::Palette,
    /// `show_custom_stats`: `set_stats`' statistics after the recap.
    show_custom_stats: bool,
    custom: Mutex<Map<String, Json>>,
    /// Warnings already shown: Ansible's display shows each message once a run.
    warned: Mutex<std::collections::HashSet<String>>,
}

impl Human {
    /// A reporter for `verbosity` (`-v` count), with colour only when asked, and a
    /// progress line when `progress` (a terminal) is on.
    pub fn new(verbosity: u8, color: bool, diff: bool, columns: usize, progress: bool) -> Human {
        Human {
            verbosity,
            color,
            diff,
            columns: columns.max(80) - 1,
            out: Mutex::new(()),
            progress: progress.then(super::progress::Progress::new),
            show_ok: true,
            show_skipped: true,
            pending: Mutex::new(None),
            palette: super::Palette::default(),
            show_custom_stats: false,
            custom: Mutex::new(Map::new()),
            warned: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// Shows `set_stats`' statistics after the recap (`show_custom_stats`).
    pub fn showing_custom_stats(mut self, show: bool) -> Human {
        self.show_custom_stats = show;
        self
    }

    /// `CUSTOM STATS:` as Ansible's default callback prints it: each host's, then
    /// the run's, as JSON on one line.
    fn print_custom_stats(&self) {
        let custom = self.custom.lock().map(|c| c.clone()).unwrap_or_default();
        if !self.show_custom_stats || custom.is_empty() {
            return;
        }
        self.banner("CUSTOM STATS: ");
        let one_line = |value: &Json| pyjson::dumps(value, Some(1)).replace('\n', "");
        let mut hosts: Vec<(&String, &Json)> =
            custom.iter().filter(|(k, _)| *k != "_run").collect();
        hosts.sort_by(|a, b| a.0.cmp(b.0));
        for (host, stats) in hosts {
            self.print(&format!("\t{host}: {}", one_line(stats)));
        }
        if let Some(run) = custom.get("_run") {
            self.print("");
            self.print(&format!("\tRUN: {}", one_line(run)));
        }
        self.print("");
    }

    /// Paints with `palette` (`[colors]`) instead of Ansible's default colours.
    pub fn painting(mut self, palette: super::Palette) -> Human {
        self.palette = palette;
        self
    }

    /// Hides ok results unless `ok`, skipped ones unless `skipped`
    /// (`display_ok_hosts`, `display_skipped_hosts`); a task's banner then waits for
    /// a result that is shown.
    pub fn showing(mut self, ok: bool, skipped: bool) -> Human {
        self.show_ok = ok;
        self.show_skipped = skipped;
        self
    }

    /// Prints the banner held back for the current task, if any.
    fn flush_banner(&self) {
        let pending = self.pending.lock().ok().and_then(|mut p| p.take());
        if let Some((banner, path)) = pending {
            self.announce(&banner, path.as_deref());
        }
    }

    /// A task's banner, and the line saying where it was written when there is one.
    fn announce(&self, banner: &str, path: Option<&str>) {
        self.banner(banner);
        if let Some(path) = path {
            self.print(&self.paint(&format!("task path: {path}"), &self.palette.debug));
        }
    }

    /// `text` in the colour `code` (SGR parameters), line by line as Ansible's
    /// `stringc` paints it.
    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            text.split('\n')
                .map(|line| format!("\x1b[{code}m{line}\x1b[0m"))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            text.to_string()
        }
    }

    fn print(&self, text: &str) {
        let _guard = self.out.lock();
        let write = || {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{text}");
            let _ = stdout.flush();
        };
        match &self.progress {
            Some(progress) => progress.suspend(write),
            None => write(),
        }
    }

    fn banner(&self, message: &str) {
        let message = message.trim();
        let stars = self.columns.saturating_sub(message.chars().count()).max(3);
        self.print(&format!("\n{message} {}", "*".repeat(stars)));
    }

    /// Whether the result is shown: at -v or when the module asks for it
    /// (`_ansible_verbose_always`), never when it forbids it (`_ansible_verbose_override`,
    /// which setup sets), as Ansible's `_run_is_verbose` decides.
    fn verbose(&self, result: &HostResult<'_>) -> bool {
        let flag = |key: &str| result.result.get(key) == Some(&Json::Bool(true));
        (self.verbosity > 0 || flag("_ansible_verbose_always"))
            && !flag("_ansible_verbose_override")
    }

    /// The warnings a module returned, printed as Ansible prints them before the
    /// result line (and left out of the result shown).
    fn module_warnings(&self, result: &HostResult<'_>) {
        let warnings = result.result.get("warnings").and_then(Json::as_array);
        for warning in warnings.into_iter().flatten() {
            match warning {
                Json::String(text) => self.warning(text),
                other => self.warning(&other.to_string()),
            }
        }
    }

    fn dump(&self, result: &HostResult<'_>) -> String {
        let indent = (result.result.contains_key("_ansible_verbose_always") || self.verbosity > 2)
            .then_some(4);
        let mut cleaned = clean_for(result.action, result.result, self.verbosity);
        if let Json::Object(map) = &mut cleaned {
            for shown_apart in ["warnings", "deprecations"] {
                map.remove(shown_apart);
            }
        }
        if result.item.is_some()
            && let Json::Object(map) = &mut cleaned
        {
            map.remove("_ansible_item_label");
        }
        pyjson::dumps(&cleaned, indent)
    }

    /// Prints the result's diff under `--diff`, only for a result that changed, as
    /// Ansible's default callback does.
    fn show_diff(&self, result: &HostResult<'_>) {
        if !self.diff || result.result.get("changed") != Some(&Json::Bool(true)) {
            return;
        }
        let diffs = match result.result.get("diff") {
            Some(Json::Array(items)) => items.clone(),
            Some(d @ Json::Object(_)) => vec![d.clone()],
            _ => return,
        };
        for diff in diffs {
            let text = render_diff(&diff);
            if !text.is_empty() {
                self.print(text.trim_end_matches('\n'));
            }
        }
    }
}

/// A unified diff of one `diff` entry (`before`/`after` with their headers).
pub fn render_diff(diff: &Json) -> String {
    if let Some(prepared) = diff.get("prepared").and_then(Json::as_str) {
        return prepared.to_string();
    }
    let text = |key: &str| match diff.get(key) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => pyjson::dumps(other, Some(4)) + "\n",
    };
    let before = text("before");
    let after = text("after");
    if before == after {
        return String::new();
    }
    // Ansible's words: `before: HEADER`, or only `before` when the diff names none.
    let header = |side: &str| match diff.get(format!("{side}_header")).and_then(Json::as_str) {
        Some(named) => format!("{side}: {named}"),
        None => side.to_string(),
    };
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(&header("before"), &header("after"))
        .to_string()
}

impl Reporter for Human {
    fn playbook_start(&self, path: &std::path::Path, plays: usize) {
        if self.verbosity < 2 {
            return;
        }
        let name = path.file_name().unwrap_or(path.as_os_str());
        self.banner(&format!("PLAYBOOK: {}", name.to_string_lossy()));
        let line = format!("{plays} plays in {}", path.display());
        self.print(&self.paint(&line, &self.palette.verbose));
    }

    fn play_start(&self, play: &PlayStart<'_>) {
        if let Ok(mut pending) = self.pending.lock() {
            *pending = None;
        }
        self.banner(&format!("PLAY [{}]", play.name));
    }

    fn task_start(&self, task: &TaskStart<'_>) {
        if let Some(progress) = &self.progress {
            progress.finish();
        }
        let kind = if task.handler {
            "RUNNING HANDLER"
        } else {
            "TASK"
        };
        let banner = format!("{kind} [{}]", task.name);
        let path = (self.verbosity >= 2).then(|| super::task_path(task.span));
        if self.show_ok && self.show_skipped {
            self.announce(&banner, path.as_deref());
        } else if let Ok(mut pending) = self.pending.lock() {
            *pending = Some((banner, path));
        }
    }

    fn verbose_line(&self, line: &str) {
        self.print(&self.paint(line, &self.palette.verbose));
    }

    fn task_hosts(&self, name: &str, hosts: usize) {
        if let Some(progress) = &self.progress {
            progress.start(name, hosts);
        }
    }

    fn result(&self, result: &HostResult<'_>) {
        if let (Some(progress), None) = (&self.progress, &result.item) {
            progress.host_done(
                matches!(result.status, Status::Failed | Status::Unreachable) && !result.ignored,
            );
        }
        let hidden = match result.status {
            Status::Ok => !self.show_ok,
            Status::Skipped => !self.show_skipped,
            _ => false,
        };
        if hidden {
            return;
        }
        if !result.is_loop_summary || result.ignored || result.status == Status::Unreachable {
            self.flush_banner();
        }
        if result.is_loop_summary && result.status != Status::Unreachable {
            if result.ignored {
                self.print(&self.paint("...ignoring", &self.palette.skip));
            }
            return;
        }
        self.module_warnings(result);
        let host = match result.delegated_to {
            Some(target) if target != result.host => format!("{} -> {target}", result.host),
            _ => result.host.to_string(),
        };
        let item = result
            .item
            .as_ref()
            .map(|label| format!(" => (item={label})"));
        let line = match result.status {
            Status::Ok | Status::Changed => {
                self.show_diff(result);
                let (word, color) = if result.status == Status::Changed {
                    ("changed", &self.palette.changed)
                } else {
                    ("ok", &self.palette.ok)
                };
                let mut line = format!("{word}: [{host}]{}", item.unwrap_or_default());
                if self.verbose(result) {
                    line.push_str(&format!(" => {}", self.dump(result)));
                }
                self.paint(&line, color)
            }
            Status::Skipped => {
                let mut line = format!("skipping: [{host}]");
                if let Some(item) = item {
                    line.push_str(&item);
                    line.push(' ');
                }
                if self.verbosity > 0 {
                    line.push_str(&format!(" => {}", self.dump(result)));
                }
                self.paint(&line, &self.palette.skip)
            }
            Status::Failed => {
                self.show_diff(result);
                let line = match &result.item {
                    Some(label) => {
                        format!("failed: [{host}] (item={label}) => {}", self.dump(result))
                    }
                    None => format!("fatal: [{host}]: FAILED! => {}", self.dump(result)),
                };
                self.paint(&line, &self.palette.error)
            }
            Status::Unreachable => self.paint(
                &format!("fatal: [{host}]: UNREACHABLE! => {}", self.dump(result)),
                &self.palette.unreachable,
            ),
        };
        self.print(&line);
        if result.ignored && result.item.is_none() {
            self.print(&self.paint("...ignoring", &self.palette.skip));
        }
    }

    fn included(&self, file: &str, hosts: &[String], item: Option<&str>) {
        let item = item
            .map(|label| format!(" => (item={label})"))
            .unwrap_or_default();
        let line = format!("included: {file} for {}{item}", hosts.join(", "));
        self.print(&self.paint(&line, &self.palette.included));
    }

    fn warning(&self, message: &str) {
        let first = self
            .warned
            .lock()
            .map_or(true, |mut warned| warned.insert(message.to_string()));
        if !first {
            return;
        }
        let _guard = self.out.lock();
        let text = self.paint(&format!("[WARNING]: {message}"), &self.palette.warn);
        let _ = writeln!(std::io::stderr(), "{text}");
    }

    fn no_hosts(&self, message: &str) {
        self.print(&self.paint(message, &self.palette.skip));
    }

    fn recap(&self, stats: &Stats) {
        if let Some(progress) = &self.progress {
            progress.finish();
        }
        self.banner("PLAY RECAP");
        // Hosts sorted by name, as Ansible's default callback lists them.
        let mut hosts: Vec<(&String, &crate::output::HostStats)> = stats.iter().collect();
        hosts.sort_by(|a, b| a.0.cmp(b.0));
        for (host, s) in hosts {
            let host_color = if s.failures > 0 || s.unreachable > 0 {
                &self.palette.error
            } else if s.changed > 0 {
                &self.palette.changed
            } else {
                &self.palette.ok
            };
            let counter = |name: &str, value: u32, color: &str| {
                let text = format!("{name}={value:<4}");
                if value > 0 {
                    self.paint(&text, color)
                } else {
                    text
                }
            };
            let host_text = if self.color {
                format!("{:<37}", self.paint(host, host_color))
            } else {
                format!("{host:<26}")
            };
            self.print(&format!(
                "{host_text} : {} {} {} {} {} {} {}",
                counter("ok", s.ok, &self.palette.ok),
                counter("changed", s.changed, &self.palette.changed),
                counter("unreachable", s.unreachable, &self.palette.unreachable),
                counter("failed", s.failures, &self.palette.error),
                counter("skipped", s.skipped, &self.palette.skip),
                counter("rescued", s.rescued, &self.palette.ok),
                counter("ignored", s.ignored, &self.palette.warn),
            ));
        }
        self.print("");
        self.print_custom_stats();
    }

    fn custom_stats(&self, custom: &Map<String, Json>) {
        if let Ok(mut kept) = self.custom.lock() {
            *kept = custom.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unified_diff_has_ansible_headers() {
        let diff = json!({"before": "a\nb\n", "after": "a\nc\n", "before_header": "/etc/x", "after_header": "/etc/x"});
        let text = render_diff(&diff);
        assert!(
            text.starts_with("--- before: /etc/x\n+++ after: /etc/x\n"),
            "{text}"
        );
        assert!(text.contains("-b\n+c\n"), "{text}");
    }
}
