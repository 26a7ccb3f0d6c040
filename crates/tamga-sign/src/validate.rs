//! Signature validation modelled on ETSI EN 319 102-1: format checks (§5.2.2), identification
//! of the signing certificate (§5.2.3), cryptographic verification (§5.2.7), X.509 validation
//! (§5.2.6) now or, when the certificate has expired or the revocation data speaks for the
//! signing time, as of the best signature time proven by time-stamps (§5.6 long-term
//! validation), and the PDF checks PAdES adds (byte-range coverage, changes after signing and
//! whether the DocMDP level allows them).

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use spki::AlgorithmIdentifierOwned;
use tamga_pki::crl::CrlSet;
use tamga_pki::validate::{Purpose, Reason, RevocationMode, ValidationInput};
use tamga_pki::{AlgorithmPolicy, ParsedCert};

use crate::cms_read::{self, Sid, SignedDataView, SignerInfoView};
use crate::report::{
    Bilingual, CertInfo, DocumentInfo, Indication, Poe, Report, SignatureReport, SubIndication,
    ValidationObject,
};

/// Whether revocation status must be established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationRequirement {
    /// The signer's status must be known (the default: what a court needs).
    Require,
    /// Use what is at hand; no information is not a failure.
    IfAvailable,
}

/// What the verdict is relative to.
#[derive(Clone)]
pub struct Policy {
    /// Trust anchors.
    pub anchors: Vec<ParsedCert>,
    /// More certificates that may complete paths.
    pub extra_certs: Vec<ParsedCert>,
    /// More CRLs (DER).
    pub extra_crls: Vec<Vec<u8>>,
    /// More OCSP responses (DER).
    pub extra_ocsp: Vec<Vec<u8>>,
    /// Validation time (Unix seconds).
    pub time: i64,
    /// Algorithms.
    pub algorithms: AlgorithmPolicy,
    /// Revocation.
    pub revocation: RevocationRequirement,
}

impl Policy {
    fn describe(&self) -> String {
        format!(
            "EN 319 102-1 basic and long-term validation; {} trust anchor(s); algorithms {:?}; revocation {}",
            self.anchors.len(),
            self.algorithms,
            match self.revocation {
                RevocationRequirement::Require => "required",
                RevocationRequirement::IfAvailable => "if available",
            }
        )
    }
}

/// Validation could not even start.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The PDF cannot be read.
    #[error("the PDF cannot be read: {0}")]
    Pdf(#[from] tamga_pdf::PdfError),
    /// The file holds no signature.
    #[error("the file holds no signature")]
    NoSignature,
    /// A detached signature needs its file.
    #[error("the signature is detached: give the signed file too")]
    DetachedContentMissing,
    /// The container (ASiC, evidence bundle) cannot be read.
    #[error("container: {0}")]
    Container(String),
}

pub(crate) const ID_CONTENT_TYPE: ObjectIdentifier = tamga_pki::cms::ID_CONTENT_TYPE;
pub(crate) const ID_MESSAGE_DIGEST: ObjectIdentifier = tamga_pki::cms::ID_MESSAGE_DIGEST;
pub(crate) const ID_SIGNING_TIME: ObjectIdentifier = tamga_pki::cms::ID_SIGNING_TIME;
pub(crate) const ID_ESS_V2: ObjectIdentifier = tamga_pki::cms::ID_AA_SIGNING_CERTIFICATE_V2;
pub(crate) const ID_ESS_V1: ObjectIdentifier = tamga_tsa::ID_AA_SIGNING_CERTIFICATE_V1;
pub(crate) const ID_SIG_TS: ObjectIdentifier = crate::ID_AA_SIGNATURE_TIME_STAMP_TOKEN;
/// id-countersignature (RFC 5652 §11.4).
pub const ID_COUNTERSIGNATURE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.6");
/// Adobe's revocation archival attribute (ISO 32000-1 §12.8.3.3.2).
pub const ID_ADBE_REVOCATION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113583.1.1.8");
const ID_SHAKE256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.12");
const ID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");

/// The digest named by `oid`.
pub fn digest_alg(
    oid: &ObjectIdentifier,
    policy: AlgorithmPolicy,
) -> Result<&'static aws_lc_rs::digest::Algorithm, String> {
    Ok(match *oid {
        rfc5912::ID_SHA_256 => &aws_lc_rs::digest::SHA256,
        rfc5912::ID_SHA_384 => &aws_lc_rs::digest::SHA384,
        rfc5912::ID_SHA_512 => &aws_lc_rs::digest::SHA512,
        rfc5912::ID_SHA_224 if policy == AlgorithmPolicy::Legacy => &aws_lc_rs::digest::SHA224,
        rfc5912::ID_SHA_1 if policy == AlgorithmPolicy::Legacy => {
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY
        }
        rfc5912::ID_SHA_1 | rfc5912::ID_SHA_224 => {
            return Err(format!(
                "digest {oid} is too weak under the {policy:?} policy"
            ));
        }
        ID_SHAKE256 => {
            return Err("SHAKE256 (with Ed448) is not supported by this validator".into());
        }
        _ => return Err(format!("unsupported digest algorithm {oid}")),
    })
}

