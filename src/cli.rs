//! Command-line definitions: `bosun run`, ad hoc `bosun PATTERN -m MODULE`,
//! `bosun inventory`, `bosun vault`, `bosun config`, `bosun doc` and
//! `bosun completions`. As with Ansible's argparse, a flag given twice keeps its last
//! value, and the list flags (`-i`, `-e`, `-t`, `--vault-id` ...) add up.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Top-level command line.
#[derive(Debug, Parser)]
#[command(
    name = "bosun",
    version,
    about = "Agentless configuration management in the Ansible style: fast, one static binary.",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    args_override_self = true
)]
pub struct Cli {
    /// What to do; without a subcommand, run one module ad hoc on PATTERN.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Host pattern for ad hoc mode (`all`, `web`, `web:&prod` ...).
    #[arg(required = true)]
    pub pattern: Option<String>,
    /// Module to run ad hoc.
    #[arg(short = 'm', long = "module-name", default_value = "command")]
    pub module: String,
    /// Module arguments (`k=v ...` or a free-form command line).
    #[arg(short = 'a', long = "args", default_value = "")]
    pub args: String,
    /// Condense the output to one line per host (the `oneline` callback).
    #[arg(short = 'o', long = "one-line")]
    pub one_line: bool,
    /// The directory ad hoc mode stands in as the playbook's: relative paths and its
    /// `group_vars/`, `host_vars/` (default: the working directory).
    #[arg(long = "playbook-dir")]
    pub playbook_dir: Option<PathBuf>,
    /// Options shared with `run`.
    #[command(flatten)]
    pub common: Common,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run playbooks.
    Run(Box<RunArgs>),
    /// Show the inventory (`--list`, `--graph`, `--host`).
    Inventory(InventoryArgs),
    /// Encrypt, decrypt, view and edit files and strings with Ansible Vault.
    #[command(subcommand)]
    Vault(crate::vault::cli::VaultCommand),
    /// Show the configuration (like ansible-config).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Show a module's parameters (like ansible-doc).
    Doc(DocArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

/// `bosun config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Every setting with its value and where it came from.
    Dump {
        /// Only the settings not at their default.
        #[arg(long)]
        only_changed: bool,
    },
    /// The config files in use.
    View,
}

/// Options of `bosun doc`.
#[derive(Debug, Args)]
pub struct DocArgs {
    /// The module to describe (`copy`, `ansible.builtin.copy`).
    #[arg(required_unless_present = "list")]
    pub module: Option<String>,
    /// List the modules with how many parameters each takes and which are required.
    #[arg(short = 'l', long)]
    pub list: bool,
}

/// Options of `bosun completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// Options of `bosun run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Playbook files, run in order.
    #[arg(required = true)]
    pub playbooks: Vec<PathBuf>,
    /// Only run plays and tasks tagged with these (comma-separated, repeatable).
    #[arg(short = 't', long = "tags", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Skip plays and tasks tagged with these.
    #[arg(long = "skip-tags", value_delimiter = ',')]
    pub skip_tags: Vec<String>,
    /// List the hosts each play would run on, then stop.
    #[arg(long)]
    pub list_hosts: bool,
    /// List the tasks that would run, then stop.
    #[arg(long)]
    pub list_tasks: bool,
    /// List the tags in use, then stop.
    #[arg(long)]
    pub list_tags: bool,
    /// Load and check the playbook, then stop.
    #[arg(long)]
    pub syntax_check: bool,
    /// Start at the task with this name.
    #[arg(long)]
    pub start_at_task: Option<String>,
    /// Ask before each task: (N)o, (y)es or (c)ontinue without asking.
    #[arg(long)]
    pub step: bool,
    /// Run notified handlers even on hosts where a task failed.
    #[arg(long)]
    pub force_handlers: bool,
    /// Clear the fact cache of every host in the inventory.
    #[arg(long)]
    pub flush_cache: bool,
    /// Also write the run as one self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Options shared with ad hoc mode.
    #[command(flatten)]
    pub common: Common,
}

/// Options of `bosun inventory`.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Print every host and group as JSON (like ansible-inventory --list).
    #[arg(long, conflicts_with_all = ["graph", "host"])]
    pub list: bool,
    /// Print the group tree, from GROUP (default all).
    #[arg(long, num_args = 0..=1, default_missing_value = "all")]
    pub graph: Option<String>,
    /// Print one host's variables as JSON.
    #[arg(long)]
    pub host: Option<String>,
    /// Print --list and --host as YAML instead of JSON (ignored by --graph).
    #[arg(short = 'y', long)]
    pub yaml: bool,
    /// Inventory sources.
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<String>,
    /// Vault passwords for encrypted inventory files and values.
    #[command(flatten)]
    pub vault: VaultArgs,
}

