//! The `bosun` binary: parses the command line and renders errors; everything else
//! lives in the library.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use bosun::app::{self, AppError};
use bosun::cli::Cli;
use bosun::connection::{self, round_trips};
use bosun::executor::RunError;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let argv: Vec<String> = std::env::args().collect();
            if err.use_stderr()
                && let Some(hint) = bosun::suggest::mistyped_command(&argv, &subcommands())
            {
                eprintln!("ERROR! {hint}");
                return ExitCode::from(app::EXIT_OPTIONS as u8);
            }
            let code = if err.use_stderr() {
                app::EXIT_OPTIONS
            } else {
                0
            };
            let _ = err.print();
            return ExitCode::from(code as u8);
        }
    };
    connection::fd_limit::lift();
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .context_lines(2)
                .wrap_lines(color)
                .build(),
        )
    }));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("ERROR! cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(async {
        let interrupted = tokio::select! {
            result = app::run(cli) => return match result {
                Ok(code) => code,
                Err(err) => {
                    let code = err.exit_code();
                    report(err);
                    code
                }
            },
            _ = tokio::signal::ctrl_c() => "User interrupted execution",
            _ = terminated() => "bosun was terminated (SIGTERM)",
        };
        // The run is dropped here (local commands stop with it); remote ones are
        // stopped on every host before bosun exits.
        eprintln!("\n[ERROR]: {interrupted}");
        let stop = connection::interrupt_all();
        if tokio::time::timeout(INTERRUPT_GRACE, stop).await.is_err() {
            eprintln!("[WARNING]: some hosts did not confirm that their commands stopped");
        }
        99
    });
    if round_trips::wanted() {
        eprintln!("bosun: {} round trips to targets", round_trips::count());
    }
    ExitCode::from(code as u8)
}

/// The names of bosun's subcommands.
fn subcommands() -> Vec<String> {
    <Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// How long bosun waits, once interrupted, for the hosts to stop their commands.
const INTERRUPT_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Resolves when bosun receives SIGTERM (never, if the handler cannot be set).
async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

/// Prints a load error with its source snippet.
fn report(err: AppError) {
    match err {
        AppError::Source(source) => eprintln!("{:?}", miette::Report::new(source)),
        AppError::Message(message) | AppError::Usage(message) => eprintln!("ERROR! {message}"),
        AppError::Run(RunError::VarsFile(source)) => {
            eprintln!("{:?}", miette::Report::new(source))
        }
        AppError::Run(err) => eprintln!("ERROR! {err}"),
        AppError::Inventory(err) => eprintln!("ERROR! {err}"),
    }
}
