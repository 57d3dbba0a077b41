//! `vars_prompt`: a play's variables asked at the terminal before it starts, as
//! Ansible's playbook executor asks them: the entries rendered with the play's
//! variables, a name given with `-e` not asked, the answer hidden unless `private:
//! false`, asked twice with `confirm`, hashed with `encrypt`, and the `default` when
//! nothing is typed. Without a terminal nothing is asked (a warning), as in Ansible.

use std::io::IsTerminal;

use serde_json::{Map, Value as Json};

use super::Runner;
use crate::playbook::Play;

/// One `vars_prompt` entry, rendered.
struct Prompt {
    name: String,
    text: Option<String>,
    default: Option<String>,
    private: bool,
    confirm: bool,
    encrypt: Option<String>,
    salt: Option<String>,
    salt_size: Option<i64>,
}

impl Prompt {
    /// The entry `entry` (a rendered mapping) describes.
    fn read(entry: &Map<String, Json>) -> Prompt {
        let text = |key: &str| {
            entry.get(key).filter(|v| !v.is_null()).map(|v| match v {
                Json::String(s) => s.clone(),
                other => crate::pyjson::dumps(other, None),
            })
        };
        let flag = |key: &str, default: bool| {
            entry
                .get(key)
                .and_then(crate::modules::args::parse_bool)
                .unwrap_or(default)
        };
        Prompt {
            name: text("name").unwrap_or_default(),
            text: text("prompt").or_else(|| text("name")),
            default: text("default"),
            private: flag("private", true),
            confirm: flag("confirm", false),
            encrypt: text("encrypt"),
            salt: text("salt"),
            salt_size: text("salt_size").and_then(|size| size.parse().ok()),
        }
    }

    /// What is printed before the answer.
    fn message(&self) -> String {
        match (&self.text, &self.default) {
            (Some(text), Some(default)) => format!("{text} [{default}]: "),
            (Some(text), None) => format!("{text}: "),
            (None, _) => format!("input for {}: ", self.name),
        }
    }
}

impl Runner {
    /// `play` with the answers to its `vars_prompt` among its variables; the play as
    /// it is when it asks nothing.
    pub(super) fn with_prompted_vars(&self, play: &Play) -> Result<Option<Play>, String> {
        if play.vars_prompt.is_empty() {
            return Ok(None);
        }
        let vars = self.play_keyword_vars(play);
        let mut asked = play.clone();
        for entry in &play.vars_prompt {
            let rendered = self
                .templar
                .render_value(entry, &vars)
                .map_err(|err| err.message)?;
            let Json::Object(rendered) = rendered else {
                continue;
            };
            let prompt = Prompt::read(&rendered);
            if self.options.extra_vars.contains_key(&prompt.name) {
                continue;
            }
            let answer = self.answer(&prompt)?;
            asked.vars.insert(prompt.name, Json::String(answer));
        }
        Ok(Some(asked))
    }

    /// The answer to `prompt` (Ansible's `do_var_prompt`).
    fn answer(&self, prompt: &Prompt) -> Result<String, String> {
        let typed = if std::io::stdin().is_terminal() {
            ask(prompt)
        } else {
            self.reporter
                .warning("Not prompting as we are not in interactive mode");
            None
        };
        let answer = match typed.filter(|t| !t.is_empty()) {
            Some(typed) => typed,
            None => prompt.default.clone().unwrap_or_else(|| "None".into()),
        };
        let Some(scheme) = &prompt.encrypt else {
            return Ok(answer);
        };
        let salt = prompt.salt.clone();
        crate::template::filters::crypt::encrypt(&answer, scheme, salt, prompt.salt_size, None)
    }
}

/// Asks at the terminal (twice, until both agree, with `confirm`).
fn ask(prompt: &Prompt) -> Option<String> {
    let message = prompt.message();
    let echo = !prompt.private;
    loop {
        let first = crate::connection::prompt::answer(&message, echo)?;
        if !prompt.confirm {
            return Some(first);
        }
        let second = crate::connection::prompt::answer(&format!("confirm {message}"), echo)?;
        if first == second {
            return Some(first);
        }
        println!("***** VALUES ENTERED DO NOT MATCH ****");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prompt(value: Json) -> Prompt {
        let Json::Object(map) = value else {
            unreachable!("a map")
        };
        Prompt::read(&map)
    }

    #[test]
    fn the_message_is_ansibles() {
        assert_eq!(
            prompt(json!({"name": "v", "prompt": "Port", "default": 80})).message(),
            "Port [80]: "
        );
        assert_eq!(
            prompt(json!({"name": "v", "prompt": "Port"})).message(),
            "Port: "
        );
        assert_eq!(prompt(json!({"name": "v"})).message(), "v: ");
    }

    #[test]
    fn entries_are_private_and_unconfirmed_unless_told() {
        let p = prompt(json!({"name": "v"}));
        assert!(p.private && !p.confirm);
        let p = prompt(json!({"name": "v", "private": "no", "confirm": "yes"}));
        assert!(!p.private && p.confirm);
    }
}
