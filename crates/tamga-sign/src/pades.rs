//! PAdES (ETSI EN 319 142-1) signing and validation.
//!
//! Signing adds one incremental update per step, never touching earlier bytes: the signature
//! field and its `/Sig` dictionary (`/SubFilter /ETSI.CAdES.detached`, `/ByteRange` over the
//! whole file except `/Contents`), then for B-LT a `/DSS` dictionary with the certificates and
//! OCSP responses/CRLs (§5.4.2), then for B-LTA a document time-stamp (`/DocTimeStamp`,
//! `/SubFilter /ETSI.RFC3161`, §5.4.3). Validation checks each signature's coverage, its CMS,
//! what every later revision changed, and uses document time-stamps as proofs of existence.

use tamga_keys::Signer;
use tamga_pdf::changes::{Level, analyse, docmdp_allows, overall};
use tamga_pdf::object::{Dict, ObjRef, Object, Stream, dict, name};
use tamga_pdf::signatures::{Coverage, SigKind, encode_text};
use tamga_pdf::write::Update;
use tamga_pdf::{Document, PdfError};
use tamga_pki::ParsedCert;
use tamga_pki::cms::{ID_DATA, SignedDataSpec, build_signed_data};
use tamga_pki::crl::CrlSet;

use crate::cms_read;
use crate::report::{Indication, Report, SignatureReport, SubIndication};
use crate::validate::{
    Material, Policy, ValidateError, Verdict, check_signer, check_timestamp, finish_report,
    set_verdict, signature_report, summarise, trim_der,
};

