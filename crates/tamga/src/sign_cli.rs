//! `tamga sign`: PAdES, CAdES and ASiC signatures at B-B … B-LTA with a key from a PKCS#12
//! file, a PKCS#8 file or a PKCS#11 token. PINs and passphrases come from `TAMGA_PIN` or a
//! prompt on the terminal, never from the command line (where `ps` would show them).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};
use tamga_keys::{Pkcs11Config, Pkcs11KeyStore, Signer, SoftwareSigner};
use tamga_pki::ParsedCert;
use tamga_sign::pades::{PdfSignOptions, ValidationData};
use zeroize::Zeroizing;

/// Signature format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// PDF signature inside the PDF (EN 319 142).
    Pades,
    /// Detached `.p7s` beside the file (EN 319 122).
    Cades,
    /// CAdES with the file inside (`.p7m`).
    CadesEnveloping,
    /// ZIP with one file and its signature (EN 319 162).
    AsicS,
    /// ZIP with several files under one signature (EN 319 162).
    AsicE,
}

/// Baseline level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Level {
    /// Signature only.
    B,
    /// With a signature time-stamp.
    T,
    /// With the certificates and OCSP responses needed to validate it later.
    Lt,
    /// With an archive time-stamp over everything (PAdES document time-stamp, CAdES
    /// archive-time-stamp-v3).
    Lta,
}

/// `tamga sign` options.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The file(s) to sign (several only with --format asic-e).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output file (default: next to the input, `.signed.pdf`, `.p7s`, `.p7m`, `.asics`, `.asice`).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Format; default PAdES for PDFs, CAdES detached otherwise.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Baseline level.
    #[arg(long, value_enum, default_value = "b")]
    level: Level,
    /// Time-stamp authority URL (RFC 3161 over HTTP), required from level T up.
    #[arg(long)]
    tsa: Option<String>,
    /// Key and certificates from a PKCS#12 file (password: TAMGA_PIN or prompt).
    #[arg(long, conflicts_with_all = ["key", "pkcs11_module"])]
    p12: Option<PathBuf>,
    /// Key from a PKCS#8 PEM file (encrypted: passphrase from TAMGA_PIN or prompt).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so); with --token and --key-label.
    #[arg(long, requires_all = ["token", "key_label", "cert"])]
    pkcs11_module: Option<PathBuf>,
    /// PKCS#11 token label.
    #[arg(long)]
    token: Option<String>,
    /// Key label on the token.
    #[arg(long)]
    key_label: Option<String>,
    /// The signer's certificate (PEM/DER; a PEM bundle may continue with its chain).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// More CA certificates to embed (PEM bundle or DER); repeatable.
    #[arg(long)]
    chain: Vec<PathBuf>,
    /// PAdES: reason for signing.
    #[arg(long)]
    reason: Option<String>,
    /// PAdES: place of signing.
    #[arg(long)]
    location: Option<String>,
    /// PAdES: signature field name.
    #[arg(long)]
    field: Option<String>,
    /// PAdES: certify the document with DocMDP permission 1 (no changes), 2 (form filling and
    /// signing) or 3 (also annotations).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    certify: Option<u8>,
    /// CAdES: countersign signature number N (1-based) of the existing signature FILE.
    #[arg(long)]
    countersign: Option<usize>,
    /// CAdES: add a parallel signature to this existing detached signature over FILE.
    #[arg(long)]
    add_to: Option<PathBuf>,
    /// ASiC-E: add a signature to the existing container FILE.
    #[arg(long)]
    add_to_container: bool,
}

/// The PIN or passphrase: `TAMGA_PIN`, else a prompt without echo.
pub fn pin(prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("TAMGA_PIN") {
        return Ok(Zeroizing::new(p));
    }
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .context("no TAMGA_PIN and no terminal to ask for the PIN")
}

fn read(p: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
}

fn certs_from(p: &Path) -> anyhow::Result<Vec<ParsedCert>> {
    ParsedCert::all_from_pem_or_der(&read(p)?)
        .with_context(|| format!("{} holds no usable certificate", p.display()))
}

