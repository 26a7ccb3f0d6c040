//! `tamga exchange …`: operate the registry (commands over its admin API), fetch and check the
//! signed global configuration, export a message-log record, and verify an exported record
//! offline with nothing but the ledger's and witnesses' public keys.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use tamga_exchange::export::{RecordExport, verify};
use tamga_ledger::note::Verifier;

/// `tamga exchange` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Apply registry commands (a JSON file: {"actor", "why", "commands": [...]}, or `-`);
    /// the admin token comes from TAMGA_REGISTRY_TOKEN.
    Admin {
        /// Registry node base URL.
        #[arg(long)]
        url: String,
        /// The commands file.
        file: PathBuf,
    },
    /// Fetch the signed global configuration and check it with the registry's public key.
    Conf {
        /// URL of `…/exchange/globalconf`.
        #[arg(long)]
        url: String,
        /// The registry's public key (PEM).
        #[arg(long)]
        registry_key: PathBuf,
    },
    /// Export the records of an exchange (by X-Road-Id) from a gateway's consumer side.
    Export {
        /// The gateway's consumer URL.
        #[arg(long)]
        url: String,
        /// The X-Road-Id.
        #[arg(long)]
        id: String,
        /// Output file.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Verify exported records offline; exit 0 when all hold, 1 when not.
    VerifyRecord {
        /// The export (JSON: one record or a list).
        file: PathBuf,
        /// The `exchange` log's vkey.
        #[arg(long)]
        log_key: String,
        /// A witness's vkey; repeatable.
        #[arg(long)]
        witness: Vec<String>,
        /// How many witnesses must have cosigned (default: all given).
        #[arg(long)]
        quorum: Option<usize>,
    },
}

/// Runs an exchange subcommand.
pub async fn run(cmd: ExchangeCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ExchangeCommand::Admin { url, file } => {
            let body = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                s
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            let token = std::env::var("TAMGA_REGISTRY_TOKEN")
                .context("set TAMGA_REGISTRY_TOKEN to the registry admin token")?;
            let r = reqwest::Client::new()
                .post(format!(
                    "{}/exchange/registry/commands",
                    url.trim_end_matches('/')
                ))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .with_context(|| format!("cannot reach {url}"))?;
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            if !status.is_success() {
                bail!("the registry refused ({status}): {text}");
            }
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        ExchangeCommand::Conf { url, registry_key } => {
            let key = crate::exchange_role::read_spki_pem(&registry_key)?;
            let bytes = reqwest::get(&url)
                .await
                .with_context(|| format!("cannot reach {url}"))?
                .bytes()
                .await?;
            let conf = tamga_exchange::globalconf::verify(&bytes, &key)?;
            println!("{}", serde_json::to_string_pretty(&conf)?);
            eprintln!(
                "valid / хүчинтэй: version {} of instance {}, expires at {}",
                conf.version,
                conf.instance,
                tamga_exchange::tracker::rfc3339(conf.expires_at * 1000)
            );
            Ok(ExitCode::SUCCESS)
        }
        ExchangeCommand::Export { url, id, out } => {
            let r = reqwest::get(format!(
                "{}/exchange/records/{id}",
                url.trim_end_matches('/')
            ))
            .await
            .with_context(|| format!("cannot reach {url}"))?;
            if !r.status().is_success() {
                bail!("{}: {}", r.status(), r.text().await.unwrap_or_default());
            }
            std::fs::write(&out, r.bytes().await?)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("{}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        ExchangeCommand::VerifyRecord {
            file,
            log_key,
            witness,
            quorum,
        } => {
            let text =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let exports: Vec<RecordExport> = match serde_json::from_slice(&text) {
                Ok(v) => v,
                Err(_) => vec![serde_json::from_slice(&text).context("not a record export")?],
            };
            let log_key = Verifier::from_vkey(&log_key)?;
            let witnesses: Vec<Verifier> = witness
                .iter()
                .map(|w| Verifier::from_vkey(w))
                .collect::<Result<_, _>>()?;
            let quorum = quorum.unwrap_or(witnesses.len());
            let mut ok = true;
            for e in &exports {
                match verify(e, &log_key, &witnesses, quorum) {
                    Ok(v) => println!(
                        "valid / хүчинтэй: {} record of {} ({} → {}, status {}), signed by {}; time-stamped {} by {}; ledger entry {} of {} cosigned by {}",
                        v.side,
                        v.x_road_id,
                        v.client,
                        v.service,
                        v.status,
                        v.signers.join(" and "),
                        tamga_exchange::tracker::rfc3339(v.timestamped_at * 1000),
                        v.tsa,
                        v.ledger_index,
                        v.ledger_size,
                        if v.witnesses.is_empty() {
                            "no witness".to_owned()
                        } else {
                            v.witnesses.join(", ")
                        }
                    ),
                    Err(err) => {
                        ok = false;
                        println!("NOT valid / хүчингүй: {err}");
                    }
                }
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
