//! `bosun vault`: ansible-vault's commands (create, decrypt, edit, encrypt,
//! encrypt_string, rekey, view) with its options, messages and file formats.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::keyring::{Keyring, Secret};
use super::sources::PasswordSources;
use super::{VaultError, encrypt};
use crate::cli::VaultArgs;
use crate::config::Config;

/// The `bosun vault` subcommands.
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Create a new encrypted file in $EDITOR.
    Create(WriteArgs),
    /// Decrypt files in place (or to --output); `-` or nothing reads stdin.
    Decrypt(FileArgs),
    /// Edit an encrypted file in $EDITOR.
    Edit(FileArgs),
    /// Encrypt files in place (or to --output); `-` or nothing reads stdin.
    Encrypt(WriteArgs),
    /// Encrypt strings into YAML `!vault |` values.
    #[command(name = "encrypt_string", visible_alias = "encrypt-string")]
    EncryptString(EncryptStringArgs),
    /// Re-encrypt files with a new password.
    Rekey(RekeyArgs),
    /// Print decrypted files.
    View(FileArgs),
}

/// Files and the passwords to open them.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// Files (`-` for stdin/stdout where that makes sense).
    pub files: Vec<String>,
    /// Write the result here instead of in place (`-` for stdout).
    #[arg(long = "output")]
    pub output: Option<String>,
    /// Vault passwords.
    #[command(flatten)]
    pub vault: VaultArgs,
}

/// Files to encrypt and the password to encrypt with.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// What to encrypt.
    #[command(flatten)]
    pub files: FileArgs,
    /// The vault id to encrypt with, when several are given.
    #[arg(long = "encrypt-vault-id")]
    pub encrypt_vault_id: Option<String>,
}

/// Options of `encrypt_string`.
#[derive(Debug, Args)]
pub struct EncryptStringArgs {
    /// Strings to encrypt (`-` or none: read stdin).
    pub strings: Vec<String>,
    /// Variable names for the strings, in order.
    #[arg(short = 'n', long = "name")]
    pub names: Vec<String>,
    /// The variable name for the string read from stdin.
    #[arg(long = "stdin-name")]
    pub stdin_name: Option<String>,
    /// Ask on the terminal for the string to encrypt (and its variable name).
    #[arg(short = 'p', long = "prompt")]
    pub prompt: bool,
    /// Show the string as it is typed when asked for it.
    #[arg(long = "show-input")]
    pub show_input: bool,
    /// Write the result here instead of stdout.
    #[arg(long = "output")]
    pub output: Option<String>,
    /// The vault id to encrypt with, when several are given.
    #[arg(long = "encrypt-vault-id")]
    pub encrypt_vault_id: Option<String>,
    /// Vault passwords.
    #[command(flatten)]
    pub vault: VaultArgs,
}

/// Options of `rekey`.
#[derive(Debug, Args)]
pub struct RekeyArgs {
    /// Files and their current passwords.
    #[command(flatten)]
    pub files: FileArgs,
    /// The new password's source `label@source`.
    #[arg(long = "new-vault-id")]
    pub new_vault_id: Option<String>,
    /// A file holding the new password.
    #[arg(long = "new-vault-password-file")]
    pub new_vault_password_file: Option<String>,
    /// The vault id to encrypt with.
    #[arg(long = "encrypt-vault-id")]
    pub encrypt_vault_id: Option<String>,
}

/// Runs a `bosun vault` command; the error is the message to print.
pub fn run(command: VaultCommand, config: &Config) -> Result<(), String> {
    // SAFETY: umask only changes this process's mode mask for files it creates.
    unsafe { libc::umask(0o077) };
    match command {
        VaultCommand::Create(args) => {
            let secret = encrypting(&args.files.vault, args.encrypt_vault_id.as_deref(), config)?;
            let [file] = args.files.files.as_slice() else {
                return Err("ansible-vault create can take only one filename argument".into());
            };
            super::edit::create(Path::new(file), &secret)
        }
        VaultCommand::Encrypt(args) => {
            let secret = encrypting(&args.files.vault, args.encrypt_vault_id.as_deref(), config)?;
            for file in inputs(&args.files.files) {
                let plain = read(&file)?;
                let text = encrypt(&plain, &secret).map_err(|e| format!("{e} for {file}"))?;
                write(
                    args.files.output.as_deref().unwrap_or(&file),
                    text.as_bytes(),
                )?;
            }
            done("Encryption successful");
            Ok(())
        }
        VaultCommand::Decrypt(args) => {
            let ring = reading(&args.vault, config)?;
            for file in inputs(&args.files) {
                let plain = open(&ring, &file)?.0;
                write(args.output.as_deref().unwrap_or(&file), &plain)?;
            }
            done("Decryption successful");
            Ok(())
        }
        VaultCommand::View(args) => {
            let ring = reading(&args.vault, config)?;
            for file in &args.files {
                let plain = open(&ring, file)?.0;
                std::io::stdout()
                    .write_all(&plain)
                    .map_err(|e| format!("cannot write to stdout: {e}"))?;
            }
            Ok(())
        }
        VaultCommand::Edit(args) => {
            let ring = reading(&args.vault, config)?;
            for file in &args.files {
                let (plain, id) = open(&ring, file)?;
                let secret = ring.encrypting(Some(&id)).map_err(|e| e.to_string())?;
                super::edit::edit(Path::new(file), &plain, secret)?;
            }
            Ok(())
        }
        VaultCommand::Rekey(args) => rekey(args, config),
        VaultCommand::EncryptString(args) => encrypt_string(args, config),
    }
}

