//! `tamga ledger …`: append over HTTP, fetch a checkpoint, write an offline receipt, and verify
//! a receipt with nothing but the log's and the witnesses' public keys.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use clap::Subcommand;
use tamga_ledger::note::Verifier;
use tamga_ledger::receipt::{Receipt, verify};

/// `tamga ledger` subcommands.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Append an entry (a file, or `-` for stdin); the token comes from TAMGA_LEDGER_TOKEN.
    Append {
        /// Node base URL, e.g. http://localhost:8080.
        #[arg(long)]
        url: String,
        /// Log name.
        #[arg(long)]
        log: String,
        /// The entry (at most 64 KiB). Personal data never goes in: append a commitment.
        file: PathBuf,
    },
    /// Print the log's latest (cosigned) checkpoint.
    Checkpoint {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// Log name.
        #[arg(long)]
        log: String,
    },
    /// Write a receipt for entry INDEX: the entry, its inclusion proof, the cosigned checkpoint.
    Prove {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// Log name.
        #[arg(long)]
        log: String,
        /// Entry index.
        #[arg(long)]
        index: u64,
        /// Output file.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Verify a receipt offline; exit 0 when it holds, 1 when not.
    VerifyReceipt {
        /// The receipt (JSON).
        receipt: PathBuf,
        /// The log's vkey.
        #[arg(long)]
        log_key: String,
        /// A witness's cosignature vkey; repeatable.
        #[arg(long)]
        witness: Vec<String>,
        /// How many witness cosignatures must verify (default: all given).
        #[arg(long)]
        quorum: Option<usize>,
    },
}

async fn get(url: &str) -> anyhow::Result<reqwest::Response> {
    let r = reqwest::get(url).await.with_context(|| url.to_string())?;
    if !r.status().is_success() {
        let s = r.status();
        bail!(
            "{url}: HTTP {s}: {}",
            r.text().await.unwrap_or_default().trim()
        );
    }
    Ok(r)
}

/// Runs a `tamga ledger` command.
pub async fn run(cmd: LedgerCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LedgerCommand::Append { url, log, file } => {
            let data = if file.as_os_str() == "-" {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)?;
                v
            } else {
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?
            };
            let token =
                std::env::var("TAMGA_LEDGER_TOKEN").context("TAMGA_LEDGER_TOKEN is not set")?;
            let u = format!("{}/ledger/{log}/entries", url.trim_end_matches('/'));
            let r = reqwest::Client::new()
                .post(&u)
                .bearer_auth(token)
                .body(data)
                .send()
                .await
                .with_context(|| u.clone())?;
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            if !status.is_success() {
                bail!("{u}: HTTP {status}: {}", body.trim());
            }
            println!("{body}");
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Checkpoint { url, log } => {
            print!(
                "{}",
                get(&format!(
                    "{}/ledger/{log}/checkpoint",
                    url.trim_end_matches('/')
                ))
                .await?
                .text()
                .await?
            );
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Prove {
            url,
            log,
            index,
            out,
        } => {
            let base = format!("{}/ledger/{log}", url.trim_end_matches('/'));
            let checkpoint = get(&format!("{base}/checkpoint")).await?.text().await?;
            let note = tamga_ledger::note::Note::parse(checkpoint.as_bytes())?;
            let cp = tamga_ledger::note::Checkpoint::parse(&note.text)?;
            let proof: serde_json::Value = get(&format!(
                "{base}/proof/inclusion?index={index}&size={}",
                cp.size
            ))
            .await?
            .json()
            .await?;
            let bundle_index = index / 256;
            let width = (cp.size - bundle_index * 256).min(256);
            let path = tamga_ledger::http::tile_index_path(bundle_index);
            let url = if width == 256 {
                format!("{base}/tile/entries/{path}")
            } else {
                format!("{base}/tile/entries/{path}.p/{width}")
            };
            let bundle = get(&url).await?.bytes().await?;
            let mut pos = 0usize;
            let mut entry = None;
            for k in 0..width {
                let n = u16::from_be_bytes([
                    *bundle.get(pos).ok_or_else(|| anyhow!("short bundle"))?,
                    *bundle.get(pos + 1).ok_or_else(|| anyhow!("short bundle"))?,
                ]) as usize;
                let e = bundle
                    .get(pos + 2..pos + 2 + n)
                    .ok_or_else(|| anyhow!("short bundle"))?;
                if bundle_index * 256 + k == index {
                    entry = Some(e.to_vec());
                }
                pos += 2 + n;
            }
            let entry = entry.ok_or_else(|| anyhow!("entry {index} not in its bundle"))?;
            let receipt = Receipt {
                format: "tamga-ledger-receipt/1".into(),
                origin: cp.origin,
                index,
                entry: base64::engine::general_purpose::STANDARD.encode(&entry),
                proof: proof["proof"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|h| h.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                checkpoint,
            };
            std::fs::write(&out, serde_json::to_vec_pretty(&receipt)?)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("{}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::VerifyReceipt {
            receipt,
            log_key,
            witness,
            quorum,
        } => {
            let r: Receipt = serde_json::from_slice(
                &std::fs::read(&receipt)
                    .with_context(|| format!("cannot read {}", receipt.display()))?,
            )
            .context("not a receipt")?;
            let log_key = Verifier::from_vkey(&log_key)?;
            let witnesses: Vec<Verifier> = witness
                .iter()
                .map(|w| Verifier::from_vkey(w))
                .collect::<Result<_, _>>()?;
            match verify(&r, &log_key, &witnesses, quorum.unwrap_or(witnesses.len())) {
                Ok(v) => {
                    println!(
                        "valid / хүчинтэй: entry {} is in {} at size {}, cosigned by {}",
                        r.index,
                        r.origin,
                        v.size,
                        if v.witnesses.is_empty() {
                            "no witness".to_string()
                        } else {
                            v.witnesses.join(", ")
                        }
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("NOT valid / хүчингүй: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
