//! Lookups reading control-node files and commands: `file`, `unvault`, `template`,
//! `fileglob`, `pipe` and `lines`.

use std::path::{Path, PathBuf};

use minijinja::value::Value;
use serde_json::{Map, Value as Json};

use super::search::find_file;
use super::{Ctx, Failure, Options, Outcome, fail, strings};
use crate::pypath;
use crate::template::engine::{Delimiters, RenderOptions};

/// Reads a control-node file as text, vault files decrypted.
fn read_text(path: &str) -> Result<String, Failure> {
    crate::source::SourceFile::read(Path::new(path))
        .map(|file| file.text.clone())
        .map_err(|err| Failure::from(format!("could not read {path}: {err}")))
}

/// `file` (stripped as `lstrip`/`rstrip` say) and `unvault` (as is).
pub(super) fn file(ctx: &Ctx, name: &str, terms: &[Value], options: &Options) -> Outcome {
    let lstrip = options.flag("lstrip", false)?;
    let rstrip = options.flag("rstrip", true)?;
    let mut out = Vec::new();
    for term in strings(terms) {
        let Some(path) = find_file(ctx, Some("files"), &term) else {
            return fail(if name == "unvault" {
                format!("Unable to find file matching \"{term}\" ")
            } else {
                format!(
                    "Unable to access the file '{term}': File not found. Use -vvvvv to see paths searched."
                )
            });
        };
        let mut text = read_text(&path)?;
        if name == "file" {
            if lstrip {
                text = text.trim_start().to_string();
            }
            if rstrip {
                text = text.trim_end().to_string();
            }
        }
        out.push(Value::from(text));
    }
    Ok(out)
}

/// `template`: each file rendered with the task's variables, `template_vars` on top.
pub(super) fn template(ctx: &Ctx, terms: &[Value], options: &Options) -> Outcome {
    let vars = ctx.vars()?;
    let string = |key: &str, default: &str| options.string(key).unwrap_or_else(|| default.into());
    let render_options = RenderOptions {
        trim_blocks: options.flag("trim_blocks", true)?,
        lstrip_blocks: false,
        delimiters: Delimiters {
            block: ("{%".into(), "%}".into()),
            variable: (
                string("variable_start_string", "{{"),
                string("variable_end_string", "}}"),
            ),
            comment: (
                string("comment_start_string", "{#"),
                string("comment_end_string", "#}"),
            ),
        },
    };
    let template_vars = options.get("template_vars").map(crate::template::to_json);
    let mut out = Vec::new();
    for term in strings(terms) {
        let Some(path) = find_file(ctx, Some("templates"), &term) else {
            return fail(format!(
                "the template file {term} could not be found for the lookup"
            ));
        };
        let text = read_text(&path)?;
        // Includes are looked for beside the template, then in each search path
        // directory's templates/ and the directory itself.
        let mut searchpath = vec![PathBuf::from(pypath::dirname(&path))];
        if let Some(Json::Array(dirs)) = ctx.var("ansible_search_path") {
            for dir in dirs.iter().filter_map(Json::as_str) {
                searchpath.push(Path::new(dir).join("templates"));
                searchpath.push(PathBuf::from(dir));
            }
        }
        let mut extra = Map::new();
        extra.insert("template_path".into(), Json::from(term.clone()));
        extra.insert("template_fullpath".into(), Json::from(path.clone()));
        if vars.raw("ansible_managed").is_none() {
            extra.insert("ansible_managed".into(), Json::from("Ansible managed"));
        }
        if let Some(Json::Object(more)) = &template_vars {
            extra.extend(more.clone());
        }
        let rendered = vars
            .templar()
            .render_file(&text, vars, extra, &render_options, &searchpath)
            .map_err(|err| Failure::from(err.message))?;
        // A template that renders nothing (its trailing newlines aside, which Ansible
        // adds back only to output) is None, as in Ansible 2.19.
        out.push(if rendered.trim_end_matches('\n').is_empty() {
            Value::from(())
        } else {
            Value::from(rendered)
        });
    }
    Ok(out)
}

/// `fileglob`: files (not directories) matching each pattern, from the first place
/// with matches.
pub(super) fn fileglob(ctx: &Ctx, terms: &[Value]) -> Outcome {
    let mut out = Vec::new();
    for term in terms.iter().map(crate::template::pyfmt::py_str) {
        let file = pypath::basename(&term).to_string();
        let mut dirs: Vec<String> = Vec::new();
        if file != term {
            dirs.extend(find_file(ctx, Some("files"), pypath::dirname(&term)));
        } else {
            let paths = match ctx.var("ansible_search_path") {
                Some(Json::Array(items)) => items
                    .iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect(),
                _ => vec![ctx.basedir().to_string_lossy().into_owned()],
            };
            for path in paths {
                dirs.push(pypath::join([path.as_str(), "files"]));
                dirs.push(path);
            }
        }
        for dir in dirs {
            let found = glob_files(&dir, &file);
            if !found.is_empty() {
                out.extend(found.into_iter().map(Value::from));
                break;
            }
        }
    }
    Ok(out)
}