/// A PDF signing failed.
#[derive(Debug, thiserror::Error)]
pub enum PadesError {
    /// The PDF cannot be read or has no page to attach the field to.
    #[error("PDF: {0}")]
    Pdf(#[from] PdfError),
    /// The certificate is not the key's.
    #[error("the certificate's public key is not the signing key's")]
    KeyMismatch,
    /// Building the CMS failed.
    #[error(transparent)]
    Build(#[from] tamga_pki::builder::BuildError),
    /// The signature does not fit the space reserved for it.
    #[error("the signature ({0} bytes) does not fit the {1} bytes reserved")]
    TooLarge(usize, usize),
    /// The time-stamp authority failed.
    #[error("time-stamp: {0}")]
    Timestamp(String),
    /// The document forbids more signatures (DocMDP P=1) or already has this field.
    #[error("{0}")]
    Refused(String),
}

/// A time-stamp client: DER TimeStampReq in, DER TimeStampResp out.
pub type TimestampFn<'a> = &'a dyn Fn(&[u8]) -> Result<Vec<u8>, String>;

/// What to sign with and how.
pub struct PdfSignOptions<'a> {
    /// The key.
    pub signer: &'a dyn Signer,
    /// Its certificate.
    pub cert: &'a ParsedCert,
    /// The chain up to (not necessarily including) the root.
    pub chain: &'a [ParsedCert],
    /// Signing time for `/M` (PAdES forbids the CMS signingTime attribute).
    pub time: i64,
    /// Field name; `Signature<n>` when absent.
    pub field: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// Certification signature with this DocMDP permission (1–3).
    pub certify: Option<u8>,
    /// For B-T and up: the TSA.
    pub timestamp: Option<TimestampFn<'a>>,
}

/// Bytes reserved for `/Contents` (a CMS with a chain, a time-stamp token and room to spare).
const CONTENTS_SIZE: usize = 24 * 1024;

fn pdf_date(t: i64) -> String {
    let s = tamga_pki::time::format_rfc3339(t);
    // 2026-11-27T10:00:00Z → D:20261127100000Z
    let digits: String = s.chars().filter(char::is_ascii_digit).take(14).collect();
    format!("D:{digits}Z")
}

fn first_page(doc: &Document) -> Result<ObjRef, PdfError> {
    let rev = doc.last_revision();
    let root = doc.get_at(doc.root_ref(rev)?, rev)?;
    let mut node = root
        .as_dict()
        .and_then(|d| d.get(b"Pages"))
        .and_then(Object::as_ref)
        .ok_or_else(|| PdfError::Structure("the catalog has no /Pages".into()))?;
    for _ in 0..64 {
        let o = doc.get_at(node, rev)?;
        let d = o
            .as_dict()
            .ok_or_else(|| PdfError::Structure("a page tree node is not a dictionary".into()))?;
        if d.name(b"Type") == Some(b"Page") {
            return Ok(node);
        }
        node = d
            .get(b"Kids")
            .and_then(Object::as_array)
            .and_then(|k| k.first())
            .and_then(Object::as_ref)
            .ok_or_else(|| PdfError::Structure("the page tree has no pages".into()))?;
    }
    Err(PdfError::Structure("the page tree is too deep".into()))
}

/// Adds `widget` to the AcroForm's /Fields and the page's /Annots; returns the catalog to write
/// (when it changed).
fn attach_field(
    doc: &Document,
    up: &mut Update<'_>,
    catalog: &mut Dict,
    page_ref: ObjRef,
    widget: ObjRef,
) -> Result<(), PdfError> {
    let rev = doc.last_revision();
    // The form.
    match catalog.get(b"AcroForm").cloned() {
        Some(Object::Ref(r)) => {
            let mut acro = doc.get_at(r, rev)?.as_dict().cloned().unwrap_or_default();
            append_to(doc, up, &mut acro, b"Fields", widget)?;
            acro.set(b"SigFlags", Object::Int(3));
            up.set(r, Object::Dict(acro));
        }
        Some(Object::Dict(mut acro)) => {
            append_to(doc, up, &mut acro, b"Fields", widget)?;
            acro.set(b"SigFlags", Object::Int(3));
            catalog.set(b"AcroForm", Object::Dict(acro));
        }
        _ => catalog.set(
            b"AcroForm",
            Object::Dict(dict([
                (b"Fields", Object::Array(vec![Object::Ref(widget)])),
                (b"SigFlags", Object::Int(3)),
            ])),
        ),
    }
    // The page.
    let mut page = doc
        .get_at(page_ref, rev)?
        .as_dict()
        .cloned()
        .unwrap_or_default();
    let page_changed = append_to(doc, up, &mut page, b"Annots", widget)?;
    if page_changed {
        up.set(page_ref, Object::Dict(page));
    }
    Ok(())
}

/// Appends `item` to the array `d[key]`; an indirect array is rewritten in place. Returns
/// whether `d` itself changed.
fn append_to(
    doc: &Document,
    up: &mut Update<'_>,
    d: &mut Dict,
    key: &[u8],
    item: ObjRef,
) -> Result<bool, PdfError> {
    match d.get(key).cloned() {
        Some(Object::Ref(r)) => {
            let mut arr = doc
                .get_at(r, doc.last_revision())?
                .as_array()
                .map(<[Object]>::to_vec)
                .unwrap_or_default();
            arr.push(Object::Ref(item));
            up.set(r, Object::Array(arr));
            Ok(false)
        }
        Some(Object::Array(mut arr)) => {
            arr.push(Object::Ref(item));
            d.set(key, Object::Array(arr));
            Ok(true)
        }
        _ => {
            d.set(key, Object::Array(vec![Object::Ref(item)]));
            Ok(true)
        }
    }
}

fn existing_field_names(doc: &Document) -> Vec<String> {
    tamga_pdf::signatures(doc)
        .map(|s| s.into_iter().map(|f| f.name).collect())
        .unwrap_or_default()
}

const BR_PLACEHOLDER: &[u8] = b"[0 0000000000 0000000000 0000000000]";

/// Writes a revision with a new signature field whose value is `sig` plus `/ByteRange` and a
/// zeroed `/Contents`; returns the file, the content's hex-string span, and the byte range.
fn prepare(
    doc: &Document,
    mut sig: Dict,
    field: &str,
    certify: Option<u8>,
) -> Result<(Vec<u8>, std::ops::Range<usize>), PadesError> {
    let rev = doc.last_revision();
    if existing_field_names(doc).iter().any(|n| n == field) {
        return Err(PadesError::Refused(format!(
            "the document already has a signature field named {field}"
        )));
    }
    let root_ref = doc.root_ref(rev)?;
    let mut catalog = doc
        .get_at(root_ref, rev)?
        .as_dict()
        .cloned()
        .unwrap_or_default();
    let page = first_page(doc)?;
    let mut up = Update::new(doc);
    let sig_ref = up.allocate();
    let widget = up.allocate();
    sig.set(b"ByteRange", Object::Raw(BR_PLACEHOLDER.to_vec()));
    let mut zeros = vec![b'<'];
    zeros.extend(std::iter::repeat_n(b'0', CONTENTS_SIZE * 2));
    zeros.push(b'>');
    sig.set(b"Contents", Object::Raw(zeros));
    if let Some(p) = certify {
        sig.set(
            b"Reference",
            Object::Array(vec![Object::Dict(dict([
                (b"Type", name(b"SigRef")),
                (b"TransformMethod", name(b"DocMDP")),
                (
                    b"TransformParams",
                    Object::Dict(dict([
                        (b"Type", name(b"TransformParams")),
                        (b"P", Object::Int(i64::from(p))),
                        (b"V", name(b"1.2")),
                    ])),
                ),
            ]))]),
        );
        catalog.set(
            b"Perms",
            Object::Dict(dict([(b"DocMDP", Object::Ref(sig_ref))])),
        );
    }
    up.set(sig_ref, Object::Dict(sig));
    up.set(
        widget,
        Object::Dict(dict([
            (b"Type", name(b"Annot")),
            (b"Subtype", name(b"Widget")),
            (b"FT", name(b"Sig")),
            (b"T", Object::String(encode_text(field))),
            (b"V", Object::Ref(sig_ref)),
            (b"F", Object::Int(132)),
            (
                b"Rect",
                Object::Array(vec![
                    Object::Int(0),
                    Object::Int(0),
                    Object::Int(0),
                    Object::Int(0),
                ]),
            ),
            (b"P", Object::Ref(page)),
        ])),
    );
    let before = catalog.clone();
    attach_field(doc, &mut up, &mut catalog, page, widget)?;
    if catalog != before {
        up.set(root_ref, Object::Dict(catalog));
    }
    let written = up.write()?;
    let mut bytes = written.bytes;
    let span = written
        .positions
        .get(&sig_ref.num)
        .cloned()
        .ok_or_else(|| PdfError::Structure("signature object not written".into()))?;
    let find = |needle: &[u8]| {
        bytes[span.clone()]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + span.start)
    };
    let br_at = find(BR_PLACEHOLDER)
        .ok_or_else(|| PdfError::Structure("ByteRange placeholder lost".into()))?;
    let c_start =
        find(b"<0000").ok_or_else(|| PdfError::Structure("Contents placeholder lost".into()))?;
    let c_end = c_start + CONTENTS_SIZE * 2 + 2;
    let br = format!("[0 {} {} {}]", c_start, c_end, bytes.len() - c_end);
    let mut br = br.into_bytes();
    if br.len() > BR_PLACEHOLDER.len() {
        return Err(PadesError::Refused(
            "the file is too large for a 10-digit ByteRange".into(),
        ));
    }
    br.resize(BR_PLACEHOLDER.len(), b' ');
    bytes[br_at..br_at + BR_PLACEHOLDER.len()].copy_from_slice(&br);
    Ok((bytes, c_start..c_end))
}

