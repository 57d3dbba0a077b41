//! `service`: starts, stops and enables services whatever the init, on the contract.
//! Like Ansible's action, it hands the task to `systemd_service` where systemd runs as
//! PID 1 (found by the same query round trip, without facts), and otherwise drives
//! the init script (`/etc/init.d/NAME` or the `service` command) itself, with a second
//! query. As for `systemd_service`, `daemon_reload` and `daemon_reexec` run in
//! [`StateModule::prepare_and_query`], outside check mode only.

pub mod sysv;

use async_trait::async_trait;

use super::contract::{Decision, StateModule};
use super::systemd_service::{Scope, Step, UnitFacts, UnitRequest, Wanted};
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::Command;
use sysv::{SysvDecision, SysvFacts, SysvRequest};

arg_enum! {
    /// What the service should be doing.
    pub enum ServiceState {
        Reloaded = "reloaded",
        Restarted = "restarted",
        Started = "started",
        Stopped = "stopped",
    }
}

module_args! {
    /// Ansible's `service` arguments, plus the systemd ones bosun passes on.
    pub struct ServiceArgs {
        /// The service's name.
        name: String => .required().aliases(&["service"]),
        state: Option<ServiceState>,
        /// Whether the service starts at boot.
        enabled: Option<bool>,
        /// Seconds between stop and start when an init script restarts.
        sleep: Option<i64>,
        /// A string in the process list that means the service runs.
        pattern: Option<String>,
        /// OpenRC's runlevel: warned about on systemd, unused by init scripts.
        runlevel: Option<String>,
        /// Extra arguments for the init script.
        arguments: Option<String> => .aliases(&["args"]),
        /// `auto`, `systemd`, `sysvinit` or `service`.
        r#use: String => .default_str("auto"),
        /// Whether the unit is masked (systemd only).
        masked: Option<bool>,
        /// Whether to run `daemon-reload` first (systemd only).
        daemon_reload: bool => .default_bool(false) .aliases(&["daemon-reload"]),
        /// Whether to run `daemon-reexec` first (systemd only).
        daemon_reexec: bool => .default_bool(false) .aliases(&["daemon-reexec"]),
        /// The systemd manager to talk to.
        scope: Scope => .default_str("system"),
    }
    rules: Rules { required_one_of: &[&["state", "enabled"]], ..Rules::NONE };
}

impl ServiceArgs {
    /// The task as `systemd_service` reads it.
    fn unit_request(&self) -> UnitRequest {
        UnitRequest {
            unit: Some(self.name.clone()),
            wanted: Wanted {
                state: self.state.map(|s| s.as_str().to_string()),
                enabled: self.enabled,
                masked: self.masked,
                system_scope: self.scope == Scope::System,
            },
            reload: self.daemon_reload,
            reexec: self.daemon_reexec,
            scope: self.scope.as_str().to_string(),
            no_block: false,
            force: false,
        }
    }

    /// The task as the init script path reads it.
    fn sysv_request(&self) -> SysvRequest {
        SysvRequest {
            name: self.name.clone(),
            state: self.state.map(|s| s.as_str().to_string()),
            enabled: self.enabled,
            pattern: self.pattern.clone(),
            sleep: self.sleep,
            arguments: self.arguments.clone(),
        }
    }

    /// The warnings for init-script options given to a systemd host (Ansible's
    /// service action drops them, with a warning).
    fn ignored_by_systemd(&self) -> Vec<String> {
        [
            ("sleep", self.sleep.is_some()),
            ("pattern", self.pattern.is_some()),
            ("runlevel", self.runlevel.is_some()),
            ("arguments", self.arguments.is_some()),
        ]
        .into_iter()
        .filter(|(_, given)| *given)
        .map(|(name, _)| format!("Ignoring \"{name}\" as it is not used in \"systemd\""))
        .collect()
    }

    /// Refuses the systemd-only options where there is no systemd.
    fn check_sysv(&self) -> Result<(), String> {
        let systemd_only = [
            ("masked", self.masked == Some(true)),
            ("daemon_reload", self.daemon_reload),
            ("daemon_reexec", self.daemon_reexec),
        ];
        match systemd_only.into_iter().find(|(_, set)| *set) {
            Some((name, _)) => Err(format!(
                "{name} needs systemd, which does not run on this host"
            )),
            None => Ok(()),
        }
    }
}

/// `service`: manages services with systemd or init scripts.
pub struct Service;

