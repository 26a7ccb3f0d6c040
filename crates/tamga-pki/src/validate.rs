//! Certification path validation, RFC 5280 §6.1, with path building.
//!
//! [`validate`] builds candidate paths from the target to a trust anchor through the supplied
//! intermediates (issuer/subject name chaining, key identifiers first), runs the §6.1 algorithm
//! on each, and returns the first valid path or the most specific failure. Every failure names
//! the RFC 5280 step, the certificate (its position and subject) and the reason. Validation time
//! is an input, so past times work for long-term validation.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280 as oids;
use x509_cert::ext::pkix::KeyUsages;

use crate::cert::ParsedCert;
use crate::crl::{CrlContext, CrlSet, CrlStatus};
use crate::name::names_match;
use crate::name_constraints::ConstraintState;
use crate::policy::{PolicyInputs, PolicyState};
use crate::signature::{AlgorithmPolicy, verify_signed};

/// What the target certificate is to be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// No key-usage check.
    Any,
    /// Legally binding signatures: keyUsage nonRepudiation (contentCommitment).
    Sign,
    /// Authentication: keyUsage digitalSignature; EKU (if any) clientAuth.
    Auth,
    /// TLS server: EKU (if any) serverAuth.
    TlsServer,
    /// TLS client: EKU (if any) clientAuth.
    TlsClient,
    /// OCSP responder: EKU id-kp-OCSPSigning required.
    Ocsp,
    /// Time-stamping authority: EKU exactly id-kp-timeStamping, critical (RFC 3161 §2.3).
    Tsa,
}

/// How revocation is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationMode {
    /// Not checked.
    Off,
    /// Checked with the CRLs at hand: "revoked" fails, "no information" passes.
    IfAvailable,
    /// Every certificate's status must be established as good.
    Require,
    /// The target's status must be established as good; CA certificates are checked with the
    /// data at hand (a signature validation policy's usual demand).
    RequireLeaf,
    /// As `RequireLeaf`, for a past validation time (long-term validation, EN 319 102-1
    /// §5.6.2): revocation data issued after that time (or shortly before) establishes the
    /// status then.
    Past,
}

/// Why validation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No chain from the target to a trust anchor could be built.
    NoPath(String),
    /// A certificate could not be decoded.
    Malformed(String),
    /// A signature does not verify, or its algorithm is refused.
    Signature(String),
    /// Before notBefore.
    NotYetValid,
    /// After notAfter.
    Expired,
    /// issuer ≠ the previous certificate's subject.
    NameChaining,
    /// An intermediate is not a CA.
    NotCa,
    /// Too many intermediates for a pathLenConstraint.
    PathLength,
    /// keyUsage forbids the use.
    KeyUsage(String),
    /// extKeyUsage forbids the use.
    ExtendedKeyUsage(String),
    /// A critical extension this validator does not process.
    UnknownCriticalExtension(String),
    /// Name constraints violated.
    NameConstraints(String),
    /// Certificate policies.
    Policy(String),
    /// Revoked.
    Revoked {
        /// When, seconds since the Unix epoch.
        at: i64,
        /// reasonCode.
        reason: Option<String>,
    },
    /// Revocation status could not be established.
    RevocationUnknown(String),
    /// Only outdated revocation information.
    RevocationStale(String),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::NoPath(s) => write!(f, "no path to a trust anchor: {s}"),
            Reason::Malformed(s) => write!(f, "malformed certificate: {s}"),
            Reason::Signature(s) => write!(f, "signature: {s}"),
            Reason::NotYetValid => f.write_str("not yet valid at the validation time"),
            Reason::Expired => f.write_str("expired at the validation time"),
            Reason::NameChaining => {
                f.write_str("issuer name does not match the issuing CA's subject")
            }
            Reason::NotCa => f.write_str("intermediate certificate is not a CA (basicConstraints)"),
            Reason::PathLength => f.write_str("pathLenConstraint exceeded"),
            Reason::KeyUsage(s) => write!(f, "keyUsage: {s}"),
            Reason::ExtendedKeyUsage(s) => write!(f, "extKeyUsage: {s}"),
            Reason::UnknownCriticalExtension(s) => write!(f, "unknown critical extension {s}"),
            Reason::NameConstraints(s) => write!(f, "name constraints: {s}"),
            Reason::Policy(s) => write!(f, "certificate policy: {s}"),
            Reason::Revoked { at, reason } => write!(
                f,
                "revoked at {at} (Unix time){}",
                reason
                    .as_ref()
                    .map(|r| format!(", reason {r}"))
                    .unwrap_or_default()
            ),
            Reason::RevocationUnknown(s) => write!(f, "revocation status unknown: {s}"),
            Reason::RevocationStale(s) => write!(f, "revocation information is stale: {s}"),
        }
    }
}

