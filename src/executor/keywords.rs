//! A task's keywords rendered for one host: `when`, `become*`, `delegate_to`,
//! `notify`, `no_log` and the typed ones (`retries`, `delay`, `timeout` ...). A value
//! that cannot be rendered fails the task, as in Ansible.

use super::Runner;
use super::task::located;
use crate::connection::BecomeSpec;
use crate::modules::{self};
use crate::playbook::keyword::{self, Kind};
use crate::playbook::{ConnectKeywords, Expr, Task};
use crate::template::{TemplateError, Vars, truthy};
use serde_json::Value as Json;
use std::sync::Arc;

impl Runner {
    /// The become settings for `task`: the task's and play's keywords, then the host's
    /// `ansible_become*` variables, then `-b`/`--become-user`.
    /// A `become_user`/`become_method` that cannot be rendered fails the task.
    pub(super) fn become_spec(
        &self,
        task: &Task,
        vars: &Arc<Vars>,
    ) -> Result<Option<BecomeSpec>, String> {
        let var = |names: &[&str]| -> Option<Json> {
            names.iter().find_map(|n| vars.resolved(n).ok().flatten())
        };
        let text = |value: Json| match value {
            Json::String(s) => s,
            other => other.to_string(),
        };
        let enabled = task
            .options
            .become_
            .or_else(|| var(&["ansible_become"]).and_then(|v| modules::args::parse_bool(&v)))
            .unwrap_or(self.options.become_);
        if !enabled {
            return Ok(None);
        }
        let render = |keyword: &str, value: &String| {
            self.templar
                .render_str(value, vars)
                .map_err(|err| located(&err, &task.span, &format!("keyword '{keyword}'")))
        };
        let user = task
            .options
            .become_user
            .as_ref()
            .map(|user| render("become_user", user))
            .transpose()?
            .or_else(|| var(&["ansible_become_user"]).map(text))
            .or_else(|| self.options.become_user.clone())
            .unwrap_or_else(|| "root".into());
        let method = task
            .options
            .become_method
            .as_ref()
            .map(|method| render("become_method", method))
            .transpose()?
            .or_else(|| var(&["ansible_become_method"]).map(text))
            .or_else(|| self.options.become_method.clone())
            .unwrap_or_else(|| "sudo".into());
        let password = var(&[
            "ansible_become_password",
            "ansible_become_pass",
            "ansible_sudo_pass",
        ])
        .map(text)
        .or_else(|| self.options.become_password.clone());
        Ok(Some(BecomeSpec {
            user,
            method,
            password,
        }))
    }

    /// The task's `connection`/`remote_user`/`port` keywords rendered for one host; a
    /// value that cannot be rendered, or a port that is not a number, fails the task.
    pub(super) fn connect_keywords(
        &self,
        task: &Task,
        vars: &Arc<Vars>,
    ) -> Result<ConnectKeywords, String> {
        let written = &task.options.connect;
        let render = |keyword: &str, value: &Option<String>| {
            value
                .as_ref()
                .map(|value| {
                    self.templar
                        .render_str(value, vars)
                        .map_err(|err| located(&err, &task.span, &format!("keyword '{keyword}'")))
                })
                .transpose()
        };
        let port = self.keyword(task, "port", Kind::Int, written.port.as_ref(), vars)?;
        let port = port
            .map(|port| {
                port.as_u64()
                    .and_then(|port| u16::try_from(port).ok())
                    .ok_or_else(|| format!("{}: port {port} is not a TCP port", task.span))
            })
            .transpose()?;
        Ok(ConnectKeywords {
            connection: render("connection", &written.connection)?,
            remote_user: render("remote_user", &written.remote_user)?,
            port,
        })
    }

    /// `delegate_to:` rendered, if set; a value that cannot be rendered fails the task.
    pub(super) fn delegate_target(
        &self,
        task: &Task,
        vars: &Arc<Vars>,
    ) -> Result<Option<String>, String> {
        let Some(target) = task.options.delegate_to.as_ref() else {
            return Ok(None);
        };
        self.templar
            .render_str(target, vars)
            .map(Some)
            .map_err(|err| located(&err, &task.span, "keyword 'delegate_to'"))
    }

