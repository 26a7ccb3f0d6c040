//! Evidence bundles (`tamga-evidence-bundle/1`): a signed file with everything its validation
//! relied on — trust anchors, certificates, OCSP responses, CRLs, time-stamps — the TS 119 102-2
//! report and a manifest, so that `tamga verify --offline` reproduces the verdict later without
//! any network. Callers may add entries of their own (a ledger receipt, a notarial act); the
//! offline verifier ignores what it does not know.

use base64::Engine;
use serde_json::json;

use crate::report::Report;
use crate::validate::{Policy, RevocationRequirement};
use crate::zip::{self, Entry, ZipError};

/// The bundle format.
pub const FORMAT: &str = "tamga-evidence-bundle/1";

fn sha(d: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, d))
}

/// Writes a bundle for `bytes` (named `name`), validated under `policy` with `report`; `extra`
/// entries are added as given.
pub fn write(
    name: &str,
    bytes: &[u8],
    content: Option<&[u8]>,
    policy: &Policy,
    report: &Report,
    extra: Vec<Entry>,
) -> Result<Vec<u8>, ZipError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut entries = vec![Entry {
        name: format!("document/{name}"),
        data: bytes.to_vec(),
    }];
    if let Some(c) = content {
        entries.push(Entry {
            name: "document/content".into(),
            data: c.to_vec(),
        });
    }
    for a in &policy.anchors {
        entries.push(Entry {
            name: format!("trust/{}.cer", sha(&a.der)),
            data: a.der.clone(),
        });
    }
    for o in &report.validation_objects {
        let dir = match o.kind.as_str() {
            "certificate" => "certificates",
            "ocsp-response" => "ocsp",
            "crl" => "crls",
            _ => "timestamps",
        };
        let data = b64
            .decode(&o.der_base64)
            .map_err(|e| ZipError::Malformed(format!("validation object {}: {e}", o.id)))?;
        entries.push(Entry {
            name: format!("evidence/{dir}/{}.der", o.id),
            data,
        });
    }
    // Revocation data supplied or fetched but not (yet) counted among the objects.
    for (dir, list) in [("ocsp", &policy.extra_ocsp), ("crls", &policy.extra_crls)] {
        for d in list {
            let n = format!("evidence/{dir}/{}.der", sha(d));
            if !entries.iter().any(|e| e.name == n) {
                entries.push(Entry {
                    name: n,
                    data: d.clone(),
                });
            }
        }
    }
    entries.push(Entry {
        name: "report.json".into(),
        data: serde_json::to_vec_pretty(report).unwrap_or_default(),
    });
    let mut summary = String::new();
    for s in &report.signatures {
        summary.push_str(&format!("{}\n{}\n", s.summary.mn, s.summary.en));
    }
    summary.push_str(&format!("{}\n{}\n", report.summary.mn, report.summary.en));
    entries.push(Entry {
        name: "summary.txt".into(),
        data: summary.into_bytes(),
    });
    entries.extend(extra);
    let manifest = json!({
        "format": FORMAT,
        "document": format!("document/{name}"),
        "content": content.map(|_| "document/content"),
        "validation_time": report.validation_time,
        "revocation": match policy.revocation {
            RevocationRequirement::Require => "require",
            RevocationRequirement::IfAvailable => "if-available",
        },
        "algorithms": format!("{:?}", policy.algorithms),
        "indication": report.indication,
    });
    entries.push(Entry {
        name: "manifest.json".into(),
        data: serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
    });
    zip::write(&entries)
}
