//! `docker_login`: registry credentials in the docker CLI's configuration file, logged
//! in and out by the CLI itself (`docker login --password-stdin`, `docker logout`), so
//! the file is written exactly as the CLI writes it (or the credential helper it names
//! holds the secret) and the password never appears on a command line. Credentials
//! already stored for the user and password given are kept, as community.docker keeps
//! them, unless `reauthorize`.
//!
//! The CLI keys a registry by its host name (`http://reg:5000/` is `reg:5000`), where
//! the collection keys it by the URL as given; bosun reads either key.

use async_trait::async_trait;
use base64::Engine;
use serde_json::{Value as Json, json};

use super::reference::hostname;
use super::{REQUIRE_DOCKER, SEPARATOR, split_parts};
use crate::connection::{Command, quote};
use crate::modules::contract::{Decision, StateModule};
use crate::modules::typed::{Rules, arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Logs in to or out of a registry.
pub struct DockerLogin;

/// Docker Hub's address, the default registry.
const INDEX_URL: &str = "https://index.docker.io/v1/";

arg_enum! {
    /// Logged in or out.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

module_args! {
    /// `docker_login`'s arguments.
    pub struct LoginArgs {
        registry_url: String => .default_str(INDEX_URL).aliases(&["registry", "url"]),
        username: Option<String>,
        password: Option<String> => .no_log(),
        /// Whether to log in again although the credentials are stored.
        reauthorize: bool => .default_bool(false).aliases(&["reauth"]),
        /// The CLI's configuration file.
        config_path: String => .default_str("~/.docker/config.json").aliases(&["dockercfg_path"]),
        state: State => .default_str("present"),
    }
    rules: Rules {
        required_if: &[("state", "present", &["username", "password"])],
        ..Rules::NONE
    };
}

impl LoginArgs {
    /// The key the docker CLI stores the registry's credentials under.
    fn cli_key(&self) -> String {
        let url = self.registry_url.as_str();
        if url.is_empty() || url == INDEX_URL || url == "docker.io" {
            INDEX_URL.to_string()
        } else {
            hostname(url).to_string()
        }
    }

    /// The configuration file as a shell word, `~` being the target user's home.
    fn config_file(&self) -> String {
        let path = self.config_path.as_str();
        match path.strip_prefix('~') {
            Some("") => "\"$HOME\"".to_string(),
            Some(rest) if rest.starts_with('/') => format!("\"$HOME\"{}", quote(rest)),
            _ => quote(path),
        }
    }

    /// The script that runs `docker --config DIR words...` on the configuration file,
    /// through a private copy when its name is not `config.json` (the CLI takes a
    /// directory), copied back when the command succeeds.
    fn with_config(&self, words: &str) -> String {
        format!(
            "{REQUIRE_DOCKER}; f={}; d=$(dirname \"$f\"); \
             case $f in */config.json) docker --config \"$d\" {words} ;; \
             *) mkdir -p \"$d\" && t=$(mktemp -d) || exit 1; \
                [ ! -f \"$f\" ] || cp \"$f\" \"$t/config.json\"; \
                docker --config \"$t\" {words}; rc=$?; \
                [ $rc != 0 ] || install -m 600 \"$t/config.json\" \"$f\" || rc=1; \
                rm -rf \"$t\"; exit $rc ;; esac",
            self.config_file()
        )
    }
}

/// The credentials stored for the registry, and under which key.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stored {
    /// The configuration key (or the helper's server address).
    key: String,
    /// The user name.
    username: String,
    /// The password or token.
    secret: String,
}

/// What the query finds: the registry's stored credentials, if any.
pub type Found = Option<Stored>;

/// The credential helper the configuration names for `key` (`credHelpers`, else
/// `credsStore`).
fn helper<'a>(config: &'a Json, key: &str) -> Option<&'a str> {
    config
        .get("credHelpers")
        .and_then(|h| h.get(key))
        .or_else(|| config.get("credsStore"))
        .and_then(Json::as_str)
        .filter(|name| !name.is_empty())
}

