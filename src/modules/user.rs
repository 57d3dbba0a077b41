//! `user` and `group`: local accounts, through `getent` to query and the shadow
//! utilities (`useradd`, `usermod`, `userdel`, `groupadd`, `groupmod`, `groupdel`)
//! to change them.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};

/// Manages a user account.
pub struct User;

/// Manages a group.
pub struct Group;

/// An account as `getent passwd` and `id -Gn` show it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Account {
    uid: u32,
    gid: u32,
    comment: String,
    home: String,
    shell: String,
    primary_group: String,
    groups: Vec<String>,
    password: Option<String>,
}

/// Parses the query: the passwd line, the primary group's name, the groups, the
/// shadow hash (when readable).
fn parse_account(output: &str) -> Option<Account> {
    let mut lines = output.lines();
    let passwd = lines.next().filter(|l| !l.is_empty())?;
    let fields: Vec<&str> = passwd.split(':').collect();
    if fields.len() < 7 {
        return None;
    }
    let mut account = Account {
        uid: fields[2].parse().ok()?,
        gid: fields[3].parse().ok()?,
        comment: fields[4].to_string(),
        home: fields[5].to_string(),
        shell: fields[6].to_string(),
        ..Account::default()
    };
    for line in lines {
        if let Some(group) = line.strip_prefix("G:") {
            account.primary_group = group.to_string();
        } else if let Some(groups) = line.strip_prefix("L:") {
            account.groups = groups.split_whitespace().map(str::to_string).collect();
        } else if let Some(shadow) = line.strip_prefix("S:") {
            account.password = shadow.split(':').nth(1).map(str::to_string);
        }
    }
    Some(account)
}

#[async_trait]
impl Module for User {
    fn name(&self) -> &'static str {
        "user"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("name", Kind::Str).required().aliases(&["user"]),
            Param::new("state", Kind::Str).choices(&["present", "absent"]),
            Param::new("uid", Kind::Int),
            Param::new("group", Kind::Str),
            Param::new("groups", Kind::List),
            Param::new("append", Kind::Bool),
            Param::new("comment", Kind::Str),
            Param::new("shell", Kind::Str),
            Param::new("home", Kind::Str),
            Param::new("system", Kind::Bool),
            Param::new("create_home", Kind::Bool).aliases(&["createhome"]),
            Param::new("move_home", Kind::Bool),
            Param::new("password", Kind::Str),
            Param::new("update_password", Kind::Str).choices(&["always", "on_create"]),
            Param::new("remove", Kind::Bool),
            Param::new("force", Kind::Bool),
            Param::new("generate_ssh_key", Kind::Bool),
            Param::new("ssh_key_type", Kind::Str),
            Param::new("ssh_key_bits", Kind::Int),
            Param::new("ssh_key_file", Kind::Str),
            Param::new("ssh_key_comment", Kind::Str),
            Param::new("non_unique", Kind::Bool),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let name = args.str("name").unwrap_or_default().to_string();
        let n = quote(&name);
        let query = format!(
            "getent passwd {n} || exit 0; printf 'G:%s\\n' \"$(id -gn {n})\"; printf 'L:%s\\n' \"$(id -Gn {n})\"; \
             getent shadow {n} 2>/dev/null | sed 's/^/S:/'"
        );
        let out = ctx.conn.exec(&Command::new(query)).await?;
        let current = parse_account(&out.stdout_text());
        let state = args.str("state").unwrap_or("present");
        let mut outcome = super::ok(false);
        outcome.insert("name".into(), json!(name));
        outcome.insert("state".into(), json!(state));