/// A failed validation: which step, which certificate, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("RFC 5280 {step}, certificate {index} ({subject}): {reason}")]
pub struct ValidationError {
    /// The RFC 5280 step, e.g. `6.1.3 (a)(2)`.
    pub step: &'static str,
    /// Position in the path: 0 = trust anchor, the target last.
    pub index: usize,
    /// The certificate's subject.
    pub subject: String,
    /// Why.
    pub reason: Reason,
}

/// Everything a validation needs.
pub struct ValidationInput<'a> {
    /// The certificate to validate.
    pub target: &'a ParsedCert,
    /// Untrusted certificates the path may use.
    pub intermediates: &'a [ParsedCert],
    /// Trust anchors (their names and keys are trusted as they are).
    pub anchors: &'a [ParsedCert],
    /// Validation time, seconds since the Unix epoch.
    pub time: i64,
    /// What the target is for.
    pub purpose: Purpose,
    /// RFC 5280 §6.1.1 policy inputs.
    pub policy: PolicyInputs,
    /// Which signature algorithms are acceptable.
    pub algorithms: AlgorithmPolicy,
    /// CRLs at hand.
    pub crls: &'a CrlSet,
    /// DER OCSP responses at hand (tried before CRLs).
    pub ocsp_responses: &'a [Vec<u8>],
    /// How revocation is checked.
    pub revocation: RevocationMode,
    /// Use exactly these intermediates (anchor side first) instead of building a path.
    pub fixed_path: Option<&'a [ParsedCert]>,
}

/// A valid path.
#[derive(Debug, Clone)]
pub struct ValidationOutput {
    /// Trust anchor first, target last.
    pub path: Vec<ParsedCert>,
    /// The valid policies (may contain anyPolicy).
    pub valid_policies: Vec<ObjectIdentifier>,
}

const MAX_PATH: usize = 12;
const MAX_CANDIDATES: usize = 64;

fn key_ids_match(child: &ParsedCert, issuer: &ParsedCert) -> bool {
    match (&child.authority_key_id, &issuer.subject_key_id) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}

/// Candidate paths, trust anchor first, target last; key-identifier matches are tried first.
fn build_paths<'a>(input: &ValidationInput<'a>) -> Vec<Vec<&'a ParsedCert>> {
    fn walk<'a>(
        chain: &mut Vec<&'a ParsedCert>,
        input: &ValidationInput<'a>,
        out: &mut Vec<Vec<&'a ParsedCert>>,
    ) {
        if out.len() >= MAX_CANDIDATES || chain.len() > MAX_PATH {
            return;
        }
        let Some(&current) = chain.last() else { return };
        let mut anchors: Vec<&ParsedCert> = input
            .anchors
            .iter()
            .filter(|a| names_match(a.subject(), current.issuer()))
            .collect();
        anchors.sort_by_key(|a| !key_ids_match(current, a));
        for a in anchors {
            let mut path: Vec<&ParsedCert> = vec![a];
            path.extend(chain.iter().rev());
            out.push(path);
        }
        let mut issuers: Vec<&'a ParsedCert> = input
            .intermediates
            .iter()
            .filter(|c| names_match(c.subject(), current.issuer()))
            .filter(|c| !chain.iter().any(|x| x.der == c.der))
            .filter(|c| !input.anchors.iter().any(|a| a.der == c.der))
            .collect();
        issuers.sort_by_key(|c| !key_ids_match(current, c));
        for c in issuers {
            chain.push(c);
            walk(chain, input, out);
            chain.pop();
        }
    }
    let mut out = Vec::new();
    walk(&mut vec![input.target], input, &mut out);
    out
}

