//! The `bosun` binary: parses the command line and renders errors; everything else
//! lives in the library.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use bosun::app::{self, AppError};
use bosun::cli::Cli;
use bosun::connection::round_trips;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                app::EXIT_OPTIONS
            } else {
                0
            };
            let _ = err.print();
            return ExitCode::from(code as u8);
        }
    };
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
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
        tokio::select! {
            result = app::run(cli) => match result {
                Ok(code) => code,
                Err(err) => {
                    report(err);
                    app::EXIT_LOAD
                }
            },
            _ = tokio::signal::ctrl_c() => {
                eprintln!("\n[ERROR]: User interrupted execution");
                99
            }
        }
    });
    if round_trips::wanted() {
        eprintln!("bosun: {} round trips to targets", round_trips::count());
    }
    ExitCode::from(code as u8)
}

/// Prints a load error with its source snippet.
fn report(err: AppError) {
    match err {
        AppError::Source(source) => eprintln!("{:?}", miette::Report::new(source)),
        AppError::Message(message) => eprintln!("ERROR! {message}"),
    }
}