        let command = match (state, &current) {
            ("absent", None) => None,
            ("absent", Some(_)) => {
                let mut cmd = String::from("userdel");
                if args.bool_or("remove", false) {
                    cmd.push_str(" -r");
                }
                if args.bool_or("force", false) {
                    cmd.push_str(" -f");
                }
                Some(format!("{cmd} {n}"))
            }
            (_, None) => Some(useradd(args, &n)),
            (_, Some(account)) => usermod(args, &n, account),
        };
        let mut ssh_key = None;
        if state != "absent" && args.bool_or("generate_ssh_key", false) {
            let key_file = args
                .str("ssh_key_file")
                .unwrap_or(".ssh/id_rsa")
                .to_string();
            ssh_key = Some(key_file);
        }
        let changed = command.is_some();
        if changed && !ctx.check_mode {
            let script = command.clone().unwrap_or_default();
            let done = ctx.conn.exec(&Command::new(script)).await?;
            if done.rc != 0 {
                let mut failed = super::failed(done.stderr_text().trim().to_string());
                failed.insert("rc".into(), json!(done.rc));
                failed.insert("name".into(), json!(name));
                return Ok(failed);
            }
        }
        let mut key_changed = false;
        if let Some(key_file) = ssh_key {
            let kind = args.str("ssh_key_type").unwrap_or("rsa");
            let bits = args
                .int("ssh_key_bits")
                .map(|b| format!(" -b {b}"))
                .unwrap_or_default();
            let comment = args.str("ssh_key_comment").unwrap_or("ansible-generated");
            let home = format!("$(getent passwd {n} | cut -d: -f6)");
            let path = if key_file.starts_with('/') {
                quote(&key_file)
            } else {
                format!("\"{home}/{key_file}\"")
            };
            let script = if ctx.check_mode {
                format!("[ -e {path} ] || echo missing")
            } else {
                format!(
                    "[ -e {path} ] && exit 0; mkdir -p \"$(dirname {path})\" && ssh-keygen -q -t {} {bits} -N '' -C {} -f {path} && chown -R {n}: \"$(dirname {path})\" && echo created",
                    quote(kind),
                    quote(comment)
                )
            };
            let made = ctx.conn.exec(&Command::new(script)).await?;
            key_changed =
                made.stdout_text().contains("created") || made.stdout_text().contains("missing");
            outcome.insert("ssh_key_file".into(), json!(key_file));
        }
        outcome.insert("changed".into(), Json::Bool(changed || key_changed));
        if state != "absent" && !ctx.check_mode {
            let after = ctx.conn.exec(&Command::new(format!("getent passwd {n}; printf 'G:%s\\n' \"$(id -gn {n})\"; printf 'L:%s\\n' \"$(id -Gn {n})\""))).await?;
            if let Some(account) = parse_account(&after.stdout_text()) {
                outcome.insert("uid".into(), json!(account.uid));
                outcome.insert("group".into(), json!(account.gid));
                outcome.insert("home".into(), json!(account.home));
                outcome.insert("shell".into(), json!(account.shell));
                outcome.insert("comment".into(), json!(account.comment));
                outcome.insert("groups".into(), json!(account.groups.join(",")));
            }
        }
        Ok(outcome)
    }
}

/// The `useradd` command for a new account.
fn useradd(args: &Args, name: &str) -> String {
    let mut cmd = String::from("useradd");
    if let Some(uid) = args.int("uid") {
        cmd.push_str(&format!(" -u {uid}"));
        if args.bool_or("non_unique", false) {
            cmd.push_str(" -o");
        }
    }
    if let Some(group) = args.str("group") {
        cmd.push_str(&format!(" -g {}", quote(group)));
    }
    let groups = string_list(args, "groups");
    if !groups.is_empty() {
        cmd.push_str(&format!(" -G {}", quote(&groups.join(","))));
    }
    for (param, flag) in [
        ("comment", "-c"),
        ("shell", "-s"),
        ("home", "-d"),
        ("password", "-p"),
    ] {
        if let Some(value) = args.str(param) {
            cmd.push_str(&format!(" {flag} {}", quote(value)));
        }
    }
    if args.bool_or("system", false) {
        cmd.push_str(" -r");
    }
    let create_home = args.bool_or("create_home", !args.bool_or("system", false));
    cmd.push_str(if create_home { " -m" } else { " -M" });
    format!("{cmd} {name}")
}

/// The `usermod` command bringing `account` in line, or `None` when it already is.
fn usermod(args: &Args, name: &str, account: &Account) -> Option<String> {
    let mut flags = Vec::new();
    if let Some(uid) = args.int("uid").filter(|u| *u != i64::from(account.uid)) {
        flags.push(format!("-u {uid}"));
    }
    if let Some(group) = args
        .str("group")
        .filter(|g| *g != account.primary_group && *g != account.gid.to_string())
    {
        flags.push(format!("-g {}", quote(group)));
    }
    let wanted = string_list(args, "groups");
    if args.get("groups").is_some() {
        let append = args.bool_or("append", false);
        let primary = args.str("group").unwrap_or(&account.primary_group);
        let current: Vec<&String> = account
            .groups
            .iter()
            .filter(|g| g.as_str() != primary)
            .collect();
        let missing = wanted.iter().any(|g| !account.groups.contains(g));
        let extra = !append && current.iter().any(|g| !wanted.contains(g));
        if missing || extra {
            let flag = if append { "-a -G" } else { "-G" };
            flags.push(format!("{flag} {}", quote(&wanted.join(","))));
        }
    }
    for (param, flag, current) in [
        ("comment", "-c", &account.comment),
        ("shell", "-s", &account.shell),
        ("home", "-d", &account.home),
    ] {
        if let Some(value) = args.str(param).filter(|v| *v != current.as_str()) {
            let mut flag = flag.to_string();
            if param == "home" && args.bool_or("move_home", false) {
                flag.push_str(" -m");
            }
            flags.push(format!("{flag} {}", quote(value)));
        }
    }
    if let Some(password) = args.str("password") {
        let always = args.str("update_password").unwrap_or("always") == "always";
        if always && account.password.as_deref() != Some(password) {
            flags.push(format!("-p {}", quote(password)));
        }
    }
    (!flags.is_empty()).then(|| format!("usermod {} {name}", flags.join(" ")))
}

fn string_list(args: &Args, name: &str) -> Vec<String> {
    args.list(name)
        .iter()
        .filter_map(|g| g.as_str().map(str::to_string))
        .filter(|g| !g.is_empty())
        .collect()
}

