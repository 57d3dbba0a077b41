//! `pause`: waits a number of seconds or minutes, or for the person at the terminal.
//!
//! An action on the control node, not a state on the target: it implements [`Module`]
//! directly.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value as Json;

use super::typed::{Rules, TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};

module_args! {
    /// `pause`'s arguments, as Ansible's pause action takes them.
    pub struct PauseArgs {
        /// Minutes to wait (whole minutes, as Ansible's `int`).
        minutes: Option<f64>,
        /// Seconds to wait (whole seconds, at least one).
        seconds: Option<f64>,
        /// The question asked at the terminal.
        prompt: Option<String>,
        /// Whether the answer is shown as it is typed.
        echo: bool => .default_bool(true),
    }
    rules: Rules { mutually_exclusive: &[&["minutes", "seconds"]], ..Rules::NONE };
}

/// Sleeps on the control node, or asks at the terminal when no time is given.
pub struct Pause;

#[async_trait]
impl Module for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }

    fn reports_invocation(&self) -> bool {
        false
    }

    fn params(&self) -> &'static [Param] {
        PauseArgs::PARAMS
    }

    async fn run(&self, _ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = PauseArgs::from_args(args).map_err(ModuleError::Failed)?;
        let (wait, unit) = match (args.minutes, args.seconds) {
            (Some(minutes), _) => (Some((minutes.trunc() * 60.0).max(1.0)), "minutes"),
            (None, Some(seconds)) => (Some(seconds.trunc().max(1.0)), "seconds"),
            (None, None) => (None, "minutes"),
        };
        let start_wall = crate::clock::now_local();
        let started = Instant::now();
        let mut outcome = super::ok(false);
        let mut user_input = String::new();
        match wait {
            Some(seconds) => tokio::time::sleep(Duration::from_secs_f64(seconds)).await,
            None => match ask(&args).await {
                Some(answer) => user_input = answer,
                None => {
                    outcome.insert(
                        "warnings".into(),
                        Json::from(vec![
                            "Not waiting for response to prompt as stdin is not interactive",
                        ]),
                    );
                }
            },
        }
        let elapsed = started.elapsed().as_secs_f64();
        let shown = match unit {
            "minutes" => elapsed / 60.0,
            _ => elapsed,
        };
        outcome.insert("rc".into(), Json::from(0));
        outcome.insert("stderr".into(), Json::from(""));
        outcome.insert("start".into(), Json::String(start_wall));
        outcome.insert("stop".into(), Json::String(crate::clock::now_local()));
        outcome.insert("delta".into(), Json::from(elapsed as i64));
        outcome.insert("echo".into(), Json::Bool(args.echo));
        outcome.insert("user_input".into(), Json::String(user_input));
        outcome.insert(
            "stdout".into(),
            Json::String(format!("Paused for {} {unit}", python_round(shown))),
        );
        Ok(outcome)
    }
}

/// Asks the prompt at the terminal; `None` when standard input is not one.
async fn ask(args: &PauseArgs) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let hidden = if args.echo { "" } else { " (output is hidden)" };
    let question = args
        .prompt
        .clone()
        .unwrap_or_else(|| "Press enter to continue, Ctrl+C to interrupt".into());
    let prompt = format!("{question}{hidden}:");
    let echo = args.echo;
    tokio::task::spawn_blocking(move || crate::connection::prompt::answer(&prompt, echo))
        .await
        .ok()
        .flatten()
}

/// `round(value, 2)` printed as Python prints a float (`1.0`, `0.25`).
fn python_round(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.1}")
    } else {
        format!("{rounded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_python_rounds_them() {
        assert_eq!(python_round(1.0012), "1.0");
        assert_eq!(python_round(0.256), "0.26");
        assert_eq!(python_round(2.0 / 60.0), "0.03");
    }

    #[test]
    fn minutes_and_seconds_exclude_each_other() {
        let err = crate::modules::typed::from_json::<PauseArgs>(
            serde_json::json!({"minutes": 1, "seconds": 2}),
        )
        .expect_err("both");
        assert_eq!(err, "parameters are mutually exclusive: minutes|seconds");
    }
}
