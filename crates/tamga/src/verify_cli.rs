//! `tamga verify`: EN 319 102-1 validation of a PDF, CAdES or ASiC file, a report a court can
//! read (Mongolian and English) and a machine can re-check (TS 119 102-2 JSON), an evidence
//! bundle that reproduces the verdict offline, and exit codes: 0 TOTAL-PASSED, 1 TOTAL-FAILED,
//! 2 INDETERMINATE, 3 nothing could be validated (unreadable input, bad arguments).

use std::path::{Path, PathBuf};

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use clap::{Args, ValueEnum};
use tamga_pki::ParsedCert;
use tamga_sign::report::{Indication, Report, SubIndication};
use tamga_sign::validate::{Policy, RevocationRequirement, ValidateError};
use tamga_sign::zip::{self, Limits};

/// Revocation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RevocationArg {
    /// The signer's revocation status must be established (default).
    Require,
    /// Use what is available.
    IfAvailable,
}

/// `tamga verify` options.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signed file: PDF, .p7s/.p7m (CAdES), .asics/.asice (ASiC); or with --offline an
    /// evidence bundle.
    file: PathBuf,
    /// For a detached .p7s: the file it signs.
    #[arg(long)]
    content: Option<PathBuf>,
    /// Trust anchors (PEM bundle or DER); repeatable.
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// More certificates that may complete paths; repeatable.
    #[arg(long)]
    untrusted: Vec<PathBuf>,
    /// DER OCSP responses to use; repeatable.
    #[arg(long)]
    ocsp: Vec<PathBuf>,
    /// CRLs (DER) to use; repeatable.
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// Validation time (RFC 3339), default now.
    #[arg(long)]
    at: Option<String>,
    /// Revocation policy.
    #[arg(long, value_enum, default_value = "require")]
    revocation: RevocationArg,
    /// Accept SHA-1 and small RSA keys (old archives).
    #[arg(long)]
    legacy_algorithms: bool,
    /// Do not fetch OCSP responses from the network when a signature lacks them.
    #[arg(long)]
    no_fetch: bool,
    /// Print the TS 119 102-2 JSON report instead of the summary.
    #[arg(long)]
    json: bool,
    /// Also write the JSON report here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write an evidence bundle (ZIP): the file, the report, and every certificate, OCSP
    /// response, CRL and time-stamp used, to reproduce the verdict offline later.
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// FILE is an evidence bundle: validate again from its contents alone, as of its time.
    #[arg(long)]
    offline: bool,
}

use tamga_sign::bundle::FORMAT as BUNDLE_FORMAT;

/// The exit code for an indication.
pub fn exit_code(i: Indication) -> ExitCode {
    ExitCode::from(match i {
        Indication::TotalPassed => 0,
        Indication::TotalFailed => 1,
        Indication::Indeterminate => 2,
    })
}

fn read(p: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
}

/// Validates `bytes` (PDF, ASiC or CMS, told apart by their first bytes).
pub fn validate_bytes(
    name: &str,
    bytes: &[u8],
    content: Option<&[u8]>,
    policy: &Policy,
) -> Result<Report, ValidateError> {
    let mut r = tamga_sign::http::validate_any(name, bytes, content, policy)?;
    r.identify_document(bytes);
    Ok(r)
}

/// Signatures whose signer status is unknown: fetch OCSP for their certificates (AIA) and
/// return the responses. Best effort: a responder that cannot be reached leaves the verdict
/// INDETERMINATE, which is what it is.
fn fetch_missing_ocsp(report: &Report) -> Vec<Vec<u8>> {
    let certs: Vec<ParsedCert> = report
        .validation_objects
        .iter()
        .filter(|o| o.kind == "certificate")
        .filter_map(|o| {
            base64::engine::general_purpose::STANDARD
                .decode(&o.der_base64)
                .ok()
        })
        .filter_map(|d| ParsedCert::from_der(&d).ok())
        .collect();
    let mut out = Vec::new();
    for s in report
        .signatures
        .iter()
        .filter(|s| s.sub_indication == Some(SubIndication::TryLater))
    {
        let Some(info) = &s.signer else { continue };
        let Some(cert) = certs.iter().find(|c| tamga_sign_sha(&c.der) == info.sha256) else {
            continue;
        };
        let Some(issuer) = certs.iter().find(|i| {
            tamga_pki::name::names_match(i.subject(), cert.issuer()) && i.der != cert.der
        }) else {
            continue;
        };
        for url in cert.ocsp_urls() {
            let Ok(req) = tamga_pki::ocsp::build_request(issuer, cert.serial(), None) else {
                continue;
            };
            if let Ok(resp) = crate::sign_cli::fetch_ocsp(&url, &req) {
                out.push(resp);
                break;
            }
        }
    }
    out
}

fn tamga_sign_sha(d: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, d))
}

fn print_human(r: &Report) {
    for s in &r.signatures {
        println!("{}", s.summary.mn);
        println!("{}", s.summary.en);
        for m in &s.messages {
            println!("    - {m}");
        }
        for m in &s.modifications {
            println!("    ~ {m}");
        }
    }
    println!("{}", r.summary.mn);
    println!("{}", r.summary.en);
}

fn emit(r: &Report, args: &VerifyArgs) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(r)?;
    if let Some(p) = &args.report {
        std::fs::write(p, &json).with_context(|| format!("cannot write {}", p.display()))?;
    }
    if args.json {
        println!("{json}");
    } else {
        print_human(r);
    }
    Ok(())
}

