//! `apt`: Debian packages, as Ansible's module manages them, without Python on the
//! target. One query round trip (the lists' age, an `apt-get update` when asked and
//! due, one `dpkg-query` and one `apt-cache policy` for every named package), the
//! decision made here, and one `apt-get` call for everything that must change.

mod cmd;
mod plan;
mod query;
mod request;
mod spec;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, CommandOutput};
use cmd::{APT_ENV, MARK_FAILED};
use plan::InstallMode;
use query::{Providers, Query, Snapshot};
use request::Request;
use spec::PackageSpec;

/// The parameters of `apt` (and of `package` on apt systems).
pub const APT_PARAMS: &[Param] = &[
    Param::new("name", Kind::List).aliases(&["package", "pkg"]),
    Param::new("state", Kind::Str).choices(&["absent", "build-dep", "latest", "present", "fixed"]),
    Param::new("update_cache", Kind::Bool).aliases(&["update-cache"]),
    Param::new("update_cache_retries", Kind::Int),
    Param::new("update_cache_retry_max_delay", Kind::Int),
    Param::new("cache_valid_time", Kind::Int),
    Param::new("purge", Kind::Bool),
    Param::new("deb", Kind::Str),
    Param::new("default_release", Kind::Str).aliases(&["default-release"]),
    Param::new("install_recommends", Kind::Bool).aliases(&["install-recommends"]),
    Param::new("force", Kind::Bool),
    Param::new("clean", Kind::Bool),
    Param::new("upgrade", Kind::Str).choices(&["dist", "full", "no", "safe", "yes"]),
    Param::new("dpkg_options", Kind::Str),
    Param::new("autoremove", Kind::Bool),
    Param::new("autoclean", Kind::Bool),
    Param::new("fail_on_autoremove", Kind::Bool),
    Param::new("policy_rc_d", Kind::Int),
    Param::new("only_upgrade", Kind::Bool),
    Param::new("force_apt_get", Kind::Bool),
    Param::new("allow_unauthenticated", Kind::Bool).aliases(&["allow-unauthenticated"]),
    Param::new("allow_downgrade", Kind::Bool).aliases(&[
        "allow-downgrade",
        "allow_downgrades",
        "allow-downgrades",
    ]),
    Param::new("allow_change_held_packages", Kind::Bool),
    Param::new("lock_timeout", Kind::Int),
];

/// `apt`: installs, upgrades and removes Debian packages; updates the package lists.
pub struct Apt;

#[async_trait]
impl Module for Apt {
    fn name(&self) -> &'static str {
        "apt"
    }

    fn params(&self) -> &'static [Param] {
        APT_PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        run_apt(ctx, args).await
    }
}

/// Runs `apt` with `args` (parsed against [`APT_PARAMS`]).
pub async fn run_apt(ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
    let request = Request::from_args(args).map_err(ModuleError::Failed)?;
    AptRun { ctx, request }.execute().await
}

/// The cache fields every install result carries.
struct CacheState {
    updated: bool,
    time: i64,
}

impl CacheState {
    fn of(snapshot: &Snapshot) -> CacheState {
        CacheState {
            updated: snapshot.update.is_some() && snapshot.stamp_after() != snapshot.stamp,
            time: snapshot.stamp_after(),
        }
    }

    fn add_to(&self, outcome: &mut Outcome) {
        outcome.insert("cache_updated".into(), json!(self.updated));
        outcome.insert("cache_update_time".into(), json!(self.time));
    }
}

/// One run of `apt` on one host.
struct AptRun<'a, 'b> {
    ctx: &'a ModuleContext<'b>,
    request: Request,
}

