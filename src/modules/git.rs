//! `git`: a checkout of a repository at a branch, tag or commit. One query (the
//! checkout's HEAD, remote URL, current branch and local modifications, and the remote's
//! matching refs from `git ls-remote`), then a clone, or a fetch and checkout, only when
//! the checkout is not already at the wanted commit.

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::typed::module_args;
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, CommandOutput, quote};

/// Checks out git repositories.
pub struct Git;

module_args! {
    /// `git`'s arguments.
    pub struct GitArgs {
        /// The repository's URL.
        repo: String => .required().aliases(&["name"]),
        /// The checkout's directory.
        dest: String => .required(),
        /// A branch, tag or commit.
        version: String => .default_str("HEAD"),
        remote: String => .default_str("origin"),
        /// One more refspec to fetch.
        refspec: Option<String>,
        /// Discard local modifications.
        force: bool => .default_bool(false),
        depth: Option<i64>,
        clone: bool => .default_bool(true),
        update: bool => .default_bool(true),
        bare: bool => .default_bool(false),
        umask: Option<String>,
        recursive: bool => .default_bool(true),
        single_branch: bool => .default_bool(false),
        track_submodules: bool => .default_bool(false),
        reference: Option<String>,
        accept_hostkey: bool => .default_bool(false),
        accept_newhostkey: bool => .default_bool(false),
        ssh_opts: Option<String>,
        key_file: Option<String>,
        /// The git program.
        executable: Option<String>,
    }
}

/// What must change.
#[derive(Debug, PartialEq, Eq)]
pub struct Changes {
    /// Point the remote at `repo`.
    set_url: bool,
    /// Clone, or fetch and check out.
    move_to: Option<Move>,
}

/// How the checkout reaches the wanted version.
#[derive(Debug, PartialEq, Eq)]
pub enum Move {
    /// A new clone.
    Clone(Wanted),
    /// A fetch and checkout; the branch checked out (for `HEAD`) comes along.
    Update(Wanted, Option<String>),
}

/// What the query found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
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
pub enum Wanted {
    /// The remote's default branch (`HEAD`), at this commit.
    Head(String),
    /// A branch, at this commit.
    Branch(String),
    /// A tag, at this commit (peeled).
    Tag(String),
    /// A commit id (possibly abbreviated), not a ref name.
    Commit,
}

impl Wanted {
    /// The commit the remote has for it, when known.
    fn sha(&self) -> Option<&str> {
        match self {
            Wanted::Head(sha) | Wanted::Branch(sha) | Wanted::Tag(sha) => Some(sha),
            Wanted::Commit => None,
        }
    }
}

/// Resolves `version` against the remote's refs.
fn resolve(version: &str, refs: &[(String, String)]) -> Option<Wanted> {
    let find = |name: &str| refs.iter().find(|(_, n)| n == name).map(|(s, _)| s.clone());
    if version == "HEAD" {
        return find("HEAD").map(Wanted::Head);
    }
    if let Some(sha) = find(&format!("refs/heads/{version}")) {
        return Some(Wanted::Branch(sha));
    }
    let tag = format!("refs/tags/{version}");
    if let Some(sha) = find(&format!("{tag}^{{}}")).or_else(|| find(&tag)) {
        return Some(Wanted::Tag(sha));
    }
    (version.len() >= 4 && version.chars().all(|c| c.is_ascii_hexdigit())).then_some(Wanted::Commit)
}

#[async_trait]
impl StateModule for Git {
    const NAME: &'static str = "git";
    type Args = GitArgs;
    type State = Snapshot;
    type Plan = Changes;