/// Python's `glob.glob(dir/pattern)`, files only.
fn glob_files(dir: &str, pattern: &str) -> Vec<String> {
    crate::glob::paths(&pypath::join([dir, pattern]))
        .into_iter()
        .filter(|path| Path::new(path).is_file())
        .collect()
}

/// `pipe` (the output, trailing whitespace stripped) and `lines` (its lines), each
/// command run by the shell in the playbook's directory.
pub(super) fn pipe(ctx: &Ctx, name: &str, terms: &[Value]) -> Outcome {
    let mut out = Vec::new();
    for command in terms.iter().map(crate::template::pyfmt::py_str) {
        let output = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&command)
            .current_dir(ctx.basedir())
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|err| {
                Failure::from(format!("lookup_plugin.{name}({command}) failed: {err}"))
            })?;
        if !output.status.success() {
            return fail(format!(
                "lookup_plugin.{name}({command}) returned {}",
                output.status.code().unwrap_or(-1)
            ));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        if name == "lines" {
            out.extend(text.lines().map(Value::from));
        } else {
            out.push(Value::from(text.trim_end()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{eval_in, render_in};
    use serde_json::json;

    #[test]
    fn fileglob_finds_files_in_files_dirs_and_by_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        std::fs::create_dir_all(p.join("files/sub")).expect("mkdir");
        for f in [
            "files/a.txt",
            "files/b.txt",
            "files/c.cfg",
            "files/.hidden.txt",
            "top.txt",
        ] {
            std::fs::write(p.join(f), "x").expect("write");
        }
        let eval = |e: &str| eval_in(e, p, json!({}));
        let d = p.display();
        assert_eq!(
            eval("q('fileglob', '*.txt')"),
            Ok(json!([
                format!("{d}/files/a.txt"),
                format!("{d}/files/b.txt")
            ]))
        );
        assert_eq!(
            eval("q('fileglob', 'top.*')"),
            Ok(json!([format!("{d}/top.txt")]))
        );
        assert_eq!(
            eval("q('fileglob', 'files/*.cfg')"),
            Ok(json!([format!("{d}/files/c.cfg")]))
        );
        assert_eq!(eval("q('fileglob', 'nothing*')"), Ok(json!([])));
        assert_eq!(eval("q('fileglob', '*')|length"), Ok(json!(3)));
    }

    #[test]
    fn lines_and_file_options() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        std::fs::write(p.join("f"), "  padded  \n").expect("write");
        let eval = |e: &str| eval_in(e, p, json!({}));
        assert_eq!(
            eval("q('lines', 'printf \"a\\nb\\n\"')"),
            Ok(json!(["a", "b"]))
        );
        assert_eq!(eval("lookup('file', 'f')"), Ok(json!("  padded")));
        assert_eq!(
            eval("lookup('file', 'f', lstrip=True)"),
            Ok(json!("padded"))
        );
        assert_eq!(
            eval("lookup('file', 'f', rstrip=False)"),
            Ok(json!("  padded  \n"))
        );
        let err = eval("lookup('pipe', 'exit 3')").expect_err("fails");
        assert!(
            err.contains("lookup_plugin.pipe(exit 3) returned 3"),
            "{err}"
        );
    }

    #[test]
    fn template_lookup_includes_and_options() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        std::fs::create_dir_all(p.join("templates")).expect("mkdir");
        std::fs::write(
            p.join("templates/hello.txt"),
            "Hello {% include 'world.txt' %}!",
        )
        .expect("write");
        std::fs::write(p.join("templates/world.txt"), "{{ who }}\n").expect("write");
        std::fs::write(p.join("templates/alt.txt"), "[% who %] {{ x }} [% extra %]")
            .expect("write");
        let search = json!({"ansible_search_path": [p.display().to_string()]});
        assert_eq!(
            render_in("{{ lookup('template', 'hello.txt') }}", p, search.clone()),
            Ok("Hello bosun!".into())
        );
        assert_eq!(
            render_in(
                "{{ lookup('template', 'alt.txt', variable_start_string='[%', variable_end_string='%]', template_vars={'extra': 1}) }}",
                p,
                search
            ),
            Ok("bosun {{ x }} 1".into())
        );
        std::fs::write(p.join("templates/none.j2"), "{# nothing #}\n").expect("write");
        assert_eq!(
            eval_in("lookup('template', 'none.j2') is none", p, json!({})),
            Ok(json!(true))
        );
    }
}
