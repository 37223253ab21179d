//! `devhost`: a dev-only local stand-in for the Azure Functions host, for the demo and e2e tests.
//!
//! Reads the app root (`host.json`, `functions/*/function.json`), starts the custom handler like
//! the host (`process`), and drives it: Event Grid BlobCreated events from watched Azurite
//! containers (`eventgrid_watch`), timers (`timers`), queue triggers and queue outputs (`queues`),
//! `/api/*` forwarding and the admin API (`forward`, `admin`). Envelopes are built by the pure
//! `envelope` module, following `functions-host-protocol.md`. Prints `devhost listening addr=…`
//! as its first stdout line; stops the handler on SIGTERM/Ctrl-C.

mod admin;
mod app_root;
mod backoff;
mod envelope;
mod eventgrid_watch;
mod forward;
mod invoke;
mod process;
mod queues;
mod settings;
mod timers;
mod wiring;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match settings::Settings::parse(&args, &|k| std::env::var(k).ok()) {
        Ok(Some(s)) => s,
        Ok(None) => {
            println!("{}", settings::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("devhost: {e}");
            return ExitCode::from(2);
        }
    };
    match wiring::run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("devhost: {e}");
            ExitCode::FAILURE
        }
    }
}