    async fn query(&self, on: &Target<'_>, args: &GitArgs) -> Result<Snapshot, ModuleError> {
        let run = Run { on, args };
        let git = run.git();
        let d = quote(&args.dest);
        let remote = quote(&args.remote);
        let marker = if args.bare { "HEAD" } else { ".git" };
        // An annotated tag's commit shows only when its peeled name is asked for.
        let pattern = if args.version == "HEAD" {
            "HEAD".to_string()
        } else {
            let peeled = format!("{}^{{}}", args.version);
            format!("HEAD {} {}", quote(&args.version), quote(&peeled))
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
            r = quote(&args.repo),
            status = if args.bare {
                "true".to_string()
            } else {
                format!("{git} status --porcelain --untracked-files=no | sed 's/^/M:/'")
            },
        );
        let snapshot = parse_snapshot(&run.exec(script).await?.stdout_text());
        if snapshot.git_missing {
            return Err(ModuleError::Failed(format!(
                "Failed to find required executable \"{}\" in paths",
                args.executable.as_deref().unwrap_or("git")
            )));
        }
        let failed_before = |msg: String| {
            let mut failed = super::failed(msg);
            failed.insert("before".into(), json!(snapshot.head));
            ModuleError::FailedWith(failed)
        };
        if let Some(error) = &snapshot.remote_error {
            let msg = format!("Failed to read the remote {}: {error}", args.repo);
            return Err(failed_before(msg));
        }
        if snapshot.exists && !snapshot.modified.is_empty() && args.update && !args.force {
            return Err(failed_before(format!(
                "Local modifications exist in the destination: {} (force=no).",
                args.dest
            )));
        }
        Ok(snapshot)
    }

    fn decide(&self, args: &GitArgs, snapshot: Snapshot) -> Result<Decision<Changes>, String> {
        let version = args.version.as_str();
        let Some(target) = resolve(version, &snapshot.refs) else {
            return Err(format!("Cannot find version {version} in {}", args.repo));
        };
        let wanted = target.sha().map(str::to_string);
        let at_target = match (&target, &snapshot.head) {
            (Wanted::Commit, Some(h)) => h.starts_with(&version.to_ascii_lowercase()),
            (_, Some(h)) => Some(h) == wanted.as_ref(),
            _ => false,
        };
        let decision = Decision::unchanged().with("before", snapshot.head.clone());
        let planned_after = json!(wanted.as_deref().unwrap_or(version));
        if !snapshot.exists {
            if !args.clone {
                return Ok(decision
                    .with("remote_url_changed", false)
                    .with("after", wanted));
            }
            let changes = Changes {
                set_url: false,
                move_to: Some(Move::Clone(target)),
            };
            return Ok(Decision {
                plan: Some(changes),
                ..decision
                    .with("remote_url_changed", false)
                    .with("after", planned_after)
            });
        }
        let old_url = snapshot.url.clone().filter(|u| *u != args.repo);
        let mut decision = decision.with("remote_url_changed", old_url.is_some());
        if let Some(url) = &old_url {
            decision = decision.with("remote_url_before", url.clone());
        }
        let move_to = (args.update && !(at_target && snapshot.modified.is_empty()))
            .then(|| Move::Update(target, snapshot.branch.clone()));
        let after = match &move_to {
            Some(_) => planned_after,
            None => json!(snapshot.head),
        };
        let changes = Changes {
            set_url: old_url.is_some(),
            move_to,
        };
        let changed = changes.set_url || changes.move_to.is_some();
        Ok(Decision {
            plan: changed.then_some(changes),
            ..decision.with("after", after)
        })
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &GitArgs,
        changes: Changes,
    ) -> Result<Outcome, ModuleError> {
        let run = Run { on, args };
        let git = run.git();
        let d = quote(&args.dest);
        if changes.set_url {
            let remote = quote(&args.remote);
            let set = format!(
                "cd {d} && {git} remote set-url {remote} {}",
                quote(&args.repo)
            );
            run.step("set the remote URL", set).await?;
        }
        match &changes.move_to {
            None => return Ok(Outcome::new()),
            Some(Move::Clone(target)) => run.clone(target).await?,
            Some(Move::Update(target, branch)) => run.update(target, branch.clone()).await?,
        }
        let after = run.exec(format!("cd {d} && {git} rev-parse HEAD")).await?;
        let mut outcome = Outcome::new();
        outcome.insert("after".into(), json!(after.stdout_text().trim()));
        Ok(outcome)
    }
}

/// The module's commands on one host.
struct Run<'a, 'b> {
    on: &'a Target<'b>,
    args: &'a GitArgs,
}