fn fill(bytes: &mut [u8], span: std::ops::Range<usize>, der: &[u8]) -> Result<(), PadesError> {
    let room = (span.len() - 2) / 2;
    if der.len() > room {
        return Err(PadesError::TooLarge(der.len(), room));
    }
    let hex = hex::encode_upper(der);
    bytes[span.start + 1..span.start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(())
}

fn signed_parts(bytes: &[u8], span: &std::ops::Range<usize>) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() - span.len());
    v.extend_from_slice(&bytes[..span.start]);
    v.extend_from_slice(&bytes[span.end..]);
    v
}

/// Signs a PDF at PAdES B-B, or B-T when a TSA is given.
pub fn sign_pdf(pdf: &[u8], o: &PdfSignOptions<'_>) -> Result<Vec<u8>, PadesError> {
    if o.cert.spki_der != o.signer.public_key_der() {
        return Err(PadesError::KeyMismatch);
    }
    let doc = Document::parse(pdf)?;
    if let Ok(sigs) = tamga_pdf::signatures(&doc)
        && let Some(p) = sigs.iter().find_map(|s| s.docmdp)
        && p == 1
    {
        return Err(PadesError::Refused(
            "the document is certified with DocMDP P=1: no further signatures are allowed".into(),
        ));
    }
    let n = existing_field_names(&doc).len() + 1;
    let field = o.field.clone().unwrap_or_else(|| format!("Signature{n}"));
    let mut sig = dict([
        (b"Type", name(b"Sig")),
        (b"Filter", name(b"Adobe.PPKLite")),
        (b"SubFilter", name(b"ETSI.CAdES.detached")),
        (b"M", Object::String(pdf_date(o.time).into_bytes())),
    ]);
    if let Some(r) = &o.reason {
        sig.set(b"Reason", Object::String(encode_text(r)));
    }
    if let Some(l) = &o.location {
        sig.set(b"Location", Object::String(encode_text(l)));
    }
    let (mut bytes, span) = prepare(&doc, sig, &field, o.certify)?;
    let content = signed_parts(&bytes, &span);
    let mut certificates = vec![o.cert.cert.clone()];
    certificates.extend(o.chain.iter().map(|c| c.cert.clone()));
    let mut cms = build_signed_data(&SignedDataSpec {
        content_type: ID_DATA,
        content: &content,
        encapsulate: false,
        signer_cert: o.cert,
        signer: o.signer,
        certificates,
        signing_time: None,
    })?;
    if let Some(ts) = o.timestamp {
        let mut failure = None;
        cms = crate::cades_add_signature_timestamp(&cms, |req| match ts(req) {
            Ok(r) => r,
            Err(e) => {
                failure = Some(e);
                Vec::new()
            }
        })
        .map_err(|e| PadesError::Timestamp(failure.clone().unwrap_or_else(|| e.to_string())))?;
    }
    fill(&mut bytes, span, &cms)?;
    Ok(bytes)
}

