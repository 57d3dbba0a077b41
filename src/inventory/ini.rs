//! Ansible's INI inventory format: `[group]` host lines with inline `k=v` variables,
//! `[group:vars]` variable lines and `[group:children]` group lines; hosts before any
//! section are ungrouped.

use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use regex::Regex;

use super::{Inventory, literal, range};
use crate::source::{SourceError, SourceFile, Span};

static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("valid regex"));
static GROUP_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("valid regex"));

/// What the lines of the current section define.
#[derive(Clone, Copy, PartialEq)]
enum State {
    Hosts,
    Vars,
    Children,
}

/// One line being parsed, for error positions.
struct Line<'a> {
    file: &'a Arc<SourceFile>,
    number: usize,
    raw: &'a str,
    text: &'a str,
}

impl Line<'_> {
    /// An error pointing at `part` of this line (or at its start).
    fn error(&self, part: &str, message: impl Into<String>) -> SourceError {
        let byte = self
            .raw
            .find(part)
            .filter(|_| !part.is_empty())
            .unwrap_or_else(|| self.raw.len() - self.raw.trim_start().len());
        let col = self.raw[..byte].chars().count() + 1;
        let len = if part.is_empty() {
            self.text.len()
        } else {
            part.len()
        };
        SourceError::new(&Span::at(self.file, self.number, col, len), message)
    }
}

/// Parses an INI inventory file into `inventory`.
pub fn parse(inventory: &mut Inventory, file: &Arc<SourceFile>) -> Result<(), SourceError> {
    let mut group = "ungrouped".to_string();
    let mut state = State::Hosts;
    let mut undeclared_vars: IndexMap<String, usize> = IndexMap::new();
    for (index, raw) in file.text.lines().enumerate() {
        let text = raw.trim();
        if text.is_empty() || text.starts_with(['#', ';']) {
            continue;
        }
        let line = Line {
            file,
            number: index + 1,
            raw,
            text,
        };
        if let Some(caps) = SECTION.captures(text) {
            group = caps[1].to_string();
            state = section_state(&line, &group, caps.get(2).map(|m| m.as_str()))?;
            if !inventory.groups.contains_key(&group) {
                if state == State::Vars {
                    undeclared_vars.entry(group.clone()).or_insert(line.number);
                }
                inventory.add_group(&group);
            }
            if state != State::Vars {
                undeclared_vars.shift_remove(&group);
            }
            continue;
        }
        if text.starts_with('[') && text.ends_with(']') {
            return Err(line
                .error("", format!("invalid section header '{text}'"))
                .with_help(
                    "write [name], [name:vars] or [name:children] with no spaces inside the brackets",
                ));
        }
        match state {
            State::Hosts => host_line(inventory, &line, &group)?,
            State::Vars => vars_line(inventory, &line, &group)?,
            State::Children => {
                let child = children_line(inventory, &line, &group)?;
                undeclared_vars.shift_remove(&child);
            }
        }
    }
    if let Some((name, number)) = undeclared_vars.first() {
        let raw = file.text.lines().nth(number - 1).unwrap_or_default();
        let line = Line {
            file,
            number: *number,
            raw,
            text: raw.trim(),
        };
        return Err(line
            .error(
                "",
                format!("section [{name}:vars] is for the group '{name}', which is not defined"),
            )
            .with_help(format!(
                "add a [{name}] section listing its hosts, or fix the group name"
            )));
    }
    Ok(())
}

/// The state a `[name:tag]` header switches to.
fn section_state(line: &Line<'_>, group: &str, tag: Option<&str>) -> Result<State, SourceError> {
    match tag {
        None | Some("hosts") => Ok(State::Hosts),
        Some("vars") => Ok(State::Vars),
        Some("children") => Ok(State::Children),
        Some(other) => Err(line
            .error(
                other,
                format!("section [{group}:{other}] has unknown type '{other}'"),
            )
            .with_help(format!(
                "use [{group}], [{group}:vars] or [{group}:children]"
            ))),
    }
}

