//! Command line: `serve`, `demo`, `keys`, `pki verify`, `sign`, `verify`, `config check`.
//! Later issues add `ledger` and `exchange` beside these.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tamga_keys::KeyAlgorithm;

use crate::config::Config;
use crate::{demo, startup};

/// Tamga — signature-first e-government platform / цахим засаглалын платформ.
#[derive(Debug, Parser)]
#[command(name = "tamga", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the roles a configuration file names.
    Serve {
        /// TOML configuration file; `TAMGA_…` environment variables override it.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Run every role on an embedded SQLite database with a synthetic country.
    Demo {
        /// Data directory (reused on the next start).
        #[arg(long, default_value = "./tamga-demo")]
        data: PathBuf,
        /// Port to listen on (0 picks a free one; demo.json tells which).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to listen on.
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        bind: IpAddr,
    },
    /// Manage signing keys in the configured key store.
    Keys {
        /// TOML configuration file.
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Public-key infrastructure: validate certificates.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Sign files: PAdES (PDF), CAdES (.p7s/.p7m) or ASiC, at B-B, B-T, B-LT or B-LTA.
    Sign(crate::sign_cli::SignArgs),
    /// Raise existing signatures to B-T, B-LT or B-LTA (again: renew the archive time-stamp).
    Extend(crate::sign_cli::ExtendArgs),
    /// Validate signatures (EN 319 102-1); exit 0 TOTAL-PASSED, 1 TOTAL-FAILED,
    /// 2 INDETERMINATE, 3 when nothing could be validated.
    Verify(crate::verify_cli::VerifyArgs),
    /// The ledger: append, checkpoints, offline receipts.
    Ledger {
        #[command(subcommand)]
        command: crate::ledger_cli::LedgerCommand,
    },
    /// e-Notary: contracts signed by every party and countersigned by a notary; verification
    /// by code, register number or document.
    Notary {
        #[command(subcommand)]
        command: crate::notary_cli::NotaryCommand,
    },
    /// The electronic archive: ingest, export, paper copies, disposal, renewal; offline
    /// verification of packages.
    Archive {
        #[command(subcommand)]
        command: crate::archive_cli::ArchiveCommand,
    },
    /// The exchange: registry commands, global configuration, record export and offline
    /// verification.
    Exchange {
        #[command(subcommand)]
        command: crate::exchange_cli::ExchangeCommand,
    },
    /// The identity provider: clients, accounts, key rotation, TOTP codes for demo accounts.
    Id {
        #[command(subcommand)]
        command: crate::id_cli::IdCommand,
    },
    /// Check a configuration without starting anything.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List keys: label, algorithm, key id (SHA-256 of the public key).
    List,
    /// Generate a key.
    Generate {
        /// The key's label.
        label: String,
        /// ec-p256, ec-p384, ed25519, rsa-2048, rsa-3072 or rsa-4096.
        #[arg(long, default_value = "ec-p256")]
        algorithm: KeyAlgorithm,
    },
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Validate a certificate path (RFC 5280 §6); exit 0 when valid, 1 when not, with the
    /// reason (RFC 5280 step and certificate) on one line.
    Verify(crate::pki_cli::VerifyArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Load and validate; print the effective configuration as TOML-equivalent JSON.
    Check {
        /// TOML configuration file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

impl Cli {
    /// The demo's data dir, when the command is `demo`.
    pub fn demo_data_dir(&self) -> Option<&std::path::Path> {
        match &self.command {
            Command::Demo { data, .. } => Some(data),
            _ => None,
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { config } => {
            let config = Config::load(config.as_deref()).context("configuration")?;
            startup::init_logging(&config);
            startup::serve(config, None)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Demo { data, port, bind } => demo::run(data, bind, port)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Pki {
            command: PkiCommand::Verify(args),
        } => crate::pki_cli::verify(args),
        Command::Sign(args) => {
            crate::sign_cli::sign(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Extend(args) => {
            crate::sign_cli::extend(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify(args) => Ok(crate::verify_cli::verify(args)),
        Command::Ledger { command } => crate::ledger_cli::run(command).await,
        Command::Archive { command } => crate::archive_cli::run(command).await,
        Command::Notary { command } => crate::notary_cli::run(command).await,
        Command::Exchange { command } => crate::exchange_cli::run(command).await,
        Command::Id { command } => crate::id_cli::run(command).await,
        Command::Keys { config, command } => {
            let config = Config::load(config.as_deref()).context("configuration")?;
            let keys = startup::open_key_store(&config)?;
            match command {
                KeysCommand::List => {
                    for k in keys.list()? {
                        println!("{}\t{}\t{}", k.label, k.algorithm, k.key_id);
                    }
                }
                KeysCommand::Generate { label, algorithm } => {
                    let signer = keys.generate(&label, algorithm)?;
                    println!(
                        "{}\t{}\t{}",
                        signer.label(),
                        signer.key_algorithm(),
                        signer.key_id()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            command: ConfigCommand::Check { config },
        } => {
            let config = Config::load(config.as_deref()).context("configuration")?;
            println!("{}", serde_json::to_string_pretty(&config)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