/// Validation data for B-LT.
#[derive(Default, Debug, Clone)]
pub struct ValidationData {
    /// Certificates (DER).
    pub certs: Vec<Vec<u8>>,
    /// OCSP responses (DER).
    pub ocsps: Vec<Vec<u8>>,
    /// CRLs (DER).
    pub crls: Vec<Vec<u8>>,
}

/// Adds (or extends) the document security store: B-T → B-LT (EN 319 142-1 §5.4.2).
pub fn add_dss(pdf: &[u8], data: &ValidationData) -> Result<Vec<u8>, PadesError> {
    let doc = Document::parse(pdf)?;
    let rev = doc.last_revision();
    let root_ref = doc.root_ref(rev)?;
    let mut catalog = doc
        .get_at(root_ref, rev)?
        .as_dict()
        .cloned()
        .unwrap_or_default();
    let mut up = Update::new(&doc);
    let mut dss = match catalog.get(b"DSS") {
        Some(d) => doc
            .resolve_at(d, rev)?
            .as_dict()
            .cloned()
            .unwrap_or_default(),
        None => dict([(b"Type", name(b"DSS"))]),
    };
    for (key, items) in [
        (&b"Certs"[..], &data.certs),
        (&b"OCSPs"[..], &data.ocsps),
        (&b"CRLs"[..], &data.crls),
    ] {
        if items.is_empty() {
            continue;
        }
        let mut arr = match dss.get(key) {
            Some(a) => doc
                .resolve_at(a, rev)?
                .as_array()
                .map(<[Object]>::to_vec)
                .unwrap_or_default(),
            None => vec![],
        };
        // Skip what the store already holds.
        let mut have = Vec::new();
        for a in &arr {
            if let Ok(Object::Stream(s)) = doc.resolve_at(a, rev)
                && let Ok(d) = tamga_pdf::filter::decode(&s)
            {
                have.push(d);
            }
        }
        for item in items {
            if have.contains(item) {
                continue;
            }
            let r = up.add(Object::Stream(Stream {
                dict: Dict::default(),
                data: item.clone(),
            }));
            arr.push(Object::Ref(r));
        }
        dss.set(key, Object::Array(arr));
    }
    let dss_ref = match catalog.get(b"DSS").and_then(Object::as_ref) {
        Some(r) => r,
        None => up.allocate(),
    };
    up.set(dss_ref, Object::Dict(dss));
    catalog.set(b"DSS", Object::Ref(dss_ref));
    up.set(root_ref, Object::Dict(catalog));
    Ok(up.write()?.bytes)
}

