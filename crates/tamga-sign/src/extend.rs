//! Extending signatures that already exist to a higher level — the archive's routine: a B-B or
//! B-T signature made by a citizen's card becomes B-LT when the office files it, and a B-LTA
//! document gets a fresh archive time-stamp before the algorithms or the TSA's certificate of
//! its last one age out (EN 319 142-1 §5.4.3, EN 319 122-1 §5.5.3).

use tamga_pki::ParsedCert;

use crate::ltv::{OcspFetch, collect};
use crate::pades::{TimestampFn, ValidationData, add_document_timestamp, add_dss};
use crate::zip::{self, Entry, Limits};
use crate::{
    ExtendError, cades_add_archive_timestamp, cades_add_signature_timestamp,
    cades_add_validation_data, cms_read,
};

/// The level to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A time-stamp (CAdES: on the signature; PDF: a document time-stamp).
    T,
    /// Validation data for every certificate involved.
    Lt,
    /// Validation data, then an archive time-stamp over everything (renews an existing LTA).
    Lta,
}

fn certs_of_cms(p7s: &[u8]) -> Vec<ParsedCert> {
    let mut out: Vec<ParsedCert> = Vec::new();
    if let Ok(sd) = cms_read::parse_signed_data(crate::validate::trim_der(p7s)) {
        for c in &sd.certificates {
            if let Ok(p) = ParsedCert::from_der(c)
                && !out.iter().any(|o| o.der == p.der)
            {
                out.push(p);
            }
        }
    }
    for p in crate::ltv::timestamp_certificates(p7s) {
        if !out.iter().any(|o| o.der == p.der) {
            out.push(p);
        }
    }
    out
}

fn lt_data(
    certs: &[ParsedCert],
    fetch: OcspFetch<'_>,
    now: i64,
) -> Result<ValidationData, ExtendError> {
    collect(certs, fetch, now).map_err(ExtendError::Malformed)
}

/// Extends every signature of a PDF: `T` adds a document time-stamp; `Lt` adds the DSS for
/// all signers, time-stamp authorities and their chains; `Lta` does both (and renews).
pub fn extend_pdf(
    pdf: &[u8],
    target: Target,
    ts: TimestampFn<'_>,
    fetch: OcspFetch<'_>,
    now: i64,
) -> Result<Vec<u8>, ExtendError> {
    let doc = tamga_pdf::Document::parse(pdf).map_err(|e| ExtendError::Malformed(e.to_string()))?;
    let fields = tamga_pdf::signatures(&doc).map_err(|e| ExtendError::Malformed(e.to_string()))?;
    if fields.is_empty() {
        return Err(ExtendError::Malformed(
            "the PDF has no signature to extend".into(),
        ));
    }
    let mut out = pdf.to_vec();
    if target >= Target::Lt {
        let mut certs: Vec<ParsedCert> = Vec::new();
        for f in &fields {
            for c in certs_of_cms(&f.contents) {
                if !certs.iter().any(|o| o.der == c.der) {
                    certs.push(c);
                }
            }
        }
        out = add_dss(&out, &lt_data(&certs, fetch, now)?)
            .map_err(|e| ExtendError::Malformed(e.to_string()))?;
    }
    if target == Target::T || target == Target::Lta {
        out =
            add_document_timestamp(&out, ts).map_err(|e| ExtendError::Timestamp(e.to_string()))?;
    }
    Ok(out)
}

/// Extends every signer of a CAdES signature; `content` is the signed file of a detached one.
pub fn extend_cades(
    p7s: &[u8],
    content: Option<&[u8]>,
    target: Target,
    ts: TimestampFn<'_>,
    fetch: OcspFetch<'_>,
    now: i64,
) -> Result<Vec<u8>, ExtendError> {
    let sd = cms_read::parse_signed_data(p7s).map_err(|e| ExtendError::Malformed(e.to_string()))?;
    let signers = sd.signers.len();
    let has_ts = sd.signers.iter().all(|s| {
        !s.unsigned(crate::ID_AA_SIGNATURE_TIME_STAMP_TOKEN)
            .is_empty()
    });
    let mut out = p7s.to_vec();
    if !has_ts {
        if signers != 1 {
            return Err(ExtendError::Malformed(
                "several signers without time-stamps: extend each before combining them".into(),
            ));
        }
        let mut failure = None;
        out = cades_add_signature_timestamp(&out, |req| match ts(req) {
            Ok(r) => r,
            Err(e) => {
                failure = Some(e);
                Vec::new()
            }
        })
        .map_err(|e| failure.map(ExtendError::Timestamp).unwrap_or(e))?;
    }
    if target >= Target::Lt {
        out = cades_add_validation_data(&out, &lt_data(&certs_of_cms(&out), fetch, now)?)?;
    }
    if target == Target::Lta {
        for i in 0..signers {
            out = cades_add_archive_timestamp(&out, i, content, ts)?;
        }
    }
    Ok(out)
}

/// Extends every signature inside an ASiC-S or ASiC-E container.
pub fn extend_asic(
    container: &[u8],
    target: Target,
    ts: TimestampFn<'_>,
    fetch: OcspFetch<'_>,
    now: i64,
) -> Result<Vec<u8>, ExtendError> {
    let mut entries = zip::read(container, Limits::default())
        .map_err(|e| ExtendError::Malformed(e.to_string()))?;
    let asic_e = entries
        .first()
        .is_some_and(|e| e.name == "mimetype" && e.data == crate::asic::MIME_ASIC_E.as_bytes());
    let snapshot: Vec<Entry> = entries.clone();
    for e in entries
        .iter_mut()
        .filter(|e| e.name.starts_with("META-INF/") && e.name.ends_with(".p7s"))
    {
        let content: Vec<u8> = if asic_e {
            snapshot
                .iter()
                .find(|m| {
                    m.name.starts_with("META-INF/ASiCManifest")
                        && String::from_utf8_lossy(&m.data).contains(&format!("URI=\"{}\"", e.name))
                })
                .map(|m| m.data.clone())
                .ok_or_else(|| ExtendError::Malformed(format!("no manifest for {}", e.name)))?
        } else {
            snapshot
                .iter()
                .find(|d| d.name != "mimetype" && !d.name.starts_with("META-INF/"))
                .map(|d| d.data.clone())
                .ok_or_else(|| ExtendError::Malformed("ASiC-S without a data file".into()))?
        };
        e.data = extend_cades(&e.data, Some(&content), target, ts, fetch, now)?;
    }
    zip::write(&entries).map_err(|e| ExtendError::Malformed(e.to_string()))
}