/// The credentials in the configuration's `auths` under the first of `keys` there.
fn from_auths(config: &Json, keys: &[&str]) -> Option<Stored> {
    let auths = config.get("auths")?;
    keys.iter().find_map(|key| {
        let entry = auths.get(*key)?;
        let encoded = entry.get("auth").and_then(Json::as_str)?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (username, secret) = text.split_once(':')?;
        Some(Stored {
            key: key.to_string(),
            username: username.to_string(),
            secret: secret.to_string(),
        })
    })
}

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// `docker login`.
    Login,
    /// `docker logout`.
    Logout,
}

#[async_trait]
impl StateModule for DockerLogin {
    const NAME: &'static str = "docker_login";
    type Args = LoginArgs;
    type State = Found;
    type Plan = Change;

    async fn query(&self, on: &Target<'_>, args: &LoginArgs) -> Result<Found, ModuleError> {
        let script = format!(
            "{REQUIRE_DOCKER}; f={}; if [ -f \"$f\" ]; then cat \"$f\"; else echo '{{}}'; fi; echo; echo {SEPARATOR}",
            args.config_file()
        );
        let out = on.conn.exec(&Command::new(script)).await?;
        if out.rc != 0 {
            return Err(ModuleError::Failed(out.stderr_text().trim().to_string()));
        }
        let parts = split_parts(&out.stdout_text(), 1).map_err(ModuleError::Failed)?;
        // An unreadable file counts as empty, as the collection's file store reads it.
        let config: Json = serde_json::from_str(parts[0].trim()).unwrap_or_else(|_| json!({}));
        let key = args.cli_key();
        let keys = [key.as_str(), args.registry_url.as_str()];
        let Some(helper) = helper(&config, &key) else {
            return Ok(from_auths(&config, &keys));
        };
        let script = format!(
            "printf %s {} | docker-credential-{} get",
            quote(&key),
            quote(helper)
        );
        let out = on.conn.exec(&Command::new(script)).await?;
        if out.rc != 0 {
            // "credentials not found": nothing stored for this registry.
            return Ok(None);
        }
        let answer: Json = serde_json::from_str(out.stdout_text().trim())
            .map_err(|e| ModuleError::Failed(format!("docker-credential-{helper}: {e}")))?;
        let text = |k: &str| answer.get(k).and_then(Json::as_str).unwrap_or_default();
        Ok(Some(Stored {
            key,
            username: text("Username").to_string(),
            secret: text("Secret").to_string(),
        }))
    }