impl AptRun<'_, '_> {
    async fn execute(&self) -> Result<Outcome, ModuleError> {
        let r = &self.request;
        let mut clean_output = None;
        if r.clean && !self.ctx.check_mode {
            let out = self
                .apt(&["apt-get".to_string(), "clean".to_string()], &[])
                .await?;
            if out.rc != 0 || !out.stderr.is_empty() {
                return Ok(failure(
                    format!("apt-get clean failed: {}", out.stderr_text().trim()),
                    &out,
                ));
            }
            clean_output = Some(out);
        }
        if r.clean && !r.named && r.upgrade.is_none() && r.debs.is_empty() {
            let mut outcome = super::ok(true);
            if let Some(out) = &clean_output {
                outcome.insert("msg".into(), json!(out.stdout_text()));
                add_output(&mut outcome, out);
            }
            return Ok(outcome);
        }

        let installing = matches!(r.state.as_str(), "present" | "latest" | "fixed");
        let mut specs = r.specs.clone();
        let patterns = specs.iter().any(PackageSpec::is_pattern);
        let names = |specs: &[PackageSpec]| -> Vec<String> {
            specs.iter().map(|s| s.name.clone()).collect()
        };
        let first_names = if patterns { Vec::new() } else { names(&specs) };
        let looked_up = if r.state == "build-dep" {
            Vec::new()
        } else {
            first_names.clone()
        };
        let mut snapshot = self
            .query(&Query {
                update_older_than: r.update,
                lock_timeout: r.options.lock_timeout,
                installed: &looked_up,
                available: if installing { &looked_up } else { &[] },
                default_release: r.options.default_release.as_deref(),
                all_names: patterns,
                debs: &r.debs,
            })
            .await?;
        let cache = CacheState::of(&snapshot);
        if r.update.is_some() && !r.named && r.upgrade.is_none() && r.debs.is_empty() {
            let mut outcome = super::ok(cache.updated);
            cache.add_to(&mut outcome);
            return Ok(outcome);
        }
        if let Some(mode) = &r.upgrade {
            return self.upgrade(mode).await;
        }
        if !r.debs.is_empty() {
            return self.install_debs(&snapshot).await;
        }
        if r.state == "latest" && r.all_installed {
            if !specs.is_empty() {
                return Err(ModuleError::Failed(
                    "unable to install additional packages when upgrading all installed packages"
                        .into(),
                ));
            }
            return self.upgrade("yes").await;
        }
        if patterns {
            specs = plan::expand(specs, &snapshot.names).map_err(ModuleError::Failed)?;
            let expanded = names(&specs);
            let looked_up = if r.state == "build-dep" {
                Vec::new()
            } else {
                expanded
            };
            let names = std::mem::take(&mut snapshot.names);
            snapshot = self
                .query(&Query {
                    lock_timeout: r.options.lock_timeout,
                    installed: &looked_up,
                    available: if installing { &looked_up } else { &[] },
                    default_release: r.options.default_release.as_deref(),
                    ..Query::default()
                })
                .await?;
            snapshot.names = names;
        }
        if specs.is_empty() {
            if r.autoclean {
                return self.cleanup("autoclean").await;
            }
            if r.autoremove {
                return self.cleanup("autoremove").await;
            }
        }
        match r.state.as_str() {
            "absent" => self.remove(&specs, &snapshot).await,
            "build-dep" => self.build_dep(&specs, cache).await,
            _ => self.install(&specs, &snapshot, cache).await,
        }
    }

    /// Runs the query, retrying a failed `apt-get update` as Ansible does: with
    /// exponential backoff up to `update_cache_retries` times, and for as long as
    /// `lock_timeout` allows when another apt holds the lock.
    async fn query(&self, query: &Query<'_>) -> Result<Snapshot, ModuleError> {
        let r = &self.request;
        let deadline = Instant::now() + Duration::from_secs(r.options.lock_timeout.max(0) as u64);
        let mut failures = 0;
        loop {
            let out = self.exec(query.script()).await?;
            let snapshot = Snapshot::parse(&out.stdout_text());
            let Some(update) = &snapshot.update else {
                return Ok(snapshot);
            };
            let Some(error) = update.error() else {
                return Ok(snapshot);
            };
            if update.locked() {
                if Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                let msg = cmd::lock_message(&update.output, r.options.lock_timeout).unwrap_or_else(
                    || format!("Failed to lock apt for exclusive operation: {error}"),
                );
                return Err(ModuleError::Failed(msg));
            }
            failures += 1;
            if failures >= r.retries.max(1) {
                return Err(ModuleError::Failed(format!(
                    "Failed to update apt cache: {error}"
                )));
            }
            tokio::time::sleep(backoff(failures, r.retry_max_delay)).await;
        }
    }

    /// The second query, for names the cache has no versions of.
    async fn providers(&self, names: &[String]) -> Result<Providers, ModuleError> {
        if names.is_empty() {
            return Ok(Providers::new());
        }
        let out = self.exec(query::providers_script(names)).await?;
        Ok(query::parse_providers(&out.stdout_text()))
    }

