//! ASiC containers with CAdES signatures (ETSI EN 319 162-1): ASiC-S (one file,
//! `META-INF/signature.p7s` over it) and ASiC-E (several files; each signature covers an
//! `META-INF/ASiCManifest*.xml` that lists the files with their SHA-256 digests, §4.4.3), so one
//! signature can cover a whole application packet and several signers can each add theirs.

use base64::Engine;

use crate::pades::{TimestampFn, ValidationData};
use crate::report::{Indication, Report, SubIndication};
use crate::validate::{Policy, ValidateError, Verdict, set_verdict, validate_cms};
use crate::zip::{self, Entry, Limits};
use crate::{Packaging, cades_add_signature_timestamp, cades_add_validation_data, cades_sign};
use tamga_keys::Signer;
use tamga_pki::ParsedCert;

/// ASiC-S media type.
pub const MIME_ASIC_S: &str = "application/vnd.etsi.asic-s+zip";
/// ASiC-E media type.
pub const MIME_ASIC_E: &str = "application/vnd.etsi.asic-e+zip";
const ASIC_NS: &str = "http://uri.etsi.org/02918/v1.2.1#";
const SHA256_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// Why a container could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum AsicError {
    /// The ZIP layer.
    #[error(transparent)]
    Zip(#[from] zip::ZipError),
    /// Not an ASiC container.
    #[error("not an ASiC container: {0}")]
    NotAsic(String),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
    /// Bad file names or contents.
    #[error("{0}")]
    Invalid(String),
}

/// Who signs and how far.
pub struct AsicSignOptions<'a> {
    /// The key.
    pub signer: &'a dyn Signer,
    /// Its certificate.
    pub cert: &'a ParsedCert,
    /// Its chain.
    pub chain: &'a [ParsedCert],
    /// Claimed signing time.
    pub time: i64,
    /// For B-T and up.
    pub timestamp: Option<TimestampFn<'a>>,
    /// For B-LT: validation data to embed.
    pub validation_data: Option<&'a ValidationData>,
    /// For B-LTA: an archive-time-stamp-v3 after the validation data (needs `timestamp`).
    pub archive: bool,
}

