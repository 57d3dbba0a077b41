//! `--list-hosts`, `--list-tasks` and `--list-tags`, printed as ansible-playbook does.

use std::fmt::Write;

use crate::cli::RunArgs;
use crate::executor::RunError;
use crate::inventory::Inventory;
use crate::playbook::{Action, Meta, Playbook, Task, VarMap};

/// The listing `args` asks for, for one playbook, or the error that stops
/// ansible-playbook before it lists anything (a play name that cannot be rendered,
/// a host pattern that is none).
pub fn describe(
    playbook: &Playbook,
    inventory: &Inventory,
    args: &RunArgs,
    extra_vars: &VarMap,
) -> Result<String, RunError> {
    let mut out = String::new();
    let _ = writeln!(out, "\nplaybook: {}", playbook.path.display());
    let templar = crate::template::Templar::new();
    for (index, play) in playbook.plays.iter().enumerate() {
        let name = play
            .title(&templar, extra_vars)
            .map_err(|err| RunError::PlayName(err.message))?;
        let play_tags = play_tags(play);
        let _ = writeln!(
            out,
            "\n  play #{} ({}): {}\tTAGS: [{}]",
            index + 1,
            play.hosts,
            name,
            play_tags.join(",")
        );
        if args.list_hosts {
            let select = |pattern: &str| {
                inventory
                    .select(pattern)
                    .map_err(|err| RunError::Pattern(err.to_string()))
            };
            let mut hosts = select(&play.hosts)?;
            if let Some(limit) = &args.common.limit {
                let allowed = select(limit)?;
                hosts.retain(|h| allowed.contains(h));
            }
            let _ = writeln!(out, "    pattern: ['{}']", play.hosts);
            let _ = writeln!(out, "    hosts ({}):", hosts.len());
            for host in hosts {
                let _ = writeln!(out, "      {host}");
            }
        }
        let mut tasks = Vec::new();
        for list in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
            collect(list, &mut tasks);
        }
        if args.list_tasks {
            let _ = writeln!(out, "    tasks:");
            let filter = crate::executor::TagFilter {
                only: args.tags.clone(),
                skip: args.skip_tags.clone(),
            };
            for task in tasks.iter().filter(|t| filter.allows(&t.tags)) {
                let _ = writeln!(
                    out,
                    "      {}\tTAGS: [{}]",
                    task.display_name(),
                    task.tags.join(", ")
                );
            }
        }
        if args.list_tags {
            let mut all: Vec<String> = tasks.iter().flat_map(|t| t.tags.clone()).collect();
            all.sort();
            all.dedup();
            let _ = writeln!(out, "      TASK TAGS: [{}]", all.join(", "));
        }
    }
    Ok(out)
}

fn play_tags(play: &crate::playbook::Play) -> Vec<String> {
    let mut tasks = Vec::new();
    collect(&play.tasks, &mut tasks);
    let mut common: Option<Vec<String>> = None;
    for task in tasks {
        common = Some(match common {
            None => task.tags.clone(),
            Some(prev) => prev.into_iter().filter(|t| task.tags.contains(t)).collect(),
        });
    }
    common.unwrap_or_default()
}

/// The leaf tasks of a list, blocks flattened, without the implicit end of each role.
fn collect<'a>(tasks: &'a [Task], out: &mut Vec<&'a Task>) {
    for task in tasks {
        match &task.action {
            Action::Meta(Meta::RoleComplete) => {}
            Action::Block {
                block,
                rescue,
                always,
            } => {
                collect(block, out);
                collect(rescue, out);
                collect(always, out);
            }
            _ => out.push(task),
        }
    }
}
