//! `user` and `group`: local accounts, through `getent` to query and the shadow
//! utilities (`useradd`, `usermod`, `userdel`, `groupadd`, `groupmod`, `groupdel`)
//! to change them.

mod account;
mod home;
mod shadow;
mod union;

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};
use account::{Account, Asked, HomeCheck};
use shadow::Aging;

/// Manages a user account.
pub struct User;

/// Manages a group.
pub struct Group;

arg_enum! {
    /// Whether the account (or group) should exist.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

arg_enum! {
    /// When a given password is set.
    pub enum UpdatePassword {
        /// Whenever it differs from the current hash.
        Always = "always",
        /// Only when the account is created.
        OnCreate = "on_create",
    }
}

module_args! {
    /// `user`'s arguments.
    pub struct UserArgs {
        /// The account's name.
        name: String => .required().aliases(&["user"]),
        state: State => .default_str("present"),
        uid: Option<i64>,
        /// The primary group (name or GID).
        group: Option<String>,
        /// The supplementary groups; `[]` removes them all (unless `append`).
        groups: Option<Vec<String>>,
        /// Whether `groups` are added to the current ones instead of replacing them.
        append: bool => .default_bool(false),
        comment: Option<String>,
        shell: Option<String>,
        home: Option<String>,
        /// A system account (`useradd -r`).
        system: bool => .default_bool(false),
        /// Whether `useradd` makes the home (system accounts too, as in Ansible).
        create_home: bool => .default_bool(true).aliases(&["createhome"]),
        /// The skeleton directory a new home is copied from (`useradd -k`).
        skeleton: Option<String>,
        /// The new home's umask (`useradd -K UMASK=`).
        umask: Option<String>,
        /// When the account expires, in seconds since the epoch; negative: never.
        expires: Option<f64>,
        /// Days after the password expires until the account is disabled
        /// (`-f`; given on every change, as Ansible does).
        password_expire_account_disable: Option<i64>,
        /// Whether the password is locked (`!` before the hash).
        password_lock: Option<bool>,
        password_expire_max: Option<i64>,
        password_expire_min: Option<i64>,
        password_expire_warn: Option<i64>,
        /// Whether a new `home` moves the old one's content (`usermod -m`).
        move_home: bool => .default_bool(false),
        /// The password hash.
        password: Option<String> => .no_log(),
        update_password: UpdatePassword => .default_str("always"),
        /// Whether `state: absent` removes the home and mail spool (`userdel -r`).
        remove: bool => .default_bool(false),
        /// Whether `state: absent` removes the account even when logged in (`userdel -f`).
        force: bool => .default_bool(false),
        /// Whether to make an SSH key for the account when it has none.
        generate_ssh_key: bool => .default_bool(false),
        ssh_key_type: String => .default_str("rsa"),
        ssh_key_bits: Option<i64>,
        /// The key's path, relative to the home unless absolute.
        ssh_key_file: String => .default_str(".ssh/id_rsa"),
        ssh_key_comment: String => .default_str("ansible-generated"),
        /// Whether `uid` may be another account's too (`-o`).
        non_unique: bool => .default_bool(false),
    }
}

module_args! {
    /// `group`'s arguments.
    pub struct GroupArgs {
        /// The group's name.
        name: String => .required(),
        state: State => .default_str("present"),
        gid: Option<i64>,
        /// A system group (`groupadd -r`).
        system: bool => .default_bool(false),
        /// Whether `gid` may be another group's too (`-o`).
        non_unique: bool => .default_bool(false),
        /// Whether `state: absent` removes a group that is a user's primary group
        /// (`groupdel -f`).
        force: bool => .default_bool(false),
    }
}

/// The line the query prints when the SSH key file exists.
const KEY_EXISTS: &str = "K:exists";

impl UserArgs {
    /// The account's name, quoted for the shell.
    fn quoted(&self) -> String {
        quote(&self.name)
    }

    /// What the query asks besides the passwd line: the groups only to compare
    /// `group`/`groups`, the home only where Ansible would make a missing one.
    fn asked(&self) -> Asked {
        let home = match (&self.home, self.state == State::Present && self.create_home) {
            (_, false) => HomeCheck::Skip,
            (Some(home), true) => HomeCheck::At(quote(home)),
            (None, true) => HomeCheck::Current,
        };
        Asked {
            groups: self.group.is_some() || self.groups.is_some(),
            shadow: self.reads_shadow(),
            home,
        }
    }

    /// The script making the account's missing home.
    fn home_script(&self) -> String {
        let home = self.home.as_deref().map(quote);
        let skeleton = self.skeleton.as_deref().map(quote);
        home::create_script(&self.quoted(), home.as_deref(), skeleton.as_deref())
    }

    /// The account's keys in the result, as Ansible reports them: `groups` is the
    /// task's own list, and only when it gave one.
    fn result(&self, account: &Account) -> Outcome {
        let mut result = Outcome::new();
        result.insert("uid".into(), json!(account.uid));
        result.insert("group".into(), json!(account.gid));
        result.insert("home".into(), json!(account.home));
        result.insert("shell".into(), json!(account.shell));
        result.insert("comment".into(), json!(account.comment));
        if let Some(groups) = &self.groups {
            result.insert("groups".into(), json!(groups.join(",")));
        }
        result
    }

    /// The SSH key's path as a shell word: relative paths are under the home.
    fn key_path(&self) -> String {
        if self.ssh_key_file.starts_with('/') {
            quote(&self.ssh_key_file)
        } else {
            format!(
                "\"$(getent passwd {} | cut -d: -f6)/\"{}",
                self.quoted(),
                quote(&self.ssh_key_file)
            )
        }
    }

    /// Whether the shadow entry is needed to decide.
    fn reads_shadow(&self) -> bool {
        (self.password.is_some() && self.update_password == UpdatePassword::Always)
            || self.password_lock.is_some()
            || self.expires.is_some()
            || self.aging().is_asked()
    }

    /// The password aging asked for.
    fn aging(&self) -> Aging {
        Aging {
            min: self.password_expire_min,
            max: self.password_expire_max,
            warn: self.password_expire_warn,
        }
    }

    /// The hash as `-p` sets it: `!` first when the password is to be locked.
    fn hash_to_set(&self, password: &str) -> String {
        match self.password_lock {
            Some(true) => format!("!{password}"),
            _ => password.to_string(),
        }
    }

    /// Whether a key is to be looked for (and made when missing).
    fn wants_key(&self) -> bool {
        self.state == State::Present && self.generate_ssh_key
    }

    /// The supplementary groups asked for, empty names left out.
    fn wanted_groups(&self) -> Option<Vec<String>> {
        self.groups
            .as_ref()
            .map(|groups| groups.iter().filter(|g| !g.is_empty()).cloned().collect())
    }

    /// The `userdel` command.
    fn userdel(&self) -> String {
        let mut cmd = String::from("userdel");
        if self.remove {
            cmd.push_str(" -r");
        }
        if self.force {
            cmd.push_str(" -f");
        }
        format!("{cmd} {}", self.quoted())
    }

    /// The `useradd` command for a new account.
    fn useradd(&self) -> String {
        let mut cmd = String::from("useradd");
        if let Some(uid) = self.uid {
            cmd.push_str(&format!(" -u {uid}"));
            if self.non_unique {
                cmd.push_str(" -o");
            }
        }
        if let Some(group) = &self.group {
            cmd.push_str(&format!(" -g {}", quote(group)));
        }
        let groups = self.wanted_groups().unwrap_or_default();
        if !groups.is_empty() {
            cmd.push_str(&format!(" -G {}", quote(&groups.join(","))));
        }
        for (value, flag) in [
            (&self.comment, "-c"),
            (&self.shell, "-s"),
            (&self.home, "-d"),
        ] {
            if let Some(value) = value {
                cmd.push_str(&format!(" {flag} {}", quote(value)));
            }
        }
        if let Some(expires) = self.expires {
            cmd.push_str(&format!(" -e {}", quote(&shadow::expiry_date(expires))));
        }
        if let Some(days) = self.password_expire_account_disable {
            cmd.push_str(&format!(" -f {days}"));
        }
        if let Some(password) = &self.password {
            cmd.push_str(&format!(" -p {}", quote(&self.hash_to_set(password))));
        }
        if self.create_home {
            cmd.push_str(" -m");
            if let Some(skeleton) = &self.skeleton {
                cmd.push_str(&format!(" -k {}", quote(skeleton)));
            }
            if let Some(umask) = &self.umask {
                cmd.push_str(&format!(" -K {}", quote(&format!("UMASK={umask}"))));
            }
        } else {
            cmd.push_str(" -M");
        }
        if self.system {
            cmd.push_str(" -r");
        }
        format!("{cmd} {}", self.quoted())
    }

    /// The `usermod` command bringing `account` in line, or `None` when it already is.
    fn usermod(&self, account: &Account) -> Option<String> {
        let mut flags = Vec::new();
        if let Some(uid) = self.uid.filter(|u| *u != i64::from(account.uid)) {
            flags.push(format!("-u {uid}"));
            if self.non_unique {
                flags.push("-o".to_string());
            }
        }
        if let Some(group) = self
            .group
            .as_ref()
            .filter(|g| **g != account.primary_group && **g != account.gid.to_string())
        {
            flags.push(format!("-g {}", quote(group)));
        }
        if let Some(wanted) = self.wanted_groups() {
            let primary = self.group.as_ref().unwrap_or(&account.primary_group);
            let current: Vec<&String> = account.groups.iter().filter(|g| *g != primary).collect();
            let missing = wanted.iter().any(|g| !account.groups.contains(g));
            let extra = !self.append && current.iter().any(|g| !wanted.contains(g));
            if missing || extra {
                let flag = if self.append { "-a -G" } else { "-G" };
                flags.push(format!("{flag} {}", quote(&wanted.join(","))));
            }
        }
        for (value, flag, current) in [
            (&self.comment, "-c", &account.comment),
            (&self.shell, "-s", &account.shell),
            (&self.home, "-d", &account.home),
        ] {
            if let Some(value) = value.as_ref().filter(|v| *v != current) {
                let mut flag = flag.to_string();
                if flag == "-d" && self.move_home {
                    flag.push_str(" -m");
                }
                flags.push(format!("{flag} {}", quote(value)));
            }
        }
        let hash = account.shadow.as_ref().map_or("", |s| s.hash.as_str());
        if let Some(expires) = self.expires {
            let current = account.shadow.as_ref().map_or(-1, |s| s.expire);
            if shadow::expiry_differs(expires, current) {
                flags.push(format!("-e {}", quote(&shadow::expiry_date(expires))));
            }
        }
        if let Some(days) = self.password_expire_account_disable {
            flags.push(format!("-f {days}"));
        }
        match self.password_lock {
            Some(true) if !hash.starts_with('!') => flags.push("-L".into()),
            Some(false) if hash.starts_with('!') => flags.push("-U".into()),
            _ => {}
        }
        if let Some(password) = &self.password
            && self.update_password == UpdatePassword::Always
            && hash.trim_start_matches('!') != password.trim_start_matches('!')
        {
            // -p and -L/-U exclude each other: the lock goes into the hash.
            flags.retain(|flag| flag != "-L" && flag != "-U");
            flags.push(format!("-p {}", quote(&self.hash_to_set(password))));
        }
        (!flags.is_empty()).then(|| format!("usermod {} {}", flags.join(" "), self.quoted()))
    }

    /// The script making the SSH key (and its directory) when it is still missing.
    fn keygen_script(&self) -> String {
        let path = self.key_path();
        let bits = self
            .ssh_key_bits
            .map(|b| format!(" -b {b}"))
            .unwrap_or_default();
        format!(
            "[ -e {path} ] && exit 0; mkdir -p \"$(dirname {path})\" && ssh-keygen -q -t {}{bits} -N '' -C {} -f {path} && chown -R {}: \"$(dirname {path})\"",
            quote(&self.ssh_key_type),
            quote(&self.ssh_key_comment),
            self.quoted()
        )
    }
}

/// What the `user` query found: the account, and whether its SSH key exists.
pub struct FoundUser {
    /// The account, when it exists.
    account: Option<Account>,
    /// Whether the SSH key file exists (looked for only when one is wanted).
    key_exists: bool,
}

/// What `user` changes: the account command, its password aging, then the SSH key.
#[derive(Debug, PartialEq, Eq)]
pub struct UserChanges {
    /// `useradd`, `usermod` or `userdel`, when the account changes.
    command: Option<String>,
    /// `chage`, when the password aging differs.
    chage: Option<String>,
    /// Whether to make the missing home of an existing account.
    make_home: bool,
    /// Whether to make the SSH key.
    make_key: bool,
    /// What the result reports once an account is made or removed: Ansible's module
    /// returns only `changed` for those in check mode.
    reported: Outcome,
}

#[async_trait]
impl StateModule for User {
    const NAME: &'static str = "user";
    type Args = UserArgs;
    type State = FoundUser;
    type Plan = UserChanges;

    async fn query(&self, on: &Target<'_>, args: &UserArgs) -> Result<FoundUser, ModuleError> {
        let text = match union::names_asked(args, on.siblings) {
            Some(names) => {
                let script = union::script(&names, &args.asked());
                let out = on.conn.exec(&Command::new(script)).await?;
                union::own_output(&out.stdout_text(), &args.name, &args.asked())
            }
            None => {
                let mut script = account::script(&args.quoted(), &args.asked());
                if args.wants_key() {
                    script.push_str(&format!(
                        "; [ -e {} ] && echo {KEY_EXISTS}",
                        args.key_path()
                    ));
                }
                script.push_str("; exit 0");
                on.conn.exec(&Command::new(script)).await?.stdout_text()
            }
        };
        let account = account::parse(&text);
        // Without the account, a relative key path has no home to be under.
        let key_exists = text.lines().any(|l| l == KEY_EXISTS)
            && (account.is_some() || args.ssh_key_file.starts_with('/'));
        Ok(FoundUser {
            account,
            key_exists,
        })
    }

    fn decide(&self, args: &UserArgs, found: FoundUser) -> Result<Decision<UserChanges>, String> {
        let command = match (args.state, &found.account) {
            (State::Absent, None) => None,
            (State::Absent, Some(_)) => Some(args.userdel()),
            (State::Present, None) => Some(args.useradd()),
            (State::Present, Some(account)) => args.usermod(account),
        };
        let chage = match (args.state, &found.account) {
            (State::Absent, _) => None,
            (State::Present, account) => args
                .aging()
                .chage(&args.name, account.as_ref().and_then(|a| a.shadow.as_ref())),
        };
        let make_home =
            args.state == State::Present && found.account.as_ref().is_some_and(|a| a.home_missing);
        let make_key = args.wants_key() && !found.key_exists;
        let changed = command.is_some() || chage.is_some() || make_home || make_key;
        let mut reported = Outcome::new();
        reported.insert("name".into(), json!(args.name));
        reported.insert("state".into(), json!(args.state.as_str()));
        if args.wants_key() {
            reported.insert("ssh_key_file".into(), json!(args.ssh_key_file));
        }
        let flags = match (args.state, &found.account) {
            (State::Absent, None) => vec![],
            (State::Absent, Some(_)) => vec![("force", args.force), ("remove", args.remove)],
            (State::Present, None) => {
                vec![("system", args.system), ("create_home", args.create_home)]
            }
            (State::Present, Some(_)) => {
                vec![("append", args.append), ("move_home", args.move_home)]
            }
        };
        for (key, value) in flags {
            reported.insert(key.into(), json!(value));
        }
        if args.state == State::Present && args.password.is_some() {
            reported.insert("password".into(), json!("NOT_LOGGING_PASSWORD"));
        }
        let comes_or_goes = (args.state == State::Present) == found.account.is_none();
        let mut changes = UserChanges {
            command,
            chage,
            make_home,
            make_key,
            reported: Outcome::new(),
        };
        let mut decision = match comes_or_goes {
            true => {
                changes.reported = reported;
                Decision::maybe(changed.then_some(changes))
            }
            false => {
                let mut decision = Decision::maybe(changed.then_some(changes));
                decision.result = reported;
                decision
            }
        };
        if let (State::Present, Some(account)) = (args.state, &found.account) {
            for (key, value) in args.result(account) {
                decision = decision.with(&key, value);
            }
        }
        Ok(decision)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &UserArgs,
        changes: UserChanges,
    ) -> Result<Outcome, ModuleError> {
        let mut outcome = changes.reported;
        let make_home = changes.make_home.then(|| args.home_script());
        let commands = [changes.command, changes.chage, make_home];
        for (i, command) in commands.into_iter().enumerate() {
            let Some(command) = command else { continue };
            let done = on.conn.exec(&Command::new(command)).await?;
            if done.rc != 0 {
                let mut failed = super::failed(done.stderr_text().trim().to_string());
                failed.insert("rc".into(), json!(done.rc));
                failed.insert("name".into(), json!(args.name));
                return Err(ModuleError::FailedWith(failed));
            }
            // Ansible reports the account command's own output.
            if i == 0 {
                for (key, text) in [
                    ("stdout", done.stdout_text()),
                    ("stderr", done.stderr_text()),
                ] {
                    if !text.is_empty() {
                        outcome.insert(key.into(), json!(text));
                    }
                }
            }
        }
        if changes.make_key {
            let made = on.conn.exec(&Command::new(args.keygen_script())).await?;
            if made.rc != 0 {
                let mut failed = super::failed(made.stderr_text().trim().to_string());
                failed.insert("rc".into(), json!(made.rc));
                return Err(ModuleError::FailedWith(failed));
            }
        }
        if args.state == State::Present {
            let script = account::script(&args.quoted(), &Asked::PASSWD);
            let after = on.conn.exec(&Command::new(script)).await?;
            if let Some(account) = account::parse(&after.stdout_text()) {
                outcome.extend(args.result(&account));
            }
        }
        Ok(outcome)
    }
}

impl GroupArgs {
    /// The command bringing the group with GID `current` (`None`: no such group)
    /// where the task wants it, or `None` when it already is.
    fn command(&self, current: Option<i64>) -> Option<String> {
        let n = quote(&self.name);
        let unique = if self.non_unique { " -o" } else { "" };
        match (self.state, current) {
            (State::Absent, None) => None,
            (State::Absent, Some(_)) => {
                let force = if self.force { " -f" } else { "" };
                Some(format!("groupdel{force} {n}"))
            }
            (State::Present, None) => {
                let mut cmd = String::from("groupadd");
                if let Some(gid) = self.gid {
                    cmd.push_str(&format!(" -g {gid}{unique}"));
                }
                if self.system {
                    cmd.push_str(" -r");
                }
                Some(format!("{cmd} {n}"))
            }
            (State::Present, Some(gid)) => self
                .gid
                .filter(|wanted| *wanted != gid)
                .map(|wanted| format!("groupmod -g {wanted}{unique} {n}")),
        }
    }
}

/// The GID on a `getent group` line.
fn group_gid(line: &str) -> Option<i64> {
    line.split(':').nth(2).and_then(|g| g.trim().parse().ok())
}

#[async_trait]
impl StateModule for Group {
    const NAME: &'static str = "group";
    type Args = GroupArgs;
    /// The group's GID, when it exists.
    type State = Option<i64>;
    /// The command to run.
    type Plan = String;

    async fn query(&self, on: &Target<'_>, args: &GroupArgs) -> Result<Option<i64>, ModuleError> {
        let script = format!("getent group {} || true", quote(&args.name));
        let out = on.conn.exec(&Command::new(script)).await?;
        Ok(group_gid(&out.stdout_text()))
    }

    fn decide(&self, args: &GroupArgs, current: Option<i64>) -> Result<Decision<String>, String> {
        let mut decision = Decision::maybe(args.command(current))
            .with("name", args.name.clone())
            .with("state", args.state.as_str());
        if args.state == State::Present {
            if let Some(gid) = args.gid.or(current) {
                decision = decision.with("gid", gid);
            }
            decision = decision.with("system", args.system);
        }
        Ok(decision)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &GroupArgs,
        command: String,
    ) -> Result<Outcome, ModuleError> {
        let done = on.conn.exec(&Command::new(command)).await?;
        if done.rc != 0 {
            return Err(ModuleError::Failed(done.stderr_text().trim().to_string()));
        }
        let mut outcome = Outcome::new();
        if args.state == State::Present {
            let script = format!("getent group {}", quote(&args.name));
            let after = on.conn.exec(&Command::new(script)).await?;
            if let Some(gid) = group_gid(&after.stdout_text()) {
                outcome.insert("gid".into(), json!(gid));
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::Value as Json;

    fn args(value: Json) -> UserArgs {
        from_json(value).expect("valid")
    }

    fn account() -> Account {
        account::parse("app:x:1001:1001:App user:/home/app:/bin/sh\nL:app www-data\nS:app:$6$hash:19000:0:99999:7:::\n")
            .expect("parses")
    }

    fn found(account: Option<Account>, key_exists: bool) -> FoundUser {
        FoundUser {
            account,
            key_exists,
        }
    }

    #[test]
    fn usermod_only_when_something_differs() {
        let a = account();
        let usermod = |value: Json| args(value).usermod(&a);
        assert_eq!(
            usermod(json!({"name": "app", "shell": "/bin/sh", "groups": ["www-data"]})),
            None
        );
        assert_eq!(
            usermod(json!({"name": "app", "shell": "/bin/bash"})),
            Some("usermod -s /bin/bash app".into())
        );
        assert_eq!(
            usermod(json!({"name": "app", "groups": ["adm"], "append": true})),
            Some("usermod -a -G adm app".into()),
            "append adds without removing"
        );
        assert_eq!(
            usermod(json!({"name": "app", "groups": []})),
            Some("usermod -G '' app".into()),
            "an empty list without append removes supplementary groups, as Ansible"
        );
        assert_eq!(usermod(json!({"name": "app", "password": "$6$hash"})), None);
        assert_eq!(
            usermod(json!({"name": "app", "uid": 0, "non_unique": true})),
            Some("usermod -u 0 -o app".into())
        );
    }

    #[test]
    fn useradd_flags() {
        assert_eq!(
            args(
                json!({"name": "svc", "system": true, "shell": "/usr/sbin/nologin", "home": "/srv/svc"})
            )
            .useradd(),
            "useradd -s /usr/sbin/nologin -d /srv/svc -m -r svc",
            "system users get a home too unless create_home is false, as in Ansible"
        );
        assert_eq!(
            args(json!({"name": "bob", "uid": 2000, "groups": "a,b"})).useradd(),
            "useradd -u 2000 -G a,b -m bob"
        );
    }

    #[test]
    fn locks_expiry_and_aging_change_only_what_differs() {
        let a = account();
        let usermod = |value: Json| args(value).usermod(&a);
        assert_eq!(
            usermod(json!({"name": "app", "password_lock": true})),
            Some("usermod -L app".into())
        );
        assert_eq!(
            usermod(json!({"name": "app", "password_lock": false})),
            None
        );
        assert_eq!(
            usermod(json!({"name": "app", "password": "$6$new", "password_lock": true})),
            Some("usermod -p '!$6$new' app".into()),
            "a new hash carries the lock; -L would refuse to go with -p"
        );
        assert_eq!(
            usermod(json!({"name": "app", "expires": 1_767_225_600})),
            Some("usermod -e 2026-01-01 app".into())
        );
        assert_eq!(
            usermod(json!({"name": "app", "expires": -1})),
            None,
            "none is set"
        );
        let with_aging = |value: Json| {
            User.decide(&args(value), found(Some(account()), false))
                .expect("a decision")
                .plan
                .and_then(|p| p.chage)
        };
        assert_eq!(
            with_aging(
                json!({"name": "app", "password_expire_max": 90, "password_expire_warn": 7})
            ),
            Some("chage -M 90 app".into())
        );
        assert_eq!(
            with_aging(json!({"name": "app", "password_expire_min": 0})),
            None
        );
        assert_eq!(
            args(json!({"name": "new", "expires": -5, "skeleton": "/etc/skel2", "umask": "027"}))
                .useradd(),
            "useradd -e '' -m -k /etc/skel2 -K UMASK=027 new"
        );
    }

    #[test]
    fn a_converged_account_reports_itself_without_a_plan() {
        let decision = User
            .decide(
                &args(json!({"name": "app", "shell": "/bin/sh"})),
                found(Some(account()), false),
            )
            .expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["uid"], json!(1001));
        assert_eq!(
            decision.result.get("groups"),
            None,
            "groups is reported only as the task gave it, as Ansible"
        );
        assert_eq!(decision.result["state"], json!("present"));
        let with_groups = args(json!({"name": "app", "groups": ["www-data"], "append": true}));
        let decision = User
            .decide(&with_groups, found(Some(account()), false))
            .expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["groups"], json!("www-data"));
    }

    #[test]
    fn a_missing_home_is_made_for_an_existing_account_unless_create_home_is_false() {
        let mut homeless = account();
        homeless.home_missing = true;
        let decision = User
            .decide(&args(json!({"name": "app"})), found(Some(homeless), false))
            .expect("a decision");
        assert!(
            decision
                .plan
                .is_some_and(|p| p.make_home && p.command.is_none())
        );
        let not_asked = args(json!({"name": "app", "create_home": false})).asked();
        assert_eq!(not_asked.home, HomeCheck::Skip);
        let elsewhere = args(json!({"name": "app", "home": "/srv/app"})).asked();
        assert_eq!(elsewhere.home, HomeCheck::At("/srv/app".into()));
        assert!(!elsewhere.groups, "no id -Gn without group or groups");
    }

    #[test]
    fn missing_accounts_are_added_and_existing_ones_deleted() {
        let decision = User
            .decide(&args(json!({"name": "bob"})), found(None, false))
            .expect("a decision");
        let plan = decision.plan.expect("a change");
        assert_eq!(plan.command.as_deref(), Some("useradd -m bob"));
        assert!(
            !decision.result.contains_key("uid"),
            "nothing to report yet"
        );
        let gone = json!({"name": "app", "state": "absent", "remove": true, "force": true});
        let decision = User
            .decide(&args(gone.clone()), found(Some(account()), false))
            .expect("a decision");
        assert_eq!(
            decision.plan.and_then(|p| p.command).as_deref(),
            Some("userdel -r -f app")
        );
        let decision = User
            .decide(&args(gone), found(None, false))
            .expect("a decision");
        assert!(decision.plan.is_none());
    }

    #[test]
    fn a_new_or_removed_account_is_reported_only_once_it_is_done() {
        let made = User
            .decide(&args(json!({"name": "app"})), found(None, false))
            .expect("a decision");
        assert!(made.result.is_empty(), "check mode reports only changed");
        let plan = made.plan.expect("useradd");
        assert_eq!(plan.reported["name"], "app");
        assert_eq!(plan.reported["create_home"], true);
        let gone = User
            .decide(
                &args(json!({"name": "app", "state": "absent"})),
                found(Some(account()), false),
            )
            .expect("a decision");
        assert!(gone.result.is_empty());
        assert_eq!(gone.plan.expect("userdel").reported["remove"], false);
    }

    #[test]
    fn a_missing_key_is_made_and_an_existing_one_kept() {
        let task = json!({"name": "app", "generate_ssh_key": true});
        let decision = User
            .decide(&args(task.clone()), found(Some(account()), false))
            .expect("a decision");
        assert_eq!(
            decision.plan,
            Some(UserChanges {
                command: None,
                chage: None,
                make_home: false,
                make_key: true,
                reported: Outcome::new(),
            })
        );
        assert_eq!(decision.result["ssh_key_file"], json!(".ssh/id_rsa"));
        let decision = User
            .decide(&args(task), found(Some(account()), true))
            .expect("a decision");
        assert!(decision.plan.is_none());
        let script = args(json!({"name": "app", "ssh_key_bits": 4096})).keygen_script();
        assert!(
            script.contains("ssh-keygen -q -t rsa -b 4096 -N ''"),
            "{script}"
        );
        assert!(
            script.starts_with("[ -e \"$(getent passwd app | cut -d: -f6)/\".ssh/id_rsa ]"),
            "{script}"
        );
    }

    fn group(value: Json) -> GroupArgs {
        from_json(value).expect("valid")
    }

    #[test]
    fn group_commands_follow_the_task() {
        assert_eq!(
            group(json!({"name": "g", "gid": 900, "system": true})).command(None),
            Some("groupadd -g 900 -r g".into())
        );
        assert_eq!(
            group(json!({"name": "g", "gid": 900, "non_unique": true})).command(Some(800)),
            Some("groupmod -g 900 -o g".into())
        );
        assert_eq!(group(json!({"name": "g"})).command(Some(800)), None);
        assert_eq!(
            group(json!({"name": "g", "state": "absent", "force": true})).command(Some(800)),
            Some("groupdel -f g".into())
        );
        let decision = Group
            .decide(&group(json!({"name": "g"})), Some(800))
            .expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["gid"], json!(800));
        assert_eq!(decision.result["system"], json!(false));
        assert_eq!(group_gid("g:x:800:\n"), Some(800));
    }
}
