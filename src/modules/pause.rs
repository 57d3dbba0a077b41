//! `pause`: waits a number of seconds or minutes.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};

/// Sleeps on the control node; a prompt without a terminal does not wait.
pub struct Pause;

#[async_trait]
impl Module for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("seconds", Kind::Float),
            Param::new("minutes", Kind::Float),
            Param::new("prompt", Kind::Str),
            Param::new("echo", Kind::Bool),
        ];
        PARAMS
    }

    async fn run(&self, _ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let seconds = args
            .float("seconds")
            .or_else(|| args.float("minutes").map(|m| m * 60.0))
            .unwrap_or(0.0)
            .max(0.0);
        let start = crate::clock::now_local();
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        let mut outcome = super::ok(false);
        outcome.insert("start".into(), Json::String(start));
        outcome.insert("stop".into(), Json::String(crate::clock::now_local()));
        outcome.insert("delta".into(), Json::from(seconds.round() as i64));
        outcome.insert("user_input".into(), Json::String(String::new()));
        outcome.insert(
            "stdout".into(),
            Json::String(format!("Paused for {} seconds", trim_float(seconds))),
        );
        Ok(outcome)
    }
}

fn trim_float(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}