impl Run<'_, '_> {
    fn git(&self) -> String {
        quote(self.args.executable.as_deref().unwrap_or("git"))
    }

    /// Runs `script` with git's environment (no prompts; the SSH options asked for).
    async fn exec(&self, script: String) -> Result<CommandOutput, ModuleError> {
        let mut command = Command::new(match &self.args.umask {
            Some(umask) => format!("umask {} && {script}", quote(umask)),
            None => script,
        });
        command.env.push(("GIT_TERMINAL_PROMPT".into(), "0".into()));
        command.env.push(("LC_ALL".into(), "C".into()));
        let mut ssh = vec!["ssh".to_string()];
        if self.args.accept_hostkey {
            ssh.push("-o StrictHostKeyChecking=no".into());
        } else if self.args.accept_newhostkey {
            ssh.push("-o StrictHostKeyChecking=accept-new".into());
        }
        if let Some(key) = &self.args.key_file {
            ssh.push(format!("-i {} -o IdentitiesOnly=yes", quote(key)));
        }
        if let Some(opts) = &self.args.ssh_opts {
            ssh.push(opts.to_string());
        }
        if ssh.len() > 1 {
            command.env.push(("GIT_SSH_COMMAND".into(), ssh.join(" ")));
        }
        Ok(self.on.conn.exec(&command).await?)
    }

    /// Runs `script`; its failure is a failed result naming `what`.
    async fn step(&self, what: &str, script: String) -> Result<(), ModuleError> {
        let out = self.exec(script).await?;
        if out.rc == 0 {
            return Ok(());
        }
        let mut failed = super::failed(format!("Failed to {what}: {}", out.stderr_text().trim()));
        failed.insert("rc".into(), json!(out.rc));
        failed.insert("stdout".into(), json!(out.stdout_text()));
        failed.insert("stderr".into(), json!(out.stderr_text()));
        Err(ModuleError::FailedWith(failed))
    }

    /// Clones `repo` into `dest` and checks out `version`.
    async fn clone(&self, target: &Wanted) -> Result<(), ModuleError> {
        let args = self.args;
        let version = &args.version;
        let git = self.git();
        let mut cmd = format!("{git} clone");
        if args.bare {
            cmd.push_str(" --bare");
        }
        if args.remote != "origin" {
            cmd.push_str(&format!(" --origin {}", quote(&args.remote)));
        }
        let single = args.single_branch;
        if let Some(depth) = args.depth {
            cmd.push_str(&format!(" --depth {depth}"));
            if !single {
                cmd.push_str(" --no-single-branch");
            }
        }
        if single {
            cmd.push_str(" --single-branch");
        }
        let named = matches!(target, Wanted::Branch(_) | Wanted::Tag(_));
        if named && (args.depth.is_some() || single) {
            cmd.push_str(&format!(" --branch {}", quote(version)));
        }
        if let Some(reference) = &args.reference {
            cmd.push_str(&format!(" --reference {}", quote(reference)));
        }
        cmd.push_str(&format!(" -- {} {}", quote(&args.repo), quote(&args.dest)));
        self.step("clone", cmd).await?;
        if args.bare || matches!(target, Wanted::Head(_)) {
            return self.submodules().await;
        }
        let d = quote(&args.dest);
        let v = quote(version);
        if *target == Wanted::Commit
            && let Some(depth) = args.depth
        {
            let fetch = format!(
                "cd {d} && {git} fetch --depth {depth} {} {v}",
                quote(&args.remote)
            );
            self.step("fetch", fetch).await?;
        }
        let checkout = format!("cd {d} && {git} checkout --force {v}");
        self.step(&format!("checkout {version}"), checkout).await?;
        self.submodules().await
    }

