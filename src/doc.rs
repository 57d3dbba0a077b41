//! `bosun doc MODULE` and `bosun doc --list`: the built-in modules' parameters as
//! the loader checks them (`Module::all_params`), so the page cannot drift from
//! what bosun accepts. Laid out as `ansible-doc` lays out its OPTIONS.

use std::fmt::Write;

use crate::modules::args::{DefaultValue, Kind, Param};
use crate::modules::{self, Module};

/// `bosun doc --list`: each module's FQCN with its required parameters.
pub fn list() -> String {
    let mut names: Vec<&'static dyn Module> =
        modules::names().filter_map(modules::lookup).collect();
    names.sort_by_key(|m| m.name());
    names.dedup_by_key(|m| m.name());
    let mut out = String::new();
    for module in names {
        let params = module.all_params();
        let required: Vec<&str> = params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name)
            .collect();
        let fqcn = format!("ansible.builtin.{}", module.name());
        let summary = if required.is_empty() {
            format!("{} parameters", params.len())
        } else {
            format!(
                "{} parameters, requires {}",
                params.len(),
                required.join(", ")
            )
        };
        let _ = writeln!(out, "{fqcn:<38} {summary}");
    }
    out
}

/// `bosun doc NAME`: the module's parameters, or an error with the closest name.
pub fn page(name: &str) -> Result<String, String> {
    let Some(module) = modules::lookup(name) else {
        let hint = crate::suggest::closest(crate::fqcn::short_name(name), modules::names())
            .map(|m| format!(" Did you mean '{m}'?"))
            .unwrap_or_default();
        return Err(format!(
            "module {name} not found among bosun's built-in modules.{hint} (`bosun doc --list` lists them)"
        ));
    };
    let mut out = format!(
        "> MODULE ansible.builtin.{} (built into bosun)\n\n",
        module.name()
    );
    let check = if module.supports_check_mode() {
        "full"
    } else {
        "none (skipped in check mode)"
    };
    let _ = writeln!(out, "  check_mode support: {check}");
    if module.free_form() == modules::FreeForm::Raw {
        let _ = writeln!(
            out,
            "  takes a free-form command line (`{}: ls -l`)",
            module.name()
        );
    }
    let _ = writeln!(out, "\nOPTIONS (= indicates it is required):\n");
    let mut params = module.all_params().into_owned();
    params.sort_by_key(|p| p.name);
    for param in &params {
        option(&mut out, param, 0);
    }
    Ok(out)
}

/// One option and its sub-options, indented by `depth`.
fn option(out: &mut String, param: &Param, depth: usize) {
    let pad = "    ".repeat(depth);
    let mark = if param.required { '=' } else { '-' };
    let _ = writeln!(out, "{pad}{mark} {}", param.name);
    let detail = |out: &mut String, key: &str, value: String| {
        let _ = writeln!(out, "{pad}        {key}: {value}");
    };
    if !param.aliases.is_empty() {
        detail(out, "aliases", format!("[{}]", param.aliases.join(", ")));
    }
    if !param.choices.is_empty() {
        detail(out, "choices", format!("[{}]", param.choices.join(", ")));
    }
    if let Some(default) = param.default {
        let text = match default {
            DefaultValue::Str(s) => s.to_string(),
            DefaultValue::Bool(b) => b.to_string(),
            DefaultValue::Int(i) => i.to_string(),
            DefaultValue::Float(f) => f.to_string(),
        };
        detail(out, "default", text);
    }
    detail(out, "type", type_name(param.kind).to_string());
    if !param.options.is_empty() {
        let _ = writeln!(out, "{pad}        suboptions:");
        for sub in param.options {
            option(out, sub, depth + 1);
        }
    }
    out.push('\n');
}

/// The type as Ansible's argument specs name it.
fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "str",
        Kind::Bool => "bool",
        Kind::Int => "int",
        Kind::Float => "float",
        Kind::List => "list",
        Kind::Dict => "dict",
        Kind::Raw => "raw",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_shows_what_the_loader_checks() {
        let text = page("ansible.builtin.copy").expect("copy is built in");
        assert!(text.contains("= dest") || text.contains("- dest"), "{text}");
        assert!(
            text.contains("- mode"),
            "file attributes are listed: {text}"
        );
        assert!(page("cpy").is_err_and(|e| e.contains("Did you mean 'copy'?")));
        assert!(list().contains("ansible.builtin.sysctl"));
    }
}
