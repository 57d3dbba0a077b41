//! `locale_gen` (community.general) with glibc's mechanism: the locales are looked up
//! in `/usr/share/i18n/SUPPORTED` and `locale -a`, enabled or commented out in
//! `/etc/locale.gen`, then `locale-gen` runs, as Ansible's module does.

use super::contract::{Decision, StateModule};
use super::fileops::Attributes;
use super::textfile::{self, Codec, SavePlan, TextFile};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use async_trait::async_trait;

/// `locale_gen`: creates or removes locales.
pub struct LocaleGen;

arg_enum! {
    /// Whether the locales should be generated.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

module_args! {
    /// `locale_gen`'s arguments.
    pub struct LocaleGenArgs {
        /// The locales with their encoding (`de_CH.UTF-8`).
        name: Vec<String> => .required(),
        state: State => .default_str("present"),
    }
}

/// The file glibc's `locale-gen` reads.
const LOCALE_GEN: &str = "/etc/locale.gen";

/// Separates the sections the query prints after the file.
const SUPPORTED_MARK: &str = "@@supported";
const LOCALES_MARK: &str = "@@locales";

/// What the query found.
pub struct Found {
    /// `/etc/locale.gen` (missing: not the glibc mechanism).
    file: TextFile,
    /// Whether `/var/lib/locales/supported.d` exists (Ubuntu's old mechanism).
    legacy: bool,
    /// `/usr/share/i18n/SUPPORTED`.
    supported: String,
    /// `locale -a`, or its failure.
    locales: Result<String, String>,
}

/// `/etc/locale.gen` rewritten, then `locale-gen`.
#[derive(Debug)]
pub struct Plan(SavePlan);

/// How `locale -a` may spell an encoding, and how Ansible's module compares it.
const NORMALIZATION: [(&str, &str); 10] = [
    (".utf8", ".UTF-8"),
    (".eucjp", ".EUC-JP"),
    (".iso885915", ".ISO-8859-15"),
    (".cp1251", ".CP1251"),
    (".koi8r", ".KOI8-R"),
    (".armscii8", ".ARMSCII-8"),
    (".euckr", ".EUC-KR"),
    (".gbk", ".GBK"),
    (".gb18030", ".GB18030"),
    (".euctw", ".EUC-TW"),
];

/// Ansible's `fix_case`.
fn fix_case(name: &str) -> String {
    NORMALIZATION
        .iter()
        .fold(name.to_string(), |name, (from, to)| name.replace(from, to))
}

/// The names `locale -a` does not list.
fn not_generated<'n>(names: &'n [String], listed: &str) -> Vec<&'n str> {
    names
        .iter()
        .filter(|name| !listed.lines().any(|l| fix_case(l) == fix_case(name)))
        .map(String::as_str)
        .collect()
}

/// The locale of a `SUPPORTED` line, as `^\s*#?\s*(\S+[\._\S]+) (\S+)\s*$` reads it.
fn supported_locale(line: &str) -> Option<&str> {
    let rest = line.trim_start();
    let rest = rest.strip_prefix('#').unwrap_or(rest).trim_start();
    let (locale, charset) = rest.split_once(' ')?;
    let charset = charset.trim_end();
    let valid = locale.chars().count() >= 2
        && !locale.contains(char::is_whitespace)
        && !charset.is_empty()
        && !charset.contains(char::is_whitespace);
    valid.then_some(locale)
}

/// Ansible's `set_locale_glibc`: each line `#?\s*NAME charset` becomes `NAME charset`
/// (or `# NAME charset`).
fn set_locales(text: &str, names: &[String], enabled: bool) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut line = line.to_string();
        for name in names {
            let rest = line.strip_prefix('#').unwrap_or(&line);
            let rest = rest.trim_start();
            let Some(charset) = rest
                .strip_prefix(name.as_str())
                .and_then(|r| r.strip_prefix(' '))
            else {
                continue;
            };
            let (charset, end) = match charset.find('\n') {
                Some(at) => charset.split_at(at),
                None => (charset, ""),
            };
            if charset.is_empty() {
                continue;
            }
            let hash = if enabled { "" } else { "# " };
            line = format!("{hash}{name} {charset}{end}");
        }
        out.push_str(&line);
    }
    out
}

