//! `template`: renders a Jinja template on the control node with the task's variables
//! and installs the result on the target like `copy`.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::install::{Install, install};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::template::RenderOptions;

/// Renders `src` and writes it to `dest` when the result differs.
pub struct TemplateModule;

#[async_trait]
impl Module for TemplateModule {
    fn name(&self) -> &'static str {
        "template"
    }

    fn takes_file_attributes(&self) -> bool {
        true
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("src", Kind::Str).required(),
            Param::new("dest", Kind::Str).required(),
            Param::new("trim_blocks", Kind::Bool),
            Param::new("lstrip_blocks", Kind::Bool),
            Param::new("newline_sequence", Kind::Str).choices(&["\n", "\r", "\r\n"]),
            Param::new("output_encoding", Kind::Str),
            Param::new("block_start_string", Kind::Str),
            Param::new("block_end_string", Kind::Str),
            Param::new("variable_start_string", Kind::Str),
            Param::new("variable_end_string", Kind::Str),
            Param::new("comment_start_string", Kind::Str),
            Param::new("comment_end_string", Kind::Str),
            Param::new("backup", Kind::Bool),
            Param::new("force", Kind::Bool),
            Param::new("validate", Kind::Str),
            Param::new("follow", Kind::Bool),
        ];
        PARAMS
    }

    fn installs_at_dest(&self) -> bool {
        true
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let src = args.str("src").unwrap_or_default();
        let dest = args.str("dest").unwrap_or_default().to_string();
        let Some(path) = ctx.vars.find_file("templates", src) else {
            return Ok(super::failed(format!("Could not find or access '{src}'")));
        };
        let source = crate::source::SourceFile::read(&path).map_err(|err| {
            ModuleError::Failed(format!("could not read {}: {err}", path.display()))
        })?;
        let (text, vaulted) = (source.text.clone(), source.vaulted);
        let full = std::fs::canonicalize(&path).unwrap_or(path.clone());
        let mut extra = Map::new();
        extra.insert("template_path".into(), json!(src));
        extra.insert(
            "template_fullpath".into(),
            json!(full.display().to_string()),
        );
        extra.insert("template_destpath".into(), json!(dest));
        extra.insert("template_host".into(), json!(control_host()));
        extra.insert("template_uid".into(), json!(user_name()));
        extra.insert("template_run_date".into(), json!(crate::clock::now_local()));
        extra.insert(
            "ansible_managed".into(),
            Json::String("Ansible managed".into()),
        );
        let options = RenderOptions {
            trim_blocks: args.bool_or("trim_blocks", true),
            lstrip_blocks: args.bool_or("lstrip_blocks", false),
        };
        let rendered = ctx
            .vars
            .render(&text, extra, &options)
            .map_err(|message| ModuleError::Failed(format!("{}: {message}", path.display())))?;
        let rendered = match args.str("newline_sequence") {
            Some(newline) if newline != "\n" => rendered.replace('\n', newline),
            _ => rendered,
        };
        install(
            ctx,
            args,
            Install {
                dest,
                data: rendered.as_bytes(),
                src: Some(src.to_string()),
                force: args.bool_or("force", true),
                vaulted,
            },
        )
        .await
    }
}

/// The control node's host name, for `template_host`.
fn control_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The user running bosun, for `template_uid`.
fn user_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default()
}
