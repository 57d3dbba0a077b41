//! The module contract: a module that manages state on a target is typed arguments
//! plus three steps. `query` asks the target for its current state (one round trip),
//! `decide` is pure (arguments and state in, the changes and the diff out, unit-tested
//! without a connection) and `apply` makes the changes. The [`Driven`] driver owns
//! everything around them: typing the arguments, check mode, diff mode, `changed` and
//! the shape of the result, so no module decides those on its own.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::typed::TypedArgs;
use super::{Args, FreeForm, Module, ModuleContext, ModuleError, Outcome, Param, Target};
use crate::connection::{Command, Recorder};

/// What a module decided from its arguments and the target's state.
#[derive(Debug)]
pub struct Decision<P> {
    /// The changes to make; `None` when the target is already as wanted.
    pub plan: Option<P>,
    /// Before and after, shown with `--diff`.
    pub diff: Option<Json>,
    /// Result keys reported whether or not anything changes (`path`, `state` ...).
    pub result: Outcome,
}

impl<P> Decision<P> {
    /// Nothing to change.
    pub fn unchanged() -> Decision<P> {
        Decision {
            plan: None,
            diff: None,
            result: Outcome::new(),
        }
    }

    /// `plan` must be applied.
    pub fn change(plan: P) -> Decision<P> {
        Decision {
            plan: Some(plan),
            diff: None,
            result: Outcome::new(),
        }
    }

    /// Changes `plan` when it is `Some`, nothing otherwise.
    pub fn maybe(plan: Option<P>) -> Decision<P> {
        Decision {
            plan,
            diff: None,
            result: Outcome::new(),
        }
    }

    /// The same decision with `diff` shown under `--diff`.
    pub fn with_diff(mut self, diff: Json) -> Decision<P> {
        self.diff = Some(diff);
        self
    }

    /// The same decision with its plan made into another (a module with two paths
    /// wraps each path's plan).
    pub fn map<Q>(self, wrap: impl FnOnce(P) -> Q) -> Decision<Q> {
        Decision {
            plan: self.plan.map(wrap),
            diff: self.diff,
            result: self.result,
        }
    }

    /// The same decision with `key` reported in the result.
    pub fn with(mut self, key: &str, value: impl Into<Json>) -> Decision<P> {
        self.result.insert(key.to_string(), value.into());
        self
    }
}

/// A module that brings a target to a wanted state: `query`, pure `decide`, `apply`.
/// Register it as `&Driven(MyModule)`; actions that cannot have this shape (`command`,
/// `shell`, `raw`, `debug` ...) implement [`Module`] themselves and say why.
#[async_trait]
pub trait StateModule: Send + Sync {
    /// The module's short name (`sysctl`).
    const NAME: &'static str;
    /// The module's arguments.
    type Args: TypedArgs;
    /// What `query` finds on the target.
    type State: Send;
    /// The changes `decide` chooses and `apply` makes.
    type Plan: Send;
    /// Whether a loop may ask for its items' destinations ahead ([`super::prefetch`]).
    const INSTALLS_AT_DEST: bool = false;
    /// Whether a loop may ask each item's first question ahead, in one round trip with
    /// the others' ([`crate::connection::Answers`]): true when that question only reads
    /// (as `query` does by this contract) and `prepare_and_query` does nothing first that
    /// another item's question would need to see.
    const ASKS_AHEAD: bool = true;

    /// Reads the target's current state.
    async fn query(&self, on: &Target<'_>, args: &Self::Args) -> Result<Self::State, ModuleError>;

    /// Does first what Ansible does before it looks, never reports as a change and
    /// skips in check mode (systemd's `daemon-reload`, so that a unit file an earlier
    /// task wrote is found), then reads the state as [`StateModule::query`] does, in
    /// the same round trip. The driver calls it outside check mode and `query` in
    /// check mode; a module with nothing to do first keeps this default.
    async fn prepare_and_query(
        &self,
        on: &Target<'_>,
        args: &Self::Args,
    ) -> Result<Self::State, ModuleError> {
        self.query(on, args).await
    }

    /// Chooses the changes that bring `state` to what `args` want.
    fn decide(&self, args: &Self::Args, state: Self::State)
    -> Result<Decision<Self::Plan>, String>;

    /// Makes the changes; the keys it returns are added to the decision's result.
    async fn apply(
        &self,
        on: &Target<'_>,
        args: &Self::Args,
        plan: Self::Plan,
    ) -> Result<Outcome, ModuleError>;
}

/// The driver: runs a [`StateModule`] as a [`Module`], owning check and diff mode.
pub struct Driven<M>(pub M);

#[async_trait]
impl<M: StateModule> Module for Driven<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }

    fn params(&self) -> &'static [Param] {
        M::Args::PARAMS
    }

    fn takes_file_attributes(&self) -> bool {
        M::Args::FILE_ATTRIBUTES
    }

    fn free_form(&self) -> FreeForm {
        FreeForm::KeyValue
    }

    fn installs_at_dest(&self) -> bool {
        M::INSTALLS_AT_DEST
    }

    async fn first_question(&self, ctx: &ModuleContext<'_>, args: &Args) -> Option<Command> {
        if !M::ASKS_AHEAD {
            return None;
        }
        let typed = M::Args::from_args(args).ok()?;
        let recorder = Recorder::new(ctx.conn);
        let on = Target {
            conn: &recorder,
            ..ctx.target
        };
        // The recorder fails the question it keeps, so the query ends there.
        let _ = match ctx.check_mode {
            true => self.0.query(&on, &typed).await,
            false => self.0.prepare_and_query(&on, &typed).await,
        };
        recorder.first()
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let typed = M::Args::from_args(args).map_err(ModuleError::Failed)?;
        let state = match ctx.check_mode {
            true => self.0.query(ctx, &typed).await?,
            false => self.0.prepare_and_query(ctx, &typed).await?,
        };
        let decision = self.0.decide(&typed, state).map_err(ModuleError::Failed)?;
        let mut result = decision.result;
        result.insert("changed".into(), Json::Bool(decision.plan.is_some()));
        if let (true, Some(diff)) = (ctx.diff_mode, decision.diff) {
            result.insert("diff".into(), diff);
        }
        let Some(plan) = decision.plan.filter(|_| !ctx.check_mode) else {
            return Ok(result);
        };
        result.extend(self.0.apply(ctx, &typed, plan).await?);
        Ok(result)
    }
}