fn mime_of(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match lower.rsplit('.').next() {
        Some("pdf") => "application/pdf",
        Some("xml") => "application/xml",
        Some("json") => "application/json",
        Some("txt") => "text/plain",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        _ => "application/octet-stream",
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cades(content: &[u8], o: &AsicSignOptions<'_>) -> Result<Vec<u8>, AsicError> {
    let mut p7s = cades_sign(
        content,
        Packaging::Detached,
        o.signer,
        o.cert,
        o.chain,
        o.time,
    )
    .map_err(|e| AsicError::Sign(e.to_string()))?;
    if let Some(ts) = o.timestamp {
        let mut failure = None;
        p7s = cades_add_signature_timestamp(&p7s, |req| match ts(req) {
            Ok(r) => r,
            Err(e) => {
                failure = Some(e);
                Vec::new()
            }
        })
        .map_err(|e| AsicError::Sign(failure.clone().unwrap_or_else(|| e.to_string())))?;
    }
    if let Some(data) = o.validation_data {
        p7s = cades_add_validation_data(&p7s, data).map_err(|e| AsicError::Sign(e.to_string()))?;
    }
    if o.archive {
        let ts = o
            .timestamp
            .ok_or_else(|| AsicError::Sign("B-LTA needs a time-stamp authority".into()))?;
        p7s = crate::cades_add_archive_timestamp(&p7s, 0, Some(content), ts)
            .map_err(|e| AsicError::Sign(e.to_string()))?;
    }
    Ok(p7s)
}

/// Whether `name` may be a data file's path in a container: relative, no `..`, no empty
/// segment, not `mimetype` or under `META-INF/`, no backslash or NUL (which extractors on other
/// systems read as separators or terminators), at most 255 bytes.
pub fn check_data_name(name: &str) -> Result<(), AsicError> {
    if name.is_empty()
        || name.len() > 255
        || name == "mimetype"
        || name.starts_with("META-INF/")
        || name.starts_with('/')
        || name.contains(['\\', '\0'])
        || name.split('/').any(|p| p == ".." || p.is_empty())
    {
        return Err(AsicError::Invalid(format!(
            "{name:?} cannot be a data file in a container"
        )));
    }
    Ok(())
}

/// An ASiC-S container: `file` and a CAdES signature over it.
pub fn sign_asic_s(name: &str, data: &[u8], o: &AsicSignOptions<'_>) -> Result<Vec<u8>, AsicError> {
    check_data_name(name)?;
    let p7s = cades(data, o)?;
    Ok(zip::write(&[
        Entry {
            name: "mimetype".into(),
            data: MIME_ASIC_S.as_bytes().to_vec(),
        },
        Entry {
            name: name.into(),
            data: data.to_vec(),
        },
        Entry {
            name: "META-INF/signature.p7s".into(),
            data: p7s,
        },
    ])?)
}

fn manifest(sig_name: &str, files: &[Entry]) -> Vec<u8> {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
    x.push_str(&format!(
        "<asic:ASiCManifest xmlns:asic=\"{ASIC_NS}\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n"
    ));
    x.push_str(&format!(
        "  <asic:SigReference URI=\"{}\" MimeType=\"application/pkcs7-signature\"/>\n",
        xml_escape(sig_name)
    ));
    for f in files {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &f.data);
        x.push_str(&format!(
            "  <asic:DataObjectReference URI=\"{}\" MimeType=\"{}\">\n    <ds:DigestMethod Algorithm=\"{SHA256_URI}\"/>\n    <ds:DigestValue>{}</ds:DigestValue>\n  </asic:DataObjectReference>\n",
            xml_escape(&f.name),
            mime_of(&f.name),
            base64::engine::general_purpose::STANDARD.encode(digest)
        ));
    }
    x.push_str("</asic:ASiCManifest>\n");
    x.into_bytes()
}

/// An ASiC-E container with `files` and one signature (over a manifest of all of them).
pub fn sign_asic_e(files: &[Entry], o: &AsicSignOptions<'_>) -> Result<Vec<u8>, AsicError> {
    if files.is_empty() {
        return Err(AsicError::Invalid(
            "an ASiC-E container needs at least one file".into(),
        ));
    }
    for (i, f) in files.iter().enumerate() {
        check_data_name(&f.name)?;
        if files[..i].iter().any(|g| g.name == f.name) {
            return Err(AsicError::Invalid(format!("{} is given twice", f.name)));
        }
    }
    let m = manifest("META-INF/signature001.p7s", files);
    let p7s = cades(&m, o)?;
    let mut entries = vec![Entry {
        name: "mimetype".into(),
        data: MIME_ASIC_E.as_bytes().to_vec(),
    }];
    entries.extend(files.iter().cloned());
    entries.push(Entry {
        name: "META-INF/ASiCManifest001.xml".into(),
        data: m,
    });
    entries.push(Entry {
        name: "META-INF/signature001.p7s".into(),
        data: p7s,
    });
    Ok(zip::write(&entries)?)
}

/// Adds another signer's signature to an ASiC-E container (a parallel signature over the same
/// files, with its own manifest).
pub fn add_asic_e_signature(
    container: &[u8],
    o: &AsicSignOptions<'_>,
) -> Result<Vec<u8>, AsicError> {
    let entries = open(container)?;
    if entries[0].data != MIME_ASIC_E.as_bytes() {
        return Err(AsicError::NotAsic(
            "only ASiC-E containers take more signatures".into(),
        ));
    }
    let files: Vec<Entry> = entries
        .iter()
        .filter(|e| e.name != "mimetype" && !e.name.starts_with("META-INF/"))
        .cloned()
        .collect();
    let n = (1..1000)
        .find(|n| {
            !entries
                .iter()
                .any(|e| e.name == format!("META-INF/signature{n:03}.p7s"))
        })
        .ok_or_else(|| AsicError::Invalid("too many signatures".into()))?;
    let sig_name = format!("META-INF/signature{n:03}.p7s");
    let m = manifest(&sig_name, &files);
    let p7s = cades(&m, o)?;
    let mut out = entries;
    out.push(Entry {
        name: format!("META-INF/ASiCManifest{n:03}.xml"),
        data: m,
    });
    out.push(Entry {
        name: sig_name,
        data: p7s,
    });
    Ok(zip::write(&out)?)
}

fn open(container: &[u8]) -> Result<Vec<Entry>, AsicError> {
    let entries = zip::read(container, Limits::default())?;
    match zip::first_entry_stored(container) {
        Some((n, true)) if n == "mimetype" => {}
        Some((n, _)) if n == "mimetype" => {
            return Err(AsicError::NotAsic(
                "the mimetype entry is compressed".into(),
            ));
        }
        _ => return Err(AsicError::NotAsic("the first entry is not mimetype".into())),
    }
    let Some(first) = entries.first().filter(|e| e.name == "mimetype") else {
        return Err(AsicError::NotAsic("no mimetype entry".into()));
    };
    if first.data != MIME_ASIC_S.as_bytes() && first.data != MIME_ASIC_E.as_bytes() {
        return Err(AsicError::NotAsic(format!(
            "mimetype is {:?}",
            String::from_utf8_lossy(&first.data)
        )));
    }
    Ok(entries)
}

/// A data object reference from a manifest: (URI, digest algorithm URI, digest).
fn manifest_references(xml: &str) -> Vec<(String, String, Vec<u8>)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!("{name}=\"");
        let start = tag.find(&key)? + key.len();
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
                .replace("%20", " "),
        )
    };
    let mut out = Vec::new();
    for chunk in xml.split("DataObjectReference").skip(1) {
        // Each opening tag is followed by its attributes; closing tags have none.
        let Some(tag_end) = chunk.find('>') else {
            continue;
        };
        let tag = &chunk[..tag_end];
        let Some(uri) = attr(tag, "URI") else {
            continue;
        };
        let alg = chunk
            .find("DigestMethod")
            .and_then(|p| {
                attr(
                    &chunk[p..p + chunk[p..].find('>').unwrap_or(0)],
                    "Algorithm",
                )
            })
            .unwrap_or_default();
        let value = chunk.find("DigestValue>").and_then(|p| {
            let s = p + "DigestValue>".len();
            let e = chunk[s..].find('<')? + s;
            base64::engine::general_purpose::STANDARD
                .decode(chunk[s..e].trim())
                .ok()
        });
        out.push((uri, alg, value.unwrap_or_default()));
    }
    out
}