/// The signature algorithm as certificates name it: CMS may give just the key type
/// (rsaEncryption, id-ecPublicKey) and leave the hash to digestAlgorithm.
fn effective_signature_alg(
    sig: &AlgorithmIdentifierOwned,
    digest: &ObjectIdentifier,
) -> AlgorithmIdentifierOwned {
    let combined = match (sig.oid, *digest) {
        (rfc5912::RSA_ENCRYPTION, rfc5912::ID_SHA_1) => Some(rfc5912::SHA_1_WITH_RSA_ENCRYPTION),
        (rfc5912::RSA_ENCRYPTION, rfc5912::ID_SHA_256) => {
            Some(rfc5912::SHA_256_WITH_RSA_ENCRYPTION)
        }
        (rfc5912::RSA_ENCRYPTION, rfc5912::ID_SHA_384) => {
            Some(rfc5912::SHA_384_WITH_RSA_ENCRYPTION)
        }
        (rfc5912::RSA_ENCRYPTION, rfc5912::ID_SHA_512) => {
            Some(rfc5912::SHA_512_WITH_RSA_ENCRYPTION)
        }
        (rfc5912::ID_EC_PUBLIC_KEY, rfc5912::ID_SHA_256) => Some(rfc5912::ECDSA_WITH_SHA_256),
        (rfc5912::ID_EC_PUBLIC_KEY, rfc5912::ID_SHA_384) => Some(rfc5912::ECDSA_WITH_SHA_384),
        (rfc5912::ID_EC_PUBLIC_KEY, rfc5912::ID_SHA_512) => Some(rfc5912::ECDSA_WITH_SHA_512),
        _ => None,
    };
    match combined {
        Some(oid) => AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        },
        None => sig.clone(),
    }
}

/// Everything gathered for one document: the certificate pool, revocation data, objects used.
pub(crate) struct Material {
    responders: std::sync::OnceLock<Vec<ParsedCert>>,
    pub(crate) certs: Vec<ParsedCert>,
    pub(crate) crls: Vec<Vec<u8>>,
    pub(crate) ocsp: Vec<Vec<u8>>,
    pub(crate) timestamps: Vec<Vec<u8>>,
}

impl Material {
    pub(crate) fn new(policy: &Policy) -> Self {
        Material {
            responders: std::sync::OnceLock::new(),
            certs: policy.extra_certs.clone(),
            crls: policy.extra_crls.clone(),
            ocsp: policy.extra_ocsp.clone(),
            timestamps: vec![],
        }
    }

    pub(crate) fn add_cert_der(&mut self, der: &[u8]) {
        if self.certs.iter().any(|c| c.der == der) {
            return;
        }
        if let Ok(c) = ParsedCert::from_der(der) {
            self.certs.push(c);
        }
    }

