//! `patch` (ansible.posix): applies or reverts a unified diff with the target's GNU
//! `patch`. As Ansible's module, it asks `patch --dry-run --reverse` whether the patch
//! is already applied (for `present`; without `--reverse` for `absent`) and applies it
//! only when not. The patch comes from the control node (`files/`, sent with the
//! command that uses it) or, with `remote_src`, is a file on the target.

use async_trait::async_trait;

use super::contract::{Decision, StateModule};
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, CommandOutput, quote, receive};

/// Applies patches.
pub struct Patch;

arg_enum! {
    /// Whether the patch should be applied.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

module_args! {
    /// `patch`'s arguments.
    pub struct PatchArgs {
        /// The patch: a control-node file, or a target file with `remote_src`.
        src: String => .required().aliases(&["patchfile"]),
        /// The file to patch (the patch's own names otherwise).
        dest: Option<String> => .aliases(&["originalfile"]),
        /// Where the patch's paths start (`dest`'s directory by default).
        basedir: Option<String>,
        /// How many leading path components to drop (`-p`).
        strip: i64 => .default_int(0),
        /// Whether `src` is already on the target.
        remote_src: bool => .default_bool(false),
        /// Whether patch keeps numbered backups of what it changes.
        backup: bool => .default_bool(false),
        /// Whether the files are read and written in binary mode.
        binary: bool => .default_bool(false),
        /// Whether whitespace differences are ignored.
        ignore_whitespace: bool => .default_bool(false),
        state: State => .default_str("present"),
    }
    rules: Rules { required_one_of: &[&["dest", "basedir"]], ..Rules::NONE };
}

/// Where the patch file is for the commands that read it.
enum Source {
    /// On the target already (`remote_src`).
    Remote(String),
    /// The control node's bytes, sent with each command.
    Local(Vec<u8>),
}

/// What `patch --dry-run` said.
#[derive(Debug)]
pub enum Found {
    /// The patch is already as `state` wants it.
    Done,
    /// Applying it (or reverting it) would work.
    Applies,
    /// Applying it would fail with this message (patch's error or output).
    Fails(String),
}

/// Exit statuses of the query's checks.
const UNREADABLE_SRC: i32 = 110;
const UNWRITABLE_DEST: i32 = 111;
const NO_BASEDIR: i32 = 112;
const NO_PATCH: i32 = 113;

/// Says whether a dry run found the patch done; what follows is the dry run of the
/// change.
const DONE: &str = "done";

impl PatchArgs {
    /// The directory patch works in.
    fn basedir(&self) -> String {
        match (&self.basedir, &self.dest) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dest)) => match dest.rsplit_once('/') {
                Some(("", _)) => "/".to_string(),
                Some((dir, _)) => dir.to_string(),
                None => String::new(),
            },
            (None, None) => String::new(),
        }
    }

    /// patch's options as Ansible's module passes them: `check` is the test whether
    /// the patch is already applied, otherwise the change itself (a dry run when
    /// `dry_run`). `input` is a shell word.
    fn options(&self, input: &str, check: bool, dry_run: bool) -> String {
        let mut words = vec!["--quiet".to_string(), "--forward".to_string()];
        if !check {
            words.extend(["--batch".to_string(), "--reject-file=-".to_string()]);
        }
        words.push(format!("--strip={}", self.strip));
        words.push(quote(&format!("--directory={}", self.basedir())));
        words.push(format!("--input={input}"));
        if check || dry_run {
            words.push("--dry-run".into());
        }
        if self.binary {
            words.push("--binary".into());
        }
        if self.ignore_whitespace {
            words.push("--ignore-whitespace".into());
        }
        if let Some(dest) = &self.dest {
            words.push(quote(dest));
        }
        if !check && self.backup {
            words.extend([
                "--backup".to_string(),
                "--version-control=numbered".to_string(),
            ]);
        }
        // The test asks whether it can be undone; the change reverts for `absent`.
        if check == (self.state == State::Present) {
            words.push("--reverse".into());
        }
        words.join(" ")
    }

    /// The checks Ansible's module makes before it patches, each failing with its
    /// own exit status.
    fn checks(&self, input: &str) -> String {
        let mut script = format!("[ -r {input} ] || exit {UNREADABLE_SRC}; ");
        if let Some(dest) = &self.dest {
            script.push_str(&format!(
                "[ -w {} ] || exit {UNWRITABLE_DEST}; ",
                quote(dest)
            ));
        }
        if let Some(dir) = &self.basedir {
            script.push_str(&format!("[ -e {} ] || exit {NO_BASEDIR}; ", quote(dir)));
        }
        script.push_str(FIND_PATCH);
        script
    }

    /// The message of a failed check.
    fn check_failed(&self, rc: i32) -> Option<String> {
        let dest = self.dest.as_deref().unwrap_or("");
        match rc {
            UNREADABLE_SRC => Some(format!("src {} doesn't exist or not readable", self.src)),
            UNWRITABLE_DEST => Some(format!("dest {dest} doesn't exist or not writable")),
            NO_BASEDIR => Some(format!(
                "basedir {} doesn't exist",
                self.basedir.as_deref().unwrap_or("")
            )),
            NO_PATCH => Some("patch command not found".to_string()),
            _ => None,
        }
    }
}

