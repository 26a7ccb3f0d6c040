//! `tamga archive …`: ingest, export, paper copies, disposal and renewal through a node's
//! archivist API (token from `TAMGA_ARCHIVE_TOKEN`), and `verify`: a package checked offline
//! with nothing but the trust anchors (and the ledger log's public key for its receipt).
//! `verify` exits 0 when the package verifies, 1 when it does not, 3 when it cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use base64::Engine;
use clap::Subcommand;
use serde_json::json;
use tamga_archive::ers::ErsPolicy;
use tamga_archive::package::{self, PackageError};
use tamga_pki::ParsedCert;

/// `tamga archive` subcommands.
#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Archive a file (metadata, hash, ledger commitment; sealed within seconds).
    Ingest {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// The file.
        file: PathBuf,
        /// Title.
        #[arg(long)]
        title: String,
        /// Creator (organisation or person).
        #[arg(long)]
        creator: String,
        /// Records schedule class.
        #[arg(long)]
        classification: String,
        /// Years to keep it.
        #[arg(long)]
        retain_years: u32,
        /// Media type (default from the extension).
        #[arg(long)]
        media_type: Option<String>,
    },
    /// Export a document with its evidence record (ASiC-S package).
    Export {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// Document id.
        #[arg(long)]
        id: String,
        /// Output file.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// A printable paper copy (PDF/A) with QR and verification code.
    Copy {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// Document id.
        #[arg(long)]
        id: String,
        /// Output file.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Dispose of a document whose retention is over (recorded in the ledger).
    Dispose {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// Document id.
        #[arg(long)]
        id: String,
        /// The disposal authority.
        #[arg(long)]
        reason: String,
    },
    /// Seal pending documents and renew evidence records now.
    Renew {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// Renew records due within this many days.
        #[arg(long, default_value_t = 90)]
        horizon_days: i64,
        /// Also renew every hash tree under SHA-384 or SHA-512.
        #[arg(long)]
        hash_tree: Option<String>,
    },
    /// Verify a package offline; exit 0 verified, 1 not, 3 unreadable.
    Verify {
        /// The package (.asics).
        package: PathBuf,
        /// Trust anchors for the time-stamp authorities (PEM or DER); repeatable.
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// The ledger log's public key (vkey) to check the receipt.
        #[arg(long)]
        log_key: Option<String>,
        /// Verification time (RFC 3339), default now.
        #[arg(long)]
        at: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn token() -> anyhow::Result<String> {
    std::env::var("TAMGA_ARCHIVE_TOKEN").context("TAMGA_ARCHIVE_TOKEN is not set")
}

async fn check(r: reqwest::Response, what: &str) -> anyhow::Result<reqwest::Response> {
    if !r.status().is_success() {
        let s = r.status();
        bail!(
            "{what}: HTTP {s}: {}",
            r.text().await.unwrap_or_default().trim()
        );
    }
    Ok(r)
}

fn media_type_of(file: &std::path::Path) -> &'static str {
    match file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("txt") => "text/plain; charset=utf-8",
        Some("xml") => "application/xml",
        Some("json") => "application/json",
        Some("p7s") => "application/pkcs7-signature",
        Some("asice") => "application/vnd.etsi.asic-e+zip",
        Some("asics") => "application/vnd.etsi.asic-s+zip",
        _ => "application/octet-stream",
    }
}

/// Saves `/archive/api/documents/{id}/{what}` to `out`.
async fn download(
    http: &reqwest::Client,
    url: &str,
    id: &str,
    what: &str,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let u = format!(
        "{}/archive/api/documents/{id}/{what}",
        url.trim_end_matches('/')
    );
    let r = http
        .get(&u)
        .bearer_auth(token()?)
        .send()
        .await
        .with_context(|| u.clone())?;
    let bytes = check(r, &u).await?.bytes().await?;
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!("{} ({} bytes)", out.display(), bytes.len());
    Ok(ExitCode::SUCCESS)
}

/// Runs a `tamga archive` command.
pub async fn run(cmd: ArchiveCommand) -> anyhow::Result<ExitCode> {
    let http = reqwest::Client::new();
    match cmd {
        ArchiveCommand::Ingest {
            url,
            file,
            title,
            creator,
            classification,
            retain_years,
            media_type,
        } => {
            let content =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .context("the file needs a UTF-8 name")?;
            let retain_until =
                tamga_pki::builder::now() + i64::from(retain_years) * 365 * 86400 + 86400;
            let body = json!({ "documents": [{
                "metadata": {
                    "file_name": name,
                    "media_type": media_type.unwrap_or_else(|| media_type_of(&file).to_owned()),
                    "title": title,
                    "creator": creator,
                    "classification": classification,
                    "retain_until": retain_until,
                },
                "content_base64": base64::engine::general_purpose::STANDARD.encode(&content),
            }]});
            let u = format!("{}/archive/api/documents", url.trim_end_matches('/'));
            let r = http
                .post(&u)
                .bearer_auth(token()?)
                .json(&body)
                .send()
                .await
                .with_context(|| u.clone())?;
            println!("{}", check(r, &u).await?.text().await?);
            Ok(ExitCode::SUCCESS)
        }
        ArchiveCommand::Export { url, id, out } => {
            download(&http, &url, &id, "package", &out).await
        }
        ArchiveCommand::Copy { url, id, out } => download(&http, &url, &id, "copy", &out).await,
        ArchiveCommand::Dispose { url, id, reason } => {
            let u = format!(
                "{}/archive/api/documents/{id}/disposal",
                url.trim_end_matches('/')
            );
            let r = http
                .post(&u)
                .bearer_auth(token()?)
                .json(&json!({ "reason": reason }))
                .send()
                .await
                .with_context(|| u.clone())?;
            println!("{}", check(r, &u).await?.text().await?);
            Ok(ExitCode::SUCCESS)
        }
        ArchiveCommand::Renew {
            url,
            horizon_days,
            hash_tree,
        } => {
            let u = format!("{}/archive/api/renew", url.trim_end_matches('/'));
            let r = http
                .post(&u)
                .bearer_auth(token()?)
                .json(&json!({ "horizon_days": horizon_days, "hash_tree": hash_tree }))
                .send()
                .await
                .with_context(|| u.clone())?;
            println!("{}", check(r, &u).await?.text().await?);
            Ok(ExitCode::SUCCESS)
        }
        ArchiveCommand::Verify {
            package: path,
            trust,
            log_key,
            at,
            json,
        } => {
            let mut anchors = Vec::new();
            for t in &trust {
                let bytes =
                    std::fs::read(t).with_context(|| format!("cannot read {}", t.display()))?;
                anchors.extend(
                    ParsedCert::all_from_pem_or_der(&bytes)
                        .with_context(|| format!("{} holds no usable certificate", t.display()))?,
                );
            }
            let time = match at {
                Some(s) => {
                    tamga_pki::time::parse_rfc3339(&s).map_err(|e| anyhow::anyhow!("--at: {e}"))?
                }
                None => tamga_pki::builder::now(),
            };
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            match package::verify(&bytes, &ErsPolicy::new(anchors, time), log_key.as_deref()) {
                Ok(r) => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&r)?);
                    } else {
                        println!(
                            "БАТАЛГААЖСАН / VERIFIED: {} ({})\n  SHA-256 {}\n  оршин байсан / existed at {}\n  {} time-stamp(s); renew by {}\n  {} · {} · kept until {}\n  ledger: {}",
                            r.document_id,
                            r.title,
                            r.sha256,
                            tamga_pki::time::format_rfc3339(r.evidence.existed_at),
                            r.evidence.stamps.len(),
                            tamga_pki::time::format_rfc3339(r.evidence.renew_by),
                            r.creator,
                            r.classification,
                            r.retention_until,
                            r.ledger
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e @ (PackageError::Zip(_) | PackageError::Shape(_))) => {
                    eprintln!("УНШИХ БОЛОМЖГҮЙ / UNREADABLE: {e}");
                    Ok(ExitCode::from(3))
                }
                Err(e) => {
                    if json {
                        println!("{}", json!({ "verified": false, "reason": e.to_string() }));
                    }
                    eprintln!("БАТАЛГААЖААГҮЙ / NOT VERIFIED: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
