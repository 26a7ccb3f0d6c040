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

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim().trim_end_matches('=').chars() {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            ' ' => continue,
            _ => return None,
        };
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
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
            let key = base32_decode(&secret).ok_or_else(|| anyhow!("not base32"))?;
            let step = tamga_id::credentials::totp_step(tamga_store::now_ms() / 1000);
            println!("{:06}", tamga_id::credentials::hotp(&key, step as u64));
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base32_round_trip() {
        let data = b"12345678901234567890";
        let enc = tamga_id::credentials::base32(data);
        assert_eq!(super::base32_decode(&enc).as_deref(), Some(&data[..]));
        assert_eq!(super::base32_decode("0"), None);
    }
}