/// `name[:port] [k=v ...]`: adds the host(s) to `group` with their variables.
fn host_line(inventory: &mut Inventory, line: &Line<'_>, group: &str) -> Result<(), SourceError> {
    let tokens = shell_words::split(strip_comment(line.text)).map_err(|_| {
        line.error(
            "",
            format!(
                "cannot parse host definition '{}': a quote is not closed",
                line.text
            ),
        )
        .with_help("close the quote, or escape it with a backslash")
    })?;
    let Some((pattern, assignments)) = tokens.split_first() else {
        return Err(line.error("", "expected a host name"));
    };
    let (names, port) =
        range::expand_host_pattern(pattern).map_err(|why| line.error(pattern, why))?;
    if pattern.trim().ends_with(':') && port.is_none() {
        return Err(line
            .error(
                pattern,
                format!("invalid host '{pattern}': a trailing ':' must be followed by a port"),
            )
            .with_help("write host:port, e.g. web1:2222, or drop the ':'"));
    }
    if pattern.trim() == "---" {
        return Err(line
            .error(pattern, "'---' is not a host; this looks like a YAML file")
            .with_help("give the file a .yml or .yaml extension so it is read as YAML"));
    }
    if names.iter().any(String::is_empty) {
        return Err(line.error(pattern, "a host name cannot be empty"));
    }
    let mut vars = Vec::new();
    for assignment in assignments {
        let Some((key, value)) = assignment.split_once('=') else {
            return Err(line
                .error(
                    assignment,
                    format!("expected key=value host variable assignment, got '{assignment}'"),
                )
                .with_help("quote values that contain spaces: key='some value'"));
        };
        vars.push((key, literal::value_of(value)));
    }
    for name in &names {
        inventory.add_host(name, group, port, Some(line.file.path.as_path()));
        for (key, value) in &vars {
            inventory.set_host_var(name, key, value.clone());
        }
    }
    Ok(())
}

/// `key=value` in a `[group:vars]` section; the value is a Python literal when it
/// is one, as for host variables (Ansible 2.19's `_parse_value` reads both).
fn vars_line(inventory: &mut Inventory, line: &Line<'_>, group: &str) -> Result<(), SourceError> {
    let Some((key, value)) = line.text.split_once('=') else {
        return Err(line
            .error("", format!("expected key=value, got '{}'", line.text))
            .with_help(format!(
                "lines in [{group}:vars] set one variable each: name=value"
            )));
    };
    inventory
        .set_group_var(group, key.trim(), literal::value_of(value.trim()))
        .map_err(|why| line.error("", why))
}

/// A group name in a `[group:children]` section; undefined children are created.
fn children_line(
    inventory: &mut Inventory,
    line: &Line<'_>,
    group: &str,
) -> Result<String, SourceError> {
    let Some(caps) = GROUP_NAME.captures(line.text) else {
        return Err(line
            .error("", format!("expected a group name, got '{}'", line.text))
            .with_help(format!("lines in [{group}:children] name one group each")));
    };
    let child = caps[1].to_string();
    inventory.add_group(&child);
    inventory.add_child(group, &child).map_err(|why| {
        line.error(&child, why)
            .with_help("remove one of the [..:children] entries that form the cycle")
    })?;
    Ok(child)
}