/// What the query found: the systemd unit, or the init script's service.
#[derive(Debug)]
pub enum Found {
    /// systemd runs (or `use: systemd`): `systemd_service`'s answer.
    Systemd(UnitFacts),
    /// No systemd: the init script's answer.
    Sysv(SysvFacts),
}

/// What must change, on the path the query took.
#[derive(Debug)]
pub enum Plan {
    /// `systemctl` verbs.
    Systemd(Vec<Step>),
    /// Init script and `update-rc.d` commands.
    Sysv(SysvDecision),
}

impl Service {
    /// The systemd query (daemon-reload first when `prepare`), then the init script's
    /// when systemd does not run and `use` allows it.
    async fn look(
        &self,
        on: &Target<'_>,
        args: &ServiceArgs,
        prepare: bool,
    ) -> Result<Found, ModuleError> {
        match args.r#use.as_str() {
            "auto" | "systemd" => {
                let facts = args.unit_request().query(on, prepare).await?;
                if facts.booted || args.r#use == "systemd" {
                    return Ok(Found::Systemd(facts));
                }
                look_sysv(on, args).await
            }
            "sysvinit" | "service" => look_sysv(on, args).await,
            other => Err(ModuleError::Failed(format!(
                "service: use={other} is not supported yet (auto, systemd and sysvinit are)"
            ))),
        }
    }
}

#[async_trait]
impl StateModule for Service {
    const NAME: &'static str = "service";
    type Args = ServiceArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &ServiceArgs) -> Result<Found, ModuleError> {
        self.look(on, args, false).await
    }

    async fn prepare_and_query(
        &self,
        on: &Target<'_>,
        args: &ServiceArgs,
    ) -> Result<Found, ModuleError> {
        self.look(on, args, true).await
    }

    fn decide(&self, args: &ServiceArgs, found: Found) -> Result<Decision<Plan>, String> {
        match found {
            Found::Systemd(facts) => {
                let decision = args
                    .unit_request()
                    .decide(&facts, args.ignored_by_systemd())?;
                Ok(decision.map(Plan::Systemd))
            }
            Found::Sysv(facts) => {
                let request = args.sysv_request();
                let steps = request.decide(&facts)?;
                let mut decision =
                    Decision::maybe(Some(steps).filter(|d| !d.steps.is_empty()).map(Plan::Sysv));
                decision.result = request.result();
                Ok(decision)
            }
        }
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &ServiceArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        match plan {
            Plan::Systemd(steps) => args.unit_request().apply(on, &steps).await?,
            Plan::Sysv(decision) => {
                let out = on
                    .conn
                    .exec(&Command::new(sysv::apply_script(&decision)))
                    .await?;
                if let Some(msg) = sysv::apply_failure(&args.name, &out.stdout_text()) {
                    return Err(ModuleError::Failed(msg));
                }
            }
        }
        Ok(Outcome::new())
    }
}