/// The key, its certificate and the chain to embed.
pub fn load_signer(
    args: &SignArgs,
) -> anyhow::Result<(Arc<dyn Signer>, ParsedCert, Vec<ParsedCert>)> {
    let mut extra: Vec<ParsedCert> = Vec::new();
    for c in &args.chain {
        extra.extend(certs_from(c)?);
    }
    let (signer, mut certs): (Arc<dyn Signer>, Vec<ParsedCert>) = if let Some(p12) = &args.p12 {
        let pw = pin("PKCS#12 нууц үг / password: ")?;
        let contents = tamga_keys::read_pkcs12(&read(p12)?, &pw)
            .with_context(|| format!("cannot open {}", p12.display()))?;
        let signer = SoftwareSigner::from_pkcs8("p12", &contents.key_pkcs8)?;
        let certs = contents
            .certificates
            .iter()
            .map(|d| ParsedCert::from_der(d))
            .collect::<Result<Vec<_>, _>>()
            .context("a certificate in the PKCS#12 file")?;
        (Arc::new(signer), certs)
    } else if let Some(key) = &args.key {
        let text = String::from_utf8(read(key)?).context("the key file is not PEM text")?;
        let der: Zeroizing<Vec<u8>> = if text.contains("BEGIN ENCRYPTED PRIVATE KEY") {
            let block = pem_block(&text, "ENCRYPTED PRIVATE KEY")?;
            let pw = pin("Түлхүүрийн нууц үг / key passphrase: ")?;
            tamga_keys::decrypt_pkcs8(&block, pw.as_bytes())?
        } else if text.contains("BEGIN PRIVATE KEY") {
            Zeroizing::new(pem_block(&text, "PRIVATE KEY")?)
        } else {
            bail!(
                "{}: expected a PKCS#8 PEM key (BEGIN [ENCRYPTED] PRIVATE KEY)",
                key.display()
            );
        };
        let cert = args
            .cert
            .as_deref()
            .ok_or_else(|| anyhow!("--key needs --cert"))?;
        (
            Arc::new(SoftwareSigner::from_pkcs8("key", &der)?),
            certs_from(cert)?,
        )
    } else if let Some(module) = &args.pkcs11_module {
        let pin = pin("Картын PIN / token PIN: ")?;
        let store = Pkcs11KeyStore::open(&Pkcs11Config {
            module: module.clone(),
            token_label: args.token.clone().unwrap_or_default(),
            pin,
        })?;
        let label = args.key_label.as_deref().unwrap_or_default();
        let signer = tamga_keys::KeyStore::open(&store, label)?;
        let cert = args
            .cert
            .as_deref()
            .ok_or_else(|| anyhow!("--pkcs11-module needs --cert"))?;
        (signer, certs_from(cert)?)
    } else {
        bail!(
            "no key: give --p12, --key with --cert, or --pkcs11-module with --token, --key-label and --cert"
        );
    };
    let pos = certs
        .iter()
        .position(|c| c.spki_der == signer.public_key_der())
        .ok_or_else(|| anyhow!("none of the certificates given is the signing key's"))?;
    let cert = certs.remove(pos);
    certs.extend(extra);
    certs.retain(|c| !c.is_self_issued() || c.der != cert.der);
    Ok((signer, cert, certs))
}

fn pem_block(text: &str, label: &str) -> anyhow::Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| anyhow!("no {label} block"))?;
    let (_, der) = der::pem::decode_vec(&text.as_bytes()[start..])
        .map_err(|e| anyhow!("bad PEM {label}: {e}"))?;
    Ok(der)
}

/// A blocking HTTP POST from inside the async runtime (the signing libraries are synchronous).
pub fn http_post(url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    let url = url.to_string();
    let ct = content_type.to_string();
    let body = body.to_vec();
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async move {
            let resp = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(|e| e.to_string())?
                .post(&url)
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            if !resp.status().is_success() {
                return Err(format!("{url}: HTTP {}", resp.status()));
            }
            resp.bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| format!("{url}: {e}"))
        })
    })
}

/// OCSP over HTTP (RFC 6960 Appendix A, POST).
pub fn fetch_ocsp(url: &str, req: &[u8]) -> Result<Vec<u8>, String> {
    http_post(url, "application/ocsp-request", req)
}