/// Validates `input.target`.
pub fn validate(input: &ValidationInput<'_>) -> Result<ValidationOutput, ValidationError> {
    let paths: Vec<Vec<&ParsedCert>> = match input.fixed_path {
        Some(fixed) => input
            .anchors
            .iter()
            .map(|a| {
                let mut p = vec![a];
                p.extend(fixed.iter());
                p.push(input.target);
                p
            })
            .collect(),
        None => build_paths(input),
    };
    if paths.is_empty() {
        return Err(ValidationError {
            step: "6.1 (path building)",
            index: 0,
            subject: input.target.subject_string(),
            reason: Reason::NoPath(format!(
                "no trust anchor or intermediate is named {}",
                input.target.issuer()
            )),
        });
    }
    // Parsed once for every candidate path; unparsable responses simply do not count.
    let ocsp: Vec<std::sync::Arc<crate::ocsp::ParsedResponse>> = input
        .ocsp_responses
        .iter()
        .filter_map(|r| crate::ocsp::ParsedResponse::from_der_cached(r).ok())
        .collect();
    let mut best: Option<ValidationError> = None;
    for path in paths {
        match validate_path(&path, input, &ocsp) {
            Ok(valid_policies) => {
                return Ok(ValidationOutput {
                    path: path.into_iter().cloned().collect(),
                    valid_policies,
                });
            }
            // Keep the failure that got furthest along its path: the most specific reason.
            Err(e) => {
                if best.as_ref().is_none_or(|b| e.index > b.index) {
                    best = Some(e);
                }
            }
        }
    }
    Err(best.unwrap_or_else(|| ValidationError {
        step: "6.1",
        index: 0,
        subject: input.target.subject_string(),
        reason: Reason::NoPath("no candidate path".into()),
    }))
}

