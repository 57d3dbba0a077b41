//! `file`'s `recurse`: how to find what differs below a directory, and the commands
//! setting the attributes on everything there.

use serde_json::Value as Json;

use super::Found;
use crate::connection::quote;
use crate::modules::fileops::{self, Attributes};

/// `recurse: true`: how to find what differs below a directory, and the commands
/// setting the attributes on everything there.
#[derive(Debug, Default)]
pub(super) struct Recurse {
    /// Lists modes and types below (`644 f`), for a symbolic mode.
    pub(super) listing: Option<String>,
    /// The symbolic mode the listing is checked against.
    symbolic: Option<String>,
    /// Prints a path when something below differs in numeric mode or ownership.
    pub(super) probe: Option<String>,
    /// The commands to run when something differs.
    pub(super) apply: Vec<String>,
}

impl Recurse {
    /// The probes and commands for `attributes` below `path`.
    pub(super) fn plan(path: &str, attributes: &Attributes) -> Result<Recurse, String> {
        let p = quote(path);
        let mut recurse = Recurse::default();
        let mut tests = Vec::new();
        match attributes.mode() {
            Some(Json::String(s)) if !s.chars().all(|c| c.is_ascii_digit()) => {
                recurse.listing = Some(format!(
                    "find {p} -mindepth 1 ! -type l -printf '%m %y\\n' 2>/dev/null"
                ));
                recurse.symbolic = Some(s.clone());
                recurse.apply.push(format!("chmod -R {} -- {p}", quote(s)));
            }
            Some(other) => {
                let mode = fileops::parse_mode(other, None, true)?;
                tests.push(format!("\\( ! -type l ! -perm {mode:04o} \\)"));
                recurse.apply.push(format!("chmod -R {mode:04o} -- {p}"));
            }
            None => {}
        }
        if let Some(owner) = attributes.owner() {
            tests.push(format!("! -user {}", quote(owner)));
            recurse
                .apply
                .push(format!("chown -hR {} -- {p}", quote(owner)));
        }
        if let Some(group) = attributes.group() {
            tests.push(format!("! -group {}", quote(group)));
            recurse
                .apply
                .push(format!("chgrp -hR {} -- {p}", quote(group)));
        }
        if !tests.is_empty() {
            recurse.probe = Some(format!(
                "find {p} -mindepth 1 \\( {} \\) -print -quit 2>/dev/null",
                tests.join(" -o ")
            ));
        }
        Ok(recurse)
    }

    /// Whether what the query found below differs from what is wanted.
    pub(super) fn differs(&self, found: &Found) -> Result<bool, String> {
        if found.below_differs {
            return Ok(true);
        }
        let Some(symbolic) = &self.symbolic else {
            return Ok(false);
        };
        for line in &found.below {
            let (mode, kind) = line.split_once(' ').unwrap_or((line, "f"));
            let current = u32::from_str_radix(mode, 8).unwrap_or(0);
            let wanted =
                fileops::parse_mode(&Json::String(symbolic.clone()), Some(current), kind == "d")?;
            if wanted != current {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
