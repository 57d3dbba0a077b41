//! `acl` (ansible.posix): one POSIX ACL entry of a file, through the target's
//! `setfacl` and `getfacl` (package `acl`). As Ansible's module, it decides with
//! `setfacl --test` (an entry listed with `*,*` is already as asked) and returns the
//! ACL as `getfacl --omit-header` prints it afterwards.

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::run::{failed, run_tools};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// Manages an ACL entry.
pub struct Acl;

arg_enum! {
    /// What to do with the entry.
    pub enum State {
        Absent = "absent",
        Present = "present",
        Query = "query",
    }
}

arg_enum! {
    /// Whom the entry is for.
    pub enum Etype {
        Group = "group",
        Mask = "mask",
        Other = "other",
        User = "user",
    }
}

arg_enum! {
    /// What `setfacl` does with the mask.
    pub enum Recalculate {
        Default = "default",
        Mask = "mask",
        NoMask = "no_mask",
    }
}

module_args! {
    /// `acl`'s arguments.
    pub struct AclArgs {
        /// The file or directory.
        path: String => .required().aliases(&["name"]),
        /// The whole entry (`[d[efault]:][u[ser]|g[roup]]:qualifier:perms`).
        entry: Option<String>,
        /// The user or group the entry is for.
        entity: String => .default_str(""),
        etype: Option<Etype>,
        /// The permissions (`rwx`).
        permissions: Option<String>,
        state: State => .default_str("query"),
        /// Whether links are followed.
        follow: bool => .default_bool(true),
        /// Whether the entry is a default entry of a directory.
        default: bool => .default_bool(false),
        /// Whether the whole tree is set (`--recursive`).
        recursive: bool => .default_bool(false).aliases(&["recurse"]),
        recalculate_mask: Recalculate => .default_str("default"),
        /// NFSv4 ACLs (`nfs4_setfacl`), which bosun does not drive.
        use_nfsv4_acls: bool => .default_bool(false),
    }
}

/// The entry the task asks for, checked as Ansible checks it.
#[derive(Debug, PartialEq)]
struct Wanted {
    /// `setfacl`'s entry (`user:joe:rwx`; without permissions for `absent`).
    entry: String,
    /// Whether it is a default entry.
    default: bool,
}

/// Ansible's checks of the arguments and the entry they make; `None` for `query`.
fn wanted(args: &AclArgs) -> Result<Option<Wanted>, String> {
    if args.use_nfsv4_acls {
        return Err("use_nfsv4_acls is not supported: bosun drives setfacl and getfacl only, not nfs4_setfacl".into());
    }
    if args.state == State::Query {
        if args.recursive {
            return Err("'recursive' MUST NOT be set when 'state=query'.".into());
        }
        if args.recalculate_mask != Recalculate::Default {
            return Err(
                "'recalculate_mask' MUST NOT be set to 'mask' or 'no_mask' when 'state=query'."
                    .into(),
            );
        }
    }
    let entry = args.entry.as_deref().filter(|e| !e.is_empty());
    let (default, etype, entity, permissions) = match entry {
        None => {
            if args.state == State::Absent
                && args.permissions.as_deref().is_some_and(|p| !p.is_empty())
            {
                return Err("'permissions' MUST NOT be set when 'state=absent'.".into());
            }
            if args.state == State::Absent && args.entity.is_empty() {
                return Err("'entity' MUST be set when 'state=absent'.".into());
            }
            let etype = match (args.state, args.etype) {
                (State::Query, _) => return Ok(None),
                (_, Some(etype)) => etype.as_str().to_string(),
                (state, None) => {
                    return Err(format!(
                        "'etype' MUST be set when 'state={}'.",
                        state.as_str()
                    ));
                }
            };
            (
                args.default,
                etype,
                args.entity.clone(),
                args.permissions.clone(),
            )
        }
        Some(entry) => {
            if args.etype.is_some()
                || !args.entity.is_empty()
                || args.permissions.as_deref().is_some_and(|p| !p.is_empty())
            {
                return Err(
                    "'entry' MUST NOT be set when 'entity', 'etype' or 'permissions' are set."
                        .into(),
                );
            }
            let colons = entry.matches(':').count();
            match args.state {
                State::Present if !(2..=3).contains(&colons) => {
                    return Err(
                        "'entry' MUST have 3 or 4 sections divided by ':' when 'state=present'."
                            .into(),
                    );
                }
                State::Absent if !(1..=2).contains(&colons) => {
                    return Err(
                        "'entry' MUST have 2 or 3 sections divided by ':' when 'state=absent'."
                            .into(),
                    );
                }
                State::Query => return Err("'entry' MUST NOT be set when 'state=query'.".into()),
                _ => {}
            }
            let (default, etype, entity, permissions) = split_entry(entry)?;
            (default.unwrap_or(args.default), etype, entity, permissions)
        }
    };
    let entry = match (args.state, permissions.filter(|p| !p.is_empty())) {
        (State::Present, Some(permissions)) => format!("{etype}:{entity}:{permissions}"),
        _ => format!("{etype}:{entity}"),
    };
    Ok(Some(Wanted { entry, default }))
}

