//! What the binary does with a parsed command line: load everything, check it, run
//! it, and return the exit code.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::cli::{
    Cli, Command, Common, ConfigCommand, InventoryArgs, OutputFormat, RunArgs, VaultArgs,
};
use crate::config::Config;
use crate::executor::{Runner, TagFilter};
use crate::inventory::{Inventory, InventoryError};
use crate::options;
use crate::output::{HtmlReport, JsonReport, Minimal, Oneline, Reporter, Retry, Tee};
use crate::playbook::{Action, Loader, Task};
use crate::source::SourceError;

/// Exit code for a failed host.
pub const EXIT_FAILED: i32 = 2;
/// Exit code for unreachable hosts and load errors.
pub const EXIT_LOAD: i32 = 4;
/// Exit code for an error that stops a run after it started.
pub const EXIT_RUN: i32 = 1;
/// Exit code for bad options.
pub const EXIT_OPTIONS: i32 = 5;

/// An error that stops bosun before any host is touched.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A file could not be loaded; has a position.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Anything else, with a message saying what to do.
    #[error("{0}")]
    Message(String),
    /// A command line bosun reads differently from what was meant (exit 5).
    #[error("{0}")]
    Usage(String),
    /// The run stopped on an error after it started (Ansible's `ERROR!`, exit 1).
    #[error(transparent)]
    Run(#[from] crate::executor::RunError),
    /// The inventory could not be read as its `[inventory]` settings ask (Ansible's
    /// `ERROR!`, exit 1).
    #[error(transparent)]
    Inventory(crate::inventory::InventoryError),
}

impl AppError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Run(
                crate::executor::RunError::VarsFile(_) | crate::executor::RunError::PlayName(_),
            ) => EXIT_LOAD,
            AppError::Source(source) if source.general => EXIT_RUN,
            AppError::Run(_) | AppError::Inventory(_) => EXIT_RUN,
            AppError::Usage(_) => EXIT_OPTIONS,
            _ => EXIT_LOAD,
        }
    }
}

/// Runs the command line; returns the exit code.
pub async fn run(cli: Cli) -> Result<i32, AppError> {
    let config = Config::discover().map_err(|e| AppError::Message(e.to_string()))?;
    crate::hash_behaviour::set_merge(config.hash_merge().map_err(AppError::Message)?);
    for warning in &config.sources.warnings {
        eprintln!("[WARNING]: {warning}");
    }
    match cli.command {
        Some(Command::Run(args)) => {
            unlock_vault(&args.common.vault, &config)?;
            run_playbooks(*args, &config).await
        }
        Some(Command::Inventory(args)) => {
            unlock_vault(&args.vault, &config)?;
            show_inventory(args, &config)
        }
        Some(Command::Vault(command)) => match crate::vault::cli::run(command, &config) {
            Ok(()) => Ok(0),
            Err(message) => {
                eprintln!("ERROR! {message}");
                Ok(1)
            }
        },
        Some(Command::Config(command)) => show_config(command, &config),
        Some(Command::Doc(args)) => {
            if args.list {
                print!("{}", crate::doc::list());
                return Ok(0);
            }
            let name = args.module.unwrap_or_default();
            print!("{}", crate::doc::page(&name).map_err(AppError::Message)?);
            Ok(0)
        }
        Some(Command::Completions(args)) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "bosun", &mut std::io::stdout());
            Ok(0)
        }
        None => {
            let pattern = cli.pattern.unwrap_or_else(|| "all".into());
            let argv: Vec<String> = std::env::args().collect();
            if let Some(hint) = crate::suggest::playbook_as_pattern(&argv, &pattern) {
                return Err(AppError::Usage(hint));
            }
            unlock_vault(&cli.common.vault, &config)?;
            let adhoc = Adhoc {
                pattern: &pattern,
                module: &cli.module,
                args: &cli.args,
                one_line: cli.one_line,
                playbook_dir: cli.playbook_dir.as_deref(),
            };
            run_adhoc(adhoc, cli.common, &config).await
        }
    }
}

/// Reads the vault passwords given and makes them the run's, before anything is
/// loaded, so encrypted files and values can be opened where they are used.
fn unlock_vault(args: &VaultArgs, config: &Config) -> Result<(), AppError> {
    let keyring = crate::vault::cli::sources(args, config)
        .load()
        .map_err(|e| AppError::Message(e.to_string()))?;
    crate::vault::install(keyring);
    Ok(())
}

fn load_inventory(sources: &[String], config: &Config) -> Result<Inventory, AppError> {
    let sources = if sources.is_empty() {
        config.inventory()
    } else {
        sources.to_vec()
    };
    Inventory::load_with(&sources, config.unparsed_inventory()).map_err(|err| match err {
        // The [inventory] settings' own errors stop Ansible with exit 1; a vars file that
        // cannot be read or decrypted is its exit 4.
        InventoryError::Unparsed { .. } | InventoryError::NoneParsed => AppError::Inventory(err),
        other => AppError::Message(other.to_string()),
    })
}