/// The password sources of `args` plus the config's defaults (the config has its
/// `ANSIBLE_VAULT_*` variables applied).
pub fn sources(args: &VaultArgs, config: &Config) -> PasswordSources {
    let mut vault_ids = config.vault_identity_list();
    vault_ids.extend(args.vault_ids.iter().cloned());
    let mut password_files = args.password_files.clone();
    password_files.extend(config.vault_password_file());
    PasswordSources {
        vault_ids,
        password_files,
        ask: args.ask || config.ask_vault_pass(),
        auto_prompt: false,
        new_password: false,
        ids_must_match: config.vault_id_match(),
    }
}

/// The passwords for reading (`decrypt`, `view`, `edit`, `rekey`).
fn reading(args: &VaultArgs, config: &Config) -> Result<Keyring, String> {
    let ring = PasswordSources {
        auto_prompt: true,
        ..sources(args, config)
    }
    .load()
    .map_err(|e| e.to_string())?;
    if ring.is_empty() {
        return Err("A vault password is required to use Ansible's Vault".into());
    }
    Ok(ring)
}

/// The one password to encrypt with (`create`, `encrypt`, `encrypt_string`).
fn encrypting(args: &VaultArgs, id: Option<&str>, config: &Config) -> Result<Secret, String> {
    let ring = PasswordSources {
        auto_prompt: true,
        new_password: true,
        ..sources(args, config)
    }
    .load()
    .map_err(|e| e.to_string())?;
    if ring.ids().len() > 1 && id.is_none() {
        return Err(format!(
            "The vault-ids {} are available to encrypt. Specify the vault-id to encrypt with --encrypt-vault-id",
            ring.ids().join(",")
        ));
    }
    ring.encrypting(id).cloned().map_err(|e| match e {
        VaultError::NoPassword => "A vault password is required to use Ansible's Vault".into(),
        other => other.to_string(),
    })
}

fn rekey(args: RekeyArgs, config: &Config) -> Result<(), String> {
    let ring = reading(&args.files.vault, config)?;
    let mut new = PasswordSources {
        vault_ids: args.new_vault_id.iter().cloned().collect(),
        password_files: args.new_vault_password_file.iter().cloned().collect(),
        ask: args.files.vault.ask,
        auto_prompt: true,
        new_password: true,
        ids_must_match: false,
    };
    if args.encrypt_vault_id.is_some() {
        new.vault_ids.splice(0..0, config.vault_identity_list());
    }
    let new = new.load().map_err(|e| e.to_string())?;
    let secret = new
        .encrypting(args.encrypt_vault_id.as_deref())
        .map_err(|_| "A new vault password is required to use Ansible's Vault rekey".to_string())?;
    for file in &args.files.files {
        let plain = open(&ring, file)?.0;
        let text = encrypt(&plain, secret).map_err(|e| format!("{e} for {file}"))?;
        write(file, text.as_bytes())?;
    }
    eprintln!("Rekey successful");
    Ok(())
}

/// `encrypt_string --prompt`: a variable name and the string, asked on the terminal
/// with ansible-vault's prompts.
fn prompted_plaintext(show_input: bool) -> Result<(Vec<u8>, Option<String>, &'static str), String> {
    let no_terminal = || "--prompt needs a terminal to ask on".to_string();
    let name = crate::connection::prompt::answer("Variable name (enter for no name): ", true)
        .ok_or_else(no_terminal)?;
    let question = match show_input {
        true => "String to encrypt:",
        false => "String to encrypt (hidden): ",
    };
    let text = crate::connection::prompt::answer(question, show_input).ok_or_else(no_terminal)?;
    if text.is_empty() {
        return Err("The plaintext provided from the prompt was empty, not encrypting".into());
    }
    let name = Some(name).filter(|n| !n.is_empty());
    Ok((text.into_bytes(), name, "the interactive prompt"))
}