/// Ansible's `split_entry`: the default flag (when the entry starts with `d`), the
/// entry type by its first letter, the qualifier and the permissions.
fn split_entry(entry: &str) -> Result<(Option<bool>, String, String, Option<String>), String> {
    let mut parts: Vec<&str> = entry.split(':').collect();
    let default = entry.to_ascii_lowercase().starts_with('d');
    if default {
        parts.remove(0);
    }
    let (kind, entity, permissions) = match parts.as_slice() {
        [kind, entity] => (*kind, *entity, None),
        [kind, entity, permissions] => (*kind, *entity, Some(permissions.to_string())),
        _ => {
            return Err(format!(
                "'entry' {entry} has too many sections divided by ':'"
            ));
        }
    };
    let etype = match kind.to_ascii_lowercase().chars().next() {
        Some('u') => "user",
        Some('g') => "group",
        Some('m') => "mask",
        Some('o') => "other",
        _ => {
            return Err(format!(
                "'entry' {entry} does not start with u[ser], g[roup], m[ask] or o[ther]"
            ));
        }
    };
    Ok((
        default.then_some(true),
        etype.to_string(),
        entity.to_string(),
        permissions,
    ))
}

/// `setfacl`'s or `getfacl`'s arguments after the program, as Ansible builds them.
fn command_args(args: &AclArgs, default: bool, operation: Option<(&str, &str)>) -> Vec<String> {
    let mut words = Vec::new();
    if default {
        words.push("-d".to_string());
    }
    match operation {
        Some((flag, entry)) => words.extend([flag.to_string(), entry.to_string()]),
        None => words.extend(["--absolute-names".to_string(), "--omit-header".to_string()]),
    }
    if args.recursive {
        words.push("--recursive".into());
    }
    match (operation, args.recalculate_mask) {
        (Some(_), Recalculate::Mask) => words.push("--mask".into()),
        (Some(_), Recalculate::NoMask) => words.push("--no-mask".into()),
        _ => {}
    }
    if !args.follow {
        words.push("--physical".into());
    }
    words.push(args.path.clone());
    words
}

/// The `setfacl` arguments that make the wanted change.
fn set_args(args: &AclArgs, wanted: &Wanted) -> Vec<String> {
    let flag = match args.state {
        State::Absent => "-x",
        _ => "-m",
    };
    command_args(args, wanted.default, Some((flag, &wanted.entry)))
}

/// `words` quoted for the shell, after `program`.
fn shell(program: &str, words: &[String]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| quote(w)).collect();
    format!("{program} {}", quoted.join(" "))
}

/// The ACL lines as Ansible's `run_acl` keeps them: no comments, stripped, one
/// trailing empty line dropped.
fn acl_lines(output: &str) -> Vec<String> {
    let mut lines: Vec<String> = output
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.trim().to_string())
        .collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// What the query found.
#[derive(Debug)]
pub struct Found {
    /// Whether the path exists.
    exists: bool,
    /// What `setfacl --test` printed (present and absent).
    test: Vec<String>,
    /// The ACL now.
    acl: Vec<String>,
}

/// Whether `getfacl` shows the default ACL: the entry's `default:` when it has one.
fn shows_default(args: &AclArgs, wanted: Option<&Wanted>) -> bool {
    wanted.map_or(args.default, |w| w.default)
}