/// The init script's query, after refusing the systemd-only options.
async fn look_sysv(on: &Target<'_>, args: &ServiceArgs) -> Result<Found, ModuleError> {
    args.check_sysv().map_err(ModuleError::Failed)?;
    let script = args.sysv_request().query_script();
    let out = on.conn.exec(&Command::new(script)).await?;
    Ok(Found::Sysv(SysvFacts::parse(&out.stdout_text())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::json;

    fn args(value: serde_json::Value) -> Result<ServiceArgs, String> {
        from_json(value)
    }

    #[test]
    fn state_or_enabled_is_required() {
        assert_eq!(
            args(json!({"name": "cron"})).err().as_deref(),
            Some("one of the following is required: state, enabled")
        );
        let typed = args(json!({"name": "cron", "state": "started", "sleep": 2, "args": "-x"}))
            .expect("valid");
        assert_eq!(
            typed.ignored_by_systemd(),
            [
                "Ignoring \"sleep\" as it is not used in \"systemd\"",
                "Ignoring \"arguments\" as it is not used in \"systemd\""
            ]
        );
        assert_eq!(typed.r#use, "auto");
    }

    #[test]
    fn the_task_reaches_both_paths() {
        let typed = args(json!({"name": "cron", "enabled": true, "masked": true})).expect("valid");
        let unit = typed.unit_request();
        assert_eq!(unit.unit.as_deref(), Some("cron"));
        assert_eq!(unit.wanted.masked, Some(true));
        assert!(unit.wanted.system_scope);
        assert_eq!(
            typed.check_sysv(),
            Err("masked needs systemd, which does not run on this host".into())
        );
        let sysv = typed.sysv_request();
        assert_eq!(sysv.enabled, Some(true));
        assert_eq!(sysv.state, None);
    }

    /// systemd's answer for a unit `show` describes.
    fn unit(show: &str, enabled: &str, rc: i32) -> Found {
        Found::Systemd(UnitFacts {
            booted: true,
            show: Some(crate::modules::systemd_service::Ran {
                rc: 0,
                output: show.into(),
            }),
            is_enabled: Some(crate::modules::systemd_service::Ran {
                rc,
                output: enabled.into(),
            }),
            ..UnitFacts::default()
        })
    }

    /// The init script's answer.
    fn script(running: bool, enabled: bool) -> Found {
        Found::Sysv(SysvFacts {
            control: "/etc/init.d/cron".into(),
            running,
            enabled,
            update_rc_d: true,
        })
    }

    fn decide(task: serde_json::Value, found: Found) -> Decision<Plan> {
        let mut task = task;
        task["name"] = json!("cron");
        Service
            .decide(&args(task).expect("valid"), found)
            .expect("a decision")
    }

    /// The verbs planned, on either path.
    fn verbs(decision: &Decision<Plan>) -> Vec<String> {
        match &decision.plan {
            None => Vec::new(),
            Some(Plan::Systemd(steps)) => steps.iter().map(|s| s.verb.to_string()).collect(),
            Some(Plan::Sysv(d)) => d.steps.iter().map(|(verb, _)| verb.clone()).collect(),
        }
    }

    const STOPPED: &str = "Id=cron.service\nLoadState=loaded\nActiveState=inactive";
    const RUNNING: &str = "Id=cron.service\nLoadState=loaded\nActiveState=active";

    #[test]
    fn each_state_moves_the_service_on_both_paths() {
        // (state, running, systemd's verbs, the init script's verbs): an init script
        // restarts what does not run, as Ansible's service module does.
        let cases: &[(&str, bool, &[&str], &[&str])] = &[
            ("started", false, &["start"], &["start"]),
            ("started", true, &[], &[]),
            ("stopped", true, &["stop"], &["stop"]),
            ("stopped", false, &[], &[]),
            ("restarted", true, &["restart"], &["restart"]),
            ("restarted", false, &["start"], &["restart"]),
            ("reloaded", true, &["reload"], &["reload"]),
            ("reloaded", false, &["start"], &["start"]),
        ];
        for (state, running, on_systemd, on_sysv) in cases {
            let show = if *running { RUNNING } else { STOPPED };
            for (found, steps) in [
                (unit(show, "enabled", 0), on_systemd),
                (script(*running, true), on_sysv),
            ] {
                let path = format!("{found:?}");
                let d = decide(json!({"state": state}), found);
                assert_eq!(verbs(&d), *steps, "{state}, running {running}: {path}");
                assert_eq!(d.result["name"], json!("cron"));
                assert!(d.result.get("state").is_some());
                assert!(d.result.get("enabled").is_none());
            }
        }
        let d = decide(json!({"state": "started"}), unit(STOPPED, "enabled", 0));
        assert_eq!(d.result["status"]["ActiveState"], json!("inactive"));
        let d = decide(json!({"state": "started"}), script(false, true));
        assert!(
            d.result.get("status").is_none(),
            "init scripts have no status"
        );
    }

    #[test]
    fn enabled_and_masked_on_both_paths() {
        let d = decide(json!({"enabled": true}), unit(RUNNING, "disabled", 1));
        assert_eq!(verbs(&d), ["enable"]);
        assert_eq!(d.result["enabled"], json!(true));
        let d = decide(json!({"enabled": true}), unit(RUNNING, "enabled", 0));
        assert!(d.plan.is_none());
        let d = decide(json!({"enabled": false}), script(true, true));
        assert_eq!(verbs(&d), ["disable"]);
        let d = decide(json!({"enabled": true}), script(true, true));
        assert!(d.plan.is_none());
        assert_eq!(d.result["enabled"], json!(true));
        let d = decide(
            json!({"enabled": false, "masked": true}),
            unit(RUNNING, "enabled", 0),
        );
        assert_eq!(verbs(&d), ["mask"], "a masked unit is not enabled");
    }

    #[test]
    fn init_script_options_are_warned_about_on_systemd() {
        let d = decide(
            json!({"state": "started", "pattern": "cron -f"}),
            unit(RUNNING, "enabled", 0),
        );
        assert!(d.plan.is_none());
        assert_eq!(
            d.result["warnings"],
            json!(["Ignoring \"pattern\" as it is not used in \"systemd\""])
        );
    }
}
