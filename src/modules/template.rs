//! `template`: renders a Jinja template on the control node with the task's variables
//! and installs the result on the target like `copy`.

mod encoding;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::contract::{Decision, StateModule};
use super::install::{self, Settings, Source};
use super::typed::{WithAttributes, module_args};
use super::{ModuleError, Outcome, Target};
use crate::template::{Delimiters, RenderOptions};

/// Renders `src` and writes it to `dest` when the result differs.
pub struct TemplateModule;

module_args! {
    /// `template`'s arguments.
    pub struct TemplateArgs {
        /// The template, found in `templates/` as Ansible looks for it.
        src: String => .required(),
        /// Where the rendered file goes.
        dest: String => .required(),
        /// Remove the first newline after a block tag.
        trim_blocks: bool => .default_bool(true),
        /// Strip spaces and tabs before a block tag on its line.
        lstrip_blocks: bool => .default_bool(false),
        /// The newline the template's own text ends its lines with (`\n`, `\r`,
        /// `\r\n`).
        newline_sequence: String => .default_str("\n"),
        /// The encoding of the written file (a Python codec name).
        output_encoding: String => .default_str("utf-8"),
        block_start_string: String => .default_str("{%"),
        block_end_string: String => .default_str("%}"),
        variable_start_string: String => .default_str("{{"),
        variable_end_string: String => .default_str("}}"),
        comment_start_string: String => .default_str("{#"),
        comment_end_string: String => .default_str("#}"),
        backup: bool => .default_bool(false),
        /// Replace a file whose content differs.
        force: bool => .default_bool(true),
        /// A command with `%s` the new file must pass before it replaces anything.
        validate: Option<String>,
        /// Write through a `dest` that is a symbolic link instead of replacing it.
        follow: bool => .default_bool(false),
    }
}

impl TemplateArgs {
    /// What `install` needs from the arguments.
    fn settings<'a>(&'a self, attributes: &'a super::fileops::Attributes) -> Settings<'a> {
        Settings {
            force: self.force,
            backup: self.backup,
            validate: self.validate.as_deref(),
            attributes,
        }
    }

    /// The engine's options: whitespace handling and delimiters.
    fn render_options(&self) -> RenderOptions {
        let pair = |open: &String, close: &String| (open.clone(), close.clone());
        RenderOptions {
            trim_blocks: self.trim_blocks,
            lstrip_blocks: self.lstrip_blocks,
            delimiters: Delimiters {
                block: pair(&self.block_start_string, &self.block_end_string),
                variable: pair(&self.variable_start_string, &self.variable_end_string),
                comment: pair(&self.comment_start_string, &self.comment_end_string),
            },
        }
    }

    /// The newline sequence, accepting the escaped spellings Ansible accepts.
    fn newline(&self) -> Result<&'static str, String> {
        match self.newline_sequence.as_str() {
            "\n" | "\\n" => Ok("\n"),
            "\r" | "\\r" => Ok("\r"),
            "\r\n" | "\\r\\n" => Ok("\r\n"),
            _ => Err("newline_sequence needs to be one of: \n, \r or \r\n".to_string()),
        }
    }
}

#[async_trait]
impl StateModule for TemplateModule {
    const NAME: &'static str = "template";
    type Args = WithAttributes<TemplateArgs>;
    type State = install::Found;
    type Plan = install::Plan;
    const INSTALLS_AT_DEST: bool = true;

    async fn query(
        &self,
        on: &Target<'_>,
        typed: &Self::Args,
    ) -> Result<install::Found, ModuleError> {
        let args = &typed.args;
        let newline = args.newline().map_err(ModuleError::Failed)?;
        let src = &args.src;
        let Some(path) = on.vars.find_file("templates", src) else {
            return Err(ModuleError::Failed(format!(
                "Could not find or access '{src}'"
            )));
        };
        let source = crate::source::SourceFile::read(&path).map_err(|err| {
            ModuleError::Failed(format!("could not read {}: {err}", path.display()))
        })?;
        let full = std::fs::canonicalize(&path).unwrap_or(path.clone());
        let mut extra = Map::new();
        extra.insert("template_path".into(), json!(src));
        extra.insert(
            "template_fullpath".into(),
            json!(full.display().to_string()),
        );
        extra.insert("template_destpath".into(), json!(args.dest));
        extra.insert("template_host".into(), json!(control_host()));
        extra.insert("template_run_date".into(), json!(crate::clock::now_local()));
        if let Ok(metadata) = std::fs::metadata(&full) {
            use std::os::unix::fs::MetadataExt;
            let uid = metadata.uid();
            let owner = crate::passwd::name_of(uid).map_or_else(|| json!(uid), |name| json!(name));
            extra.insert("template_uid".into(), owner);
            if let Ok(modified) = metadata.modified() {
                extra.insert(
                    "template_mtime".into(),
                    json!(crate::clock::python_datetime(modified)),
                );
            }
        }
        extra.insert(
            "ansible_managed".into(),
            Json::String("Ansible managed".into()),
        );
        let text = with_newlines(&source.text, newline);
        let rendered = on
            .vars
            .render(&text, extra, &args.render_options())
            .map_err(|message| ModuleError::Failed(format!("{}: {message}", path.display())))?;
        let data =
            encoding::encode(&rendered, &args.output_encoding).map_err(ModuleError::Failed)?;
        let source = Source {
            data,
            src: Some(src.clone()),
            vaulted: source.vaulted,
            mode: Some(super::copy::local_mode(&path)?),
        };
        install::query(on, &args.dest, source, args.follow, &typed.attributes).await
    }

    fn decide(
        &self,
        typed: &Self::Args,
        found: install::Found,
    ) -> Result<Decision<install::Plan>, String> {
        install::decide(found, &typed.args.settings(&typed.attributes), None)
            .map(install::as_copied)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        typed: &Self::Args,
        plan: install::Plan,
    ) -> Result<Outcome, ModuleError> {
        install::apply(on, plan, &typed.args.settings(&typed.attributes)).await
    }
}

/// The template's text with every line ending (`\r\n`, `\r` or `\n`) written as
/// `newline`: Jinja's lexer does that to the template's own text, never to the values
/// it inserts.
fn with_newlines(text: &str, newline: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str(newline);
            }
            '\n' => out.push_str(newline),
            other => out.push(other),
        }
    }
    out
}

/// The control node's host name, for `template_host`.
fn control_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::modules::typed::from_json;

    #[test]
    fn line_endings_of_the_text_become_the_newline_sequence() {
        assert_eq!(with_newlines("a\nb\r\nc\rd", "\r\n"), "a\r\nb\r\nc\r\nd");
        assert_eq!(with_newlines("a\r\n\r\n", "\n"), "a\n\n");
    }

    #[test]
    fn delimiters_and_newlines_come_from_the_arguments() {
        let typed: WithAttributes<TemplateArgs> = from_json(json!({
            "src": "t.j2", "dest": "/x",
            "variable_start_string": "<<", "variable_end_string": ">>",
            "newline_sequence": "\\r\\n",
        }))
        .expect("valid");
        let options = typed.args.render_options();
        assert_eq!(options.delimiters.variable, ("<<".into(), ">>".into()));
        assert_eq!(options.delimiters.block, ("{%".into(), "%}".into()));
        assert!(options.trim_blocks && !options.lstrip_blocks);
        assert_eq!(typed.args.newline(), Ok("\r\n"));
        assert_eq!(typed.args.output_encoding, "utf-8");
    }
}