/// Runs `prelude`, then `setfacl` with `set` (failing on its failure when asked),
/// then `getfacl` with `get`, with the tools found first: what `setfacl` printed and
/// the ACL; `None` when the prelude stopped (no path).
async fn run_then_get(
    on: &Target<'_>,
    prelude: &str,
    set: Option<(&[String], bool)>,
    get: &[String],
) -> Result<Option<(String, Vec<String>)>, ModuleError> {
    let mut body = prelude.to_string();
    if let Some((words, checked)) = set {
        body.push_str(&format!("run {}", shell("\"$S\"", words)));
        body.push_str(if checked { " || exit 0; " } else { "; " });
    }
    body.push_str(&format!("run {}", shell("\"$G\"", get)));
    let tools = [("S", "setfacl"), ("G", "getfacl")];
    let (paths, ran) = run_tools(on, &tools, &body).await?;
    let program = |i: usize| paths.get(i).map_or(tools[i].1, String::as_str);
    let (set_ran, get_ran) = match set {
        Some(_) => (ran.first(), ran.get(1)),
        None => (None, ran.first()),
    };
    if ran.is_empty() {
        return Ok(None);
    }
    if let (Some((words, true)), Some(done)) = (set, set_ran)
        && done.rc != 0
    {
        return Err(failed(&shell(program(0), words), done));
    }
    match get_ran {
        Some(acl) if acl.rc == 0 => Ok(Some((
            set_ran.map(|r| r.stdout.clone()).unwrap_or_default(),
            acl_lines(&acl.stdout),
        ))),
        Some(acl) => Err(failed(&shell(program(1), get), acl)),
        None => Err(ModuleError::Failed("getfacl did not run".into())),
    }
}

#[async_trait]
impl StateModule for Acl {
    const NAME: &'static str = "acl";
    type Args = AclArgs;
    type State = Found;
    /// `setfacl`'s arguments.
    type Plan = Vec<String>;

    async fn query(&self, on: &Target<'_>, args: &AclArgs) -> Result<Found, ModuleError> {
        let exists = format!("[ -e {} ] || exit 0; ", quote(&args.path));
        let missing = Found {
            exists: false,
            test: Vec::new(),
            acl: Vec::new(),
        };
        // Invalid arguments fail in `decide`, after the path is known to exist.
        let Ok(wanted) = wanted(args) else {
            let probe = format!("[ -e {} ]", quote(&args.path));
            let out = on.conn.exec(&Command::new(probe)).await?;
            return Ok(Found {
                exists: out.rc == 0,
                ..missing
            });
        };
        let test = wanted.as_ref().map(|w| {
            let mut words = set_args(args, w);
            words.insert(0, "--test".into());
            words
        });
        let get = command_args(args, shows_default(args, wanted.as_ref()), None);
        let set = test.as_deref().map(|words| (words, true));
        Ok(match run_then_get(on, &exists, set, &get).await? {
            Some((tested, acl)) => Found {
                exists: true,
                test: acl_lines(&tested),
                acl,
            },
            None => missing,
        })
    }