fn default_out(input: &Path, format: Format) -> PathBuf {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = input
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = input.parent().unwrap_or(Path::new("."));
    match format {
        Format::Pades => dir.join(format!("{stem}.signed.pdf")),
        Format::Cades => dir.join(format!("{name}.p7s")),
        Format::CadesEnveloping => dir.join(format!("{name}.p7m")),
        Format::AsicS => dir.join(format!("{stem}.asics")),
        Format::AsicE => dir.join(format!("{stem}.asice")),
    }
}

/// The certificates B-LT data must cover: the signer's chain and the time-stamp's.
fn lt_certs(cert: &ParsedCert, chain: &[ParsedCert], tokens_from: &[u8]) -> Vec<ParsedCert> {
    let mut all = vec![cert.clone()];
    all.extend(chain.iter().cloned());
    all.extend(tamga_sign::ltv::timestamp_certificates(tokens_from));
    all
}

/// Runs `tamga sign`; prints the output path.
pub fn sign(args: SignArgs) -> anyhow::Result<()> {
    let first = args
        .files
        .first()
        .ok_or_else(|| anyhow!("no file to sign"))?;
    let is_pdf = first
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
    let format = args
        .format
        .unwrap_or(if is_pdf { Format::Pades } else { Format::Cades });
    if args.files.len() > 1 && format != Format::AsicE {
        bail!("several files can only be signed together with --format asic-e");
    }
    if args.level >= Level::T && args.tsa.is_none() {
        bail!(
            "level {:?} needs a time-stamp authority: --tsa URL",
            args.level
        );
    }
    let (signer, cert, chain) = load_signer(&args)?;
    let tsa_url = args.tsa.clone();
    let ts_fn = move |req: &[u8]| -> Result<Vec<u8>, String> {
        let url = tsa_url.as_deref().ok_or("no TSA")?;
        http_post(url, "application/timestamp-query", req)
    };
    let ts: Option<tamga_sign::pades::TimestampFn<'_>> = if args.level >= Level::T {
        Some(&ts_fn)
    } else {
        None
    };
    let now = tamga_pki::builder::now();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(first, format));
    let collect = |extra_from: &[u8]| -> anyhow::Result<ValidationData> {
        tamga_sign::ltv::collect(&lt_certs(&cert, &chain, extra_from), &fetch_ocsp, now)
            .map_err(|e| anyhow!("collecting validation data for B-LT: {e}"))
    };
    let bytes = match format {
        Format::Pades => {
            let pdf = read(first)?;
            let mut signed = tamga_sign::pades::sign_pdf(
                &pdf,
                &PdfSignOptions {
                    signer: signer.as_ref(),
                    cert: &cert,
                    chain: &chain,
                    time: now,
                    field: args.field.clone(),
                    reason: args.reason.clone(),
                    location: args.location.clone(),
                    certify: args.certify,
                    timestamp: ts,
                },
            )?;
            if args.level >= Level::Lt {
                let cms = tamga_sign::pades::last_signature_contents(&signed).unwrap_or_default();
                signed = tamga_sign::pades::add_dss(&signed, &collect(&cms)?)?;
            }
            if args.level == Level::Lta {
                signed = tamga_sign::pades::add_document_timestamp(&signed, &ts_fn)?;
            }
            signed
        }
        Format::Cades | Format::CadesEnveloping => {
            if args.level == Level::Lta {
                bail!(
                    "CAdES B-LTA (archive-time-stamp-v3) is not implemented; use PAdES, or ASiC-E at B-LT"
                );
            }
            let packaging = if format == Format::Cades {
                tamga_sign::Packaging::Detached
            } else {
                tamga_sign::Packaging::Enveloping
            };
            let mut p7s = if let Some(n) = args.countersign {
                let existing = read(first)?;
                tamga_sign::cades_countersign(
                    &existing,
                    n.saturating_sub(1),
                    signer.as_ref(),
                    &cert,
                    &chain,
                    now,
                )?
            } else if let Some(existing) = &args.add_to {
                tamga_sign::cades_add_parallel_signature(
                    &read(existing)?,
                    &read(first)?,
                    signer.as_ref(),
                    &cert,
                    &chain,
                    now,
                )?
            } else {
                tamga_sign::cades_sign(
                    &read(first)?,
                    packaging,
                    signer.as_ref(),
                    &cert,
                    &chain,
                    now,
                )?
            };
            if args.countersign.is_none() && args.level >= Level::T {
                let mut failure = None;
                p7s = tamga_sign::cades_add_signature_timestamp(&p7s, |req| match ts_fn(req) {
                    Ok(r) => r,
                    Err(e) => {
                        failure = Some(e);
                        Vec::new()
                    }
                })
                .map_err(|e| anyhow!("{}", failure.clone().unwrap_or_else(|| e.to_string())))?;
            }
            if args.level >= Level::Lt {
                p7s = tamga_sign::cades_add_validation_data(&p7s, &collect(&p7s)?)?;
            }
            if args.level == Level::Lta {
                let content = if format == Format::Cades && args.countersign.is_none() {
                    Some(read(first)?)
                } else {
                    None
                };
                p7s = tamga_sign::cades_add_archive_timestamp(&p7s, 0, content.as_deref(), &ts_fn)?;
            }
            p7s
        }
        Format::AsicS | Format::AsicE => {
            // B-LT data is collected for the signer's chain; the TSA's chain comes with it
            // when the TSA sends its chain in the token (Tamga's does).
            let lt_data = if args.level >= Level::Lt {
                Some(collect(&[])?)
            } else {
                None
            };
            let o = tamga_sign::asic::AsicSignOptions {
                signer: signer.as_ref(),
                cert: &cert,
                chain: &chain,
                time: now,
                timestamp: ts,
                validation_data: lt_data.as_ref(),
                archive: args.level == Level::Lta,
            };
            if format == Format::AsicS {
                let name = first
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                tamga_sign::asic::sign_asic_s(&name, &read(first)?, &o)?
            } else if args.add_to_container {
                tamga_sign::asic::add_asic_e_signature(&read(first)?, &o)?
            } else {
                let mut entries = Vec::new();
                for f in &args.files {
                    let name = f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    entries.push(tamga_sign::zip::Entry {
                        name,
                        data: read(f)?,
                    });
                }
                tamga_sign::asic::sign_asic_e(&entries, &o)?
            }
        }
    };
    let tmp = out.with_extension("tmp-signing");
    std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("cannot write {}", out.display()))?;
    println!("{}", out.display());
    Ok(())
}