#[async_trait]
impl Module for Group {
    fn name(&self) -> &'static str {
        "group"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("name", Kind::Str).required(),
            Param::new("state", Kind::Str).choices(&["present", "absent"]),
            Param::new("gid", Kind::Int),
            Param::new("system", Kind::Bool),
            Param::new("non_unique", Kind::Bool),
            Param::new("force", Kind::Bool),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let name = args.str("name").unwrap_or_default().to_string();
        let n = quote(&name);
        let out = ctx
            .conn
            .exec(&Command::new(format!("getent group {n} || true")))
            .await?;
        let line = out.stdout_text();
        let current_gid: Option<i64> = line.split(':').nth(2).and_then(|g| g.trim().parse().ok());
        let state = args.str("state").unwrap_or("present");
        let command = match (state, current_gid) {
            ("absent", None) => None,
            ("absent", Some(_)) => Some(format!("groupdel {n}")),
            (_, None) => {
                let mut cmd = String::from("groupadd");
                if let Some(gid) = args.int("gid") {
                    cmd.push_str(&format!(" -g {gid}"));
                    if args.bool_or("non_unique", false) {
                        cmd.push_str(" -o");
                    }
                }
                if args.bool_or("system", false) {
                    cmd.push_str(" -r");
                }
                Some(format!("{cmd} {n}"))
            }
            (_, Some(gid)) => args
                .int("gid")
                .filter(|wanted| *wanted != gid)
                .map(|wanted| format!("groupmod -g {wanted} {n}")),
        };
        let mut outcome = super::ok(command.is_some());
        if let (Some(script), false) = (&command, ctx.check_mode) {
            let done = ctx.conn.exec(&Command::new(script.clone())).await?;
            if done.rc != 0 {
                return Ok(super::failed(done.stderr_text().trim().to_string()));
            }
        }
        outcome.insert("name".into(), json!(name));
        outcome.insert("state".into(), json!(state));
        if state != "absent" {
            let gid = match (&command, ctx.check_mode) {
                (Some(_), false) => {
                    let after = ctx
                        .conn
                        .exec(&Command::new(format!("getent group {n}")))
                        .await?;
                    after
                        .stdout_text()
                        .split(':')
                        .nth(2)
                        .and_then(|g| g.trim().parse::<i64>().ok())
                }
                _ => args.int("gid").or(current_gid),
            };
            if let Some(gid) = gid {
                outcome.insert("gid".into(), json!(gid));
            }
            outcome.insert("system".into(), json!(args.bool_or("system", false)));
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn args(value: Json) -> Args {
        let raw: IndexMap<String, Json> = serde_json::from_value(value).expect("a mapping");
        Args::parse(User.params(), &raw).expect("valid")
    }

    fn account() -> Account {
        parse_account("app:x:1001:1001:App user:/home/app:/bin/sh\nG:app\nL:app www-data\nS:app:$6$hash:19000:0:99999:7:::\n")
            .expect("parses")
    }

    #[test]
    fn query_output_parses() {
        let a = account();
        assert_eq!(
            (a.uid, a.gid, a.home.as_str(), a.shell.as_str()),
            (1001, 1001, "/home/app", "/bin/sh")
        );
        assert_eq!(a.groups, vec!["app", "www-data"]);
        assert_eq!(a.password.as_deref(), Some("$6$hash"));
        assert_eq!(parse_account(""), None, "no such user");
    }

    #[test]
    fn usermod_only_when_something_differs() {
        let a = account();
        assert_eq!(
            usermod(
                &args(json!({"name": "app", "shell": "/bin/sh", "groups": ["www-data"]})),
                "app",
                &a
            ),
            None
        );
        assert_eq!(
            usermod(
                &args(json!({"name": "app", "shell": "/bin/bash"})),
                "app",
                &a
            ),
            Some("usermod -s /bin/bash app".into())
        );
        assert_eq!(
            usermod(
                &args(json!({"name": "app", "groups": ["adm"], "append": true})),
                "app",
                &a
            ),
            Some("usermod -a -G adm app".into()),
            "append adds without removing"
        );
        assert_eq!(
            usermod(&args(json!({"name": "app", "groups": []})), "app", &a),
            Some("usermod -G '' app".into()),
            "an empty list without append removes supplementary groups, as Ansible"
        );
        assert_eq!(
            usermod(
                &args(json!({"name": "app", "password": "$6$hash"})),
                "app",
                &a
            ),
            None
        );
    }

    #[test]
    fn useradd_flags() {
        assert_eq!(
            useradd(
                &args(
                    json!({"name": "svc", "system": true, "shell": "/usr/sbin/nologin", "home": "/srv/svc"})
                ),
                "svc"
            ),
            "useradd -s /usr/sbin/nologin -d /srv/svc -r -M svc",
            "system users get no home unless create_home"
        );
        assert_eq!(
            useradd(
                &args(json!({"name": "bob", "uid": 2000, "groups": "a,b"})),
                "bob"
            ),
            "useradd -u 2000 -G a,b -m bob"
        );
    }
}