/// Adds a document time-stamp: B-LT → B-LTA (EN 319 142-1 §5.4.3), or a further archive
/// time-stamp renewing an LTA document.
pub fn add_document_timestamp(pdf: &[u8], ts: TimestampFn<'_>) -> Result<Vec<u8>, PadesError> {
    let doc = Document::parse(pdf)?;
    let n = existing_field_names(&doc).len() + 1;
    let sig = dict([
        (b"Type", name(b"DocTimeStamp")),
        (b"Filter", name(b"Adobe.PPKLite")),
        (b"SubFilter", name(b"ETSI.RFC3161")),
    ]);
    let (mut bytes, span) = prepare(&doc, sig, &format!("DocumentTimestamp{n}"), None)?;
    let content = signed_parts(&bytes, &span);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &content);
    let req = tamga_tsa::build_request_for_digest(digest.as_ref(), None, true)
        .map_err(|e| PadesError::Timestamp(e.to_string()))?;
    let resp = ts(&req).map_err(PadesError::Timestamp)?;
    let token =
        tamga_tsa::token_from_response(&resp).map_err(|e| PadesError::Timestamp(e.to_string()))?;
    tamga_tsa::verify_token(
        &token,
        Some(&content),
        &[],
        tamga_pki::AlgorithmPolicy::Strict,
    )
    .map_err(|e| PadesError::Timestamp(e.to_string()))?;
    fill(&mut bytes, span, &token)?;
    Ok(bytes)
}