    fn decide(&self, args: &LoginArgs, stored: Found) -> Result<Decision<Change>, String> {
        match args.state {
            State::Absent => {
                Ok(Decision::maybe(stored.map(|_| Change::Logout)).with("login_result", json!({})))
            }
            State::Present => {
                let same = stored.as_ref().is_some_and(|s| {
                    Some(&s.username) == args.username.as_ref()
                        && Some(&s.secret) == args.password.as_ref()
                });
                if same && !args.reauthorize {
                    let key = stored.map(|s| s.key).unwrap_or_default();
                    return Ok(Decision::unchanged().with(
                        "login_result",
                        json!({"username": args.username, "email": null, "serveraddress": key}),
                    ));
                }
                Ok(Decision::change(Change::Login).with("login_result", json!({})))
            }
        }
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &LoginArgs,
        change: Change,
    ) -> Result<Outcome, ModuleError> {
        let registry = quote(&args.registry_url);
        let mut command = match change {
            Change::Login => Command::new(args.with_config(&format!(
                "login --username {} --password-stdin {registry}",
                quote(args.username.as_deref().unwrap_or_default())
            ))),
            Change::Logout => Command::new(args.with_config(&format!("logout {registry}"))),
        };
        if change == Change::Login {
            command.stdin = Some(args.password.clone().unwrap_or_default().into_bytes());
        }
        let out = on.conn.exec(&command).await?;
        if out.rc != 0 {
            let error = out.stderr_text();
            let error = error
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with("WARNING!"))
                .collect::<Vec<_>>()
                .join("\n");
            return Err(ModuleError::Failed(match change {
                Change::Login => format!(
                    "Logging into {} for user {} failed - {error}",
                    args.registry_url,
                    args.username.as_deref().unwrap_or_default()
                ),
                Change::Logout => format!("Logging out of {} failed - {error}", args.registry_url),
            }));
        }
        let mut outcome = Outcome::new();
        if change == Change::Login {
            let status = out
                .stdout_text()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string();
            outcome.insert(
                "login_result".into(),
                json!({"IdentityToken": "", "Status": status}),
            );
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn args(task: Json) -> LoginArgs {
        from_json(task).expect("valid")
    }

    fn stored(key: &str, username: &str, secret: &str) -> Found {
        Some(Stored {
            key: key.into(),
            username: username.into(),
            secret: secret.into(),
        })
    }

    #[test]
    fn keys_and_paths_are_the_clis() {
        let task = args(json!({"registry_url": "http://127.0.0.1:5000/", "state": "absent"}));
        assert_eq!(task.cli_key(), "127.0.0.1:5000");
        assert_eq!(task.config_file(), "\"$HOME\"/.docker/config.json");
        assert_eq!(args(json!({"state": "absent"})).cli_key(), INDEX_URL);
        let task = args(json!({"config_path": "/etc/d c/cfg", "state": "absent"}));
        assert_eq!(task.config_file(), "'/etc/d c/cfg'");
        assert!(
            task.with_config("logout x")
                .contains("docker --config \"$t\" logout x")
        );
    }

    #[test]
    fn credentials_are_read_from_the_file_or_a_helper_is_named() {
        let config = json!({"auths": {"127.0.0.1:5000": {"auth": "Ym9zdW46czNjcmV0LXB3"}}});
        assert_eq!(
            from_auths(&config, &["127.0.0.1:5000"]),
            stored("127.0.0.1:5000", "bosun", "s3cret-pw")
        );
        assert_eq!(from_auths(&config, &["other"]), None);
        let helpers = json!({"credsStore": "pass", "credHelpers": {"reg": "ecr"}});
        assert_eq!(helper(&helpers, "reg"), Some("ecr"));
        assert_eq!(helper(&helpers, "other"), Some("pass"));
        assert_eq!(helper(&config, "reg"), None);
    }

    #[test]
    fn stored_credentials_are_kept_unless_different_or_reauthorized() {
        let task =
            json!({"registry_url": "127.0.0.1:5000", "username": "bosun", "password": "s3cret-pw"});
        let same = stored("127.0.0.1:5000", "bosun", "s3cret-pw");
        let decision = DockerLogin
            .decide(&args(task.clone()), same)
            .expect("decides");
        assert!(decision.plan.is_none());
        assert_eq!(
            decision.result["login_result"],
            json!({"username": "bosun", "email": null, "serveraddress": "127.0.0.1:5000"})
        );
        let other = stored("127.0.0.1:5000", "bosun", "old");
        let decision = DockerLogin
            .decide(&args(task.clone()), other)
            .expect("decides");
        assert_eq!(decision.plan, Some(Change::Login));
        let mut again = task;
        again["reauthorize"] = json!(true);
        let same = stored("127.0.0.1:5000", "bosun", "s3cret-pw");
        assert_eq!(
            DockerLogin
                .decide(&args(again), same)
                .expect("decides")
                .plan,
            Some(Change::Login)
        );
        let absent = json!({"registry_url": "127.0.0.1:5000", "state": "absent"});
        assert_eq!(
            DockerLogin
                .decide(&args(absent.clone()), None)
                .expect("decides")
                .plan,
            None
        );
        let there = stored("127.0.0.1:5000", "bosun", "x");
        assert_eq!(
            DockerLogin
                .decide(&args(absent), there)
                .expect("decides")
                .plan,
            Some(Change::Logout)
        );
        assert_eq!(
            from_json::<LoginArgs>(json!({"username": "u"})).expect_err("no password"),
            "state is present but all of the following are missing: password"
        );
    }
}
