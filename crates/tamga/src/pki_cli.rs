//! `tamga pki …`: certificate validation from the command line (and, with the trust-services
//! role, CA administration).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::json;
use tamga_pki::crl::CrlSet;
use tamga_pki::policy::PolicyInputs;
use tamga_pki::time::{format_rfc3339, parse_rfc3339};
use tamga_pki::{AlgorithmPolicy, ParsedCert, Purpose, RevocationMode, ValidationInput, validate};

/// What the certificate must be good for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PurposeArg {
    /// Any purpose.
    Any,
    /// Legally binding signatures (nonRepudiation).
    Sign,
    /// Authentication (digitalSignature, clientAuth).
    Auth,
    /// TLS server.
    TlsServer,
    /// TLS client.
    TlsClient,
    /// OCSP responder.
    Ocsp,
    /// Time-stamping authority.
    Tsa,
}

/// `tamga pki verify` options.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The certificate to validate (PEM or DER).
    cert: PathBuf,
    /// Trust anchor certificates (PEM bundle or DER); repeatable.
    #[arg(long, required = true)]
    trust: Vec<PathBuf>,
    /// Untrusted intermediates (PEM bundle or DER); repeatable.
    #[arg(long)]
    untrusted: Vec<PathBuf>,
    /// What the certificate is for.
    #[arg(long, value_enum, default_value = "any")]
    purpose: PurposeArg,
    /// Validation time (RFC 3339), default now; a past time validates as of then.
    #[arg(long)]
    at: Option<String>,
    /// DER OCSP responses to use; repeatable. Makes revocation checking mandatory.
    #[arg(long)]
    ocsp: Vec<PathBuf>,
    /// CRLs (DER or PEM) to use; repeatable. Makes revocation checking mandatory.
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// Accept SHA-1 and RSA-1024 (old archives only).
    #[arg(long)]
    legacy_algorithms: bool,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn crl_der(data: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    if data.starts_with(b"-----BEGIN") {
        let (_, der) =
            der::pem::decode_vec(&data).map_err(|e| anyhow::anyhow!("bad PEM CRL: {e}"))?;
        Ok(der)
    } else {
        Ok(data)
    }
}

/// Runs the validation; returns the process exit code (0 valid, 1 not valid).
pub fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let target = ParsedCert::from_pem_or_der(&read(&args.cert)?)
        .with_context(|| format!("certificate {}", args.cert.display()))?;
    let mut anchors = Vec::new();
    for p in &args.trust {
        anchors.extend(
            ParsedCert::all_from_pem_or_der(&read(p)?)
                .with_context(|| format!("trust anchors {}", p.display()))?,
        );
    }
    let mut intermediates = Vec::new();
    for p in &args.untrusted {
        intermediates.extend(
            ParsedCert::all_from_pem_or_der(&read(p)?)
                .with_context(|| format!("intermediates {}", p.display()))?,
        );
    }
    let crl_list = args
        .crl
        .iter()
        .map(|p| crl_der(read(p)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let crls = CrlSet::from_der_list(&crl_list).map_err(|e| anyhow::anyhow!("CRL: {e}"))?;
    let ocsp = args
        .ocsp
        .iter()
        .map(read)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let time = match &args.at {
        Some(t) => parse_rfc3339(t).map_err(|e| anyhow::anyhow!("--at: {e}"))?,
        None => tamga_pki::builder::now(),
    };
    let revocation = if crl_list.is_empty() && ocsp.is_empty() {
        RevocationMode::Off
    } else {
        RevocationMode::Require
    };
    let purpose = match args.purpose {
        PurposeArg::Any => Purpose::Any,
        PurposeArg::Sign => Purpose::Sign,
        PurposeArg::Auth => Purpose::Auth,
        PurposeArg::TlsServer => Purpose::TlsServer,
        PurposeArg::TlsClient => Purpose::TlsClient,
        PurposeArg::Ocsp => Purpose::Ocsp,
        PurposeArg::Tsa => Purpose::Tsa,
    };
    let result = validate(&ValidationInput {
        target: &target,
        intermediates: &intermediates,
        anchors: &anchors,
        time,
        purpose,
        policy: PolicyInputs::default(),
        algorithms: if args.legacy_algorithms {
            AlgorithmPolicy::Legacy
        } else {
            AlgorithmPolicy::Strict
        },
        crls: &crls,
        ocsp_responses: &ocsp,
        revocation,
        fixed_path: None,
    });
    let revocation_text = match revocation {
        RevocationMode::Off => "not checked: no --crl or --ocsp given",
        _ => "checked",
    };
    let at = format_rfc3339(time);
    match result {
        Ok(out) => {
            let path: Vec<String> = out.path.iter().map(|c| c.subject_string()).collect();
            if args.json {
                println!(
                    "{}",
                    json!({ "valid": true, "at": at, "path": path, "revocation": revocation_text,
                    "valid_policies": out.valid_policies.iter().map(|o| o.to_string()).collect::<Vec<_>>() })
                );
            } else {
                println!(
                    "valid at {at}: {} (revocation {revocation_text})",
                    path.join(" → ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    json!({ "valid": false, "at": at, "step": e.step, "certificate_index": e.index,
                    "subject": e.subject, "reason": e.reason.to_string() })
                );
            } else {
                println!("invalid at {at}: {e}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