    /// The handler names `task` notifies, rendered (a template giving a list names
    /// each of its items, as Ansible flattens it); a name that cannot be rendered
    /// fails the task.
    pub(super) fn notified(&self, task: &Task, vars: &Arc<Vars>) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        for name in &task.notify {
            let rendered = self
                .templar
                .render_value(&Json::String(name.clone()), vars)
                .map_err(|err| located(&err, &task.span, "keyword 'notify'"))?;
            let text = |value: &Json| match value {
                Json::String(text) => text.clone(),
                other => crate::pyjson::dumps(other, None),
            };
            match rendered {
                Json::Array(items) => names.extend(items.iter().map(text)),
                other => names.push(text(&other)),
            }
        }
        Ok(names)
    }

    /// Whether `no_log` holds for `task` with `vars` (a loop item's, for its result). A
    /// value that cannot be rendered (`{{ item.secret }}` outside the loop) censors:
    /// a secret must not show because its guard failed.
    pub(super) fn no_log(&self, task: &Task, vars: &Arc<Vars>) -> bool {
        task.options
            .no_log
            .as_ref()
            .is_some_and(|value| self.truth(value, vars).unwrap_or(true))
    }

    /// The typed keywords of `task` rendered and converted as Ansible does before it
    /// runs a task: a value of the wrong type fails the task, naming it.
    pub(super) fn typed_keywords(
        &self,
        task: &Task,
        vars: &Arc<Vars>,
    ) -> Result<TypedKeywords, String> {
        let ignore_errors = task.options.ignore_errors.as_ref();
        self.keyword(task, "ignore_errors", Kind::Bool, ignore_errors, vars)?;
        self.keyword(
            task,
            "timeout",
            Kind::Int,
            task.options.timeout.as_ref(),
            vars,
        )?;
        let retries = self.keyword(task, "retries", Kind::Int, task.retries.as_ref(), vars)?;
        let delay = self.keyword(task, "delay", Kind::Float, task.delay.as_ref(), vars)?;
        Ok(TypedKeywords {
            retries: retries.as_ref().and_then(Json::as_i64),
            delay: delay.as_ref().and_then(Json::as_f64),
        })
    }

    /// One typed keyword's value rendered and converted, or the task's error.
    pub(super) fn keyword(
        &self,
        task: &Task,
        name: &str,
        kind: Kind,
        value: Option<&Json>,
        vars: &Arc<Vars>,
    ) -> Result<Option<Json>, String> {
        let Some(value) = value else {
            return Ok(None);
        };
        let rendered = self
            .templar
            .render_value(value, vars)
            .map_err(|err| located(&err, &task.span, &format!("keyword '{name}'")))?;
        keyword::convert(name, kind, &rendered)
            .map(|converted| Some(converted).filter(|c| !c.is_null()))
            .map_err(|message| format!("{}: {message}", task.span))
    }

    /// Whether `task`'s `ignore_errors` holds with `vars`. A value that cannot be
    /// rendered holds if its text does: Ansible's strategy reads the keyword as
    /// written when rendering it failed, and a template is a non-empty string, so
    /// the failure (which names the keyword) counts as ignored.
    pub(super) fn ignores_errors(&self, task: &Task, vars: &Arc<Vars>) -> bool {
        task.options
            .ignore_errors
            .as_ref()
            .is_some_and(|value| self.truth(value, vars).unwrap_or_else(|_| truthy(value)))
    }

    /// Whether `task` runs once for all hosts, `run_once` rendered with `vars`; a
    /// value that cannot be rendered stops the run, as Ansible's strategy does.
    pub(super) fn runs_once(&self, task: &Task, vars: &Arc<Vars>) -> Result<bool, String> {
        let Some(value) = &task.options.run_once else {
            return Ok(false);
        };
        self.truth(value, vars)
            .map_err(|err| located(&err, &task.span, "keyword 'run_once'"))
    }

    /// `throttle` rendered as Python's `int()` reads it: a number or a string of one;
    /// the reason otherwise.
    pub(super) fn throttle(&self, value: &Json, vars: &Arc<Vars>) -> Result<i64, String> {
        let rendered = self
            .templar
            .render_value(value, vars)
            .map_err(|err| err.to_string())?;
        let invalid = |text: &str| format!("invalid literal for int() with base 10: '{text}'");
        match &rendered {
            Json::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
                .ok_or_else(|| invalid(&n.to_string())),
            Json::Bool(b) => Ok(i64::from(*b)),
            Json::String(text) => text.trim().parse().map_err(|_| invalid(text)),
            other => Err(format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                crate::pyjson::type_name(other)
            )),
        }
    }

    /// A boolean-ish keyword's value rendered and read as Ansible's `boolean()` reads
    /// it, or why it cannot be rendered.
    pub(super) fn truth(&self, value: &Json, vars: &Arc<Vars>) -> Result<bool, TemplateError> {
        let rendered = self.templar.render_value(value, vars)?;
        Ok(modules::args::parse_bool(&rendered).unwrap_or_else(|| truthy(&rendered)))
    }

    /// Whether every `when:` condition holds.
    pub(super) fn conditions_hold(&self, task: &Task, vars: &Arc<Vars>) -> Result<bool, String> {
        Ok(self.false_condition(task, vars)?.is_none())
    }

    /// The first of the task's `when:` conditions that does not hold, as written
    /// (Ansible's `false_condition`), if any.
    pub(super) fn false_condition(
        &self,
        task: &Task,
        vars: &Arc<Vars>,
    ) -> Result<Option<Json>, String> {
        for condition in &task.when {
            if !self.holds(condition, vars)? {
                return Ok(Some(condition.written.clone()));
            }
        }
        Ok(None)
    }

    /// Whether one condition holds with `vars`; one that is not a string or a
    /// boolean fails, as Ansible 2.19 fails it.
    pub(super) fn holds(&self, condition: &Expr, vars: &Arc<Vars>) -> Result<bool, String> {
        self.templar
            .evaluate_conditional(&condition.written, vars, &condition.span.to_string())
            .map_err(|err| located(&err, &condition.span, "conditional"))
    }
}

/// The typed keywords a task's retries need, converted.
pub(super) struct TypedKeywords {
    /// `retries:`, if set.
    pub(super) retries: Option<i64>,
    /// `delay:` in seconds, if set.
    pub(super) delay: Option<f64>,
}