fn validate_path(
    path: &[&ParsedCert],
    input: &ValidationInput<'_>,
    ocsp: &[std::sync::Arc<crate::ocsp::ParsedResponse>],
) -> Result<Vec<ObjectIdentifier>, ValidationError> {
    let n = path.len() - 1;
    let anchor = path[0];
    let mut policy = PolicyState::new(&input.policy, n);
    let mut constraints = ConstraintState::default();
    let anchor_fail = |step: &'static str, reason: Reason| ValidationError {
        step,
        index: 0,
        subject: anchor.subject_string(),
        reason,
    };
    // The trust anchor's own certificate: in force, understood, a CA, and its name
    // constraints bind the whole path (RFC 5280 §6.1.1 (d) lets anchors carry constraints).
    if input.time < anchor.not_before {
        return Err(anchor_fail("6.1.1 (d)", Reason::NotYetValid));
    }
    if input.time > anchor.not_after {
        return Err(anchor_fail("6.1.1 (d)", Reason::Expired));
    }
    if let Some(oid) = anchor.unknown_critical.first() {
        return Err(anchor_fail(
            "6.1.1 (d)",
            Reason::UnknownCriticalExtension(oid.to_string()),
        ));
    }
    if !anchor.is_ca() {
        return Err(anchor_fail("6.1.1 (d)", Reason::NotCa));
    }
    if !anchor.allows_key_usage(KeyUsages::KeyCertSign) {
        return Err(anchor_fail(
            "6.1.1 (d)",
            Reason::KeyUsage("trust anchor's keyUsage lacks keyCertSign".into()),
        ));
    }
    // Under the legacy policy (archived material from foreign PKIs) a configured anchor is
    // trusted as it is, even where its encoding breaks an RFC 5280 §4 rule (e.g. the Estonian
    // ESTEID-SK 2015 CA's non-critical nameConstraints); its constraints still apply.
    if input.algorithms != AlgorithmPolicy::Legacy {
        crate::profile::check(anchor, anchor.is_self_issued())
            .map_err(|e| anchor_fail("4 (profile)", Reason::Malformed(e)))?;
    }
    if let Some(nc) = &anchor.name_constraints {
        match constraints.update(nc) {
            Ok(()) => {}
            // A configured legacy anchor whose constraints cannot be parsed is trusted without
            // them (see the profile note above).
            Err(_) if input.algorithms == AlgorithmPolicy::Legacy => {}
            Err(e) => return Err(anchor_fail("6.1.1 (d)", Reason::NameConstraints(e))),
        }
    }
    let mut max_path_length = n;
    let mut working_key: &ParsedCert = anchor;
    for i in 1..=n {
        let cert = path[i];
        let fail = |step: &'static str, reason: Reason| ValidationError {
            step,
            index: i,
            subject: cert.subject_string(),
            reason,
        };
        verify_signed(
            &cert.cert.signature_algorithm,
            &working_key.spki_der,
            &cert.tbs_der,
            cert.cert.signature.raw_bytes(),
            input.algorithms,
        )
        .map_err(|e| fail("6.1.3 (a)(1)", Reason::Signature(e.to_string())))?;
        if cert.cert.tbs_certificate.signature != cert.cert.signature_algorithm {
            return Err(fail(
                "4.1.1.2",
                Reason::Signature("signature algorithm differs inside and outside the TBS".into()),
            ));
        }
        crate::profile::check(cert, false)
            .map_err(|e| fail("4 (profile)", Reason::Malformed(e)))?;
        if input.time < cert.not_before {
            return Err(fail("6.1.3 (a)(2)", Reason::NotYetValid));
        }
        if input.time > cert.not_after {
            return Err(fail("6.1.3 (a)(2)", Reason::Expired));
        }
        if !names_match(cert.issuer(), working_key.subject()) {
            return Err(fail("6.1.3 (a)(4)", Reason::NameChaining));
        }
        if input.revocation != RevocationMode::Off {
            let ancestors: Vec<&ParsedCert> = path[..i].iter().rev().copied().collect();
            let ctx = CrlContext {
                ancestors: &ancestors,
                pool: input.intermediates,
                time: input.time,
                policy: input.algorithms,
                past: input.revocation == RevocationMode::Past,
            };
            // A valid OCSP response about this certificate decides; otherwise the CRLs do.
            let from_ocsp = ocsp.iter().find_map(|r| {
                let s = if input.revocation == RevocationMode::Past {
                    r.status_as_of(
                        cert,
                        path[i - 1],
                        input.time,
                        input.algorithms,
                        input.anchors,
                    )
                } else {
                    r.status_for(
                        cert,
                        path[i - 1],
                        input.time,
                        input.algorithms,
                        input.anchors,
                    )
                };
                s.ok()
                    .filter(|s| matches!(s, CrlStatus::Good | CrlStatus::Revoked { .. }))
            });
            let status = match from_ocsp {
                Some(s) => s,
                None => input.crls.status(cert, cert.is_ca(), &ctx),
            };
            let required = match input.revocation {
                RevocationMode::Require => true,
                RevocationMode::RequireLeaf | RevocationMode::Past => i == n,
                RevocationMode::IfAvailable | RevocationMode::Off => false,
            };
            match status {
                CrlStatus::Good => {}
                CrlStatus::Revoked { at, reason } => {
                    return Err(fail("6.1.3 (a)(3)", Reason::Revoked { at, reason }));
                }
                CrlStatus::Unknown(why) if required => {
                    return Err(fail("6.1.3 (a)(3)", Reason::RevocationUnknown(why)));
                }
                CrlStatus::Stale(why) if required => {
                    return Err(fail("6.1.3 (a)(3)", Reason::RevocationStale(why)));
                }
                CrlStatus::Unknown(_) | CrlStatus::Stale(_) => {}
            }
        }
        if !(cert.is_self_issued() && i < n) {
            constraints
                .check(cert)
                .map_err(|e| fail("6.1.3 (b)-(c)", Reason::NameConstraints(e)))?;
        }
        policy
            .process(cert, i)
            .map_err(|e| fail("6.1.3 (d)-(f)", Reason::Policy(e)))?;
        if let Some(oid) = cert.unknown_critical.first() {
            return Err(fail(
                "6.1.4 (o)",
                Reason::UnknownCriticalExtension(oid.to_string()),
            ));
        }
        if i == n {
            break;
        }
        policy
            .prepare_next(cert, i)
            .map_err(|e| fail("6.1.4 (a)-(b)", Reason::Policy(e)))?;
        if !cert.is_ca() {
            return Err(fail("6.1.4 (k)", Reason::NotCa));
        }
        if !cert.is_self_issued() {
            if max_path_length == 0 {
                return Err(fail("6.1.4 (l)", Reason::PathLength));
            }
            max_path_length -= 1;
        }
        if let Some(len) = cert
            .basic_constraints
            .as_ref()
            .and_then(|b| b.path_len_constraint)
        {
            max_path_length = max_path_length.min(usize::from(len));
        }
        if !cert.allows_key_usage(KeyUsages::KeyCertSign) {
            return Err(fail(
                "6.1.4 (n)",
                Reason::KeyUsage("keyCertSign not set on a CA certificate".into()),
            ));
        }
        if let Some(nc) = &cert.name_constraints {
            constraints
                .update(nc)
                .map_err(|e| fail("6.1.4 (g)", Reason::NameConstraints(e)))?;
        }
        working_key = cert;
    }
    let target = path[n];
    let fail = |step: &'static str, reason: Reason| ValidationError {
        step,
        index: n,
        subject: target.subject_string(),
        reason,
    };
    let valid = policy
        .finish(target, &input.policy)
        .map_err(|e| fail("6.1.5 (g)", Reason::Policy(e)))?;
    check_purpose(target, input.purpose).map_err(|r| fail("4.2.1.3/4.2.1.12", r))?;
    Ok(valid)
}

