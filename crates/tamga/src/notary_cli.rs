//! `tamga notary …`: the notary office's client (token from `TAMGA_NOTARY_TOKEN`) — create a
//! contract, follow it, download the version to sign, submit a party's signed version or the
//! notary's countersigned one — and the verification a bank runs (`verify --code`, which also
//! saves the evidence bundle for `tamga verify --offline`). Parties sign with `tamga sign`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use base64::Engine;
use clap::Subcommand;
use serde_json::{Value, json};

/// `tamga notary` subcommands.
#[derive(Debug, Subcommand)]
pub enum NotaryCommand {
    /// Create a contract to sign from an unsigned PDF.
    Create {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// The contract: one unsigned PDF, or several files (repeat) kept as an ASiC-E
        /// container that every party signs in full.
        #[arg(long, required = true)]
        file: Vec<PathBuf>,
        /// Title.
        #[arg(long)]
        title: String,
        /// A party: `REGISTRATION-NUMBER:role mn:role en`, or for a company
        /// `REPRESENTATIVE@REGISTER-NUMBER:role mn:role en`; repeatable, in signing order.
        #[arg(long, required = true)]
        party: Vec<String>,
        /// The parties sign in the order given.
        #[arg(long)]
        ordered: bool,
        /// Signing deadline, days from now.
        #[arg(long)]
        deadline_days: Option<i64>,
        /// Make these public on the verification service: `title`, `parties` (roles only).
        #[arg(long, value_delimiter = ',')]
        public: Vec<String>,
    },
    /// A contract's state.
    Status {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// Contract id.
        #[arg(long)]
        id: String,
    },
    /// Download the current version (to sign with `tamga sign`).
    Download {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// Contract id.
        #[arg(long)]
        id: String,
        /// Output file.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Submit a party's signed version.
    Submit {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// Contract id.
        #[arg(long)]
        id: String,
        /// The signed PDF or ASiC-E container.
        #[arg(long)]
        file: PathBuf,
    },
    /// Submit the notary's countersigned version: the act is entered in the register.
    Notarise {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// Contract id.
        #[arg(long)]
        id: String,
        /// The countersigned PDF or ASiC-E container.
        #[arg(long)]
        file: PathBuf,
    },
    /// Verify a notarial act by its verification code (saving the evidence bundle), its
    /// register number, or the document itself.
    Verify {
        /// Node base URL.
        #[arg(long)]
        url: String,
        /// Verification code.
        #[arg(long, conflicts_with_all = ["number", "file"])]
        code: Option<String>,
        /// Register number (`2026/000001`): existence and public data only.
        #[arg(long, conflicts_with = "file")]
        number: Option<String>,
        /// The notarised PDF.
        #[arg(long)]
        file: Option<PathBuf>,
        /// With --code: save the evidence bundle here.
        #[arg(long)]
        bundle: Option<PathBuf>,
    },
}

fn token() -> anyhow::Result<String> {
    std::env::var("TAMGA_NOTARY_TOKEN").context("TAMGA_NOTARY_TOKEN is not set")
}

async fn answer(r: reqwest::Response, what: &str) -> anyhow::Result<reqwest::Response> {
    if !r.status().is_success() {
        let s = r.status();
        let body: Value = r.json().await.unwrap_or_default();
        bail!(
            "{what}: HTTP {s}: {}",
            body["detail"].as_str().unwrap_or("(no detail)")
        );
    }
    Ok(r)
}

fn read(p: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
}

fn party(spec: &str) -> anyhow::Result<Value> {
    let mut parts = spec.splitn(3, ':');
    let who = parts.next().unwrap_or_default();
    let (role_mn, role_en) = match (parts.next(), parts.next()) {
        (Some(m), Some(e)) if !m.is_empty() && !e.is_empty() => (m, e),
        _ => bail!("--party {spec:?}: use REGISTRATION-NUMBER:role mn:role en"),
    };
    let (person, company) = match who.split_once('@') {
        Some((p, c)) => (p, Some(c)),
        None => (who, None),
    };
    Ok(json!({
        "registration_number": person,
        "company_register": company,
        "role_mn": role_mn,
        "role_en": role_en,
    }))
}

async fn post_pdf(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    step: &str,
    file: &PathBuf,
) -> anyhow::Result<String> {
    let u = format!("{base}/notary/api/contracts/{id}/{step}");
    let r = http
        .post(&u)
        .bearer_auth(token()?)
        .header("content-type", "application/octet-stream")
        .body(read(file)?)
        .send()
        .await?;
    Ok(answer(r, &u).await?.text().await?)
}

/// Runs a `tamga notary` command.
pub async fn run(cmd: NotaryCommand) -> anyhow::Result<ExitCode> {
    let http = reqwest::Client::new();
    let base = |url: &str| url.trim_end_matches('/').to_owned();
    match cmd {
        NotaryCommand::Create {
            url,
            file,
            title,
            party: parties,
            ordered,
            deadline_days,
            public,
        } => {
            let parties = parties
                .iter()
                .map(|p| party(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let body = json!({
                "contract": {
                    "title": title,
                    "parties": parties,
                    "ordered": ordered,
                    "deadline": deadline_days.map(|d| tamga_pki::builder::now() + d * 86400),
                    "public": public,
                },
            });
            let b64 = base64::engine::general_purpose::STANDARD;
            let mut body = body;
            let contents = file.iter().map(read).collect::<anyhow::Result<Vec<_>>>()?;
            match &contents[..] {
                [one] if one.starts_with(b"%PDF-") => {
                    body["pdf_base64"] = b64.encode(one).into();
                }
                _ => {
                    let mut list = Vec::new();
                    for (f, data) in file.iter().zip(&contents) {
                        let name = f
                            .file_name()
                            .and_then(|n| n.to_str())
                            .context("a file needs a UTF-8 name")?;
                        list.push(json!({ "name": name, "content_base64": b64.encode(data) }));
                    }
                    body["files"] = list.into();
                }
            }
            let u = format!("{}/notary/api/contracts", base(&url));
            let r = http
                .post(&u)
                .bearer_auth(token()?)
                .json(&body)
                .send()
                .await?;
            println!("{}", answer(r, &u).await?.text().await?);
        }
        NotaryCommand::Status { url, id } => {
            let u = format!("{}/notary/api/contracts/{id}", base(&url));
            let r = http.get(&u).bearer_auth(token()?).send().await?;
            println!("{}", answer(r, &u).await?.text().await?);
        }
        NotaryCommand::Download { url, id, out } => {
            let u = format!("{}/notary/api/contracts/{id}/document", base(&url));
            let r = http.get(&u).bearer_auth(token()?).send().await?;
            let bytes = answer(r, &u).await?.bytes().await?;
            std::fs::write(&out, &bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("{} ({} bytes)", out.display(), bytes.len());
        }
        NotaryCommand::Submit { url, id, file } => {
            println!(
                "{}",
                post_pdf(&http, &base(&url), &id, "signatures", &file).await?
            );
        }
        NotaryCommand::Notarise { url, id, file } => {
            println!(
                "{}",
                post_pdf(&http, &base(&url), &id, "notarisation", &file).await?
            );
        }
        NotaryCommand::Verify {
            url,
            code,
            number,
            file,
            bundle,
        } => {
            let r = match (&code, &number, &file) {
                (Some(c), _, _) => {
                    http.get(format!("{}/notary/verify/code/{c}", base(&url)))
                        .send()
                        .await?
                }
                (_, Some(n), _) => {
                    http.get(format!("{}/notary/verify/act/{n}", base(&url)))
                        .send()
                        .await?
                }
                (_, _, Some(f)) => {
                    http.post(format!("{}/notary/verify", base(&url)))
                        .header("content-type", "application/pdf")
                        .body(read(f)?)
                        .send()
                        .await?
                }
                _ => bail!("give --code, --number or --file"),
            };
            let v: Value = answer(r, "verification").await?.json().await?;
            let verdict = v["report"]["indication"].as_str().unwrap_or("");
            println!("{}", serde_json::to_string_pretty(&v)?);
            if let (Some(c), Some(out)) = (&code, &bundle) {
                let u = format!("{}/notary/verify/code/{c}/bundle", base(&url));
                let bytes = answer(http.get(&u).send().await?, &u)
                    .await?
                    .bytes()
                    .await?;
                std::fs::write(out, &bytes)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                eprintln!(
                    "evidence bundle: {} — check it offline with `tamga verify --offline {}`",
                    out.display(),
                    out.display()
                );
            }
            if number.is_none() && verdict != "TOTAL-PASSED" {
                eprintln!("НОТАРИАТЫН ҮЙЛДЭЛ БАТАЛГААЖААГҮЙ / NOT VERIFIED: {verdict}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