/// Validates every signature and document time-stamp of a PDF.
pub fn validate_pdf(name: &str, pdf: &[u8], policy: &Policy) -> Result<Report, ValidateError> {
    let doc = Document::parse(pdf)?;
    let fields = tamga_pdf::signatures(&doc)?;
    if fields.is_empty() {
        return Err(ValidateError::NoSignature);
    }
    let mut material = Material::new(policy);
    let rev = doc.last_revision();
    // The DSS of the latest revision.
    let mut dss_revision = None;
    for r in 0..=rev {
        let has = doc
            .root_ref(r)
            .and_then(|root| doc.get_at(root, r))
            .ok()
            .and_then(|c| c.as_dict().and_then(|d| d.get(b"DSS")).cloned())
            .is_some();
        if has {
            dss_revision = Some(r);
            break;
        }
    }
    // Validation data from every revision's DSS: a later revision may replace the store with
    // one that only holds what a later signature needed.
    let mut seen_dss: Vec<Object> = Vec::new();
    for r in 0..=rev {
        let Ok(catalog) = doc.root_ref(r).and_then(|root| doc.get_at(root, r)) else {
            continue;
        };
        let Some(dss) = catalog.as_dict().and_then(|d| d.get(b"DSS")) else {
            continue;
        };
        let Ok(dss) = doc.resolve_at(dss, r) else {
            continue;
        };
        if seen_dss.contains(&dss) {
            continue;
        }
        seen_dss.push(dss.clone());
        let Some(dss) = dss.as_dict() else { continue };
        for key in [&b"Certs"[..], b"OCSPs", b"CRLs"] {
            let Some(arr) = dss.get(key) else { continue };
            let Ok(arr) = doc.resolve_at(arr, r) else {
                continue;
            };
            for item in arr.as_array().unwrap_or(&[]) {
                let Ok(Object::Stream(s)) = doc.resolve_at(item, r) else {
                    continue;
                };
                let Ok(data) = tamga_pdf::filter::decode(&s) else {
                    continue;
                };
                match key {
                    b"Certs" => material.add_cert_der(&data),
                    b"OCSPs" if !material.ocsp.contains(&data) => material.ocsp.push(data),
                    b"CRLs" if !material.crls.contains(&data) => material.crls.push(data),
                    _ => {}
                }
            }
        }
    }
    let parsed: Vec<Option<cms_read::SignedDataView>> = fields
        .iter()
        .map(|f| cms_read::parse_signed_data(&f.contents).ok())
        .collect();
    for sd in parsed.iter().flatten() {
        material.add_signed_data(sd);
    }
    let crls = CrlSet::from_der_list(&material.crls).unwrap_or_default();
    // Document time-stamps first: they are proofs of existence for what they cover.
    // (covered revision, proof, whether it is a conforming /DocTimeStamp).
    let mut doc_ts: Vec<(usize, crate::report::Poe, bool)> = Vec::new();
    for f in fields.iter().filter(|f| f.kind == SigKind::DocTimeStamp) {
        let (Some(parts), Some(r)) = (f.signed_bytes(doc.bytes()), f.signed_revision(&doc)) else {
            continue;
        };
        let poe = check_timestamp(
            &f.contents,
            Some(&parts),
            "document-timestamp",
            policy,
            &material,
            &crls,
        );
        material.timestamps.push(trim_der(&f.contents).to_vec());
        let strict = f.value.name(b"Type") == Some(b"DocTimeStamp");
        doc_ts.push((r, poe, strict));
    }
    let mut reports: Vec<SignatureReport> = Vec::new();
    let mut n_sig = 0;
    let mut n_ts = 0;
    for (f, sd) in fields.iter().zip(&parsed) {
        let signed_rev = f.signed_revision(&doc);
        let later_poes: Vec<crate::report::Poe> = match signed_rev {
            Some(k) => doc_ts
                .iter()
                .filter(|(r, _, _)| *r >= k)
                .map(|(_, p, _)| p.clone())
                .collect(),
            None => vec![],
        };
        let mut report = match f.kind {
            SigKind::DocTimeStamp => {
                n_ts += 1;
                let id = format!("T-{n_ts}");
                let parts = f.signed_bytes(doc.bytes());
                let poe = match parts {
                    Some(p) => check_timestamp(
                        &f.contents,
                        Some(&p),
                        "document-timestamp",
                        policy,
                        &material,
                        &crls,
                    ),
                    None => crate::report::Poe {
                        time: String::new(),
                        kind: "document-timestamp".into(),
                        tsa: String::new(),
                        trusted: false,
                        problem: Some("the byte range lies outside the file".into()),
                        secs: i64::MAX,
                    },
                };
                let verdict = if poe.trusted {
                    Verdict {
                        indication: Indication::TotalPassed,
                        sub: None,
                        messages: vec![],
                    }
                } else {
                    let why = poe.problem.clone().unwrap_or_default();
                    if why.contains("imprint") {
                        Verdict {
                            indication: Indication::TotalFailed,
                            sub: Some(SubIndication::HashFailure),
                            messages: vec![why],
                        }
                    } else if why.contains("not trusted") {
                        Verdict {
                            indication: Indication::Indeterminate,
                            sub: Some(SubIndication::NoCertificateChainFound),
                            messages: vec![why],
                        }
                    } else {
                        Verdict {
                            indication: Indication::TotalFailed,
                            sub: Some(SubIndication::FormatFailure),
                            messages: vec![why],
                        }
                    }
                };
                let tsa_cert = crate::validate::verify_token_ber(
                    trim_der(&f.contents),
                    &material.certs,
                    policy.algorithms,
                )
                .ok()
                .map(|v| v.signer);
                let o = crate::validate::SignerOutcome {
                    verdict,
                    signer: tsa_cert,
                    path: vec![],
                    claimed_time: None,
                    best_time: if poe.trusted { poe.secs } else { policy.time },
                    poes: vec![poe],
                    has_ess_v2: true,
                    has_signature_ts: false,
                };
                signature_report(
                    id,
                    "document-timestamp",
                    "PAdES document time-stamp (ETSI.RFC3161)".into(),
                    o,
                )
            }
            SigKind::Signature => {
                n_sig += 1;
                let id = format!("S-{n_sig}");
                match (sd, f.signed_bytes(doc.bytes())) {
                    (Some(sd), Some(parts)) => {
                        let sub = f.sub_filter.as_str();
                        let known = matches!(sub, "ETSI.CAdES.detached" | "adbe.pkcs7.detached");
                        let mut o = check_signer(
                            sd,
                            sd.signers.first().unwrap_or(&empty_signer()),
                            &parts,
                            true,
                            &later_poes,
                            policy,
                            &material,
                            &crls,
                        );
                        if sd.signers.len() != 1 {
                            o.verdict = Verdict::fail(
                                SubIndication::FormatFailure,
                                format!(
                                    "{} SignerInfos; a PDF signature has exactly one",
                                    sd.signers.len()
                                ),
                            );
                        } else if !known {
                            o.verdict = Verdict::fail(
                                SubIndication::FormatFailure,
                                format!(
                                    "/SubFilter /{sub} is not supported (only ETSI.CAdES.detached and adbe.pkcs7.detached)"
                                ),
                            );
                        } else if sd.econtent.is_some() {
                            o.verdict = Verdict::fail(
                                SubIndication::FormatFailure,
                                "a detached PDF signature must not encapsulate content (eContent present)",
                            );
                        }
                        if let Some(c) = &o.signer {
                            o.claimed_time = o
                                .claimed_time
                                .or_else(|| f.claimed_time().and_then(|m| parse_pdf_date(&m)));
                            let _ = c;
                        }
                        let lt = dss_revision.is_some_and(|d| Some(d) > signed_rev)
                            || !sd.ocsp.is_empty()
                            || !sd.crls.is_empty();
                        // EN 319 142-1 §5.4.3: an archive time-stamp is a /DocTimeStamp covering the DSS.
                        let lta = lt
                            && doc_ts.iter().any(|(r, p, strict)| {
                                *strict && p.trusted && dss_revision.is_some_and(|d| *r >= d)
                            });
                        let t = o.has_signature_ts || !later_poes.is_empty();
                        let format = if sub == "ETSI.CAdES.detached" && o.has_ess_v2 {
                            match (t, lt, lta) {
                                (_, _, true) => "PAdES-BASELINE-LTA",
                                (true, true, false) => "PAdES-BASELINE-LT",
                                (true, false, false) => "PAdES-BASELINE-T",
                                _ => "PAdES-BASELINE-B",
                            }
                            .to_string()
                        } else {
                            format!("PDF {sub} (not a PAdES baseline signature)")
                        };
                        for t in sd
                            .signers
                            .iter()
                            .flat_map(|s| s.unsigned(crate::ID_AA_SIGNATURE_TIME_STAMP_TOKEN))
                        {
                            material.timestamps.push(trim_der(t).to_vec());
                        }
                        signature_report(id, "signature", format, o)
                    }
                    (None, _) => {
                        let o = crate::validate::SignerOutcome {
                            verdict: Verdict::fail(
                                SubIndication::FormatFailure,
                                "/Contents is not a CMS SignedData",
                            ),
                            signer: None,
                            path: vec![],
                            claimed_time: None,
                            best_time: policy.time,
                            poes: vec![],
                            has_ess_v2: false,
                            has_signature_ts: false,
                        };
                        signature_report(id, "signature", format!("PDF {}", f.sub_filter), o)
                    }
                    (Some(_), None) => {
                        let o = crate::validate::SignerOutcome {
                            verdict: Verdict::fail(
                                SubIndication::FormatFailure,
                                "the byte range lies outside the file",
                            ),
                            signer: None,
                            path: vec![],
                            claimed_time: None,
                            best_time: policy.time,
                            poes: vec![],
                            has_ess_v2: false,
                            has_signature_ts: false,
                        };
                        signature_report(id, "signature", format!("PDF {}", f.sub_filter), o)
                    }
                }
            }
        };
        report.field = Some(f.name.clone());
        report.docmdp = f.docmdp;
        // Coverage and what came after (PAdES §5.4; ISO 32000 DocMDP).
        match &f.coverage {
            Coverage::Anomaly(why) => {
                report.coverage = Some("ANOMALY".into());
                if report.indication != Indication::TotalFailed {
                    set_verdict(
                        &mut report,
                        Verdict::fail(SubIndication::FormatFailure, format!("byte range: {why}")),
                    );
                } else {
                    report.messages.push(format!("byte range: {why}"));
                }
            }
            Coverage::EntireFile => {
                report.coverage = Some("ENTIRE_FILE".into());
                report.modification_level = Some(Level::None.as_str().into());
            }
            Coverage::EntireRevision(k) => {
                report.coverage = Some("ENTIRE_REVISION".into());
                match analyse(&doc, *k) {
                    Ok(changes) => {
                        let level = overall(&changes);
                        report.modification_level = Some(level.as_str().into());
                        report.modifications = changes
                            .iter()
                            .filter(|c| c.level > Level::None)
                            .map(|c| {
                                format!(
                                    "revision {}: {} [{}]",
                                    c.revision + 1,
                                    c.description,
                                    c.level.as_str()
                                )
                            })
                            .collect();
                        let bad: Vec<String> = changes
                            .iter()
                            .filter(|c| c.level == Level::Other)
                            .map(|c| format!("revision {}: {}", c.revision + 1, c.description))
                            .collect();
                        if !bad.is_empty() && report.indication != Indication::TotalFailed {
                            set_verdict(
                                &mut report,
                                Verdict::fail(
                                    SubIndication::FormatFailure,
                                    format!(
                                        "the document was changed after signing in a way no signature allows: {}",
                                        bad.join("; ")
                                    ),
                                ),
                            );
                        } else if let Some(p) = f.docmdp
                            && !docmdp_allows(p, level)
                            && report.indication != Indication::TotalFailed
                        {
                            set_verdict(
                                &mut report,
                                Verdict::fail(
                                    SubIndication::FormatFailure,
                                    format!(
                                        "the certification (DocMDP P={p}) does not allow the later changes ({})",
                                        level.as_str()
                                    ),
                                ),
                            );
                        }
                    }
                    Err(e) => {
                        set_verdict(
                            &mut report,
                            Verdict::fail(
                                SubIndication::FormatFailure,
                                format!("later revisions cannot be read: {e}"),
                            ),
                        );
                    }
                }
            }
        }
        report.summary = summarise(&report);
        reports.push(report);
    }
    Ok(finish_report(name, pdf, "pdf", policy, &material, reports))
}