fn check_purpose(cert: &ParsedCert, purpose: Purpose) -> Result<(), Reason> {
    let eku = cert.ext_key_usage.as_ref().map(|e| e.0.as_slice());
    let eku_allows = |want: ObjectIdentifier| {
        eku.is_none_or(|list| list.contains(&want) || list.contains(&oids::ANY_EXTENDED_KEY_USAGE))
    };
    let need_ku = |usage: KeyUsages, name: &str| {
        if cert.allows_key_usage(usage) {
            Ok(())
        } else {
            Err(Reason::KeyUsage(format!("{name} not set")))
        }
    };
    match purpose {
        Purpose::Any => Ok(()),
        Purpose::Sign => {
            if cert.key_usage.is_none() {
                return Err(Reason::KeyUsage(
                    "a signing certificate must carry keyUsage nonRepudiation".into(),
                ));
            }
            need_ku(
                KeyUsages::NonRepudiation,
                "nonRepudiation (contentCommitment)",
            )
        }
        Purpose::Auth | Purpose::TlsClient => {
            need_ku(KeyUsages::DigitalSignature, "digitalSignature")?;
            if eku_allows(oids::ID_KP_CLIENT_AUTH) {
                Ok(())
            } else {
                Err(Reason::ExtendedKeyUsage("clientAuth not allowed".into()))
            }
        }
        Purpose::TlsServer => {
            if eku_allows(oids::ID_KP_SERVER_AUTH) {
                Ok(())
            } else {
                Err(Reason::ExtendedKeyUsage("serverAuth not allowed".into()))
            }
        }
        Purpose::Ocsp => {
            if eku.is_some_and(|l| l.contains(&oids::ID_KP_OCSP_SIGNING)) {
                Ok(())
            } else {
                Err(Reason::ExtendedKeyUsage(
                    "id-kp-OCSPSigning required".into(),
                ))
            }
        }
        Purpose::Tsa => {
            let critical = cert
                .cert
                .tbs_certificate
                .extensions
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .any(|e| e.extn_id == oids::ID_CE_EXT_KEY_USAGE && e.critical);
            if eku == Some(&[oids::ID_KP_TIME_STAMPING][..]) && critical {
                Ok(())
            } else {
                Err(Reason::ExtendedKeyUsage(
                    "a TSA needs a critical extKeyUsage of exactly id-kp-timeStamping".into(),
                ))
            }
        }
    }
}

/// Whether `cert` is for the DNS name `host` (RFC 6125 §6.4): a subjectAltName dNSName equal to
/// it (case-insensitive), or a wildcard `*.rest` standing for exactly one left-most label. The
/// subject CN is not consulted: a certificate without a matching dNSName is not for `host`.
pub fn matches_dns_name(cert: &ParsedCert, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let Some(san) = &cert.subject_alt_name else {
        return false;
    };
    san.0.iter().any(|gn| {
        let x509_cert::ext::pkix::name::GeneralName::DnsName(pattern) = gn else {
            return false;
        };
        let pattern = pattern.as_str().trim_end_matches('.').to_ascii_lowercase();
        match pattern.strip_prefix("*.") {
            Some(rest) => host.split_once('.').is_some_and(|(label, tail)| {
                !label.is_empty() && tail == rest && rest.contains('.')
            }),
            None => !pattern.contains('*') && pattern == host,
        }
    })
}