/// Runs `tamga verify`.
pub fn verify(args: VerifyArgs) -> ExitCode {
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    if args.offline {
        return offline(args);
    }
    if args.trust.is_empty() {
        bail!("give the trust anchors with --trust ROOT.pem (e.g. the national root CA)");
    }
    let mut anchors = Vec::new();
    for t in &args.trust {
        anchors.extend(
            ParsedCert::all_from_pem_or_der(&read(t)?)
                .with_context(|| format!("trust anchor {}", t.display()))?,
        );
    }
    let mut extra_certs = Vec::new();
    for u in &args.untrusted {
        extra_certs.extend(
            ParsedCert::all_from_pem_or_der(&read(u)?)
                .with_context(|| format!("certificate {}", u.display()))?,
        );
    }
    let time = match &args.at {
        Some(t) => tamga_pki::time::parse_rfc3339(t).map_err(|e| anyhow!(e))?,
        None => tamga_pki::builder::now(),
    };
    let mut policy = Policy {
        anchors,
        extra_certs,
        extra_crls: args.crl.iter().map(|p| read(p)).collect::<Result<_, _>>()?,
        extra_ocsp: args
            .ocsp
            .iter()
            .map(|p| read(p))
            .collect::<Result<_, _>>()?,
        time,
        algorithms: if args.legacy_algorithms {
            tamga_pki::AlgorithmPolicy::Legacy
        } else {
            tamga_pki::AlgorithmPolicy::Strict
        },
        revocation: match args.revocation {
            RevocationArg::Require => RevocationRequirement::Require,
            RevocationArg::IfAvailable => RevocationRequirement::IfAvailable,
        },
    };
    let bytes = read(&args.file)?;
    let content = args.content.as_deref().map(read).transpose()?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut report = validate_bytes(&name, &bytes, content.as_deref(), &policy)?;
    if !args.no_fetch && args.at.is_none() {
        let fetched = fetch_missing_ocsp(&report);
        if !fetched.is_empty() {
            policy.extra_ocsp.extend(fetched);
            report = validate_bytes(&name, &bytes, content.as_deref(), &policy)?;
        }
    }
    emit(&report, args)?;
    if let Some(b) = &args.bundle {
        write_bundle(b, &name, &bytes, content.as_deref(), &policy, &report)?;
        eprintln!("evidence bundle: {}", b.display());
    }
    Ok(exit_code(report.indication))
}

fn write_bundle(
    path: &Path,
    name: &str,
    bytes: &[u8],
    content: Option<&[u8]>,
    policy: &Policy,
    report: &Report,
) -> anyhow::Result<()> {
    let zip = tamga_sign::bundle::write(name, bytes, content, policy, report, vec![])?;
    std::fs::write(path, zip).with_context(|| format!("cannot write {}", path.display()))
}

fn offline(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let bundle = read(&args.file)?;
    let entries = zip::read(&bundle, Limits::default()).context("not an evidence bundle")?;
    let get = |n: &str| entries.iter().find(|e| e.name == n).map(|e| e.data.clone());
    let manifest: serde_json::Value = serde_json::from_slice(
        &get("manifest.json").ok_or_else(|| anyhow!("the bundle has no manifest.json"))?,
    )?;
    if manifest["format"] != BUNDLE_FORMAT {
        bail!("unknown bundle format {}", manifest["format"]);
    }
    let doc_name = manifest["document"].as_str().unwrap_or_default();
    let doc = get(doc_name).ok_or_else(|| anyhow!("the bundle lacks {doc_name}"))?;
    let content = manifest["content"].as_str().and_then(get);
    let under = |prefix: &str| -> Vec<Vec<u8>> {
        entries
            .iter()
            .filter(|e| e.name.starts_with(prefix))
            .map(|e| e.data.clone())
            .collect()
    };
    let certs = |prefix: &str| -> Vec<ParsedCert> {
        under(prefix)
            .iter()
            .filter_map(|d| ParsedCert::from_der(d).ok())
            .collect()
    };
    let time = tamga_pki::time::parse_rfc3339(manifest["validation_time"].as_str().unwrap_or(""))
        .map_err(|e| anyhow!(e))?;
    let policy = Policy {
        anchors: certs("trust/"),
        extra_certs: certs("evidence/certificates/"),
        extra_crls: under("evidence/crls/"),
        extra_ocsp: under("evidence/ocsp/"),
        time,
        algorithms: if manifest["algorithms"] == "Legacy" {
            tamga_pki::AlgorithmPolicy::Legacy
        } else {
            tamga_pki::AlgorithmPolicy::Strict
        },
        revocation: if manifest["revocation"] == "if-available" {
            RevocationRequirement::IfAvailable
        } else {
            RevocationRequirement::Require
        },
    };
    let name = doc_name.trim_start_matches("document/");
    let report = validate_bytes(name, &doc, content.as_deref(), &policy)?;
    emit(&report, args)?;
    let stored = serde_json::to_value(report.indication)?;
    if stored == manifest["indication"] {
        eprintln!(
            "reproduced offline: the same verdict ({}) as recorded in the bundle / хадгалсан дүгнэлт давтагдлаа",
            report.indication.label()
        );
    } else {
        eprintln!(
            "the verdict differs from the one recorded ({}): {} / дүгнэлт зөрж байна",
            manifest["indication"],
            report.indication.label()
        );
    }
    Ok(exit_code(report.indication))
}
