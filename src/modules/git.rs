//! `git`: a checkout of a repository at a branch, tag or commit. One query (the
//! checkout's HEAD, remote URL, current branch and local modifications, and the remote's
//! matching refs from `git ls-remote`), then a clone, or a fetch and checkout, only when
//! the checkout is not already at the wanted commit.

use async_trait::async_trait;
use serde_json::json;

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, CommandOutput, quote};

/// Checks out git repositories.
pub struct Git;

/// What the query found.
#[derive(Debug, Default, PartialEq, Eq)]
struct Snapshot {
    git_missing: bool,
    /// The checkout exists.
    exists: bool,
    /// Its HEAD commit.
    head: Option<String>,
    /// The remote's configured URL.
    url: Option<String>,
    /// The branch checked out (none when detached).
    branch: Option<String>,
    /// Tracked files with local changes.
    modified: Vec<String>,
    /// The remote's refs: `(sha, name)`.
    refs: Vec<(String, String)>,
    /// Why `ls-remote` failed, if it did.
    remote_error: Option<String>,
}

fn parse_snapshot(output: &str) -> Snapshot {
    let mut s = Snapshot::default();
    let some = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    for line in output.lines() {
        match line.split_once(':') {
            Some(("G", _)) => s.git_missing = true,
            Some(("E", _)) => s.exists = true,
            Some(("H", v)) => s.head = some(v),
            Some(("U", v)) => s.url = some(v),
            Some(("B", v)) => s.branch = some(v),
            Some(("M", v)) => s.modified.push(v.to_string()),
            Some(("X", v)) => s.remote_error = some(v).or(Some("git ls-remote failed".into())),
            Some(("R", v)) => {
                if let Some((sha, name)) = v.split_once('\t') {
                    s.refs.push((sha.to_string(), name.to_string()));
                }
            }
            _ => {}
        }
    }
    s
}

/// What `version` is on the remote.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// The remote's default branch (`HEAD`), at this commit.
    Head(String),
    /// A branch, at this commit.
    Branch(String),
    /// A tag, at this commit (peeled).
    Tag(String),
    /// A commit id (possibly abbreviated), not a ref name.
    Commit,
}

impl Target {
    /// The commit the remote has for it, when known.
    fn sha(&self) -> Option<&str> {
        match self {
            Target::Head(sha) | Target::Branch(sha) | Target::Tag(sha) => Some(sha),
            Target::Commit => None,
        }
    }
}

/// Resolves `version` against the remote's refs.
fn resolve(version: &str, refs: &[(String, String)]) -> Option<Target> {
    let find = |name: &str| refs.iter().find(|(_, n)| n == name).map(|(s, _)| s.clone());
    if version == "HEAD" {
        return find("HEAD").map(Target::Head);
    }
    if let Some(sha) = find(&format!("refs/heads/{version}")) {
        return Some(Target::Branch(sha));
    }
    let tag = format!("refs/tags/{version}");
    if let Some(sha) = find(&format!("{tag}^{{}}")).or_else(|| find(&tag)) {
        return Some(Target::Tag(sha));
    }
    (version.len() >= 4 && version.chars().all(|c| c.is_ascii_hexdigit())).then_some(Target::Commit)
}

#[async_trait]
impl Module for Git {
    fn name(&self) -> &'static str {
        "git"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("repo", Kind::Str).required().aliases(&["name"]),
            Param::new("dest", Kind::Str).required(),
            Param::new("version", Kind::Str),
            Param::new("remote", Kind::Str),
            Param::new("refspec", Kind::Str),
            Param::new("force", Kind::Bool),
            Param::new("depth", Kind::Int),
            Param::new("clone", Kind::Bool),
            Param::new("update", Kind::Bool),
            Param::new("bare", Kind::Bool),
            Param::new("umask", Kind::Str),
            Param::new("recursive", Kind::Bool),
            Param::new("single_branch", Kind::Bool),
            Param::new("track_submodules", Kind::Bool),
            Param::new("reference", Kind::Str),
            Param::new("accept_hostkey", Kind::Bool),
            Param::new("accept_newhostkey", Kind::Bool),
            Param::new("ssh_opts", Kind::Str),
            Param::new("key_file", Kind::Str),
            Param::new("executable", Kind::Str),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let run = Run { ctx, args };
        run.run().await
    }
}

/// One run of the module on one host.
struct Run<'a> {
    ctx: &'a ModuleContext<'a>,
    args: &'a Args,
}

