//! `tamga`: one binary that runs any set of the platform's roles.
//!
//! The binary only wires libraries together: configuration, the store, the key store, the HTTP
//! node and the roles. Errors reach the user here as one line naming the cause, with a non-zero
//! exit; nothing below this file prints.

mod archive_cli;
mod archive_role;
mod cli;
mod config;
mod demo;
mod demo_archive;
mod demo_backends;
mod demo_contract;
mod demo_country;
mod demo_exchange;
mod demo_identity;
mod demo_notary;
mod demo_portal;
mod exchange_cli;
mod exchange_role;
mod id_cli;
mod identity_role;
mod ledger_cli;
mod ledger_role;
mod notary_cli;
mod notary_role;
mod pki_cli;
mod roles;
mod secrets;
mod sign_cli;
mod startup;
mod verify_cli;

use std::process::ExitCode;

// The exchange and the ledger allocate many short-lived buffers per request; glibc's malloc
// spent ~14% of a gateway's CPU on them (perf, BENCHMARKS.md), mimalloc about half that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Before any thread exists: the demo points SoftHSM2 at a token directory of its own.
    if let Some(data) = cli.demo_data_dir() {
        demo_country::prepare_softhsm(data);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` joins the context chain into one line: "cause: because: root cause".
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