fn xml_digest(uri: &str) -> Option<&'static aws_lc_rs::digest::Algorithm> {
    Some(match uri {
        "http://www.w3.org/2001/04/xmlenc#sha256" => &aws_lc_rs::digest::SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => &aws_lc_rs::digest::SHA384,
        "http://www.w3.org/2001/04/xmlenc#sha512" => &aws_lc_rs::digest::SHA512,
        _ => return None,
    })
}

/// Validates every signature in an ASiC-S or ASiC-E container.
pub fn validate_asic(
    name: &str,
    container: &[u8],
    policy: &Policy,
) -> Result<Report, ValidateError> {
    let entries = open(container).map_err(|e| ValidateError::Container(e.to_string()))?;
    let asic_e = entries[0].data == MIME_ASIC_E.as_bytes();
    let data_files: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.name != "mimetype" && !e.name.starts_with("META-INF/"))
        .collect();
    let sig_files: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.name.starts_with("META-INF/") && e.name.ends_with(".p7s"))
        .collect();
    if sig_files.is_empty() {
        return Err(ValidateError::NoSignature);
    }
    let mut signatures = Vec::new();
    let mut objects = Vec::new();
    let mut covered: Vec<String> = Vec::new();
    for sig in &sig_files {
        let mut sub = if asic_e {
            let Some(manifest) = entries.iter().find(|e| {
                e.name.starts_with("META-INF/ASiCManifest")
                    && std::str::from_utf8(&e.data)
                        .is_ok_and(|x| x.contains(&format!("URI=\"{}\"", sig.name)))
            }) else {
                return Err(ValidateError::Container(format!(
                    "no ASiCManifest refers to {}",
                    sig.name
                )));
            };
            let mut r = validate_cms(&sig.name, &sig.data, Some(&manifest.data), policy)?;
            let xml = String::from_utf8_lossy(&manifest.data);
            let refs = manifest_references(&xml);
            let mut problems = Vec::new();
            for (uri, alg, digest) in &refs {
                match (data_files.iter().find(|f| &f.name == uri), xml_digest(alg)) {
                    (Some(f), Some(d)) => {
                        if aws_lc_rs::digest::digest(d, &f.data).as_ref() != digest.as_slice() {
                            problems.push((
                                SubIndication::HashFailure,
                                format!("{uri} was changed after signing"),
                            ));
                        } else {
                            covered.push(uri.clone());
                        }
                    }
                    (None, _) => problems.push((
                        SubIndication::SignedDataNotFound,
                        format!("{uri} is signed but missing from the container"),
                    )),
                    (_, None) => problems.push((
                        SubIndication::FormatFailure,
                        format!("{uri}: unsupported digest {alg}"),
                    )),
                }
            }
            if refs.is_empty() {
                problems.push((
                    SubIndication::FormatFailure,
                    "the manifest lists no files".into(),
                ));
            }
            for s in r.signatures.iter_mut() {
                s.field = Some(sig.name.clone());
                s.messages.push(format!(
                    "covers: {}",
                    refs.iter()
                        .map(|r| r.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                if s.kind == "signature" {
                    for (sub, msg) in &problems {
                        let v = if *sub == SubIndication::SignedDataNotFound {
                            Verdict::indeterminate(*sub, msg.clone())
                        } else {
                            Verdict::fail(*sub, msg.clone())
                        };
                        if s.indication != Indication::TotalFailed {
                            set_verdict(s, v);
                        }
                    }
                }
            }
            r
        } else {
            let [data] = data_files[..] else {
                return Err(ValidateError::Container(format!(
                    "ASiC-S holds exactly one data file, this one {}",
                    data_files.len()
                )));
            };
            covered.push(data.name.clone());
            let mut r = validate_cms(&sig.name, &sig.data, Some(&data.data), policy)?;
            for s in r.signatures.iter_mut() {
                s.field = Some(sig.name.clone());
                s.messages.push(format!("covers: {}", data.name));
            }
            r
        };
        objects.append(&mut sub.validation_objects);
        signatures.append(&mut sub.signatures);
    }
    // Ids unique across the container's signature files.
    let mut n = 0;
    for s in signatures.iter_mut() {
        if s.kind != "countersignature" {
            n += 1;
            s.id = format!("S-{n}");
        }
    }
    objects.sort_by(|a, b| a.id.cmp(&b.id));
    objects.dedup_by(|a, b| a.id == b.id);
    let uncovered: Vec<&str> = data_files
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| !covered.iter().any(|c| c == n))
        .collect();
    let mut report =
        crate::validate::finish_report_parts(name, container, "asic", policy, objects, signatures);
    if !uncovered.is_empty() {
        report.summary.en.push_str(&format!(
            " Not covered by any signature: {}.",
            uncovered.join(", ")
        ));
        report.summary.mn.push_str(&format!(
            " Гарын үсгээр баталгаажаагүй файл: {}.",
            uncovered.join(", ")
        ));
    }
    Ok(report)
}
