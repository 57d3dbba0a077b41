//! `--list-hosts`, `--list-tasks` and `--list-tags`, printed as ansible-playbook does.

use std::fmt::Write;

use crate::cli::RunArgs;
use crate::inventory::Inventory;
use crate::playbook::{Action, Playbook, Task};

/// The listing `args` asks for, for one playbook.
pub fn describe(playbook: &Playbook, inventory: &Inventory, args: &RunArgs) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nplaybook: {}", playbook.path.display());
    let extra_vars = crate::app::parse_extra_vars(&args.common.extra_vars).unwrap_or_default();
    for (index, play) in playbook.plays.iter().enumerate() {
        let name = play_name(play, &extra_vars);
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
            let mut hosts = inventory.select(&play.hosts).unwrap_or_default();
            if let Some(limit) = &args.common.limit {
                let allowed = inventory.select(limit).unwrap_or_default();
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
    out
}

/// The play's name as Ansible lists it: rendered with the play's and the extra
/// variables (as written when it cannot be), its hosts pattern when it has none.
fn play_name(
    play: &crate::playbook::Play,
    extra_vars: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let Some(name) = &play.name else {
        return play.hosts.clone();
    };
    let templar = crate::template::Templar::new();
    let vars = crate::template::Vars::new(templar.clone(), play.keyword_vars(extra_vars));
    templar
        .render_str(name, &vars)
        .unwrap_or_else(|_| name.clone())
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

/// The leaf tasks of a list, blocks flattened.
fn collect<'a>(tasks: &'a [Task], out: &mut Vec<&'a Task>) {
    for task in tasks {
        match &task.action {
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
