//! The edit of community.general's `ini_file` (`do_ini`), step by step and quirk by
//! quirk, as a pure function of the file's text: the section is found between a fake
//! first section and a fake last line, the matching option lines are replaced, then
//! the others removed (`exclusive`), the missing ones inserted after the section's
//! last setting, and a missing section appended with its options.

/// The name of the section Ansible puts before the first line, so that options
/// outside any section have a section too.
const FAKE_SECTION: &str = "ad01e11446efb704fcdbdb21f2c43757423d91c5";

/// A `section_has_values` condition: the section must set `option`, to one of
/// `values` when there are any.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The option the section must contain.
    pub option: String,
    /// The values it may have; empty: any value.
    pub values: Vec<String>,
}

/// What to do to the file, from the module's arguments.
#[derive(Debug)]
pub struct Edit<'a> {
    /// The section; `None` or empty: before the first section.
    pub section: Option<&'a str>,
    /// Which of several same-named sections is meant.
    pub section_has_values: &'a [Condition],
    /// The option; `None`: the whole section.
    pub option: Option<&'a str>,
    /// The values, duplicates dropped.
    pub values: Vec<String>,
    /// `state: present`.
    pub present: bool,
    /// Whether other lines of the option go (present) or all of them (absent).
    pub exclusive: bool,
    /// `key=value` instead of `key = value`.
    pub no_extra_spaces: bool,
    /// Whether a line that differs only by spaces around `=` stays.
    pub ignore_spaces: bool,
    /// Whether an option may stand without `=` and a value.
    pub allow_no_value: bool,
    /// Whether commented-out lines of the option count as the option.
    pub modify_inactive_option: bool,
}

/// The edited text, whether it changed, and Ansible's message for it.
#[derive(Debug, PartialEq)]
pub struct Edited {
    /// The new text.
    pub text: String,
    /// Whether the module counts a change (not the same as `text` differing: a line
    /// differing only by spaces may stay).
    pub changed: bool,
    /// `OK`, `option changed`, `option added`, `section removed` ...
    pub msg: &'static str,
}

/// An option line as Ansible's `match_opt` reads it: whether it was commented out and
/// its value (group 8).
struct OptionLine<'l> {
    commented: bool,
    value: &'l str,
}

/// Whether `b` is a space or a tab (`( |\t)`).
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Ansible's `match_opt` (with `inactive`) or `match_active_opt`: `re.match` of
/// `( |\t)*([#;]?)( |\t)*(OPTION)( |\t)*(=|$)( |\t)*(.*)`, trying the choices in the
/// order Python's backtracking does.
fn match_option<'l>(option: &str, line: &'l str, inactive: bool) -> Option<OptionLine<'l>> {
    let bytes = line.as_bytes();
    let blanks_from = |at: usize| at + bytes[at..].iter().take_while(|b| is_blank(**b)).count();
    let at_end = |at: usize| at == bytes.len() || (at + 1 == bytes.len() && bytes[at] == b'\n');
    for lead in (0..=blanks_from(0)).rev() {
        let hash = inactive && matches!(bytes.get(lead), Some(b'#' | b';'));
        for commented in [true, false].into_iter().filter(|c| hash || !c) {
            let after_hash = lead + usize::from(commented);
            for start in (after_hash..=blanks_from(after_hash)).rev() {
                if !line[start..].starts_with(option) {
                    continue;
                }
                let after_option = start + option.len();
                for at in (after_option..=blanks_from(after_option)).rev() {
                    if bytes.get(at) == Some(&b'=') {
                        let rest = &line[blanks_from(at + 1)..];
                        let value = rest.split('\n').next().unwrap_or_default();
                        return Some(OptionLine { commented, value });
                    }
                    if at_end(at) {
                        return Some(OptionLine {
                            commented,
                            value: "",
                        });
                    }
                }
            }
        }
    }
    None
}

/// Ansible's `^[ \t]*([#;].*)?$`: a blank or comment line.
fn is_blank_or_comment(line: &str) -> bool {
    let rest = line.trim_start_matches([' ', '\t']);
    rest.is_empty() || rest == "\n" || rest.starts_with(['#', ';'])
}