    pub(crate) fn add_signed_data(&mut self, sd: &SignedDataView) {
        for c in &sd.certificates {
            self.add_cert_der(c);
        }
        for c in &sd.crls {
            if !self.crls.contains(c) {
                self.crls.push(c.clone());
            }
        }
        for o in &sd.ocsp {
            if !self.ocsp.contains(o) {
                self.ocsp.push(o.clone());
            }
        }
        // adbe-revocationInfoArchival: { [0] crls SEQ OF, [1] ocsps SEQ OF, ... }.
        for si in &sd.signers {
            for v in si.signed(ID_ADBE_REVOCATION) {
                let Ok(t) = cms_read::read(v) else { continue };
                for part in t.children().unwrap_or_default() {
                    let items = part
                        .children()
                        .ok()
                        .and_then(|c| c.into_iter().next())
                        .and_then(|seq| seq.children().ok())
                        .unwrap_or_default();
                    for item in items {
                        match part.tag {
                            0xa0 => self.crls.push(item.raw.to_vec()),
                            0xa1 => self.ocsp.push(item.raw.to_vec()),
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    pub(crate) fn objects(&self) -> Vec<ValidationObject> {
        use base64::Engine;
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
        let mut out = Vec::new();
        for c in &self.certs {
            // Every certificate the signatures carried or the policy supplied is evidence; the
            // paths used are named per signature.
            let id = sha256_hex(&c.der);
            {
                out.push(ValidationObject {
                    id,
                    kind: "certificate".into(),
                    description: c.subject_string(),
                    der_base64: b64(&c.der),
                });
            }
        }
        for (kind, list) in [
            ("ocsp-response", &self.ocsp),
            ("crl", &self.crls),
            ("timestamp", &self.timestamps),
        ] {
            for d in list {
                out.push(ValidationObject {
                    id: sha256_hex(d),
                    kind: kind.into(),
                    description: String::new(),
                    der_base64: b64(d),
                });
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        out
    }
}

impl Material {
    /// OCSP responders trusted on their own (RFC 6960 §4.2.2.2, "a local configuration of OCSP
    /// signing authority"): a responder certificate carried by a response, with
    /// id-kp-OCSPSigning, whose path validates to a trust anchor as of the response's
    /// producedAt. They are added to the anchors only as OCSP signers: not being CAs, they can
    /// never anchor a certificate path.
    /// The policy's anchors plus the trusted responders, computed once per document.
    pub(crate) fn anchors_with_responders(&self, policy: &Policy) -> &[ParsedCert] {
        self.responders.get_or_init(|| {
            let mut all = policy.anchors.clone();
            all.extend(self.find_trusted_responders(policy));
            all
        })
    }

    fn find_trusted_responders(&self, policy: &Policy) -> Vec<ParsedCert> {
        let mut out: Vec<ParsedCert> = Vec::new();
        let empty = CrlSet::default();
        let ocsp_signer = |c: &ParsedCert| {
            c.ext_key_usage
                .as_ref()
                .is_some_and(|e| e.0.contains(&const_oid::db::rfc5280::ID_KP_OCSP_SIGNING))
        };
        for der in &self.ocsp {
            let Ok(r) = tamga_pki::ocsp::ParsedResponse::from_der_cached(der) else {
                continue;
            };
            // The responder's certificate may travel in the response or beside it (DSS /Certs,
            // the signature's certificate set).
            for c in r.certificates().iter().chain(self.certs.iter()) {
                if out.iter().any(|o| o.der == c.der) || c.is_ca() || !ocsp_signer(c) {
                    continue;
                }
                let ok = tamga_pki::validate::validate(&ValidationInput {
                    target: c,
                    intermediates: &self.certs,
                    anchors: &policy.anchors,
                    time: r.produced_at(),
                    purpose: Purpose::Ocsp,
                    policy: Default::default(),
                    algorithms: policy.algorithms,
                    crls: &empty,
                    ocsp_responses: &[],
                    revocation: RevocationMode::Off,
                    fixed_path: None,
                })
                .is_ok();
                if ok {
                    out.push(c.clone());
                }
            }
        }
        out
    }
}

pub(crate) fn sha256_hex(d: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, d))
}

fn cert_info(c: &ParsedCert) -> CertInfo {
    CertInfo {
        subject: c.subject_string(),
        issuer: tamga_pki::name::display_name(c.issuer()),
        serial: hex::encode(c.serial()),
        not_before: tamga_pki::time::format_rfc3339(c.not_before),
        not_after: tamga_pki::time::format_rfc3339(c.not_after),
        sha256: sha256_hex(&c.der),
    }
}

/// A finished or failed check.
pub(crate) struct Verdict {
    pub(crate) indication: Indication,
    pub(crate) sub: Option<SubIndication>,
    pub(crate) messages: Vec<String>,
}

impl Verdict {
    pub(crate) fn fail(sub: SubIndication, msg: impl Into<String>) -> Self {
        Verdict {
            indication: Indication::TotalFailed,
            sub: Some(sub),
            messages: vec![msg.into()],
        }
    }
    pub(crate) fn indeterminate(sub: SubIndication, msg: impl Into<String>) -> Self {
        Verdict {
            indication: Indication::Indeterminate,
            sub: Some(sub),
            messages: vec![msg.into()],
        }
    }
}

/// The outcome of checking one CMS signer.
pub(crate) struct SignerOutcome {
    pub(crate) verdict: Verdict,
    pub(crate) signer: Option<ParsedCert>,
    pub(crate) path: Vec<String>,
    pub(crate) claimed_time: Option<i64>,
    pub(crate) best_time: i64,
    pub(crate) poes: Vec<Poe>,
    pub(crate) has_ess_v2: bool,
    pub(crate) has_signature_ts: bool,
}

/// Finds the certificate `sid` names.
pub(crate) fn find_signer(sid: &Sid, pool: &[ParsedCert]) -> Option<ParsedCert> {
    pool.iter()
        .find(|c| match sid {
            Sid::IssuerSerial(issuer, serial) => {
                serial_eq(serial, c.serial())
                    && <x509_cert::name::Name as der::Decode>::from_der(issuer)
                        .is_ok_and(|n| tamga_pki::name::names_match(&n, c.issuer()))
            }
            Sid::Ski(ski) => c.subject_key_id.as_deref() == Some(ski.as_slice()),
        })
        .cloned()
}

fn serial_eq(a: &[u8], b: &[u8]) -> bool {
    let strip = |s: &[u8]| -> Vec<u8> {
        let mut s = s;
        while s.len() > 1 && s[0] == 0 {
            s = &s[1..];
        }
        s.to_vec()
    };
    strip(a) == strip(b)
}

/// Checks the ESS signing-certificate attribute (v2, or v1 for old signatures) against `cert`.
fn ess_check(si: &SignerInfoView, cert: &ParsedCert) -> Result<bool, String> {
    let (values, v2) = match si.signed(ID_ESS_V2) {
        v if !v.is_empty() => (v, true),
        _ => (si.signed(ID_ESS_V1), false),
    };
    let Some(value) = values.first() else {
        return Ok(false);
    };
    let t = cms_read::read(value).map_err(|e| e.to_string())?;
    let first = t
        .children()
        .ok()
        .and_then(|c| c.into_iter().next())
        .and_then(|certs| certs.children().ok())
        .and_then(|c| c.into_iter().next())
        .ok_or("empty signing-certificate attribute")?;
    let parts = first.children().map_err(|e| e.to_string())?;
    let (alg, hash) = match (&parts[..], v2) {
        ([a, h, ..], true) if a.tag == 0x30 => (
            digest_alg(
                &a.algorithm().map_err(|e| e.to_string())?.oid,
                AlgorithmPolicy::Legacy,
            )?,
            h.content,
        ),
        ([h, ..], true) => (&aws_lc_rs::digest::SHA256, h.content),
        ([h, ..], false) => (&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, h.content),
        _ => return Err("malformed signing-certificate attribute".into()),
    };
    if aws_lc_rs::digest::digest(alg, &cert.der).as_ref() != hash {
        return Err("the signing-certificate attribute names another certificate".into());
    }
    Ok(v2)
}

fn signing_time(si: &SignerInfoView) -> Option<i64> {
    let v = si.signed(ID_SIGNING_TIME);
    let t = <x509_cert::time::Time as der::Decode>::from_der(v.first()?).ok()?;
    i64::try_from(t.to_unix_duration().as_secs()).ok()
}

/// Verifies a time-stamp token over `chunks` (or over `data` when given) and validates its TSA
/// as of its own time.
pub(crate) fn check_timestamp(
    token: &[u8],
    chunks: Option<&[&[u8]]>,
    kind: &str,
    policy: &Policy,
    material: &Material,
    crls: &CrlSet,
) -> Poe {
    let mut poe = Poe {
        time: String::new(),
        kind: kind.into(),
        tsa: String::new(),
        trusted: false,
        problem: None,
        secs: i64::MAX,
    };
    let token = trim_der(token);
    let v = match verify_token_ber(token, &material.certs, policy.algorithms) {
        Ok(v) => v,
        Err(e) => {
            poe.problem = Some(e);
            return poe;
        }
    };
    poe.time = tamga_pki::time::format_rfc3339(v.gen_time);
    poe.tsa = v.signer.subject_string();
    // `None`: the caller checked the imprint (archive time-stamps cover a structure).
    let imprint_ok = match (chunks, digest_alg(&v.imprint_alg, AlgorithmPolicy::Legacy)) {
        (None, _) => true,
        (Some(chunks), Ok(d)) => {
            let mut ctx = aws_lc_rs::digest::Context::new(d);
            for c in chunks {
                ctx.update(c);
            }
            ctx.finish().as_ref() == v.imprint.as_slice()
        }
        (Some(_), Err(e)) => {
            poe.problem = Some(e);
            return poe;
        }
    };
    if !imprint_ok {
        poe.problem = Some("the time-stamp covers other data (message imprint mismatch)".into());
        return poe;
    }
    if policy.anchors.iter().any(|a| a.der == v.signer.der) {
        poe.trusted = true;
        poe.secs = v.gen_time;
        return poe;
    }
    let input = ValidationInput {
        target: &v.signer,
        intermediates: &material.certs,
        anchors: &policy.anchors,
        time: v.gen_time,
        purpose: Purpose::Tsa,
        policy: Default::default(),
        algorithms: policy.algorithms,
        crls,
        ocsp_responses: &material.ocsp,
        revocation: RevocationMode::IfAvailable,
        fixed_path: None,
    };
    match tamga_pki::validate::validate(&input) {
        Ok(_) => {
            poe.trusted = true;
            poe.secs = v.gen_time;
        }
        Err(e) => poe.problem = Some(format!("time-stamp authority not trusted: {e}")),
    }
    poe
}

/// The DER element at the start of `data` (PDF /Contents carries zero padding after it).
pub(crate) fn trim_der(data: &[u8]) -> &[u8] {
    cms_read::read(data).map(|t| t.raw).unwrap_or(data)
}

/// EN 319 102-1 checks of one SignerInfo over `content` (given in pieces: a PDF byte range).
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_signer(
    sd: &SignedDataView,
    si: &SignerInfoView,
    content: &[&[u8]],
    expect_content_type: bool,
    extra_poes: &[Poe],
    policy: &Policy,
    material: &Material,
    crls: &CrlSet,
) -> SignerOutcome {
    let mut out = SignerOutcome {
        verdict: Verdict {
            indication: Indication::TotalPassed,
            sub: None,
            messages: vec![],
        },
        signer: None,
        path: vec![],
        claimed_time: signing_time(si),
        best_time: policy.time,
        poes: vec![],
        has_ess_v2: false,
        has_signature_ts: false,
    };
    // §5.2.3 identification of the signing certificate.
    let Some(cert) = find_signer(&si.sid, &material.certs) else {
        out.verdict = Verdict::indeterminate(
            SubIndication::NoSigningCertificateFound,
            "the signer's certificate is neither in the signature nor supplied",
        );
        return out;
    };
    out.signer = Some(cert.clone());
    match ess_check(si, &cert) {
        Ok(v2) => out.has_ess_v2 = v2,
        Err(e) => {
            out.verdict = Verdict::indeterminate(SubIndication::NoSigningCertificateFound, e);
            return out;
        }
    }
    // §5.2.7 cryptographic verification.
    let digest = match digest_alg(&si.digest_alg.oid, policy.algorithms) {
        Ok(d) => d,
        Err(e) => {
            out.verdict = Verdict::indeterminate(SubIndication::CryptoConstraintsFailure, e);
            return out;
        }
    };
    let mut ctx = aws_lc_rs::digest::Context::new(digest);
    for c in content {
        ctx.update(c);
    }
    let content_digest = ctx.finish();
    let message: Vec<u8> = match &si.signed_attrs_der {
        Some(attrs) => {
            if expect_content_type {
                let ct = si.signed(ID_CONTENT_TYPE);
                let ok = ct.len() == 1
                    && cms_read::read(ct[0])
                        .and_then(|t| t.oid())
                        .is_ok_and(|o| o == sd.econtent_type);
                if !ok {
                    out.verdict = Verdict::fail(
                        SubIndication::FormatFailure,
                        "the content-type attribute is missing or differs from the content's type",
                    );
                    return out;
                }
            }
            let md = si.signed(ID_MESSAGE_DIGEST);
            let [md] = md[..] else {
                out.verdict = Verdict::fail(
                    SubIndication::FormatFailure,
                    "exactly one message-digest attribute is required",
                );
                return out;
            };
            let md = cms_read::read(md)
                .map(|t| t.content.to_vec())
                .unwrap_or_default();
            if md != content_digest.as_ref() {
                out.verdict = Verdict::fail(
                    SubIndication::HashFailure,
                    "the signed data's hash differs from the message-digest attribute: the document was changed after signing",
                );
                return out;
            }
            attrs.clone()
        }
        // No signed attributes: the signature is over the content itself (RFC 5652 §5.4).
        None => content.concat(),
    };
    let alg = effective_signature_alg(&si.signature_alg, &si.digest_alg.oid);
    if alg.oid == ID_ED448 {
        out.verdict = Verdict::indeterminate(
            SubIndication::CryptoConstraintsFailure,
            "Ed448 signatures are not supported by this validator's crypto provider",
        );
        return out;
    }
    if let Err(e) = tamga_pki::signature::verify_signed(
        &alg,
        &usable_spki(&cert.spki_der),
        &message,
        &si.signature,
        policy.algorithms,
    ) {
        out.verdict = match e {
            tamga_pki::signature::SignatureError::Invalid => Verdict::fail(
                SubIndication::SigCryptoFailure,
                "the signature value does not verify with the signer's public key",
            ),
            other => {
                Verdict::indeterminate(SubIndication::CryptoConstraintsFailure, other.to_string())
            }
        };
        return out;
    }
    // §5.4 time-stamps on the signature value.
    for tok in si.unsigned(ID_SIG_TS) {
        out.has_signature_ts = true;
        out.poes.push(check_timestamp(
            tok,
            Some(&[&si.signature]),
            "signature-timestamp",
            policy,
            material,
            crls,
        ));
    }
    out.poes.extend(extra_poes.iter().cloned());
    if let Some(best) = out.poes.iter().filter(|p| p.trusted).map(|p| p.secs).min() {
        out.best_time = best.min(policy.time);
    }
    for p in out.poes.iter().filter(|p| !p.trusted) {
        out.verdict.messages.push(format!(
            "{} not used as proof of existence: {}",
            p.kind,
            p.problem.clone().unwrap_or_default()
        ));
    }
    // Key usage for signing: digitalSignature or nonRepudiation (when keyUsage is present).
    if let Some(ku) = &cert.key_usage {
        use x509_cert::ext::pkix::KeyUsages;
        if !(ku.0.contains(KeyUsages::DigitalSignature) || ku.0.contains(KeyUsages::NonRepudiation))
        {
            out.verdict = Verdict::indeterminate(
                SubIndication::SigConstraintsFailure,
                "the signer's certificate keyUsage allows neither digitalSignature nor nonRepudiation",
            );
            return out;
        }
    }
    // §5.2.6 X.509 validation now; §5.6.2 as of the best signature time when needed.
    let anchors = material.anchors_with_responders(policy);
    let validate_at = |time: i64, mode: RevocationMode| {
        tamga_pki::validate::validate(&ValidationInput {
            target: &cert,
            intermediates: &material.certs,
            anchors,
            time,
            purpose: Purpose::Any,
            policy: Default::default(),
            algorithms: policy.algorithms,
            crls,
            ocsp_responses: &material.ocsp,
            revocation: mode,
            fixed_path: None,
        })
    };
    let (now_mode, past_mode) = match policy.revocation {
        RevocationRequirement::Require => (RevocationMode::RequireLeaf, RevocationMode::Past),
        RevocationRequirement::IfAvailable => {
            (RevocationMode::IfAvailable, RevocationMode::IfAvailable)
        }
    };
    let has_poe = out.best_time < policy.time;
    // A signer certificate configured as a trust anchor (a self-signed signer a relying party
    // chose to trust) needs no path.
    if policy.anchors.iter().any(|a| a.der == cert.der) {
        out.path = vec![sha256_hex(&cert.der)];
        out.verdict
            .messages
            .push("the signer's certificate is itself a trust anchor".into());
        return out;
    }
    let result = match validate_at(policy.time, now_mode) {
        Ok(v) => Ok(v),
        Err(e) if has_poe && retry_in_past(&e.reason) => {
            out.verdict.messages.push(format!(
                "at the validation time: {e}; validated instead as of {} (proven by a time-stamp)",
                tamga_pki::time::format_rfc3339(out.best_time)
            ));
            validate_at(out.best_time, past_mode)
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => {
            out.path = v.path.iter().map(|c| sha256_hex(&c.der)).collect();
        }
        Err(e) => {
            let msg = e.to_string();
            out.verdict = match &e.reason {
                Reason::Revoked { .. } => Verdict::indeterminate(SubIndication::RevokedNoPoe, msg),
                Reason::Expired | Reason::NotYetValid => {
                    Verdict::indeterminate(SubIndication::OutOfBoundsNoPoe, msg)
                }
                Reason::RevocationUnknown(_) | Reason::RevocationStale(_) => {
                    Verdict::indeterminate(SubIndication::TryLater, msg)
                }
                Reason::NoPath(_) => {
                    Verdict::indeterminate(SubIndication::NoCertificateChainFound, msg)
                }
                Reason::Signature(s)
                    if s.contains("not acceptable") || s.contains("unsupported") =>
                {
                    Verdict::indeterminate(SubIndication::CryptoConstraintsFailure, msg)
                }
                Reason::KeyUsage(_)
                | Reason::ExtendedKeyUsage(_)
                | Reason::Policy(_)
                | Reason::NameConstraints(_)
                | Reason::PathLength
                | Reason::NotCa => {
                    Verdict::indeterminate(SubIndication::ChainConstraintsFailure, msg)
                }
                _ => Verdict::indeterminate(SubIndication::CertificateChainGeneralFailure, msg),
            };
        }
    }
    out
}

fn retry_in_past(r: &Reason) -> bool {
    matches!(
        r,
        Reason::Expired
            | Reason::Revoked { .. }
            | Reason::RevocationUnknown(_)
            | Reason::RevocationStale(_)
    )
}

pub(crate) fn finish_report(
    name: &str,
    bytes: &[u8],
    kind: &str,
    policy: &Policy,
    material: &Material,
    signatures: Vec<SignatureReport>,
) -> Report {
    finish_report_parts(name, bytes, kind, policy, material.objects(), signatures)
}

pub(crate) fn finish_report_parts(
    name: &str,
    bytes: &[u8],
    kind: &str,
    policy: &Policy,
    validation_objects: Vec<ValidationObject>,
    signatures: Vec<SignatureReport>,
) -> Report {
    let indication = Report::overall(&signatures);
    let passed = signatures
        .iter()
        .filter(|s| s.indication == Indication::TotalPassed)
        .count();
    let summary = Bilingual {
        mn: format!(
            "Баримт бичигт {} гарын үсэг/тамга байна; {} нь хүчинтэй. Нийт дүгнэлт: {}.",
            signatures.len(),
            passed,
            mn_indication(indication)
        ),
        en: format!(
            "The document carries {} signature(s) or time-stamp(s); {} passed. Overall: {}.",
            signatures.len(),
            passed,
            indication.label()
        ),
    };
    Report {
        report_format: "ETSI TS 119 102-2 (JSON mapping), Tamga 1",
        validation_time: tamga_pki::time::format_rfc3339(policy.time),
        policy: policy.describe(),
        document: DocumentInfo {
            name: name.into(),
            sha256: None,
            size: bytes.len(),
            kind: kind.into(),
        },
        signatures,
        validation_objects,
        indication,
        summary,
    }
}

pub(crate) fn mn_indication(i: Indication) -> &'static str {
    match i {
        Indication::TotalPassed => "ХҮЧИНТЭЙ (TOTAL-PASSED)",
        Indication::TotalFailed => "ХҮЧИНГҮЙ (TOTAL-FAILED)",
        Indication::Indeterminate => "ТОДОРХОЙГҮЙ (INDETERMINATE)",
    }
}

fn mn_sub(s: SubIndication) -> &'static str {
    match s {
        SubIndication::FormatFailure => {
            "формат буруу эсвэл гарын үсэг зурсны дараа зөвшөөрөгдөөгүй өөрчлөлт орсон"
        }
        SubIndication::HashFailure => "гарын үсэг зурсны дараа баримт өөрчлөгдсөн",
        SubIndication::SigCryptoFailure => {
            "гарын үсгийн утга нийтийн түлхүүрээр баталгаажихгүй байна"
        }
        SubIndication::Revoked => "гэрчилгээ хүчингүй болсон",
        SubIndication::SigConstraintsFailure => "гэрчилгээ гарын үсэг зурахад зориулагдаагүй",
        SubIndication::ChainConstraintsFailure => "гэрчилгээний гинжин хязгаарлалт зөрчигдсөн",
        SubIndication::CertificateChainGeneralFailure => "гэрчилгээний гинжийг шалгаж чадсангүй",
        SubIndication::CryptoConstraintsFailure => "алгоритм сул эсвэл дэмжигдээгүй",
        SubIndication::NoSigningCertificateFound => "гарын үсэг зурагчийн гэрчилгээ олдсонгүй",
        SubIndication::NoCertificateChainFound => {
            "итгэмжлэгдсэн үндсэн гэрчилгээ хүртэлх гинж олдсонгүй"
        }
        SubIndication::RevokedNoPoe => {
            "гэрчилгээ хүчингүй болсон бөгөөд өмнө нь зурсныг нотлох цагийн тамга алга"
        }
        SubIndication::OutOfBoundsNoPoe => {
            "гэрчилгээний хугацаа дууссан бөгөөд өмнө нь зурсныг нотлох цагийн тамга алга"
        }
        SubIndication::TryLater => "гэрчилгээний хүчинтэй эсэхийн (OCSP/CRL) мэдээлэл алга",
        SubIndication::SignedDataNotFound => "гарын үсэг зурсан өгөгдөл олдсонгүй",
    }
}

/// The one-paragraph summary of a signature, in both languages.
pub(crate) fn summarise(r: &SignatureReport) -> Bilingual {
    let who = r
        .signer
        .as_ref()
        .map(|c| c.subject.clone())
        .unwrap_or_else(|| "?".into());
    let when = r.claimed_signing_time.clone().unwrap_or_else(|| "—".into());
    let proven: Vec<String> = r
        .proofs_of_existence
        .iter()
        .filter(|p| p.trusted)
        .map(|p| format!("{} {} ({})", p.kind, p.time, p.tsa))
        .collect();
    let proof_en = if proven.is_empty() {
        "no trusted time-stamp".to_string()
    } else {
        proven.join("; ")
    };
    let proof_mn = if proven.is_empty() {
        "итгэмжлэгдсэн цагийн тэмдэг байхгүй".to_string()
    } else {
        proven.join("; ")
    };
    let why_en = match r.sub_indication {
        Some(s) => format!(
            " ({}: {})",
            s.label(),
            r.messages.last().cloned().unwrap_or_default()
        ),
        None => String::new(),
    };
    let why_mn = match r.sub_indication {
        Some(s) => format!(" ({}: {})", s.label(), mn_sub(s)),
        None => String::new(),
    };
    let what_en = match r.kind.as_str() {
        "document-timestamp" => "Document time-stamp",
        "countersignature" => "Countersignature",
        _ => "Signature",
    };
    let what_mn = match r.kind.as_str() {
        "document-timestamp" => "Баримтын цагийн тэмдэг",
        "countersignature" => "Баталгаажуулсан (давхар) гарын үсэг",
        _ => "Гарын үсэг",
    };
    Bilingual {
        en: format!(
            "{what_en} {} [{}] by {who}, claimed time {when}, proven by {proof_en}: {}{why_en}.",
            r.id,
            r.format,
            r.indication.label()
        ),
        mn: format!(
            "{what_mn} {} [{}] — зурсан: {who}, мэдүүлсэн цаг {when}, нотолгоо: {proof_mn}: {}{why_mn}.",
            r.id,
            r.format,
            mn_indication(r.indication)
        ),
    }
}

/// Builds a [`SignatureReport`] from an outcome.
pub(crate) fn signature_report(
    id: String,
    kind: &str,
    format: String,
    o: SignerOutcome,
) -> SignatureReport {
    let mut r = SignatureReport {
        id,
        kind: kind.into(),
        field: None,
        format,
        indication: o.verdict.indication,
        indication_uri: o.verdict.indication.uri().into(),
        sub_indication: o.verdict.sub,
        sub_indication_uri: o.verdict.sub.map(|s| s.uri()),
        messages: o.verdict.messages,
        signer: o.signer.as_ref().map(cert_info),
        certificate_path: o.path,
        claimed_signing_time: o.claimed_time.map(tamga_pki::time::format_rfc3339),
        best_signature_time: tamga_pki::time::format_rfc3339(o.best_time),
        proofs_of_existence: o.poes,
        coverage: None,
        modification_level: None,
        modifications: vec![],
        docmdp: None,
        countersigns: None,
        summary: Bilingual::default(),
    };
    r.summary = summarise(&r);
    r
}

/// Re-derives the indication fields after a later check changed the verdict.
pub(crate) fn set_verdict(r: &mut SignatureReport, v: Verdict) {
    r.indication = v.indication;
    r.indication_uri = v.indication.uri().into();
    r.sub_indication = v.sub;
    r.sub_indication_uri = v.sub.map(|s| s.uri());
    r.messages.extend(v.messages);
    r.summary = summarise(r);
}

/// Countersignatures (RFC 5652 §11.4) of `si`, checked over its signature value.
pub(crate) fn countersignatures(
    parent_id: &str,
    sd: &SignedDataView,
    si: &SignerInfoView,
    policy: &Policy,
    material: &Material,
    crls: &CrlSet,
) -> Vec<SignatureReport> {
    let mut out = Vec::new();
    for (i, v) in si.unsigned(ID_COUNTERSIGNATURE).into_iter().enumerate() {
        let id = format!("{parent_id}-C-{}", i + 1);
        let parsed = cms_read::read(v).and_then(|t| cms_read::parse_signer_info(&t));
        let mut r = match parsed {
            Ok(csi) => {
                let o = check_signer(
                    sd,
                    &csi,
                    &[&si.signature],
                    false,
                    &[],
                    policy,
                    material,
                    crls,
                );
                let fmt = if o.has_ess_v2 {
                    "CAdES countersignature"
                } else {
                    "CMS countersignature"
                };
                signature_report(id, "countersignature", fmt.into(), o)
            }
            Err(e) => {
                let o = SignerOutcome {
                    verdict: Verdict::fail(SubIndication::FormatFailure, e.to_string()),
                    signer: None,
                    path: vec![],
                    claimed_time: None,
                    best_time: policy.time,
                    poes: vec![],
                    has_ess_v2: false,
                    has_signature_ts: false,
                };
                signature_report(id, "countersignature", "CMS countersignature".into(), o)
            }
        };
        r.countersigns = Some(parent_id.to_string());
        r.summary = summarise(&r);
        out.push(r);
    }
    out
}

/// Validates a CAdES / CMS signature; `detached` is the signed file when the signature does
/// not carry it.
pub fn validate_cms(
    name: &str,
    p7s: &[u8],
    detached: Option<&[u8]>,
    policy: &Policy,
) -> Result<Report, ValidateError> {
    let mut material = Material::new(policy);
    let sd = match cms_read::parse_signed_data(p7s) {
        Ok(sd) => sd,
        Err(e) => {
            let o = SignerOutcome {
                verdict: Verdict::fail(SubIndication::FormatFailure, e.to_string()),
                signer: None,
                path: vec![],
                claimed_time: None,
                best_time: policy.time,
                poes: vec![],
                has_ess_v2: false,
                has_signature_ts: false,
            };
            let r = signature_report("S-1".into(), "signature", "CMS".into(), o);
            return Ok(finish_report(name, p7s, "cms", policy, &material, vec![r]));
        }
    };
    material.add_signed_data(&sd);
    let content: Vec<u8> = match (&sd.econtent, detached) {
        (Some(c), _) => c.clone(),
        (None, Some(d)) => d.to_vec(),
        (None, None) => return Err(ValidateError::DetachedContentMissing),
    };
    if sd.signers.is_empty() {
        return Err(ValidateError::NoSignature);
    }
    let crls = CrlSet::from_der_list(&material.crls).unwrap_or_default();
    let mut reports = Vec::new();
    for (i, si) in sd.signers.iter().enumerate() {
        let id = format!("S-{}", i + 1);
        // Archive time-stamps (B-LTA): proofs of existence for the signature and its data.
        let mut archive = Vec::new();
        for tok in si.unsigned(crate::archive::ID_AA_ETS_ARCHIVE_TIMESTAMP_V3) {
            let tok = trim_der(tok);
            material.timestamps.push(tok.to_vec());
            archive.push(
                match crate::archive::check_archive_timestamp(p7s, i, Some(&content), tok) {
                    Ok(()) => {
                        check_timestamp(tok, None, "archive-timestamp", policy, &material, &crls)
                    }
                    Err(e) => Poe {
                        time: String::new(),
                        kind: "archive-timestamp".into(),
                        tsa: String::new(),
                        trusted: false,
                        problem: Some(e),
                        secs: i64::MAX,
                    },
                },
            );
        }
        let lta = archive.iter().any(|p| p.trusted);
        let o = check_signer(
            &sd,
            si,
            &[&content],
            true,
            &archive,
            policy,
            &material,
            &crls,
        );
        let lt = !sd.crls.is_empty() || !sd.ocsp.is_empty();
        let format = match (o.has_ess_v2, o.has_signature_ts, lt) {
            (false, _, _) => "CMS (not a CAdES baseline signature)".to_string(),
            (true, false, _) => "CAdES-BASELINE-B".into(),
            (true, true, false) => "CAdES-BASELINE-T".into(),
            (true, true, true) if lta => "CAdES-BASELINE-LTA".into(),
            (true, true, true) => "CAdES-BASELINE-LT".into(),
        };
        for p in &o.poes {
            let _ = p;
        }
        let counters = countersignatures(&id, &sd, si, policy, &material, &crls);
        reports.push(signature_report(id, "signature", format, o));
        reports.extend(counters);
    }
    for si in &sd.signers {
        for t in si.unsigned(ID_SIG_TS) {
            material.timestamps.push(trim_der(t).to_vec());
        }
    }
    Ok(finish_report(name, p7s, "cms", policy, &material, reports))
}

/// id-ct-TSTInfo.
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// What a verified time-stamp token says.
pub(crate) struct TokenInfo {
    pub(crate) gen_time: i64,
    pub(crate) imprint_alg: ObjectIdentifier,
    pub(crate) imprint: Vec<u8>,
    pub(crate) signer: ParsedCert,
}

/// GeneralizedTime `YYYYMMDDHHMMSS[.f]Z` → Unix seconds.
fn generalized_time(b: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(b).ok()?;
    let d = s.get(..14)?;
    if !d.bytes().all(|c| c.is_ascii_digit()) || !s.ends_with('Z') {
        return None;
    }
    tamga_pki::time::parse_rfc3339(&format!(
        "{}-{}-{}T{}:{}:{}Z",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[8..10],
        &d[10..12],
        &d[12..14]
    ))
    .ok()
}

/// Verifies an RFC 3161 token as found in the wild (BER, ESS v1 or v2): the TSTInfo, the
/// token's signed attributes and signature, and that its signer is a time-stamping unit
/// (RFC 3161 §2.3). The imprint is returned for the caller to compare.
pub(crate) fn verify_token_ber(
    token: &[u8],
    certs: &[ParsedCert],
    policy: AlgorithmPolicy,
) -> Result<TokenInfo, String> {
    let sd = cms_read::parse_signed_data(token)
        .map_err(|e| format!("malformed time-stamp token: {e}"))?;
    if sd.econtent_type != ID_CT_TST_INFO {
        return Err("the token does not hold a TSTInfo".into());
    }
    let tst = sd
        .econtent
        .as_deref()
        .ok_or("the token has no TSTInfo content")?;
    let [si] = &sd.signers[..] else {
        return Err(format!(
            "{} signers; a token has exactly one",
            sd.signers.len()
        ));
    };
    let t = cms_read::read(tst).map_err(|e| format!("malformed TSTInfo: {e}"))?;
    let f = t
        .children()
        .map_err(|e| format!("malformed TSTInfo: {e}"))?;
    let [_version, _policy, imprint, _serial, gen_time, ..] = &f[..] else {
        return Err("TSTInfo is incomplete".into());
    };
    let im = imprint.children().map_err(|e| e.to_string())?;
    let [alg, hashed, ..] = &im[..] else {
        return Err("messageImprint is incomplete".into());
    };
    let imprint_alg = alg.algorithm().map_err(|e| e.to_string())?.oid;
    let gen_time = generalized_time(gen_time.content).ok_or("genTime is not a GeneralizedTime")?;
    let mut pool: Vec<ParsedCert> = certs.to_vec();
    for c in &sd.certificates {
        if let Ok(p) = ParsedCert::from_der(c) {
            pool.push(p);
        }
    }
    let signer = find_signer(&si.sid, &pool)
        .ok_or("the TSA certificate is neither in the token nor supplied")?;
    ess_check(si, &signer)?;
    let attrs = si
        .signed_attrs_der
        .as_ref()
        .ok_or("the token has no signed attributes")?;
    let md = si.signed(ID_MESSAGE_DIGEST);
    let digest = digest_alg(&si.digest_alg.oid, policy)?;
    let md_ok = md.len() == 1
        && cms_read::read(md[0])
            .is_ok_and(|m| m.content == aws_lc_rs::digest::digest(digest, tst).as_ref());
    if !md_ok {
        return Err("the token's messageDigest does not match its TSTInfo".into());
    }
    let alg = effective_signature_alg(&si.signature_alg, &si.digest_alg.oid);
    tamga_pki::signature::verify_signed(
        &alg,
        &usable_spki(&signer.spki_der),
        attrs,
        &si.signature,
        policy,
    )
    .map_err(|e| format!("token signature: {e}"))?;
    let eku_ok = signer
        .ext_key_usage
        .as_ref()
        .is_some_and(|e| e.0.contains(&const_oid::db::rfc5280::ID_KP_TIME_STAMPING));
    if !eku_ok {
        return Err("the token's signer is not a time-stamping certificate".into());
    }
    Ok(TokenInfo {
        gen_time,
        imprint_alg,
        imprint: hashed.content.to_vec(),
        signer,
    })
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The key as a verifier accepts it. Some deployed RSA certificates (Estonian ID cards of 2011)
/// encode the modulus without its leading zero, so it reads as negative; DSS reads it as
/// unsigned, and so does this: the key is re-encoded with the zero, nothing else changes.
pub(crate) fn usable_spki(spki: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let fixed = (|| {
        let t = cms_read::read(spki).ok()?;
        let parts = t.children().ok()?;
        let [alg, bits] = &parts[..] else { return None };
        if alg.algorithm().ok()?.oid != rfc5912::RSA_ENCRYPTION || bits.tag != 0x03 {
            return None;
        }
        let (&unused, key) = bits.content.split_first()?;
        let rsa = cms_read::read(key).ok()?;
        let ints = rsa.children().ok()?;
        let [n, e] = &ints[..] else { return None };
        if n.content.first()? & 0x80 == 0 {
            return None;
        }
        let mut n2 = vec![0u8];
        n2.extend_from_slice(n.content);
        let mut rsa_content = der_tlv(0x02, &n2);
        rsa_content.extend_from_slice(e.raw);
        let mut bit_content = vec![unused];
        bit_content.extend(der_tlv(0x30, &rsa_content));
        let mut spki_content = alg.raw.to_vec();
        spki_content.extend(der_tlv(0x03, &bit_content));
        Some(der_tlv(0x30, &spki_content))
    })();
    match fixed {
        Some(f) => std::borrow::Cow::Owned(f),
        None => std::borrow::Cow::Borrowed(spki),
    }
}
