//! `docker_container_exec`: runs a command in a running container with `docker exec`.
//! It stays a plain [`Module`]: running is the action, there is no state to query or
//! decide on, and like community.docker's it always reports a change and has no check
//! mode (it is skipped there).

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::REQUIRE_DOCKER;
use crate::connection::{Command, quote};
use crate::modules::command::{trim_ends, with_lines};
use crate::modules::typed::{Rules, TypedArgs, module_args};
use crate::modules::{Args, Module, ModuleContext, ModuleError, Outcome, Param};

/// Runs a command in a container.
pub struct DockerContainerExec;

module_args! {
    /// `docker_container_exec`'s arguments.
    pub struct ExecArgs {
        container: String => .required(),
        /// The command as a list of words.
        argv: Option<Vec<String>>,
        /// The command as one string, split as a POSIX shell would (no shell runs it).
        command: Option<String>,
        chdir: Option<String>,
        detach: bool => .default_bool(false),
        user: Option<String>,
        stdin: Option<String>,
        stdin_add_newline: bool => .default_bool(true),
        strip_empty_ends: bool => .default_bool(true),
        /// Only `false`: `docker exec -t` wants a terminal that bosun's session lacks.
        tty: bool => .default_bool(false),
        env: Option<Map<String, Json>>,
    }
    rules: Rules {
        mutually_exclusive: &[&["argv", "command"]],
        required_one_of: &[&["argv", "command"]],
        ..Rules::NONE
    };
}

/// Marks the line with the ID of a detached exec.
const EXEC_ID: &str = "bosun-exec-id:";

impl ExecArgs {
    /// The `docker exec` command line (and the bytes for its stdin), or the
    /// collection's message for an argument it refuses.
    fn command_line(&self) -> Result<(String, Option<Vec<u8>>), String> {
        if self.tty {
            return Err(
                "tty=true is not supported by bosun: docker exec -t needs a terminal".to_string(),
            );
        }
        let argv = match (&self.argv, &self.command) {
            (Some(argv), _) => argv.clone(),
            (None, Some(command)) => {
                shell_words::split(command).map_err(|e| format!("cannot split command: {e}"))?
            }
            (None, None) => Vec::new(),
        };
        if self.detach && self.stdin.is_some() {
            return Err("If detach=true, stdin cannot be provided.".to_string());
        }
        let mut flags = String::new();
        for (name, value) in self.env.iter().flatten() {
            let Json::String(text) = value else {
                return Err(format!(
                    "Non-string value found for env option. Ambiguous env options must be wrapped in quotes to avoid them being interpreted. Key: {name}"
                ));
            };
            flags.push_str(&format!(" -e {}", quote(&format!("{name}={text}"))));
        }
        if let Some(user) = self.user.as_deref().filter(|u| !u.is_empty()) {
            flags.push_str(&format!(" -u {}", quote(user)));
        }
        if let Some(dir) = &self.chdir {
            flags.push_str(&format!(" -w {}", quote(dir)));
        }
        let stdin = self.stdin.as_ref().filter(|s| !s.is_empty()).map(|text| {
            let mut bytes = text.clone().into_bytes();
            if self.stdin_add_newline {
                bytes.push(b'\n');
            }
            bytes
        });
        if stdin.is_some() {
            flags.push_str(" -i");
        }
        let words: String = argv.iter().map(|w| format!(" {}", quote(w))).collect();
        let c = quote(&self.container);
        let script = if self.detach {
            // The CLI does not print a detached exec's ID: it is the one the container
            // did not have before.
            format!(
                "{REQUIRE_DOCKER}; before=$(docker inspect -f '{{{{range .ExecIDs}}}}{{{{.}}}} {{{{end}}}}' {c}) || exit 1; \
                 docker exec -d{flags} {c}{words} || exit 1; \
                 for id in $(docker inspect -f '{{{{range .ExecIDs}}}}{{{{.}}}} {{{{end}}}}' {c}); do \
                 case \" $before \" in *\" $id \"*) ;; *) echo {EXEC_ID}$id ;; esac; done"
            )
        } else {
            format!("{REQUIRE_DOCKER}; docker exec{flags} {c}{words}")
        };
        Ok((script, stdin))
    }
}