/// The patch's source for `args`: the target's file, or the control node's bytes.
fn source(on: &Target<'_>, args: &PatchArgs) -> Result<Source, ModuleError> {
    if args.remote_src {
        return Ok(Source::Remote(args.src.clone()));
    }
    let not_found = || {
        ModuleError::Failed(format!(
            "Could not find or access '{}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option",
            args.src
        ))
    };
    let path = on
        .vars
        .find_file("files", &args.src)
        .ok_or_else(not_found)?;
    std::fs::read(path)
        .map(Source::Local)
        .map_err(|_| not_found())
}

/// Runs `body` (a script of the patch file's shell word) with the patch on the
/// target: the remote file, or the control node's bytes received into a temporary
/// file first (as standard input, or uploaded when the connection takes none) and
/// removed afterwards.
async fn with_patch(
    on: &Target<'_>,
    source: &Source,
    body: impl Fn(&str) -> String,
) -> Result<CommandOutput, ModuleError> {
    let bytes = match source {
        Source::Remote(path) => return Ok(on.conn.exec(&Command::new(body(&quote(path)))).await?),
        Source::Local(bytes) => bytes,
    };
    let run = format!("( {} ); rc=$?; rm -f -- \"$p\"; exit $rc", body("\"$p\""));
    let command = match on.conn.takes_stdin() {
        true => {
            let mut command = Command::new(format!(
                "p=$(mktemp) || exit 1\n{}{run}",
                receive("\"$p\"", bytes)
            ));
            command.stdin = Some(bytes.clone());
            command
        }
        false => {
            let made = on.conn.exec(&Command::new("mktemp")).await?;
            let temp = made.stdout_text().trim().to_string();
            if made.rc != 0 || temp.is_empty() {
                return Err(ModuleError::Failed(made.stderr_text().trim().to_string()));
            }
            on.conn.put(bytes, &temp, Some(0o600)).await?;
            Command::new(format!("p={}; {run}", quote(&temp)))
        }
    };
    Ok(on.conn.exec(&command).await?)
}

/// Asks whether the patch is done (after the module's checks) and, when not and
/// `dry_run`, whether the change would apply.
async fn look(on: &Target<'_>, args: &PatchArgs, dry_run: bool) -> Result<Found, ModuleError> {
    let source = source(on, args)?;
    let out = with_patch(on, &source, |input| {
        let change = match dry_run {
            true => format!("\"$b\" {}", args.options(input, false, true)),
            false => "exit 0".to_string(),
        };
        format!(
            "{}\"$b\" {} >/dev/null 2>&1 && {{ echo {DONE}; exit 0; }}; echo; {change}",
            args.checks(input),
            args.options(input, true, false),
        )
    })
    .await?;
    if let Some(msg) = args.check_failed(out.rc) {
        return Err(ModuleError::Failed(msg));
    }
    let stdout = out.stdout_text();
    let (first, changed) = stdout.split_once('\n').unwrap_or((&stdout, ""));
    Ok(match (first, out.rc) {
        (DONE, _) => Found::Done,
        (_, 0) => Found::Applies,
        _ => Found::Fails(message(&out, changed)),
    })
}

/// Finds patch into `$b` (its messages start with the path it was run as, as
/// `get_bin_path` runs it).
const FIND_PATCH: &str = concat!("b=$(command -v patch) || exit ", 113, "; ");