/// A module known under a second name as well (Ansible's `systemd` is
/// `systemd_service`): everything but the name is the module's.
pub struct Alias<M>(pub &'static str, pub M);

#[async_trait]
impl<M: Module> Module for Alias<M> {
    fn name(&self) -> &'static str {
        self.0
    }

    fn params(&self) -> &'static [Param] {
        self.1.params()
    }

    fn takes_file_attributes(&self) -> bool {
        self.1.takes_file_attributes()
    }

    fn free_form(&self) -> FreeForm {
        self.1.free_form()
    }

    fn supports_check_mode(&self) -> bool {
        self.1.supports_check_mode()
    }

    fn installs_at_dest(&self) -> bool {
        self.1.installs_at_dest()
    }

    async fn first_question(&self, ctx: &ModuleContext<'_>, args: &Args) -> Option<Command> {
        self.1.first_question(ctx, args).await
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        self.1.run(ctx, args).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::LocalConnection;
    use crate::modules::typed::module_args;
    use indexmap::IndexMap;

    module_args! {
        /// Arguments of a module that only says how it looked.
        struct NoArgs {}
    }

    /// Reports, as its plan, whether it looked after preparing or only looked.
    struct Looks;

    #[async_trait]
    impl StateModule for Looks {
        const NAME: &'static str = "looks";
        type Args = NoArgs;
        type State = &'static str;
        type Plan = &'static str;

        async fn query(&self, _: &Target<'_>, _: &NoArgs) -> Result<&'static str, ModuleError> {
            Ok("looked")
        }

        async fn prepare_and_query(
            &self,
            _: &Target<'_>,
            _: &NoArgs,
        ) -> Result<&'static str, ModuleError> {
            Ok("prepared")
        }

        fn decide(
            &self,
            _: &NoArgs,
            state: &'static str,
        ) -> Result<Decision<&'static str>, String> {
            Ok(Decision::unchanged().with("how", state))
        }

        async fn apply(
            &self,
            _: &Target<'_>,
            _: &NoArgs,
            _: &'static str,
        ) -> Result<Outcome, ModuleError> {
            Ok(Outcome::new())
        }
    }

    struct NoVars;

    impl super::super::VarLookup for NoVars {
        fn condition(&self, _: &Json) -> Result<bool, String> {
            Ok(true)
        }

        fn eval(&self, _: &str) -> Result<Option<Json>, String> {
            Ok(None)
        }

        fn find_file(&self, _: &str, _: &str) -> Option<std::path::PathBuf> {
            None
        }

        fn render(
            &self,
            text: &str,
            _: serde_json::Map<String, Json>,
            _: &crate::template::RenderOptions,
        ) -> Result<String, String> {
            Ok(text.to_string())
        }
    }

    #[tokio::test]
    async fn the_driver_prepares_only_outside_check_mode() {
        let conn = LocalConnection;
        for (check_mode, how) in [(false, "prepared"), (true, "looked")] {
            let ctx = ModuleContext {
                target: Target {
                    conn: &conn,
                    host: "localhost",
                    verbosity: 0,
                    vars: &NoVars,
                    prefetched: None,
                    siblings: None,
                },
                check_mode,
                diff_mode: false,
            };
            let args = Args::parse(&[], &IndexMap::new()).expect("no arguments");
            let result = Driven(Looks).run(&ctx, &args).await.expect("a result");
            assert_eq!(result["how"], how, "check mode {check_mode}");
            assert_eq!(result["changed"], false);
        }
    }
}