    async fn install(
        &self,
        specs: &[PackageSpec],
        snapshot: &Snapshot,
        cache: CacheState,
    ) -> Result<Outcome, ModuleError> {
        let r = &self.request;
        let providers = self.providers(&plan::unresolved(specs, snapshot)).await?;
        let mode = InstallMode {
            upgrade: r.state == "latest",
            only_upgrade: r.options.only_upgrade,
        };
        let plan =
            plan::plan_install(specs, snapshot, &providers, mode).map_err(ModuleError::Failed)?;
        if plan.args.is_empty() {
            if !plan.mark_manual.is_empty() && !self.ctx.check_mode {
                let words = ["apt-mark".to_string(), "manual".into(), "--".into()];
                let words: Vec<String> = words.into_iter().chain(plan.mark_manual).collect();
                let out = self.apt(&words, &[]).await?;
                if out.rc != 0 {
                    let msg = format!(
                        "'{}' failed: {}",
                        cmd::shell_line(&words),
                        out.stderr_text()
                    );
                    return Ok(failure(msg, &out));
                }
            }
            let mut outcome = super::ok(false);
            cache.add_to(&mut outcome);
            return Ok(outcome);
        }
        if self.ctx.check_mode {
            let mut outcome = super::ok(true);
            cache.add_to(&mut outcome);
            return Ok(outcome);
        }
        let words = r.options.install(&plan.args, r.state == "fixed", false);
        let out = self.apt(&words, &plan.names).await?;
        let mut outcome = self.finish(&words, &out, true)?;
        cache.add_to(&mut outcome);
        Ok(outcome)
    }

    async fn remove(
        &self,
        specs: &[PackageSpec],
        snapshot: &Snapshot,
    ) -> Result<Outcome, ModuleError> {
        let r = &self.request;
        let packages = plan::plan_remove(specs, snapshot, r.options.purge);
        if packages.is_empty() {
            return Ok(super::ok(false));
        }
        if self.ctx.check_mode {
            return Ok(super::ok(true));
        }
        let words = r.options.remove(&packages);
        let out = self.apt(&words, &[]).await?;
        if out.rc != 0 {
            let quoted: Vec<String> = packages.iter().map(|p| format!("'{p}'")).collect();
            let msg = format!(
                "'apt-get remove {}' failed: {}",
                quoted.join(" "),
                out.stderr_text()
            );
            return Ok(self.failed_apt(msg, &out));
        }
        self.finish(&words, &out, true)
    }

    async fn build_dep(
        &self,
        specs: &[PackageSpec],
        cache: CacheState,
    ) -> Result<Outcome, ModuleError> {
        let r = &self.request;
        if specs.is_empty() {
            let mut outcome = super::ok(false);
            cache.add_to(&mut outcome);
            return Ok(outcome);
        }
        let mut options = r.options.clone();
        options.simulate = self.ctx.check_mode;
        let packages: Vec<String> = specs.iter().map(PackageSpec::text).collect();
        let words = options.install(&packages, false, true);
        let out = self.apt(&words, &[]).await?;
        let changed = !cmd::nothing_done(&out.stdout_text());
        let mut outcome = self.finish(&words, &out, changed)?;
        cache.add_to(&mut outcome);
        Ok(outcome)
    }

    async fn install_debs(&self, snapshot: &Snapshot) -> Result<Outcome, ModuleError> {
        let r = &self.request;
        let paths = plan::plan_debs(snapshot).map_err(ModuleError::Failed)?;
        if paths.is_empty() {
            let mut outcome = super::ok(false);
            outcome.insert("stdout".into(), json!(""));
            outcome.insert("stderr".into(), json!(""));
            return Ok(outcome);
        }
        if self.ctx.check_mode {
            return Ok(super::ok(true));
        }
        // apt-get installs local files (a path with a `/`) and their dependencies.
        let files: Vec<String> = paths
            .iter()
            .map(|p| {
                if p.contains('/') {
                    p.clone()
                } else {
                    format!("./{p}")
                }
            })
            .collect();
        let words = r.options.install(&files, false, false);
        let out = self.apt(&words, &[]).await?;
        if out.rc != 0 {
            let msg = format!("{} failed", cmd::shell_line(&words));
            return Ok(self.failed_apt(msg, &out));
        }
        self.finish(&words, &out, true)
    }

    /// `upgrade`: runs (simulated in check mode) and reports whether apt did anything.
    async fn upgrade(&self, mode: &str) -> Result<Outcome, ModuleError> {
        let mut options = self.request.options.clone();
        options.simulate = self.ctx.check_mode;
        let words = options.upgrade(mode);
        let out = self.apt(&words, &[]).await?;
        let stdout = out.stdout_text();
        if out.rc != 0 {
            let sub = if matches!(mode, "full" | "dist") {
                "dist-upgrade"
            } else {
                "upgrade --with-new-pkgs"
            };
            let msg = format!("'apt-get {sub}' failed: {}", out.stderr_text());
            return Ok(self.failed_apt(msg, &out));
        }
        let changed = !cmd::nothing_done(&stdout);
        let mut outcome = self.finish(&words, &out, changed)?;
        outcome.insert("msg".into(), json!(stdout));
        Ok(outcome)
    }