/// The collection's message for a `docker exec` that failed before the command ran.
fn docker_failure(container: &str, stderr: &str) -> Option<String> {
    let first = stderr
        .lines()
        .find(|l| l.starts_with("Error"))
        .unwrap_or_default();
    if first.contains("No such container") {
        return Some(format!("Could not find container \"{container}\""));
    }
    if first.contains("is paused") || first.contains("is not running") {
        return Some(format!(
            "The container \"{container}\" has been paused ({})",
            first.trim()
        ));
    }
    (!first.is_empty()).then(|| format!("An unexpected Docker error occurred: {}", first.trim()))
}

/// Output as the collection returns it: without trailing line ends when asked.
fn ends(text: String, strip: bool) -> String {
    if strip { trim_ends(&text) } else { text }
}

#[async_trait]
impl Module for DockerContainerExec {
    fn name(&self) -> &'static str {
        "docker_container_exec"
    }

    fn params(&self) -> &'static [Param] {
        ExecArgs::PARAMS
    }

    fn supports_check_mode(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = ExecArgs::from_args(args).map_err(ModuleError::Failed)?;
        let (script, stdin) = args.command_line().map_err(ModuleError::Failed)?;
        let mut command = Command::new(script);
        command.stdin = stdin;
        let out = ctx.conn.exec(&command).await?;
        let stderr = out.stderr_text();
        if out.rc == 127 && stderr.contains("docker: command not found") {
            return Err(ModuleError::Failed(stderr.trim().to_string()));
        }
        // docker's own errors exit 1 (or 125) and say so before the command ran.
        if matches!(out.rc, 1 | 125)
            && let Some(message) = docker_failure(&args.container, &stderr)
        {
            return Err(ModuleError::Failed(message));
        }
        let mut result = super::super::ok(true);
        if args.detach {
            let id = out
                .stdout_text()
                .lines()
                .find_map(|l| l.strip_prefix(EXEC_ID))
                .unwrap_or_default()
                .to_string();
            result.insert("exec_id".into(), json!(id));
            return Ok(result);
        }
        result.insert(
            "stdout".into(),
            json!(ends(out.stdout_text(), args.strip_empty_ends)),
        );
        result.insert("stderr".into(), json!(ends(stderr, args.strip_empty_ends)));
        result.insert("rc".into(), json!(out.rc));
        // As Ansible adds them to every result with output.
        Ok(with_lines(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn line(args: Json) -> Result<(String, Option<Vec<u8>>), String> {
        from_json::<ExecArgs>(args)?.command_line()
    }

    #[test]
    fn the_command_line_carries_every_option_quoted() {
        let (script, stdin) = line(json!({
            "container": "web", "command": "sh -c 'echo $HOME'", "chdir": "/srv", "user": "nobody",
            "env": {"A": "b c"}, "stdin": "data"
        }))
        .expect("valid");
        assert!(
            script.ends_with("docker exec -e 'A=b c' -u nobody -w /srv -i web sh -c 'echo $HOME'"),
            "{script}"
        );
        assert_eq!(stdin.as_deref(), Some(&b"data\n"[..]));
        let (script, _) =
            line(json!({"container": "web", "argv": ["ls", "-l"], "detach": true})).expect("valid");
        assert!(script.contains("docker exec -d web ls -l"), "{script}");
        assert!(script.contains("{{range .ExecIDs}}"), "{script}");
    }

    #[test]
    fn refusals_are_in_the_collections_words() {
        assert_eq!(
            line(json!({"container": "web", "argv": ["x"], "env": {"N": 1}}))
                .expect_err("a number"),
            "Non-string value found for env option. Ambiguous env options must be wrapped in quotes to avoid them being interpreted. Key: N"
        );
        assert_eq!(
            line(json!({"container": "web", "argv": ["x"], "detach": true, "stdin": "s"}))
                .expect_err("stdin"),
            "If detach=true, stdin cannot be provided."
        );
        assert_eq!(
            line(json!({"container": "web"})).expect_err("no command"),
            "one of the following is required: argv, command"
        );
        assert_eq!(
            docker_failure(
                "web",
                "Error response from daemon: No such container: web\n"
            )
            .as_deref(),
            Some("Could not find container \"web\"")
        );
        assert_eq!(
            docker_failure("web", "ls: x: No such file\n"),
            None,
            "the command's own error"
        );
        assert_eq!(ends("a\r\n\n".to_string(), true), "a");
    }
}