/// Ansible's `^\[\s*SECTION\s*]` (`re.match`), `section` already stripped.
fn is_header_of(line: &str, section: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    let Some(rest) = rest.trim_start().strip_prefix(section) else {
        return false;
    };
    rest.trim_start().starts_with(']')
}

/// Ansible's `check_section_has_values`: every condition is met by some line.
fn has_values(conditions: &[Condition], lines: &[String]) -> bool {
    conditions.iter().all(|condition| {
        lines.iter().any(|line| {
            match_option(&condition.option, line, true).is_some_and(|found| {
                condition.values.is_empty() || condition.values.iter().any(|v| v == found.value)
            })
        })
    })
}

/// The lines of one section and the state of the edit, as `do_ini` keeps them.
struct Section<'e> {
    edit: &'e Edit<'e>,
    lines: Vec<String>,
    touched: Vec<bool>,
    changed: bool,
    msg: &'static str,
}

impl Section<'_> {
    /// `option = value` (or `option=value`) with its newline.
    fn assignment(&self, option: &str, value: &str) -> String {
        match self.edit.no_extra_spaces {
            true => format!("{option}={value}\n"),
            false => format!("{option} = {value}\n"),
        }
    }

    /// Ansible's `match_opt` or `match_active_opt`, as `modify_inactive_option` says.
    fn matches(&self, option: &str, index: usize) -> Option<OptionLine<'_>> {
        match_option(option, &self.lines[index], self.edit.modify_inactive_option)
    }

    /// Ansible's `update_section_line`: puts `new` at `index` unless only spaces
    /// would change (with `ignore_spaces`), and marks the line as handled.
    fn update(&mut self, option: &str, index: usize, new: String) {
        let old = &self.lines[index];
        let spaces_only = match match_option(option, old, true) {
            Some(found) if self.edit.ignore_spaces && !found.commented => {
                let new_value = match_option(option, &new, true).map(|n| n.value);
                Some(new_value != Some(found.value))
            }
            _ => None,
        };
        let differs = spaces_only.unwrap_or(*old != new);
        if differs {
            self.lines[index] = new;
            self.msg = "option changed";
        }
        self.changed |= differs;
        self.touched[index] = true;
    }
}

/// `option`, or the failure Python meets where Ansible's module reads a missing
/// option (`re.escape(None)`).
fn required(option: Option<&str>) -> Result<&str, String> {
    option.ok_or_else(|| "option is required to set value(s) in a section that exists".into())
}