/// Where vault passwords come from (shared by every command that reads files).
#[derive(Debug, Args, Default, Clone)]
pub struct VaultArgs {
    /// A vault password source `[label@]file`, `label@prompt`; repeatable. An
    /// executable file is run and prints the password.
    #[arg(long = "vault-id")]
    pub vault_ids: Vec<String>,
    /// A file holding the vault password, or a script printing it; repeatable.
    #[arg(long = "vault-password-file", visible_alias = "vault-pass-file")]
    pub password_files: Vec<String>,
    /// Ask for the vault password.
    #[arg(
        short = 'J',
        long = "ask-vault-pass",
        visible_alias = "ask-vault-password"
    )]
    pub ask: bool,
}

/// How results are printed (over `stdout_callback`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Ansible's default output.
    Human,
    /// One JSON document at the end.
    Json,
}

/// Options shared by `run` and ad hoc mode.
#[derive(Debug, Args, Default)]
pub struct Common {
    /// Inventory file, directory or comma list (`web1,web2,`); repeatable.
    #[arg(
        short = 'i',
        long = "inventory",
        visible_alias = "inventory-file",
        global = false
    )]
    pub inventory: Vec<String>,
    /// Further limit the selected hosts to this pattern (`@file` reads one host per
    /// line, as a retry file).
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
    /// Extra variables: `k=v`, JSON/YAML (`'{"k": 1}'`) or `@file.yml`; repeatable.
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// Report what would change without changing anything.
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Show the differences in changed files.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,
    /// Hosts worked on at once (default 50).
    #[arg(short = 'f', long = "forks")]
    pub forks: Option<usize>,
    /// Connection type (`local`, `ssh`).
    #[arg(short = 'c', long = "connection")]
    pub connection: Option<String>,
    /// Remote user.
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Run operations with become.
    #[arg(short = 'b', long = "become")]
    pub become_: bool,
    /// User to become.
    #[arg(long = "become-user")]
    pub become_user: Option<String>,
    /// Become method (`sudo`, `su`).
    #[arg(long = "become-method")]
    pub become_method: Option<String>,
    /// Private key file for SSH.
    #[arg(long = "private-key", visible_alias = "key-file")]
    pub private_key: Option<String>,
    /// SSH connect timeout in seconds (default 10).
    #[arg(short = 'T', long = "timeout")]
    pub timeout: Option<u64>,
    /// Accept and remember unknown host keys (like StrictHostKeyChecking=accept-new).
    #[arg(long = "accept-new-host-keys")]
    pub accept_new_host_keys: bool,
    /// Ask for the SSH password (used where no key works).
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,
    /// Ask for the become (sudo/su) password.
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,
    /// A file holding the SSH password, a script printing it, or `-` (standard input).
    #[arg(long = "connection-password-file", visible_alias = "conn-pass-file")]
    pub connection_password_file: Option<PathBuf>,
    /// A file holding the become password, a script printing it, or `-` (standard input).
    #[arg(long = "become-password-file", visible_alias = "become-pass-file")]
    pub become_password_file: Option<PathBuf>,
    /// SSH options for every connection (`-o ProxyJump=bastion`).
    #[arg(long = "ssh-common-args", allow_hyphen_values = true)]
    pub ssh_common_args: Option<String>,
    /// More SSH options for every connection.
    #[arg(long = "ssh-extra-args", allow_hyphen_values = true)]
    pub ssh_extra_args: Option<String>,
    /// Accepted for Ansible's sake: bosun copies files through its SSH session, not scp.
    #[arg(long = "scp-extra-args", allow_hyphen_values = true)]
    pub scp_extra_args: Option<String>,
    /// Accepted for Ansible's sake: bosun copies files through its SSH session, not sftp.
    #[arg(long = "sftp-extra-args", allow_hyphen_values = true)]
    pub sftp_extra_args: Option<String>,
    /// Directories of drop-in modules, `:`-separated; repeatable, searched first.
    #[arg(short = 'M', long = "module-path")]
    pub module_path: Vec<String>,
    /// More output (-v to -vvvv).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Output format (default: `stdout_callback` from the config, else human).
    #[arg(long = "output", value_enum)]
    pub output: Option<OutputFormat>,
    /// Vault passwords.
    #[command(flatten)]
    pub vault: VaultArgs,
}