/// Cuts a host line at its first `#` outside quotes, as Python's `shlex` does (even
/// in the middle of a word: `pass=ab#cd` keeps `pass=ab`).
fn strip_comment(text: &str) -> &str {
    let mut quote = None;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (None, '\\') => escaped = true,
            (None, '#') => return &text[..at],
            (None, '\'' | '"') => quote = Some(c),
            (Some('"'), '\\') => escaped = true,
            (Some(q), _) if q == c => quote = None,
            _ => {}
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value as Json, json};

    fn load(text: &str) -> Result<Inventory, SourceError> {
        let mut inventory = Inventory::empty();
        parse(&mut inventory, &SourceFile::new("hosts", text))?;
        inventory.reconcile();
        Ok(inventory)
    }

    fn groups(text: &str) -> Json {
        let inventory = load(text).expect("parses");
        serde_json::to_value(inventory.groups()).expect("serializes")
    }

    #[test]
    fn sections_and_membership() {
        let cases: &[(&str, Json)] = &[
            (
                "a\nb\n[web]\nw1\n",
                json!({"all": ["a", "b", "w1"], "ungrouped": ["a", "b"], "web": ["w1"]}),
            ),
            (
                "# comment\n; other comment\n\n[web]\nw1\nw2\n[db]\nd1\n",
                json!({"all": ["w1", "w2", "d1"], "ungrouped": [], "web": ["w1", "w2"], "db": ["d1"]}),
            ),
            (
                "[web]\nboth\n[db]\nboth\nd1\n",
                json!({"all": ["both", "d1"], "ungrouped": [], "web": ["both"], "db": ["both", "d1"]}),
            ),
            (
                "early\n[web]\nearly\n",
                json!({"all": ["early"], "ungrouped": [], "web": ["early"]}),
            ),
            (
                "[prod:children]\nweb\ndb\n[web]\nw1\n[db]\nd1\n",
                json!({"all": ["w1", "d1"], "ungrouped": [], "prod": ["w1", "d1"], "web": ["w1"], "db": ["d1"]}),
            ),
            (
                "[parent:children]\nlater\n",
                json!({"all": [], "ungrouped": [], "parent": [], "later": []}),
            ),
            (
                "[web] # trailing comment\nw[1:3]\n",
                json!({"all": ["w1", "w2", "w3"], "ungrouped": [], "web": ["w1", "w2", "w3"]}),
            ),
            (
                "[all]\ndirect\n",
                json!({"all": ["direct"], "ungrouped": ["direct"]}),
            ),
            (
                "[web:hosts]\nw1\n",
                json!({"all": ["w1"], "ungrouped": [], "web": ["w1"]}),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(&groups(text), expected, "{text}");
        }
    }

    #[test]
    fn inline_host_vars_are_python_literals() {
        let cases: &[(&str, Json)] = &[
            ("2222", json!(2222)),
            ("1.5", json!(1.5)),
            ("True", json!(true)),
            ("False", json!(false)),
            ("None", json!(null)),
            ("yes", json!("yes")),
            ("'quoted'", json!("quoted")),
            ("\"'03#pa33'\"", json!("03#pa33")),
            ("'0644'", json!("0644")),
            ("0644", json!("0644")),
            ("[1,2]", json!([1, 2])),
            ("\"{'a':1}\"", json!({"a": 1})),
            ("\"a b\"", json!("a b")),
            ("ab#cd", json!("ab")),
            ("", json!("")),
            ("x=y", json!("x=y")),
        ];
        for (value, expected) in cases {
            let inventory = load(&format!("h1 v={value}\n")).expect("parses");
            assert_eq!(&inventory.hosts["h1"].vars["v"], expected, "{value}");
        }
    }

    #[test]
    fn group_vars_are_python_literals_as_ansible_2_19_reads_them() {
        let inventory = load(
            "[web]\nw1\n[web:vars]\nport=8080\nflag = True\nlist=[1, 2]\nspaced =  a b  \nempty=\n",
        )
        .expect("parses");
        assert_eq!(
            Json::Object(inventory.groups["web"].vars.clone()),
            json!({"port": 8080, "flag": true, "list": [1, 2], "spaced": "a b", "empty": ""})
        );
    }

    #[test]
    fn quoted_group_vars_lose_their_quotes() {
        // Ansible reads `[all:vars]` values through literal_eval: a quoted string is
        // the string inside (how `ansible_ssh_common_args='-o ...'` is written).
        let inventory =
            load("[web]\nw1\n[web:vars]\nargs='-o A=b -o C=d'\nplain='x\n").expect("parses");
        assert_eq!(inventory.groups["web"].vars["args"], json!("-o A=b -o C=d"));
        assert_eq!(inventory.groups["web"].vars["plain"], json!("'x"));
    }

    #[test]
    fn vars_before_the_group_section_are_fine() {
        let inventory = load("[web:vars]\nx=1\n[web]\nw1\n").expect("parses");
        assert_eq!(inventory.groups["web"].vars["x"], json!(1));
    }

    #[test]
    fn ports_and_repeated_hosts() {
        let inventory =
            load("[a]\nh1:2222 x=1\nh2:22 ansible_port=23\n[b]\nh1:3333 y=2\n").expect("parses");
        assert_eq!(
            Json::Object(inventory.hosts["h1"].vars.clone()),
            json!({"ansible_port": 2222, "x": 1, "y": 2})
        );
        assert_eq!(inventory.hosts["h2"].vars["ansible_port"], json!(23));
        assert_eq!(inventory.host_names(), ["h1", "h2"]);
    }

    #[test]
    fn group_priority_is_not_a_variable() {
        let inventory = load("[web]\nw1\n[web:vars]\nansible_group_priority=10\n").expect("parses");
        assert_eq!(inventory.groups["web"].priority, 10);
        assert!(inventory.groups["web"].vars.is_empty());
    }

    #[test]
    fn errors_point_at_the_line() {
        let cases: &[(&str, &str, &str)] = &[
            ("[web:bogus]\nw1\n", "hosts:1:6", "unknown type 'bogus'"),
            ("[web]\n[bad name]\n", "hosts:2:1", "invalid section header"),
            ("[web]\nw1 novalue\n", "hosts:2:4", "expected key=value"),
            ("[web]\n  w1 x='open\n", "hosts:2:3", "quote is not closed"),
            (
                "[web:vars]\nnovalue\n[web]\n",
                "hosts:2:1",
                "expected key=value",
            ),
            (
                "[web:children]\nbad:name\n",
                "hosts:2:1",
                "expected a group name",
            ),
            ("[web]\nw[3:1]\n", "hosts:2:1", "begin <= end"),
            ("[web]\nw1:\n", "hosts:2:1", "trailing ':'"),
            ("---\nall:\n", "hosts:1:1", "YAML"),
            (
                "\n[ghost:vars]\nx=1\n",
                "hosts:2:1",
                "'ghost', which is not defined",
            ),
            (
                "[web:vars]\nansible_group_priority=high\n[web]\n",
                "hosts:2:1",
                "must be an integer",
            ),
        ];
        for (text, position, needle) in cases {
            let err = load(text).expect_err(text);
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("{position}:")),
                "{text}: {message}"
            );
            assert!(message.contains(needle), "{text}: {message}");
        }
    }

    #[test]
    fn children_cycles_name_the_groups() {
        let cases = [
            "[a:children]\nb\n[b:children]\na\n",
            "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n",
            "[a:children]\na\n",
        ];
        for text in cases {
            let message = load(text).expect_err(text).to_string();
            assert!(message.contains("'a'"), "{message}");
            assert!(
                message.contains("cycle") || message.contains("itself"),
                "{message}"
            );
        }
        let message = load("[a:children]\nb\n[b:children]\nc\n[c:children]\na\n")
            .expect_err("cycle")
            .to_string();
        assert!(message.contains("a -> b -> c -> a"), "{message}");
        assert!(message.starts_with("hosts:6:1:"), "{message}");
    }

    #[test]
    fn comments_are_cut_like_shlex() {
        let cases = [
            ("a b#c", "a b"),
            ("a 'b#c' d", "a 'b#c' d"),
            ("a \"b#c\"#d", "a \"b#c\""),
            ("a b\\#c", "a b\\#c"),
            ("#all", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(strip_comment(input), expected, "{input}");
        }
    }
}