fn empty_signer() -> cms_read::SignerInfoView {
    cms_read::SignerInfoView {
        sid: cms_read::Sid::Ski(vec![]),
        digest_alg: spki::AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ID_SHA_256,
            parameters: None,
        },
        signed_attrs_der: None,
        signed_attrs: vec![],
        signature_alg: spki::AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ID_SHA_256,
            parameters: None,
        },
        signature: vec![],
        unsigned_attrs: vec![],
    }
}

/// `D:YYYYMMDDHHmmSS+HH'mm'` → Unix seconds.
pub fn parse_pdf_date(s: &str) -> Option<i64> {
    let s = s.strip_prefix("D:").unwrap_or(s);
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return None;
    }
    let get = |a: usize, b: usize, d: &str| digits.get(a..b).unwrap_or(d).to_string();
    let rest = &s[digits.len()..];
    let offset = match rest.chars().next() {
        Some(c @ ('+' | '-')) => {
            let n: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            let h: i64 = n.get(0..2).and_then(|x| x.parse().ok()).unwrap_or(0);
            let m: i64 = n.get(2..4).and_then(|x| x.parse().ok()).unwrap_or(0);
            let sign = if c == '+' { 1 } else { -1 };
            sign * (h * 3600 + m * 60)
        }
        _ => 0,
    };
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        get(0, 4, "0000"),
        get(4, 6, "01"),
        get(6, 8, "01"),
        get(8, 10, "00"),
        get(10, 12, "00"),
        get(12, 14, "00")
    );
    tamga_pki::time::parse_rfc3339(&rfc)
        .ok()
        .map(|t| t - offset)
}

/// The `/Contents` (CMS) of the last signature in a PDF, for extending it.
pub fn last_signature_contents(pdf: &[u8]) -> Option<Vec<u8>> {
    let doc = Document::parse(pdf).ok()?;
    let fields = tamga_pdf::signatures(&doc).ok()?;
    fields
        .iter()
        .rev()
        .find(|f| f.kind == SigKind::Signature)
        .map(|f| trim_der(&f.contents).to_vec())
}