async fn run_playbooks(args: RunArgs, config: &Config) -> Result<i32, AppError> {
    let loader = Arc::new(
        Loader::new(
            config.roles_path(),
            options::module_path(&args.common, config),
        )
        .with_collections(config.collections_path()),
    );
    let mut playbooks = Vec::new();
    for path in &args.playbooks {
        if !path.is_file() {
            return Err(AppError::Message(format!(
                "the playbook {} could not be found",
                path.display()
            )));
        }
        playbooks.push(loader.load_playbook(path)?);
    }
    let mut inventory = load_inventory(&args.common.inventory, config)?;
    for playbook in &playbooks {
        inventory
            .load_playbook_vars(&playbook_dir(&playbook.path))
            .map_err(|e| AppError::Message(e.to_string()))?;
    }
    let mut options = options::run_options(&args.common, Some(&args), config)?;
    announce_config(options.verbosity, config);
    let mut known: std::collections::HashSet<String> = options.extra_vars.keys().cloned().collect();
    for host in inventory
        .host_names()
        .iter()
        .map(String::as_str)
        .chain(["localhost"])
    {
        known.extend(inventory.host_vars(host).keys().cloned());
    }
    for playbook in &playbooks {
        for finding in crate::preflight::undefined_variables(playbook, &known) {
            let warning = crate::source::SourceWarning(finding);
            eprintln!("[WARNING]: {:?}", miette::Report::new(warning));
        }
    }
    if args.syntax_check {
        for playbook in &playbooks {
            println!("\nplaybook: {}", playbook.path.display());
        }
        return Ok(0);
    }
    if args.list_hosts || args.list_tasks || args.list_tags {
        let mut listing = args;
        listing.common.limit = options.limit.clone();
        let listings = playbooks
            .iter()
            .map(|playbook| {
                crate::listing::describe(playbook, &inventory, &listing, &options.extra_vars)
            })
            .collect::<Result<Vec<_>, _>>()?;
        print!("{}", listings.concat());
        return Ok(0);
    }
    options.tags = TagFilter {
        only: args.tags.clone(),
        skip: args.skip_tags.clone(),
    };
    options.start_at_task = args.start_at_task.clone();
    let mut reporter = options::reporter(&args.common, config)?;
    if config.retry_files_enabled() {
        reporter = Arc::new(Retry::new(
            reporter,
            &args.playbooks,
            config.retry_files_save_path(),
        ));
    }
    if let Some(path) = &args.report {
        reporter = Arc::new(Tee::new(reporter, Arc::new(HtmlReport::new(path.clone()))));
    }
    let runner = Runner::new(Arc::new(inventory), loader, options, reporter);
    let mut code = 0;
    for playbook in &playbooks {
        let summary = runner.run_playbook(playbook).await?;
        code = code.max(summary.exit_code());
    }
    Ok(code)
}

/// What an ad hoc call runs.
struct Adhoc<'a> {
    pattern: &'a str,
    module: &'a str,
    args: &'a str,
    one_line: bool,
    playbook_dir: Option<&'a Path>,
}

async fn run_adhoc(adhoc: Adhoc<'_>, common: Common, config: &Config) -> Result<i32, AppError> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let dir = adhoc.playbook_dir.map_or(cwd.clone(), |dir| cwd.join(dir));
    let loader = Arc::new(
        Loader::new(config.roles_path(), options::module_path(&common, config))
            .with_collections(config.collections_path()),
    );
    let task: Task = loader.adhoc_task(adhoc.module, adhoc.args, &dir)?;
    if !matches!(task.action, Action::Module { .. } | Action::DropIn { .. }) {
        return Err(AppError::Message(format!(
            "'{}' cannot be run ad hoc; use it in a playbook",
            adhoc.module
        )));
    }
    let mut inventory = load_inventory(&common.inventory, config)?;
    if adhoc.playbook_dir.is_some() {
        inventory
            .load_playbook_vars(&dir)
            .map_err(|e| AppError::Message(e.to_string()))?;
    }
    let options = options::run_options(&common, None, config)?;
    announce_config(options.verbosity, config);
    let reporter: Arc<dyn Reporter> = match (common.output, adhoc.one_line) {
        (Some(OutputFormat::Json), _) => Arc::new(JsonReport::new(config.show_custom_stats())),
        (_, true) => Arc::new(Oneline::new(options.verbosity)),
        _ => Arc::new(Minimal::new(options.verbosity)),
    };
    let runner = Runner::new(Arc::new(inventory), loader, options, reporter);
    let summary = runner.run_adhoc(adhoc.pattern, task, dir).await?;
    Ok(summary.exit_code())
}

