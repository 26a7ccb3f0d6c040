//! `tamga id`: the identity provider's operator commands (over its admin API; the token comes
//! from `TAMGA_ID_ADMIN_TOKEN`) and a TOTP code generator for demo accounts.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;

/// `tamga id` subcommands.
#[derive(Debug, Subcommand)]
pub enum IdCommand {
    /// Register (or replace) a client from a JSON registration file; prints its secret once.
    RegisterClient {
        /// The node's base URL.
        #[arg(long)]
        url: String,
        /// Registration (JSON; see docs/identity.md).
        file: PathBuf,
    },
    /// Create a citizen account (JSON: registration_number, given_name, family_name,
    /// password?, totp?).
    CreateAccount {
        /// The node's base URL.
        #[arg(long)]
        url: String,
        /// The account (JSON).
        file: PathBuf,
    },
    /// Make the next signing key current (the old one stays published for verification).
    RotateKeys {
        /// The node's base URL.
        #[arg(long)]
        url: String,
    },
    /// Print the current TOTP code for a base32 secret (demo accounts).
    Totp {
        /// The base32 secret.
        secret: String,
    },
}

async fn admin(url: &str, path: &str, body: Option<Vec<u8>>) -> anyhow::Result<String> {
    let token = std::env::var("TAMGA_ID_ADMIN_TOKEN")
        .map_err(|_| anyhow!("set TAMGA_ID_ADMIN_TOKEN to the identity admin token"))?;
    let client = reqwest::Client::new();
    let mut req = client
        .post(format!("{}{path}", url.trim_end_matches('/')))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    let resp = req.send().await.context("identity admin API")?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{status}: {text}");
    }
    Ok(text)
}

/// Runs a `tamga id` command.
pub async fn run(command: IdCommand) -> anyhow::Result<std::process::ExitCode> {
    let read =
        |p: &PathBuf| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    match command {
        IdCommand::RegisterClient { url, file } => {
            println!(
                "{}",
                admin(&url, "/id/admin/clients", Some(read(&file)?)).await?
            );
        }
        IdCommand::CreateAccount { url, file } => {
            println!(
                "{}",
                admin(&url, "/id/admin/accounts", Some(read(&file)?)).await?
            );
        }
        IdCommand::RotateKeys { url } => {
            println!("{}", admin(&url, "/id/admin/rotate-keys", None).await?);
        }
        IdCommand::Totp { secret } => {
            let code = tamga_id::credentials::totp_now(&secret, tamga_store::now_ms() / 1000)
                .ok_or_else(|| anyhow!("not base32"))?;
            println!("{code}");
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
