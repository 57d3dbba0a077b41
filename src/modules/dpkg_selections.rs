//! `dpkg_selections`: a package's dpkg selection (`install`, `hold`, `deinstall`,
//! `purge`), read with `dpkg --get-selections` and set with `dpkg --set-selections`,
//! as Ansible's module does.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::contract::{Decision, StateModule};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

arg_enum! {
    /// The selections dpkg knows.
    pub enum Selection {
        Install = "install",
        Hold = "hold",
        Deinstall = "deinstall",
        Purge = "purge",
    }
}

module_args! {
    /// `dpkg_selections`' arguments.
    pub struct DpkgSelectionsArgs {
        /// The package.
        name: String => .required(),
        /// The selection to set.
        selection: Selection => .required(),
    }
}

/// Sets dpkg selections.
pub struct DpkgSelections;

/// The C locale dpkg speaks in, so its messages can be read.
const C_LOCALE: &str = "LANG=C LC_ALL=C LC_MESSAGES=C LC_CTYPE=C LANGUAGE=C";

#[async_trait]
impl StateModule for DpkgSelections {
    const NAME: &'static str = "dpkg_selections";
    type Args = DpkgSelectionsArgs;
    /// The current selection, `not present` when dpkg has none.
    type State = String;
    /// The selection to set.
    type Plan = String;

    async fn query(&self, on: &Target<'_>, args: &Self::Args) -> Result<String, ModuleError> {
        let out = on
            .conn
            .exec(&Command::new(format!(
                "{C_LOCALE} dpkg --get-selections {}",
                quote(&args.name)
            )))
            .await?;
        let stderr = out.stderr_text();
        if stderr.contains("no packages found matching") {
            return Err(ModuleError::Failed(format!(
                "Failed to find package '{}' to perform selection '{}'.",
                args.name,
                args.selection.as_str()
            )));
        }
        if out.rc != 0 {
            return Err(ModuleError::Failed(stderr.trim().to_string()));
        }
        Ok(current_selection(&out.stdout_text()))
    }

    fn decide(&self, args: &Self::Args, current: String) -> Result<Decision<String>, String> {
        let wanted = args.selection.as_str().to_string();
        let decision = match current == wanted {
            true => Decision::unchanged(),
            false => Decision::change(wanted.clone()),
        };
        Ok(decision.with("before", current).with("after", wanted))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &Self::Args,
        selection: String,
    ) -> Result<Outcome, ModuleError> {
        let mut command = Command::new(format!("{C_LOCALE} dpkg --set-selections"));
        command.stdin = Some(format!("{} {selection}", args.name).into_bytes());
        if !on.conn.takes_stdin() {
            command = Command::new(format!(
                "printf '%s\\n' {} | {C_LOCALE} dpkg --set-selections",
                quote(&format!("{} {selection}", args.name))
            ));
        }
        let out = on.conn.exec(&command).await?;
        if out.rc != 0 {
            let mut failed = super::failed(out.stderr_text().trim().to_string());
            failed.insert("rc".into(), Json::from(out.rc));
            return Err(ModuleError::FailedWith(failed));
        }
        Ok(Outcome::new())
    }
}

/// The selection in `dpkg --get-selections` output (`name<TAB>hold`).
fn current_selection(stdout: &str) -> String {
    stdout
        .split_whitespace()
        .nth(1)
        .unwrap_or("not present")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::json;

    fn args(selection: &str) -> DpkgSelectionsArgs {
        from_json(json!({"name": "tree", "selection": selection})).expect("valid")
    }

    #[test]
    fn a_different_selection_is_set_and_the_same_is_left() {
        let decision = DpkgSelections
            .decide(&args("hold"), current_selection("tree\t\t\t\t\tinstall\n"))
            .expect("decided");
        assert_eq!(decision.plan.as_deref(), Some("hold"));
        assert_eq!(decision.result["before"], "install");
        assert_eq!(decision.result["after"], "hold");
        let decision = DpkgSelections
            .decide(&args("hold"), current_selection("tree hold\n"))
            .expect("decided");
        assert!(decision.plan.is_none());
        let decision = DpkgSelections
            .decide(&args("install"), current_selection(""))
            .expect("decided");
        assert_eq!(decision.result["before"], "not present");
    }

    #[test]
    fn the_selection_must_be_one_dpkg_knows() {
        let err = from_json::<DpkgSelectionsArgs>(json!({"name": "x", "selection": "keep"}))
            .expect_err("bad choice");
        assert!(err.contains("install, hold, deinstall, purge"), "{err}");
    }
}