    fn decide(&self, args: &AclArgs, found: Found) -> Result<Decision<Vec<String>>, String> {
        if !found.exists {
            return Err("Path not found or not accessible.".into());
        }
        let wanted = wanted(args)?;
        let (changed, msg) = match &wanted {
            None => (false, "current acl".to_string()),
            Some(w) => {
                // An entry setfacl marks `*,*` would not change.
                let changed = !found.test.iter().any(|l| l.ends_with("*,*"));
                let word = if args.state == State::Absent {
                    "absent"
                } else {
                    "present"
                };
                (changed, format!("{} is {word}", w.entry))
            }
        };
        let plan = wanted.filter(|_| changed).map(|w| set_args(args, &w));
        Ok(Decision::maybe(plan)
            .with("msg", msg)
            .with("acl", json!(found.acl)))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &AclArgs,
        set: Vec<String>,
    ) -> Result<Outcome, ModuleError> {
        let wanted = wanted(args).map_err(ModuleError::Failed)?;
        let get = command_args(args, shows_default(args, wanted.as_ref()), None);
        // `absent` ignores setfacl's failure, as Ansible's module does.
        let checked = args.state != State::Absent;
        let (_, acl) = run_then_get(on, "", Some((&set, checked)), &get)
            .await?
            .unwrap_or_default();
        let mut outcome = Outcome::new();
        outcome.insert("acl".into(), json!(acl));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::{Value as Json, json};

    fn args(value: Json) -> AclArgs {
        from_json(value).expect("valid arguments")
    }

    fn found(test: &[&str]) -> Found {
        Found {
            exists: true,
            test: test.iter().map(|l| l.to_string()).collect(),
            acl: vec!["user::rw-".into(), "user:nobody:r--".into()],
        }
    }

    #[test]
    fn entries_are_built_and_split_as_ansible_does() {
        let a = args(
            json!({"path": "/f", "etype": "user", "entity": "joe", "permissions": "rw", "state": "present"}),
        );
        assert_eq!(
            wanted(&a),
            Ok(Some(Wanted {
                entry: "user:joe:rw".into(),
                default: false
            }))
        );
        let a = args(json!({"path": "/d", "entry": "d:g:staff:rx", "state": "present"}));
        assert_eq!(
            wanted(&a),
            Ok(Some(Wanted {
                entry: "group:staff:rx".into(),
                default: true
            }))
        );
        let a = args(json!({"path": "/d", "entry": "user:joe", "state": "absent"}));
        assert_eq!(
            wanted(&a),
            Ok(Some(Wanted {
                entry: "user:joe".into(),
                default: false
            }))
        );
        let a = args(json!({"path": "/f"}));
        assert_eq!(wanted(&a), Ok(None), "query");
    }

    #[test]
    fn bad_combinations_fail_in_ansibles_words() {
        let fails = |value: Json| wanted(&args(value)).expect_err("refused");
        assert_eq!(
            fails(json!({"path": "/f", "state": "absent", "etype": "user"})),
            "'entity' MUST be set when 'state=absent'."
        );
        assert_eq!(
            fails(json!({"path": "/f", "state": "present", "entity": "joe"})),
            "'etype' MUST be set when 'state=present'."
        );
        assert_eq!(
            fails(json!({"path": "/f", "entry": "u:joe:rw", "etype": "user", "state": "present"})),
            "'entry' MUST NOT be set when 'entity', 'etype' or 'permissions' are set."
        );
        assert_eq!(
            fails(json!({"path": "/f", "entry": "u", "state": "present"})),
            "'entry' MUST have 3 or 4 sections divided by ':' when 'state=present'."
        );
        assert_eq!(
            fails(json!({"path": "/f", "recursive": true})),
            "'recursive' MUST NOT be set when 'state=query'."
        );
        assert!(fails(json!({"path": "/f", "use_nfsv4_acls": true})).contains("nfs4_setfacl"));
    }

    #[test]
    fn the_commands_carry_ansibles_flags() {
        let a = args(
            json!({"path": "/d x", "etype": "user", "entity": "joe", "permissions": "rwX", "state": "present", "default": true, "recursive": true, "recalculate_mask": "no_mask", "follow": false}),
        );
        let w = wanted(&a).expect("valid").expect("an entry");
        assert_eq!(
            shell("setfacl", &set_args(&a, &w)),
            "setfacl -d -m user:joe:rwX --recursive --no-mask --physical '/d x'"
        );
        assert_eq!(
            shell("getfacl", &command_args(&a, true, None)),
            "getfacl -d --absolute-names --omit-header --recursive --physical '/d x'"
        );
    }

    #[test]
    fn setfacls_test_output_decides() {
        let present = json!({"path": "/f", "etype": "user", "entity": "nobody", "permissions": "r", "state": "present"});
        let d = Acl
            .decide(
                &args(present.clone()),
                found(&["user::rw-", "user:nobody:r--\t*,*"]),
            )
            .expect("decides");
        assert!(d.plan.is_none());
        assert_eq!(d.result["msg"], "user:nobody:r is present");
        assert_eq!(d.result["acl"], json!(["user::rw-", "user:nobody:r--"]));
        let d = Acl
            .decide(&args(present), found(&["user::rw-", "user:nobody:r--"]))
            .expect("decides");
        assert_eq!(
            d.plan,
            Some(vec!["-m".to_string(), "user:nobody:r".into(), "/f".into()])
        );
        let missing = Found {
            exists: false,
            ..found(&[])
        };
        let err = Acl
            .decide(&args(json!({"path": "/f"})), missing)
            .expect_err("no path");
        assert_eq!(err, "Path not found or not accessible.");
    }

    #[test]
    fn getfacl_output_is_kept_as_ansible_keeps_it() {
        assert_eq!(
            acl_lines("# file: x\nuser::rw-\ngroup::r--\n\n"),
            ["user::rw-", "group::r--"]
        );
    }
}
