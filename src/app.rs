//! What the binary does with a parsed command line: load everything, check it, run
//! it, and return the exit code.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::cli::{Cli, Command, Common, InventoryArgs, OutputFormat, RunArgs, VaultArgs};
use crate::config::Config;
use crate::executor::{RunOptions, Runner, TagFilter};
use crate::inventory::Inventory;
use crate::output::{Human, JsonReport, Minimal, Reporter};
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
    /// The run stopped on an error after it started (Ansible's `ERROR!`, exit 1).
    #[error(transparent)]
    Run(#[from] crate::executor::RunError),
}

impl AppError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Run(_) => EXIT_RUN,
            _ => EXIT_LOAD,
        }
    }
}

/// Runs the command line; returns the exit code.
pub async fn run(cli: Cli) -> Result<i32, AppError> {
    let config = Config::discover().map_err(|e| AppError::Message(e.to_string()))?;
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
        None => {
            unlock_vault(&cli.common.vault, &config)?;
            let pattern = cli.pattern.unwrap_or_else(|| "all".into());
            run_adhoc(&pattern, &cli.module, &cli.args, cli.common, &config).await
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
        config.inventory.clone()
    } else {
        sources.to_vec()
    };
    Inventory::load(&sources).map_err(|e| AppError::Message(e.to_string()))
}

fn options(common: &Common, config: &Config) -> Result<RunOptions, AppError> {
    Ok(RunOptions {
        check: common.check,
        diff: common.diff,
        forks: common.forks.or(config.forks).unwrap_or(50),
        verbosity: common.verbose,
        extra_vars: parse_extra_vars(&common.extra_vars)?,
        limit: common.limit.clone(),
        tags: TagFilter::default(),
        start_at_task: None,
        connection: common.connection.clone(),
        remote_user: common.user.clone().or_else(|| config.remote_user.clone()),
        become_: common.become_,
        become_user: common.become_user.clone(),
        private_key_file: common
            .private_key
            .clone()
            .or_else(|| config.private_key_file.clone()),
        timeout: common.timeout.or(config.timeout),
        host_key_checking: config.host_key_checking,
        accept_new_host_keys: common.accept_new_host_keys,
        ssh_password: ask(common.ask_pass, "SSH password: ")?,
        become_password: ask(common.ask_become_pass, "BECOME password: ")?,
    })
}

fn reporter(common: &Common) -> Arc<dyn Reporter> {
    match common.output {
        OutputFormat::Json => Arc::new(JsonReport::new()),
        OutputFormat::Human => {
            let tty = std::io::stdout().is_terminal();
            let color = tty && std::env::var_os("NO_COLOR").is_none();
            let columns = terminal_columns().filter(|_| tty).unwrap_or(80);
            Arc::new(Human::new(
                common.verbose,
                color,
                common.diff,
                columns,
                tty && std::io::stderr().is_terminal(),
            ))
        }
    }
}

async fn run_playbooks(args: RunArgs, config: &Config) -> Result<i32, AppError> {
    let loader = Arc::new(Loader::new(config.roles_path.clone(), module_path(config)));
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
    let mut options = options(&args.common, config)?;
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
        for playbook in &playbooks {
            print!("{}", crate::listing::describe(playbook, &inventory, &args));
        }
        return Ok(0);
    }
    options.tags = TagFilter {
        only: args.tags.clone(),
        skip: args.skip_tags.clone(),
    };
    options.start_at_task = args.start_at_task.clone();
    let runner = Runner::new(Arc::new(inventory), loader, options, reporter(&args.common));
    let mut code = 0;
    for playbook in &playbooks {
        let summary = runner.run_playbook(playbook).await?;
        code = code.max(summary.exit_code());
    }
    Ok(code)
}

async fn run_adhoc(
    pattern: &str,
    module: &str,
    args: &str,
    common: Common,
    config: &Config,
) -> Result<i32, AppError> {
    let dir = std::env::current_dir().unwrap_or_default();
    let loader = Arc::new(Loader::new(config.roles_path.clone(), module_path(config)));
    let task: Task = loader.adhoc_task(module, args, &dir)?;
    if !matches!(task.action, Action::Module { .. } | Action::DropIn { .. }) {
        return Err(AppError::Message(format!(
            "'{module}' cannot be run ad hoc; use it in a playbook"
        )));
    }
    let inventory = load_inventory(&common.inventory, config)?;
    let options = options(&common, config)?;
    let reporter: Arc<dyn Reporter> = match common.output {
        OutputFormat::Json => Arc::new(JsonReport::new()),
        OutputFormat::Human => Arc::new(Minimal::new(module)),
    };
    let runner = Runner::new(Arc::new(inventory), loader, options, reporter);
    let summary = runner.run_adhoc(pattern, task, dir).await?;
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

/// The terminal's width, from `COLUMNS` or the terminal itself.
fn terminal_columns() -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(columns);
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own; fd 1 is stdout.
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(size.ws_col as usize)
}

/// Where drop-in modules are looked for besides the playbook and roles: the config's
/// `library`/`module_path`, then `BOSUN_MODULE_PATH` / `ANSIBLE_LIBRARY`.
fn module_path(config: &Config) -> Vec<PathBuf> {
    let mut paths = config.module_path.clone();
    for var in ["BOSUN_MODULE_PATH", "ANSIBLE_LIBRARY"] {
        if let Some(value) = std::env::var_os(var) {
            paths.extend(std::env::split_paths(&value));
        }
    }
    paths
}

fn playbook_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Asks for a secret when `wanted`; an error when there is no terminal to ask on.
fn ask(wanted: bool, prompt: &str) -> Result<Option<String>, AppError> {
    if !wanted {
        return Ok(None);
    }
    crate::connection::prompt::secret(prompt).map(Some).ok_or_else(|| {
        AppError::Message(format!(
            "{} needs a terminal to ask on; set ansible_password / ansible_become_password in the inventory instead",
            prompt.trim_end_matches([':', ' '])
        ))
    })
}

/// Parses `-e` values: `k=v` pairs, inline JSON/YAML, or `@file`.
pub fn parse_extra_vars(values: &[String]) -> Result<Map<String, Json>, AppError> {
    let mut vars = Map::new();
    for value in values {
        let trimmed = value.trim();
        if let Some(file) = trimmed.strip_prefix('@') {
            let root = crate::yaml::load_file(Path::new(file))?;
            merge_mapping(&mut vars, root.to_json(), value)?;
        } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
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
        Json::Null => Ok(()),
        _ => Err(AppError::Message(format!(
            "-e {given}: extra vars must be a mapping"
        ))),
    }
}