/// `tamga extend` options.
#[derive(Debug, Args)]
pub struct ExtendArgs {
    /// The signed file: PDF, .p7s/.p7m or .asics/.asice.
    file: PathBuf,
    /// For a detached .p7s: the file it signs (needed for B-LTA).
    #[arg(long)]
    content: Option<PathBuf>,
    /// Level to reach: t, lt or lta (lta again renews the archive time-stamp).
    #[arg(long, value_enum)]
    level: Level,
    /// Time-stamp authority URL (RFC 3161 over HTTP).
    #[arg(long)]
    tsa: String,
    /// Output file (default: replace FILE, atomically).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// Runs `tamga extend`; prints the output path.
pub fn extend(args: ExtendArgs) -> anyhow::Result<()> {
    use tamga_sign::extend::{Target, extend_asic, extend_cades, extend_pdf};
    let target = match args.level {
        Level::B => bail!("nothing to extend to: give --level t, lt or lta"),
        Level::T => Target::T,
        Level::Lt => Target::Lt,
        Level::Lta => Target::Lta,
    };
    let url = args.tsa.clone();
    let ts = move |req: &[u8]| http_post(&url, "application/timestamp-query", req);
    let bytes = read(&args.file)?;
    let now = tamga_pki::builder::now();
    let out_bytes = if bytes.windows(5).take(1024).any(|w| w == b"%PDF-") {
        extend_pdf(&bytes, target, &ts, &fetch_ocsp, now)?
    } else if bytes.starts_with(b"PK\x03\x04") {
        extend_asic(&bytes, target, &ts, &fetch_ocsp, now)?
    } else {
        let content = args.content.as_deref().map(read).transpose()?;
        extend_cades(&bytes, content.as_deref(), target, &ts, &fetch_ocsp, now)?
    };
    let out = args.out.clone().unwrap_or_else(|| args.file.clone());
    let tmp = out.with_extension("tmp-extending");
    std::fs::write(&tmp, &out_bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("cannot write {}", out.display()))?;
    println!("{}", out.display());
    Ok(())
}