impl Run<'_> {
    fn git(&self) -> String {
        quote(self.args.str("executable").unwrap_or("git"))
    }

    fn remote(&self) -> &str {
        self.args.str("remote").unwrap_or("origin")
    }

    /// Runs `script` with git's environment (no prompts; the SSH options asked for).
    async fn exec(&self, script: String) -> Result<CommandOutput, ModuleError> {
        let mut command = Command::new(match self.args.str("umask") {
            Some(umask) => format!("umask {} && {script}", quote(umask)),
            None => script,
        });
        command.env = self.ctx.env.clone();
        command.env.push(("GIT_TERMINAL_PROMPT".into(), "0".into()));
        command.env.push(("LC_ALL".into(), "C".into()));
        let mut ssh = vec!["ssh".to_string()];
        if self.args.bool_or("accept_hostkey", false) {
            ssh.push("-o StrictHostKeyChecking=no".into());
        } else if self.args.bool_or("accept_newhostkey", false) {
            ssh.push("-o StrictHostKeyChecking=accept-new".into());
        }
        if let Some(key) = self.args.str("key_file") {
            ssh.push(format!("-i {} -o IdentitiesOnly=yes", quote(key)));
        }
        if let Some(opts) = self.args.str("ssh_opts") {
            ssh.push(opts.to_string());
        }
        if ssh.len() > 1 {
            command.env.push(("GIT_SSH_COMMAND".into(), ssh.join(" ")));
        }
        Ok(self.ctx.conn.exec(&command).await?)
    }

    /// Runs `script`; its failure becomes a failed result naming `what`.
    async fn step(&self, what: &str, script: String) -> Result<Result<(), Outcome>, ModuleError> {
        let out = self.exec(script).await?;
        if out.rc == 0 {
            return Ok(Ok(()));
        }
        let mut failed = super::failed(format!("Failed to {what}: {}", out.stderr_text().trim()));
        failed.insert("rc".into(), json!(out.rc));
        failed.insert("stdout".into(), json!(out.stdout_text()));
        failed.insert("stderr".into(), json!(out.stderr_text()));
        Ok(Err(failed))
    }

    async fn run(&self) -> Result<Outcome, ModuleError> {
        let args = self.args;
        let repo = args.str("repo").unwrap_or_default();
        let dest = args.str("dest").unwrap_or_default();
        let version = args.str("version").unwrap_or("HEAD");
        let bare = args.bool_or("bare", false);
        let force = args.bool_or("force", false);
        let git = self.git();
        let d = quote(dest);
        let remote = quote(self.remote());
        let marker = if bare { "HEAD" } else { ".git" };
        let pattern = if version == "HEAD" {
            "HEAD".to_string()
        } else {
            format!("HEAD {}", quote(version))
        };
        let script = format!(
            "command -v {git} >/dev/null 2>&1 || {{ echo G:; exit 0; }}; \
             if [ -e {d}/{marker} ]; then echo E:; \
             ( cd {d} && echo \"H:$({git} rev-parse HEAD 2>/dev/null)\"; \
               echo \"U:$({git} config --get remote.{remote}.url)\"; \
               echo \"B:$({git} symbolic-ref -q --short HEAD)\"; \
               {status} ); fi; \
             bosun_refs=$({git} ls-remote {r} {pattern} 2>&1) && printf '%s\\n' \"$bosun_refs\" | sed 's/^/R:/' \
             || printf 'X:%s\\n' \"$(printf '%s' \"$bosun_refs\" | tail -n 1)\"",
            r = quote(repo),
            status = if bare {
                "true".to_string()
            } else {
                format!("{git} status --porcelain --untracked-files=no | sed 's/^/M:/'")
            },
        );
        let snapshot = parse_snapshot(&self.exec(script).await?.stdout_text());
        if snapshot.git_missing {
            return Ok(super::failed(format!(
                "Failed to find required executable \"{}\" in paths",
                args.str("executable").unwrap_or("git")
            )));
        }
        let mut outcome = super::ok(false);
        outcome.insert("before".into(), json!(snapshot.head));
        outcome.insert("remote_url_changed".into(), json!(false));
        if let Some(error) = &snapshot.remote_error {
            let mut failed = super::failed(format!("Failed to read the remote {repo}: {error}"));
            failed.insert("before".into(), json!(snapshot.head));
            return Ok(failed);
        }
        let Some(target) = resolve(version, &snapshot.refs) else {
            return Ok(super::failed(format!(
                "Cannot find version {version} in {repo}"
            )));
        };
        let wanted = target.sha().map(str::to_string);
        let at_target = |head: &Option<String>| match (&target, head) {
            (Target::Commit, Some(h)) => h.starts_with(&version.to_ascii_lowercase()),
            (_, Some(h)) => Some(h) == wanted.as_ref(),
            _ => false,
        };

        if !snapshot.exists {
            if !args.bool_or("clone", true) {
                outcome.insert("after".into(), json!(wanted));
                return Ok(outcome);
            }
            outcome.insert("changed".into(), json!(true));
            if self.ctx.check_mode {
                outcome.insert("after".into(), json!(wanted.as_deref().unwrap_or(version)));
                return Ok(outcome);
            }
            if let Err(failed) = self.clone(repo, dest, version, &target).await? {
                return Ok(failed);
            }
        } else {
            if let Some(url) = snapshot.url.as_deref().filter(|u| *u != repo) {
                outcome.insert("remote_url_changed".into(), json!(true));
                outcome.insert("changed".into(), json!(true));
                outcome.insert("remote_url_before".into(), json!(url));
                if !self.ctx.check_mode
                    && let Err(failed) = self
                        .step(
                            "set the remote URL",
                            format!("cd {d} && {git} remote set-url {remote} {}", quote(repo)),
                        )
                        .await?
                {
                    return Ok(failed);
                }
            }
            let update = args.bool_or("update", true);
            if !snapshot.modified.is_empty() && update {
                if !force {
                    let mut failed = super::failed(format!(
                        "Local modifications exist in the destination: {dest} (force=no)."
                    ));
                    failed.insert("before".into(), json!(snapshot.head));
                    return Ok(failed);
                }
                outcome.insert("changed".into(), json!(true));
            }
            if !update {
                outcome.insert("after".into(), json!(snapshot.head));
                return Ok(outcome);
            }
            if at_target(&snapshot.head) && snapshot.modified.is_empty() {
                outcome.insert("after".into(), json!(snapshot.head));
                return Ok(outcome);
            }
            if self.ctx.check_mode {
                outcome.insert("changed".into(), json!(true));
                outcome.insert("after".into(), json!(wanted.as_deref().unwrap_or(version)));
                return Ok(outcome);
            }
            if let Err(failed) = self.update(dest, version, &target, &snapshot).await? {
                return Ok(failed);
            }
        }
        let after = self
            .exec(format!("cd {d} && {git} rev-parse HEAD"))
            .await?
            .stdout_text()
            .trim()
            .to_string();
        if Some(&after) != snapshot.head.as_ref() {
            outcome.insert("changed".into(), json!(true));
        }
        outcome.insert("after".into(), json!(after));
        Ok(outcome)
    }

    /// Clones `repo` into `dest` and checks out `version`.
    async fn clone(
        &self,
        repo: &str,
        dest: &str,
        version: &str,
        target: &Target,
    ) -> Result<Result<(), Outcome>, ModuleError> {
        let args = self.args;
        let git = self.git();
        let mut cmd = format!("{git} clone");
        if args.bool_or("bare", false) {
            cmd.push_str(" --bare");
        }
        if self.remote() != "origin" {
            cmd.push_str(&format!(" --origin {}", quote(self.remote())));
        }
        let depth = args.int("depth");
        let single = args.bool_or("single_branch", false);
        if let Some(depth) = depth {
            cmd.push_str(&format!(" --depth {depth}"));
            if !single {
                cmd.push_str(" --no-single-branch");
            }
        }
        if single {
            cmd.push_str(" --single-branch");
        }
        let named = matches!(target, Target::Branch(_) | Target::Tag(_));
        if named && (depth.is_some() || single) {
            cmd.push_str(&format!(" --branch {}", quote(version)));
        }
        if let Some(reference) = args.str("reference") {
            cmd.push_str(&format!(" --reference {}", quote(reference)));
        }
        cmd.push_str(&format!(" -- {} {}", quote(repo), quote(dest)));
        if let Err(failed) = self.step("clone", cmd).await? {
            return Ok(Err(failed));
        }
        if args.bool_or("bare", false) || matches!(target, Target::Head(_)) {
            return self.submodules(dest).await;
        }
        let d = quote(dest);
        let v = quote(version);
        if *target == Target::Commit
            && let Some(depth) = depth
        {
            let fetch = format!(
                "cd {d} && {git} fetch --depth {depth} {} {v}",
                quote(self.remote())
            );
            if let Err(failed) = self.step("fetch", fetch).await? {
                return Ok(Err(failed));
            }
        }
        let checkout = format!("cd {d} && {git} checkout --force {v}");
        if let Err(failed) = self.step(&format!("checkout {version}"), checkout).await? {
            return Ok(Err(failed));
        }
        self.submodules(dest).await
    }

    /// Fetches and moves an existing checkout to `version`.
    async fn update(
        &self,
        dest: &str,
        version: &str,
        target: &Target,
        snapshot: &Snapshot,
    ) -> Result<Result<(), Outcome>, ModuleError> {
        let git = self.git();
        let d = quote(dest);
        let remote_name = self.remote();
        let remote = quote(remote_name);
        let depth = self
            .args
            .int("depth")
            .map(|n| format!(" --depth {n}"))
            .unwrap_or_default();
        let bare = self.args.bool_or("bare", false);
        let heads = if bare {
            "'+refs/heads/*:refs/heads/*'".to_string()
        } else {
            quote(&format!("+refs/heads/*:refs/remotes/{remote_name}/*"))
        };
        let mut fetch = format!("cd {d} && {git} fetch --tags --force{depth} {remote} {heads}");
        if let Some(refspec) = self.args.str("refspec") {
            fetch.push(' ');
            fetch.push_str(&quote(refspec));
        }
        if *target == Target::Commit && !depth.is_empty() {
            fetch.push_str(&format!(" {}", quote(version)));
        }
        if let Err(failed) = self.step("fetch", fetch).await? {
            return Ok(Err(failed));
        }
        if bare {
            return Ok(Ok(()));
        }
        let branch = match target {
            Target::Branch(_) => Some(version.to_string()),
            Target::Head(_) => snapshot.branch.clone(),
            _ => None,
        };
        let switch = match (branch, target) {
            (Some(branch), _) => {
                let b = quote(&branch);
                let tracking = quote(&format!("{remote_name}/{branch}"));
                format!(
                    "cd {d} && if {git} show-ref --verify --quiet refs/heads/{b}; then \
                     {git} checkout --force {b} && {git} reset --hard {tracking}; \
                     else {git} checkout --force --track -b {b} {tracking}; fi"
                )
            }
            (None, Target::Head(sha)) => format!("cd {d} && {git} checkout --force {}", quote(sha)),
            (None, _) => format!("cd {d} && {git} checkout --force {}", quote(version)),
        };
        if let Err(failed) = self.step(&format!("checkout {version}"), switch).await? {
            return Ok(Err(failed));
        }
        self.submodules(dest).await
    }

    /// Updates submodules when the checkout has some and `recursive` (default) holds.
    async fn submodules(&self, dest: &str) -> Result<Result<(), Outcome>, ModuleError> {
        if !self.args.bool_or("recursive", true) || self.args.bool_or("bare", false) {
            return Ok(Ok(()));
        }
        let d = quote(dest);
        let git = self.git();
        let remote = if self.args.bool_or("track_submodules", false) {
            " --remote"
        } else {
            ""
        };
        self.step(
            "update submodules",
            format!(
                "cd {d} && {{ [ ! -f .gitmodules ] || {git} submodule update --init --recursive{remote}; }}"
            ),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFS: &str = "R:aaa\tHEAD\nR:aaa\trefs/heads/main\nR:bbb\trefs/heads/dev\n\
                        R:ccc\trefs/tags/v1\nR:ddd\trefs/tags/v1^{}\n";

    #[test]
    fn query_output_parses() {
        let s = parse_snapshot(&format!(
            "E:\nH:abc\nU:file:///srv/r\nB:main\nM: M app.py\n{REFS}"
        ));
        assert!(s.exists && !s.git_missing);
        assert_eq!(s.head.as_deref(), Some("abc"));
        assert_eq!(s.branch.as_deref(), Some("main"));
        assert_eq!(s.modified, vec![" M app.py"]);
        assert_eq!(s.refs.len(), 5);
        assert_eq!(parse_snapshot("B:\nH:\n").branch, None, "detached");
        assert_eq!(
            parse_snapshot("X:fatal: repository not found\n")
                .remote_error
                .as_deref(),
            Some("fatal: repository not found")
        );
    }

    #[test]
    fn versions_resolve_to_refs() {
        let refs = parse_snapshot(REFS).refs;
        assert_eq!(resolve("HEAD", &refs), Some(Target::Head("aaa".into())));
        assert_eq!(resolve("dev", &refs), Some(Target::Branch("bbb".into())));
        assert_eq!(
            resolve("v1", &refs),
            Some(Target::Tag("ddd".into())),
            "annotated tags peel to their commit"
        );
        assert_eq!(resolve("deadbeef", &refs), Some(Target::Commit));
        assert_eq!(resolve("nope", &refs), None);
    }
}