/// Applies `edit` to `text` (already decoded, universal newlines) as `do_ini` does.
pub fn apply(text: &str, edit: &Edit<'_>) -> Result<Edited, String> {
    let mut values = edit.values.clone();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let mut changed = false;
    match lines.last_mut() {
        None => lines.push("\n".into()),
        Some(last) if !last.ends_with('\n') => {
            last.push('\n');
            changed = true;
        }
        Some(_) => {}
    }
    lines.insert(0, format!("[{FAKE_SECTION}]"));
    lines.push("[".into());
    let section = edit
        .section
        .filter(|s| !s.is_empty())
        .unwrap_or(FAKE_SECTION);
    let header = section.trim();

    let mut within = false;
    let (mut start, mut end) = (0, 0);
    for index in 0..lines.len() {
        if within && lines[index].starts_with('[') {
            if has_values(edit.section_has_values, &lines[start..index]) {
                end = index;
                break;
            }
            within = false;
            (start, end) = (0, 0);
        }
        if is_header_of(&lines[index], header) {
            within = true;
            start = index;
        }
    }
    let after = lines.split_off(end);
    let section_lines = lines.split_off(start);
    let before = lines;

    let mut s = Section {
        edit,
        touched: vec![false; section_lines.len()],
        lines: section_lines,
        changed,
        msg: "OK",
    };
    let option = edit.option;
    let named = option.filter(|o| !o.is_empty());
    let mut no_value_present = false;

    // 1. Lines of the option with one of the values (or, without values, the first).
    if let (true, Some(option)) = (edit.present, named) {
        for index in 0..s.lines.len() {
            let Some(found) = s.matches(option, index) else {
                continue;
            };
            let found = found.value.to_string();
            if !values.is_empty() && values.contains(&found) {
                let new = if found.is_empty() && edit.allow_no_value {
                    no_value_present = true;
                    format!("{option}\n")
                } else {
                    s.assignment(option, &found)
                };
                s.update(option, index, new);
                if let Some(at) = values.iter().position(|v| *v == found) {
                    values.remove(at);
                }
            } else if values.is_empty() && edit.allow_no_value {
                s.update(option, index, format!("{option}\n"));
                no_value_present = true;
                break;
            }
        }
    }

    // 2. The other lines of the option take the remaining values, then go.
    if edit.present && edit.exclusive && !edit.allow_no_value {
        if !values.is_empty() {
            for index in 0..s.lines.len() {
                if s.touched[index] || s.matches(required(option)?, index).is_none() {
                    continue;
                }
                let new = s.assignment(required(option)?, &values.remove(0));
                s.update(required(option)?, index, new);
                if values.is_empty() {
                    break;
                }
            }
        }
        for index in (1..s.lines.len()).rev() {
            if !s.touched[index] && s.matches(required(option)?, index).is_some() {
                s.lines.remove(index);
                s.touched.remove(index);
                s.changed = true;
                s.msg = "option changed";
            }
        }
    }

    // 3. Missing lines go after the section's last setting.
    if edit.present {
        for index in (1..=s.lines.len()).rev() {
            if is_blank_or_comment(&s.lines[index - 1]) {
                continue;
            }
            if let Some(option) = named {
                if !values.is_empty() {
                    for value in values.iter().rev() {
                        let line = s.assignment(option, value);
                        s.lines.insert(index, line);
                    }
                    s.msg = "option added";
                    s.changed = true;
                } else if edit.allow_no_value && !no_value_present {
                    s.lines.insert(index, format!("{option}\n"));
                    s.msg = "option added";
                    s.changed = true;
                }
            }
            break;
        }
    }

    // 4. Removal: the option's lines (those with the values unless exclusive), or the
    //    whole section.
    if !edit.present {
        match named {
            Some(option) => {
                let keep = |line: &String| match match_option(option, line, false) {
                    Some(found) => !edit.exclusive && !values.iter().any(|v| v == found.value),
                    None => true,
                };
                if edit.exclusive || !values.is_empty() {
                    let kept: Vec<String> = s.lines.iter().filter(|l| keep(l)).cloned().collect();
                    if kept != s.lines {
                        s.lines = kept;
                        s.changed = true;
                        s.msg = "option changed";
                    }
                }
            }
            None if !s.lines.is_empty() => {
                s.lines.clear();
                s.msg = "section removed";
                s.changed = true;
            }
            None => {}
        }
    }

    let (mut changed, mut msg) = (s.changed, s.msg);
    let mut lines = before;
    lines.append(&mut s.lines);
    lines.extend(after);
    // The fake first section's line, and the fake last line (Ansible deletes the
    // first line whatever it is by now).
    lines.remove(0);
    lines.pop();

    // 5. A section that was not found is appended with its options.
    if !within && edit.present {
        lines.push(format!("[{section}]\n"));
        msg = "section and option added";
        for condition in edit.section_has_values {
            if Some(condition.option.as_str()) != option {
                if !condition.values.is_empty() {
                    for value in &condition.values {
                        lines.push(s.assignment(&condition.option, value));
                    }
                } else if edit.allow_no_value {
                    lines.push(format!("{}\n", condition.option));
                }
            } else if !edit.exclusive {
                for value in &condition.values {
                    if !values.contains(value) {
                        values.push(value.clone());
                    }
                }
            }
        }
        match named {
            Some(option) if !values.is_empty() => {
                for value in &values {
                    lines.push(s.assignment(option, value));
                }
            }
            Some(option) if edit.allow_no_value => lines.push(format!("{option}\n")),
            _ => msg = "only section added",
        }
        changed = true;
    }
    Ok(Edited {
        text: lines.concat(),
        changed,
        msg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit<'a>(section: Option<&'a str>, option: Option<&'a str>, values: &[&str]) -> Edit<'a> {
        Edit {
            section,
            section_has_values: &[],
            option,
            values: values.iter().map(|v| v.to_string()).collect(),
            present: true,
            exclusive: true,
            no_extra_spaces: false,
            ignore_spaces: false,
            allow_no_value: false,
            modify_inactive_option: true,
        }
    }

    fn run(text: &str, edit: &Edit<'_>) -> (String, bool, &'static str) {
        let edited = apply(text, edit).expect("an edit");
        (edited.text, edited.changed, edited.msg)
    }

    #[test]
    fn option_lines_match_as_pythons_regex() {
        let m = |o, l, i| match_option(o, l, i).map(|f| (f.commented, f.value.to_string()));
        assert_eq!(
            m("fav", "fav = lemonade\n", true),
            Some((false, "lemonade".into()))
        );
        assert_eq!(
            m("fav", "  # fav=tea \n", true),
            Some((true, "tea ".into()))
        );
        assert_eq!(m("fav", "  # fav=tea\n", false), None);
        assert_eq!(m("fav", "fav\n", true), Some((false, String::new())));
        assert_eq!(m("fav", "fav \n", true), Some((false, String::new())));
        assert_eq!(m("fav", "favourite = x\n", true), None);
        assert_eq!(m("fav", "fav= = x\n", true), Some((false, "= x".into())));
        assert_eq!(m(" x", "  x=1\n", true), Some((false, "1".into())));
        assert!(is_header_of("[ drinks ]\n", "drinks"));
        assert!(!is_header_of("[drinksx]\n", "drinks"));
        assert!(is_blank_or_comment("  ; note\n"));
        assert!(!is_blank_or_comment("[x]"));
    }

    #[test]
    fn a_new_file_gets_a_blank_line_then_the_section() {
        let (text, changed, msg) = run("", &edit(Some("drinks"), Some("fav"), &["lemonade"]));
        assert_eq!(text, "\n[drinks]\nfav = lemonade\n");
        assert!(changed);
        assert_eq!(msg, "section and option added");
    }

    #[test]
    fn options_are_replaced_added_and_left() {
        let file = "[drinks]\nfav = tea\n\n[food]\nfruit=apple\n";
        let (text, changed, msg) = run(file, &edit(Some("drinks"), Some("fav"), &["lemonade"]));
        assert_eq!(text, "[drinks]\nfav = lemonade\n\n[food]\nfruit=apple\n");
        assert_eq!((changed, msg), (true, "option changed"));
        let (text, _, msg) = run(file, &edit(Some("drinks"), Some("cold"), &["yes"]));
        assert_eq!(
            text,
            "[drinks]\nfav = tea\ncold = yes\n\n[food]\nfruit=apple\n"
        );
        assert_eq!(msg, "option added");
        let (text, changed, msg) = run(file, &edit(Some("drinks"), Some("fav"), &["tea"]));
        assert_eq!((text.as_str(), changed, msg), (file, false, "OK"));
    }

    #[test]
    fn options_outside_sections_go_before_the_first() {
        let file = "top=1\n[a]\nx=1\n";
        let (text, _, _) = run(file, &edit(None, Some("more"), &["2"]));
        assert_eq!(text, "top=1\nmore = 2\n[a]\nx=1\n");
    }

    #[test]
    fn a_missing_last_newline_alone_is_a_change() {
        let (text, changed, msg) = run("[a]\nx = 1", &edit(Some("a"), Some("x"), &["1"]));
        assert_eq!((text.as_str(), changed, msg), ("[a]\nx = 1\n", true, "OK"));
    }

    #[test]
    fn exclusive_replaces_all_values_and_non_exclusive_adds() {
        let file = "[d]\nb = coke\nb = water\nb = tea\n";
        let (text, _, _) = run(file, &edit(Some("d"), Some("b"), &["pepsi", "coke"]));
        assert_eq!(text, "[d]\nb = coke\nb = pepsi\n");
        let mut add = edit(Some("d"), Some("b"), &["pepsi"]);
        add.exclusive = false;
        let (text, _, msg) = run(file, &add);
        assert_eq!(text, "[d]\nb = coke\nb = water\nb = tea\nb = pepsi\n");
        assert_eq!(msg, "option added");
    }

    #[test]
    fn commented_options_are_modified_unless_told_not_to() {
        let file = "[a]\n# x = 1\n";
        let (text, _, _) = run(file, &edit(Some("a"), Some("x"), &["2"]));
        assert_eq!(text, "[a]\nx = 2\n");
        let mut keep = edit(Some("a"), Some("x"), &["2"]);
        keep.modify_inactive_option = false;
        let (text, _, _) = run(file, &keep);
        assert_eq!(text, "[a]\nx = 2\n# x = 1\n", "inserted after the header");
    }

    #[test]
    fn spaces_and_values_without_equals() {
        let mut tight = edit(Some("a"), Some("x"), &["1"]);
        tight.no_extra_spaces = true;
        assert_eq!(run("[a]\nx = 1\n", &tight).0, "[a]\nx=1\n");
        tight.ignore_spaces = true;
        assert!(!run("[a]\nx = 1\n", &tight).1);
        let mut bare = edit(Some("a"), Some("flag"), &[]);
        bare.allow_no_value = true;
        assert_eq!(run("[a]\nx = 1\n", &bare).0, "[a]\nx = 1\nflag\n");
        assert!(!run("[a]\nflag\n", &bare).1);
    }

    #[test]
    fn absent_removes_options_values_or_sections() {
        let file = "[a]\nx = 1\nx = 2\n[b]\ny = 1\n";
        let mut gone = edit(Some("a"), Some("x"), &[]);
        gone.present = false;
        assert_eq!(run(file, &gone).0, "[a]\n[b]\ny = 1\n");
        gone.exclusive = false;
        gone.values = vec!["2".into()];
        assert_eq!(run(file, &gone).0, "[a]\nx = 1\n[b]\ny = 1\n");
        let mut section = edit(Some("b"), None, &[]);
        section.present = false;
        let (text, changed, msg) = run(file, &section);
        assert_eq!(
            (text.as_str(), changed, msg),
            ("[a]\nx = 1\nx = 2\n", true, "section removed")
        );
        let mut missing = edit(Some("c"), Some("x"), &[]);
        missing.present = false;
        assert!(!run(file, &missing).1);
    }

    #[test]
    fn section_has_values_picks_among_same_named_sections() {
        let file = "[Peer]\nAllowedIps = 10.0.0.1/32\nKey = a\n\n[Peer]\nAllowedIps = 10.0.0.2/32\nKey = b\n";
        let conditions = [Condition {
            option: "AllowedIps".into(),
            values: vec!["10.0.0.2/32".into()],
        }];
        let mut peer = edit(Some("Peer"), Some("Key"), &["c"]);
        peer.section_has_values = &conditions;
        assert_eq!(
            run(file, &peer).0,
            "[Peer]\nAllowedIps = 10.0.0.1/32\nKey = a\n\n[Peer]\nAllowedIps = 10.0.0.2/32\nKey = c\n"
        );
        let conditions = [Condition {
            option: "AllowedIps".into(),
            values: vec!["10.0.0.3/32".into()],
        }];
        peer.section_has_values = &conditions;
        let (text, _, msg) = run(file, &peer);
        assert!(
            text.ends_with("[Peer]\nAllowedIps = 10.0.0.3/32\nKey = c\n"),
            "{text}"
        );
        assert_eq!(msg, "section and option added");
    }

    #[test]
    fn a_value_without_an_option_fails_where_ansible_does() {
        assert!(apply("[a]\nx=1\n", &edit(Some("a"), None, &["1"])).is_err());
        let (text, _, msg) = run("", &edit(Some("a"), None, &["1"]));
        assert_eq!((text.as_str(), msg), ("\n[a]\n", "only section added"));
    }
}