fn show_inventory(args: InventoryArgs, config: &Config) -> Result<i32, AppError> {
    let inventory = load_inventory(&args.inventory, config)?;
    for warning in inventory.warnings() {
        eprintln!("[WARNING]: {warning}");
    }
    if let Some(host) = &args.host {
        if args.yaml {
            print!("{}", inventory.host_vars_yaml(host));
        } else {
            let vars = Json::Object(inventory.host_vars(host));
            println!("{}", crate::pyjson::dumps(&vars, Some(4)));
        }
    } else if let Some(group) = &args.graph {
        let text = inventory
            .graph(Some(group))
            .map_err(|e| AppError::Message(e.to_string()))?;
        println!("{}", text.trim_end_matches('\n'));
    } else if args.yaml {
        print!("{}", inventory.to_list_yaml());
    } else {
        println!(
            "{}",
            crate::pyjson::dumps(&inventory.to_list_json(), Some(4))
        );
    }
    Ok(0)
}

/// `bosun config dump` and `bosun config view`.
fn show_config(command: ConfigCommand, config: &Config) -> Result<i32, AppError> {
    match command {
        ConfigCommand::Dump { only_changed } => {
            print!("{}", crate::config::dump::dump(config, only_changed));
            Ok(0)
        }
        ConfigCommand::View => match crate::config::dump::view(config) {
            Some(Ok(text)) => {
                print!("{text}");
                Ok(0)
            }
            Some(Err(message)) => Err(AppError::Message(message)),
            None => {
                eprintln!("[ERROR]: Invalid or no config file was supplied");
                Ok(1)
            }
        },
    }
}

/// At `-v` and above, which config file is in use, as Ansible says it.
fn announce_config(verbosity: u8, config: &Config) {
    if verbosity == 0 {
        return;
    }
    match &config.sources.ansible_cfg {
        Some(path) => println!("Using {} as config file", path.display()),
        None => println!("No config file found; using defaults"),
    }
    if let Some(path) = &config.sources.bosun_toml {
        println!("Using {} as bosun's config file", path.display());
    }
}

fn playbook_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Parses `-e` values: `k=v` pairs, inline JSON/YAML, or `@file`; as Ansible, a path
/// without `@` and data that is no mapping are bad options.
pub fn parse_extra_vars(values: &[String]) -> Result<Map<String, Json>, AppError> {
    let mut vars = Map::new();
    for value in values.iter().filter(|value| !value.is_empty()) {
        let trimmed = value.trim();
        if let Some(file) = value.strip_prefix('@') {
            let root = crate::yaml::load_file(Path::new(file))?;
            let shown = std::path::absolute(file).map_or(file.into(), |p| p.display().to_string());
            merge_mapping(&mut vars, root.to_json(), &format!("@{shown}"))?;
        } else if value.starts_with(['/', '.']) {
            return Err(AppError::Usage(format!(
                "Please prepend extra_vars filename '{value}' with '@'"
            )));
        } else if value.starts_with(['{', '[']) {
            let root = crate::yaml::parse_str("<extra vars>", trimmed)?;
            merge_mapping(&mut vars, root.to_json(), value)?;
        } else {
            let mut pairs = crate::playbook::args::parse_kv(trimmed, None);
            if let Some(token) = pairs.shift_remove("_raw_params") {
                return Err(AppError::Message(format!(
                    "-e {value}: {token} is not of the form key=value; give variables as key=value, JSON/YAML, or @file"
                )));
            }
            for (key, value) in pairs {
                vars.insert(key, value);
            }
        }
    }
    Ok(vars)
}

fn merge_mapping(vars: &mut Map<String, Json>, value: Json, given: &str) -> Result<(), AppError> {
    match value {
        Json::Object(map) => {
            vars.extend(map);
            Ok(())
        }
        _ => Err(AppError::Usage(format!(
            "Invalid extra vars data supplied. '{given}' could not be made into a dictionary"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage_error(values: &[&str]) -> String {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        match parse_extra_vars(&values) {
            Err(err @ AppError::Usage(_)) => err.to_string(),
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn extra_vars_that_are_no_mapping_are_bad_options() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("text.yml");
        std::fs::write(&file, "just text\n").expect("write");
        assert_eq!(
            usage_error(&[&format!("@{}", file.display())]),
            format!(
                "Invalid extra vars data supplied. '@{}' could not be made into a dictionary",
                file.display()
            )
        );
        assert_eq!(
            usage_error(&["[1]"]),
            "Invalid extra vars data supplied. '[1]' could not be made into a dictionary"
        );
        assert_eq!(
            usage_error(&["./vars.yml"]),
            "Please prepend extra_vars filename './vars.yml' with '@'"
        );
        let parsed = parse_extra_vars(&["".into(), "a=1".into()]).expect("parses");
        assert_eq!(parsed.get("a"), Some(&Json::from("1")));
    }
}