fn encrypt_string(args: EncryptStringArgs, config: &Config) -> Result<(), String> {
    let secret = encrypting(&args.vault, args.encrypt_vault_id.as_deref(), config)?;
    let given: Vec<&String> = args.strings.iter().filter(|s| *s != "-").collect();
    let mut plaintexts: Vec<(Vec<u8>, Option<String>, &str)> = Vec::new();
    let read_stdin = args.strings.iter().any(|s| s == "-")
        || args.stdin_name.is_some()
        || (args.strings.is_empty() && !args.prompt);
    if args.prompt {
        if read_stdin {
            return Err(
                "The --prompt option is not supported if also reading input from stdin".into(),
            );
        }
        plaintexts.push(prompted_plaintext(args.show_input)?);
    }
    if read_stdin {
        if std::io::stdout().is_terminal() {
            eprintln!(
                "Reading plaintext input from stdin. (ctrl-d to end input, twice if your content does not already have a newline)"
            );
        }
        let text = read("-")?;
        if text.is_empty() {
            return Err("stdin was empty, not encrypting".into());
        }
        plaintexts.push((text, args.stdin_name.clone(), "stdin"));
    }
    if given.len() > args.names.len() && !args.names.is_empty() {
        eprintln!("The number of --name options do not match the number of args.");
        eprintln!(
            "The last named variable will be \"{}\". The rest will not have names.",
            args.names[args.names.len() - 1]
        );
    }
    for (index, text) in given.iter().enumerate() {
        if text.is_empty() {
            return Err(
                "The plaintext provided from the command line args was empty, not encrypting"
                    .into(),
            );
        }
        let name = args.names.get(index).cloned();
        plaintexts.push((text.as_bytes().to_vec(), name, "the command line args"));
    }
    let several = plaintexts.len() > 1;
    let mut out = Vec::new();
    for (index, (plain, name, from)) in plaintexts.iter().enumerate() {
        let text = encrypt(plain, &secret).map_err(|e| e.to_string())?;
        if several {
            match name {
                Some(name) => eprintln!(
                    "# The encrypted version of variable (\"{name}\", the string #{} from {from}).",
                    index + 1
                ),
                None => eprintln!(
                    "# The encrypted version of the string #{} from {from}.)",
                    index + 1
                ),
            }
        }
        out.push(yaml_block(&text, name.as_deref()));
    }
    out.push(String::new());
    write(
        args.output.as_deref().unwrap_or("-"),
        out.join("\n").as_bytes(),
    )?;
    done("Encryption successful");
    Ok(())
}

/// Vault text as a YAML `!vault |` block, as ansible-vault prints it.
fn yaml_block(text: &str, name: Option<&str>) -> String {
    let mut lines = vec![match name {
        Some(name) => format!("{name}: !vault |"),
        None => "!vault |".to_string(),
    }];
    lines.extend(text.lines().map(|line| format!("{}{line}", " ".repeat(10))));
    lines.join("\n")
}

/// The files named, or stdin.
fn inputs(files: &[String]) -> Vec<String> {
    if files.is_empty() {
        if std::io::stdin().is_terminal() {
            eprintln!("Reading input from stdin");
        }
        return vec!["-".into()];
    }
    files.to_vec()
}

/// Prints a success message when a person is watching, as ansible-vault does.
fn done(message: &str) {
    if std::io::stdout().is_terminal() {
        eprintln!("{message}");
    }
}

/// Decrypts a file; returns the plaintext and the id of the password that opened it.
fn open(ring: &Keyring, file: &str) -> Result<(Vec<u8>, String), String> {
    let data = read(file)?;
    let text = String::from_utf8_lossy(&data);
    ring.decrypt(&text).map_err(|e| format!("{e} for {file}"))
}

/// Reads a file, or stdin for `-`.
fn read(file: &str) -> Result<Vec<u8>, String> {
    if file == "-" {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        return Ok(data);
    }
    std::fs::read(file).map_err(|e| format!("Unable to retrieve file contents from {file}: {e}"))
}

/// Writes a file atomically (keeping its mode, 0600 for a new one), or stdout for `-`.
pub fn write(file: &str, data: &[u8]) -> Result<(), String> {
    if file == "-" {
        return std::io::stdout()
            .write_all(data)
            .map_err(|e| format!("cannot write to stdout: {e}"));
    }
    crate::local_write::write_atomic(&PathBuf::from(file), data)
}