    /// `autoremove` or `autoclean` alone: runs (simulated in check mode) and reports
    /// whether apt removed anything.
    async fn cleanup(&self, operation: &str) -> Result<Outcome, ModuleError> {
        let mut options = self.request.options.clone();
        options.simulate = self.ctx.check_mode;
        let words = options.cleanup(operation);
        let out = self.apt(&words, &[]).await?;
        if out.rc != 0 {
            let msg = format!("'apt-get {operation}' failed: {}", out.stderr_text());
            return Ok(self.failed_apt(msg, &out));
        }
        let stdout = out.stdout_text();
        let changed = if operation == "autoremove" {
            stdout.contains("The following packages will be REMOVED")
        } else {
            stdout.contains("Del ")
        };
        self.finish(&words, &out, changed)
    }

    /// The result of an apt command that ran: changed as given, its output, and the
    /// diff in diff mode; a failure in Ansible's words if it failed.
    fn finish(
        &self,
        words: &[String],
        out: &CommandOutput,
        changed: bool,
    ) -> Result<Outcome, ModuleError> {
        let stdout = out.stdout_text();
        if out.rc != 0 {
            let msg = format!("'{}' failed: {}", cmd::shell_line(words), out.stderr_text());
            return Ok(self.failed_apt(msg, out));
        }
        if let Some((_, marked)) = stdout.split_once(MARK_FAILED) {
            return Ok(failure(
                format!("'apt-mark manual' failed: {}", marked.trim()),
                out,
            ));
        }
        let mut outcome = super::ok(changed);
        add_output(&mut outcome, out);
        if self.ctx.diff_mode {
            outcome.insert("diff".into(), json!({ "prepared": cmd::prepared(&stdout) }));
        }
        Ok(outcome)
    }

    /// A failed apt command: the lock message when the lock was the reason.
    fn failed_apt(&self, msg: String, out: &CommandOutput) -> Outcome {
        let waited = self.request.options.lock_timeout;
        let both = format!("{}\n{}", out.stdout_text(), out.stderr_text());
        let msg = cmd::lock_message(&both, waited).unwrap_or(msg);
        failure(msg, out)
    }

    /// Runs an apt command line in the apply script, waiting out other apts' locks
    /// for up to `lock_timeout` seconds.
    async fn apt(&self, words: &[String], manual: &[String]) -> Result<CommandOutput, ModuleError> {
        let r = &self.request;
        let policy = if r.options.simulate || self.ctx.check_mode {
            None
        } else {
            r.policy_rc_d
        };
        let script = cmd::apply_script(words, policy, manual);
        let deadline = Instant::now() + Duration::from_secs(r.options.lock_timeout.max(0) as u64);
        loop {
            let out = self.exec(script.clone()).await?;
            let locked = out.rc != 0
                && cmd::is_locked(&format!("{}\n{}", out.stdout_text(), out.stderr_text()));
            if !locked || Instant::now() >= deadline {
                return Ok(out);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Runs `script` with apt's environment.
    async fn exec(&self, script: String) -> Result<CommandOutput, ModuleError> {
        let mut command = Command::new(script);
        command.env = self.ctx.env.clone();
        command
            .env
            .extend(APT_ENV.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Ok(self.ctx.conn.exec(&command).await?)
    }
}

/// Adds `stdout`, `stderr` and their `_lines`, as Ansible's action plugins do.
fn add_output(outcome: &mut Outcome, out: &CommandOutput) {
    let stdout = out.stdout_text();
    let stderr = out.stderr_text();
    outcome.insert("stdout_lines".into(), lines(&stdout));
    outcome.insert("stdout".into(), json!(stdout));
    outcome.insert("stderr_lines".into(), lines(&stderr));
    outcome.insert("stderr".into(), json!(stderr));
}

fn lines(text: &str) -> Json {
    Json::Array(text.lines().map(|l| json!(l)).collect())
}

/// A failed result with `msg`, the command's output and its exit status.
fn failure(msg: String, out: &CommandOutput) -> Outcome {
    let mut outcome = super::failed(msg);
    add_output(&mut outcome, out);
    outcome.insert("rc".into(), json!(out.rc));
    outcome
}

/// Ansible's backoff between update attempts: 2^n seconds plus up to one second of
/// jitter, at most `max_delay` (plus jitter).
fn backoff(attempt: i64, max_delay: i64) -> Duration {
    let jitter = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| f64::from(d.subsec_millis()) / 1000.0);
    let base = 2f64
        .powi(attempt.clamp(0, 30) as i32)
        .min(max_delay.max(0) as f64);
    Duration::from_secs_f64(base + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let secs = |n| backoff(n, 12).as_secs_f64();
        assert!((2.0..3.0).contains(&secs(1)));
        assert!((8.0..9.0).contains(&secs(3)));
        assert!((12.0..13.0).contains(&secs(5)));
    }
}