/// patch's message: its standard error, or its output when that is empty.
fn message(out: &CommandOutput, stdout: &str) -> String {
    match out.stderr_text() {
        err if !err.is_empty() => err,
        _ => stdout.to_string(),
    }
}

#[async_trait]
impl StateModule for Patch {
    const NAME: &'static str = "patch";
    type Args = PatchArgs;
    type State = Found;
    type Plan = ();
    /// Without stdin its query's first command makes a temporary file for the patch.
    const ASKS_AHEAD: bool = false;

    /// In check mode: whether the patch is done and, when not, whether it would
    /// apply (the module's dry run of the change).
    async fn query(&self, on: &Target<'_>, args: &PatchArgs) -> Result<Found, ModuleError> {
        look(on, args, true).await
    }

    /// Outside check mode, Ansible's module runs no dry run of the change: it patches
    /// (and a patch that fails still leaves patch's backup of the mismatched file).
    async fn prepare_and_query(
        &self,
        on: &Target<'_>,
        args: &PatchArgs,
    ) -> Result<Found, ModuleError> {
        look(on, args, false).await
    }

    fn decide(&self, _: &PatchArgs, found: Found) -> Result<Decision<()>, String> {
        match found {
            Found::Done => Ok(Decision::unchanged()),
            Found::Applies => Ok(Decision::change(())),
            Found::Fails(msg) => Err(msg),
        }
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &PatchArgs,
        _: (),
    ) -> Result<Outcome, ModuleError> {
        let source = source(on, args)?;
        let out = with_patch(on, &source, |input| {
            format!("{FIND_PATCH}\"$b\" {}", args.options(input, false, false))
        })
        .await?;
        if out.rc != 0 {
            return Err(ModuleError::Failed(message(&out, &out.stdout_text())));
        }
        Ok(Outcome::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::json;

    fn args(value: serde_json::Value) -> PatchArgs {
        from_json(value).expect("valid arguments")
    }

    #[test]
    fn options_are_ansibles() {
        let a =
            args(json!({"src": "x.patch", "dest": "/etc/my app.conf", "strip": 1, "backup": true}));
        assert_eq!(
            a.options("\"$p\"", true, false),
            "--quiet --forward --strip=1 --directory=/etc --input=\"$p\" --dry-run '/etc/my app.conf' --reverse"
        );
        assert_eq!(
            a.options("\"$p\"", false, false),
            "--quiet --forward --batch --reject-file=- --strip=1 --directory=/etc --input=\"$p\" '/etc/my app.conf' --backup --version-control=numbered"
        );
        let a = args(
            json!({"src": "x.patch", "basedir": "/srv/app", "state": "absent", "binary": true}),
        );
        assert_eq!(
            a.options("/tmp/x", true, false),
            "--quiet --forward --strip=0 --directory=/srv/app --input=/tmp/x --dry-run --binary"
        );
        assert_eq!(
            a.options("/tmp/x", false, true),
            "--quiet --forward --batch --reject-file=- --strip=0 --directory=/srv/app --input=/tmp/x --dry-run --binary --reverse"
        );
    }

    #[test]
    fn the_dry_runs_decide() {
        let a = args(json!({"src": "x.patch", "basedir": "/srv"}));
        assert!(
            Patch
                .decide(&a, Found::Done)
                .expect("decides")
                .plan
                .is_none()
        );
        assert!(
            Patch
                .decide(&a, Found::Applies)
                .expect("decides")
                .plan
                .is_some()
        );
        let err = Patch
            .decide(&a, Found::Fails("1 out of 1 hunk FAILED".into()))
            .expect_err("fails");
        assert_eq!(err, "1 out of 1 hunk FAILED");
    }

    #[test]
    fn dest_or_basedir_is_required_and_checks_say_which() {
        let err = from_json::<PatchArgs>(json!({"src": "x.patch"})).expect_err("bad");
        assert_eq!(err, "one of the following is required: dest, basedir");
        let a = args(json!({"src": "x.patch", "dest": "/etc/f"}));
        assert_eq!(
            a.check_failed(UNWRITABLE_DEST).as_deref(),
            Some("dest /etc/f doesn't exist or not writable")
        );
        assert_eq!(a.check_failed(1), None);
        assert!(FIND_PATCH.contains(&format!("exit {NO_PATCH};")));
    }
}