    /// Fetches and moves an existing checkout to `version`; `current` is the branch
    /// checked out.
    async fn update(&self, target: &Wanted, current: Option<String>) -> Result<(), ModuleError> {
        let args = self.args;
        let version = &args.version;
        let git = self.git();
        let d = quote(&args.dest);
        let remote_name = &args.remote;
        let remote = quote(remote_name);
        let depth = args
            .depth
            .map(|n| format!(" --depth {n}"))
            .unwrap_or_default();
        let heads = if args.bare {
            "'+refs/heads/*:refs/heads/*'".to_string()
        } else {
            quote(&format!("+refs/heads/*:refs/remotes/{remote_name}/*"))
        };
        let mut fetch = format!("cd {d} && {git} fetch --tags --force{depth} {remote} {heads}");
        if let Some(refspec) = &args.refspec {
            fetch.push(' ');
            fetch.push_str(&quote(refspec));
        }
        if *target == Wanted::Commit && !depth.is_empty() {
            fetch.push_str(&format!(" {}", quote(version)));
        }
        self.step("fetch", fetch).await?;
        if args.bare {
            return Ok(());
        }
        let branch = match target {
            Wanted::Branch(_) => Some(version.to_string()),
            Wanted::Head(_) => current,
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
            (None, Wanted::Head(sha)) => format!("cd {d} && {git} checkout --force {}", quote(sha)),
            (None, _) => format!("cd {d} && {git} checkout --force {}", quote(version)),
        };
        self.step(&format!("checkout {version}"), switch).await?;
        self.submodules().await
    }

    /// Updates submodules when the checkout has some and `recursive` (default) holds.
    async fn submodules(&self) -> Result<(), ModuleError> {
        if !self.args.recursive || self.args.bare {
            return Ok(());
        }
        let d = quote(&self.args.dest);
        let git = self.git();
        let remote = if self.args.track_submodules {
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
        assert_eq!(resolve("HEAD", &refs), Some(Wanted::Head("aaa".into())));
        assert_eq!(resolve("dev", &refs), Some(Wanted::Branch("bbb".into())));
        assert_eq!(
            resolve("v1", &refs),
            Some(Wanted::Tag("ddd".into())),
            "annotated tags peel to their commit"
        );
        assert_eq!(resolve("deadbeef", &refs), Some(Wanted::Commit));
        assert_eq!(resolve("nope", &refs), None);
    }

    fn decide(args: serde_json::Value, found: &str) -> Result<Decision<Changes>, String> {
        let args = crate::modules::typed::from_json(args).expect("valid arguments");
        Git.decide(&args, parse_snapshot(found))
    }

    #[test]
    fn a_checkout_at_the_wanted_commit_changes_nothing() {
        let args = serde_json::json!({"repo": "file:///srv/r", "dest": "/w", "version": "main"});
        let found = format!("E:\nH:aaa\nU:file:///srv/r\nB:main\n{REFS}");
        let decision = decide(args.clone(), &found).expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["after"], "aaa");
        let moved = format!("E:\nH:aaa\nU:file:///old\nB:main\n{REFS}");
        let args = serde_json::json!({"repo": "file:///srv/r", "dest": "/w", "version": "dev"});
        let decision = decide(args, &moved).expect("a decision");
        assert_eq!(decision.result["remote_url_before"], "file:///old");
        assert_eq!(decision.result["after"], "bbb");
        let changes = decision.plan.expect("changes");
        assert!(changes.set_url);
        assert_eq!(
            changes.move_to,
            Some(Move::Update(
                Wanted::Branch("bbb".into()),
                Some("main".into())
            ))
        );
    }

    #[test]
    fn a_missing_checkout_is_cloned_unless_clone_is_off() {
        let args = serde_json::json!({"repo": "file:///srv/r", "dest": "/w"});
        let changes = decide(args, REFS)
            .expect("a decision")
            .plan
            .expect("a clone");
        assert_eq!(
            changes.move_to,
            Some(Move::Clone(Wanted::Head("aaa".into())))
        );
        let args = serde_json::json!({"repo": "file:///srv/r", "dest": "/w", "clone": false});
        assert!(decide(args, REFS).expect("a decision").plan.is_none());
        let args = serde_json::json!({"repo": "file:///srv/r", "dest": "/w", "version": "nope"});
        assert_eq!(
            decide(args, REFS).err().as_deref(),
            Some("Cannot find version nope in file:///srv/r")
        );
    }
}