#[async_trait]
impl StateModule for LocaleGen {
    const NAME: &'static str = "locale_gen";
    type Args = LocaleGenArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, _: &LocaleGenArgs) -> Result<Found, ModuleError> {
        let probe = format!(
            "[ -e /var/lib/locales/supported.d ] && echo legacy; echo {SUPPORTED_MARK}; \
             cat /usr/share/i18n/SUPPORTED 2>/dev/null; echo {LOCALES_MARK}; \
             out=$(locale -a 2>&1) && printf '0\\n%s\\n' \"$out\" || printf '1\\n%s\\n' \"$out\""
        );
        let (file, probed) = textfile::read_with(on, LOCALE_GEN, Codec::Utf8, Some(&probe)).await?;
        let (head, rest) = probed
            .split_once(&format!("{SUPPORTED_MARK}\n"))
            .unwrap_or(("", ""));
        let (supported, locales) = rest
            .split_once(&format!("{LOCALES_MARK}\n"))
            .unwrap_or((rest, ""));
        let locales = match locales.split_once('\n') {
            Some(("0", listed)) => Ok(listed.to_string()),
            Some((_, error)) => Err(error.trim_end().to_string()),
            None => Err(locales.trim_end().to_string()),
        };
        Ok(Found {
            file,
            legacy: head.lines().any(|l| l == "legacy"),
            supported: supported.to_string(),
            locales,
        })
    }

    fn decide(&self, args: &LocaleGenArgs, found: Found) -> Result<Decision<Plan>, String> {
        let Some(text) = &found.file.text else {
            return Err(match found.legacy {
                true => "bosun manages locales with /etc/locale.gen (glibc) only, not Ubuntu's deprecated /var/lib/locales/supported.d".into(),
                false => "/var/lib/locales/supported.d and /etc/locale.gen are missing. Is the package \"locales\" installed?".into(),
            });
        };
        let listed = found.locales.clone()?;
        let unknown: Vec<String> = args
            .name
            .iter()
            .filter(|name| {
                !found
                    .supported
                    .lines()
                    .any(|l| supported_locale(l) == Some(name.as_str()))
            })
            .cloned()
            .collect();
        let unknown = not_generated(&unknown, &listed);
        if !unknown.is_empty() {
            return Err(format!(
                "The following locales you have entered are not available on your system: {}",
                unknown.join(", ")
            ));
        }
        let present = not_generated(&args.name, &listed).is_empty();
        let wanted = args.state == State::Present;
        let plan = match present == wanted {
            true => None,
            false => {
                let after = set_locales(text, &args.name, wanted);
                let changed = after != *text;
                Some(Plan(textfile::plan_save(
                    &found.file,
                    &Attributes::default(),
                    &after,
                    changed,
                    "",
                )?))
            }
        };
        Ok(Decision::maybe(plan)
            .with("name", args.name.clone())
            .with("mechanism", "glibc")
            .with("ubuntu_mode", false))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        _: &LocaleGenArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        textfile::apply_save(on, &plan.0, None, false).await?;
        super::run::checked(on, &["locale-gen".to_string()], false).await?;
        Ok(Outcome::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value as Json, json};

    const GEN: &str = "# de_CH ISO-8859-1\n# de_CH.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n";
    const SUPPORTED: &str = "de_CH.UTF-8 UTF-8\nde_CH ISO-8859-1\nen_US.UTF-8 UTF-8\n";

    fn decide(args: Json, listed: &str) -> Result<Decision<Plan>, String> {
        let args: LocaleGenArgs = crate::modules::typed::from_json(args)?;
        let found = Found {
            file: TextFile::found(LOCALE_GEN, Some(GEN)),
            legacy: false,
            supported: SUPPORTED.into(),
            locales: Ok(listed.into()),
        };
        LocaleGen.decide(&args, found)
    }

    #[test]
    fn locale_gen_lines_are_enabled_and_commented_out() {
        let names = ["de_CH.UTF-8".to_string()];
        assert_eq!(
            set_locales(GEN, &names, true),
            "# de_CH ISO-8859-1\nde_CH.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n"
        );
        assert_eq!(
            set_locales(GEN, &["en_US.UTF-8".to_string()], false),
            "# de_CH ISO-8859-1\n# de_CH.UTF-8 UTF-8\n# en_US.UTF-8 UTF-8\n"
        );
        assert_eq!(
            supported_locale("#  de_CH.UTF-8 UTF-8"),
            Some("de_CH.UTF-8")
        );
        assert_eq!(supported_locale("de_CH.UTF-8  UTF-8"), None);
        assert_eq!(fix_case("de_CH.utf8"), "de_CH.UTF-8");
    }

    #[test]
    fn a_locale_generated_already_changes_nothing() {
        let decision = decide(
            json!({"name": ["en_US.UTF-8", "C.UTF-8"]}),
            "C\nC.utf8\nen_US.utf8\n",
        )
        .expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["mechanism"], "glibc");
    }

    #[test]
    fn a_missing_locale_is_generated_and_absent_needs_all_present() {
        assert!(
            decide(json!({"name": "de_CH.UTF-8"}), "C\n")
                .expect("a decision")
                .plan
                .is_some()
        );
        let args = json!({"name": ["de_CH.UTF-8", "en_US.UTF-8"], "state": "absent"});
        assert!(
            decide(args, "en_US.utf8\n")
                .expect("a decision")
                .plan
                .is_none(),
            "Ansible counts the set as absent unless every locale is there"
        );
        let args = json!({"name": ["en_US.UTF-8"], "state": "absent"});
        assert!(
            decide(args, "en_US.utf8\n")
                .expect("a decision")
                .plan
                .is_some()
        );
    }

    #[test]
    fn unknown_locales_fail() {
        let err = decide(json!({"name": ["xx_YY.UTF-8", "de_CH.UTF-8"]}), "C\n").err();
        assert_eq!(
            err.as_deref(),
            Some(
                "The following locales you have entered are not available on your system: xx_YY.UTF-8"
            )
        );
    }
}
