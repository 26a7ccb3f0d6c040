//! Revocation checking with CRLs (RFC 5280 §6.3 and §5).
//!
//! For each certificate the validator asks [`CrlSet::status`]: CRLs whose issuer is the
//! certificate's issuer are tried; a CRL counts only if its signature verifies with the issuing
//! CA's key, or with the key of a CRL-signing certificate of that CA that an ancestor in the
//! path signed (self-issued CRL keys, separate CRL keys; RFC 5280 §6.3.3 (f)), and that
//! certificate is itself not revoked. Scope is checked against the issuingDistributionPoint
//! (user/CA only, distribution point names, reasons). Delta CRLs and indirect CRLs are not
//! supported: such CRLs are skipped, which can only make a result "unknown", never "good".

use const_oid::db::rfc5280 as oids;
use der::{Decode, Encode};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{CrlReason, KeyUsages};

use crate::cert::ParsedCert;
use crate::name::names_match;
use crate::signature::{AlgorithmPolicy, verify_signed};

/// Every reason bit of `ReasonFlags` (keyCompromise … aACompromise).
const ALL_REASONS: u16 = 0b1_1111_1110;

/// A decoded CRL.
#[derive(Debug, Clone)]
pub struct ParsedCrl {
    /// The CRL.
    pub crl: CertificateList,
    tbs_der: Vec<u8>,
    this_update: i64,
    next_update: Option<i64>,
    idp: Option<IssuingDistributionPoint>,
    unsupported: Option<String>,
}

impl ParsedCrl {
    /// Parses DER.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let crl = CertificateList::from_der(der).map_err(|e| format!("not a DER CRL: {e}"))?;
        let tbs_der = crl.tbs_cert_list.to_der().map_err(|e| e.to_string())?;
        let secs = |t: &x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
        let mut idp = None;
        let mut unsupported = None;
        for e in crl.tbs_cert_list.crl_extensions.as_deref().unwrap_or(&[]) {
            match e.extn_id {
                oids::ID_CE_ISSUING_DISTRIBUTION_POINT => {
                    let d = IssuingDistributionPoint::from_der(e.extn_value.as_bytes())
                        .map_err(|err| format!("malformed issuingDistributionPoint: {err}"))?;
                    if d.indirect_crl {
                        unsupported = Some("indirect CRLs are not supported".into());
                    }
                    if d.only_contains_attribute_certs {
                        unsupported = Some("CRL covers attribute certificates only".into());
                    }
                    idp = Some(d);
                }
                oids::ID_CE_DELTA_CRL_INDICATOR => unsupported = Some("delta CRLs are not supported".into()),
                oids::ID_CE_CRL_NUMBER | oids::ID_CE_AUTHORITY_KEY_IDENTIFIER | oids::ID_CE_FRESHEST_CRL => {}
                other if e.critical => unsupported = Some(format!("unsupported critical CRL extension {other}")),
                _ => {}
            }
        }
        Ok(Self {
            this_update: secs(&crl.tbs_cert_list.this_update),
            next_update: crl.tbs_cert_list.next_update.as_ref().map(secs),
            tbs_der,
            idp,
            unsupported,
            crl,
        })
    }
}

/// What the CRLs say about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlStatus {
    /// Covered by a current CRL and not listed.
    Good,
    /// Listed.
    Revoked {
        /// revocationDate, seconds since the Unix epoch.
        at: i64,
        /// reasonCode, if given.
        reason: Option<String>,
    },
    /// Only CRLs whose nextUpdate has passed cover it.
    Stale(String),
    /// No usable CRL covers it.
    Unknown(String),
}

/// The CRLs available to a validation.
#[derive(Debug, Clone, Default)]
pub struct CrlSet {
    /// The CRLs.
    pub crls: Vec<ParsedCrl>,
}

/// The context a status check needs: the path's ancestors (nearest first) and the pool.
pub struct CrlContext<'a> {
    /// The certificate's issuer and that issuer's ancestors (nearest first); the last is the
    /// trust anchor.
    pub ancestors: &'a [&'a ParsedCert],
    /// Other certificates (candidate CRL signers).
    pub pool: &'a [ParsedCert],
    /// Validation time.
    pub time: i64,
    /// Algorithm policy.
    pub policy: AlgorithmPolicy,
}

fn dp_names_match(a: &[GeneralName], b: &[GeneralName]) -> bool {
    a.iter().any(|x| {
        b.iter().any(|y| match (x, y) {
            (GeneralName::DirectoryName(p), GeneralName::DirectoryName(q)) => names_match(p, q),
            _ => x == y,
        })
    })
}

impl CrlSet {
    /// Parses DER CRLs.
    pub fn from_der_list(list: &[Vec<u8>]) -> Result<Self, String> {
        Ok(Self {
            crls: list.iter().map(|d| ParsedCrl::from_der(d)).collect::<Result<_, _>>()?,
        })
    }

    fn signer_ok(&self, crl: &ParsedCrl, ctx: &CrlContext<'_>, depth: usize) -> Result<(), String> {
        let verify = |key: &ParsedCert| {
            verify_signed(
                &crl.crl.signature_algorithm,
                &key.spki_der,
                &crl.tbs_der,
                crl.crl.signature.raw_bytes(),
                ctx.policy,
            )
            .is_ok()
        };
        let issuer = ctx.ancestors[0];
        if verify(issuer) {
            return if issuer.allows_key_usage(KeyUsages::CRLSign) {
                Ok(())
            } else {
                Err("the CA's keyUsage does not allow cRLSign".into())
            };
        }
        // A separate CRL-signing certificate of the same CA, signed by an ancestor.
        for cand in ctx.pool {
            if !names_match(cand.subject(), &crl.crl.tbs_cert_list.issuer)
                || !cand.allows_key_usage(KeyUsages::CRLSign)
                || ctx.time < cand.not_before
                || ctx.time > cand.not_after
                || !verify(cand)
            {
                continue;
            }
            let Some(pos) = ctx.ancestors.iter().position(|a| {
                names_match(a.subject(), cand.issuer())
                    && verify_signed(
                        &cand.cert.signature_algorithm,
                        &a.spki_der,
                        &cand.tbs_der,
                        cand.cert.signature.raw_bytes(),
                        ctx.policy,
                    )
                    .is_ok()
            }) else {
                continue;
            };
            if depth >= 2 || pos + 1 >= ctx.ancestors.len() {
                // Signed by the trust anchor itself (nothing above to revoke it) or too deep.
                if pos + 1 >= ctx.ancestors.len() {
                    return Ok(());
                }
                continue;
            }
            let sub = CrlContext {
                ancestors: &ctx.ancestors[pos..],
                pool: ctx.pool,
                time: ctx.time,
                policy: ctx.policy,
            };
            match self.status_at_depth(cand, cand.is_ca(), &sub, depth + 1) {
                CrlStatus::Good => return Ok(()),
                other => return Err(format!("the CRL signing certificate is not good: {other:?}")),
            }
        }
        Err("CRL signature does not verify with the issuer's key or a CRL key it certified".into())
    }

    /// The status of `cert` (a CA certificate if `is_ca`).
    pub fn status(&self, cert: &ParsedCert, is_ca: bool, ctx: &CrlContext<'_>) -> CrlStatus {
        self.status_at_depth(cert, is_ca, ctx, 0)
    }

    fn status_at_depth(&self, cert: &ParsedCert, is_ca: bool, ctx: &CrlContext<'_>, depth: usize) -> CrlStatus {
        let mut covered: u16 = 0;
        let mut notes: Vec<String> = Vec::new();
        let mut stale = None;
        for crl in &self.crls {
            let tbs = &crl.crl.tbs_cert_list;
            if !names_match(&tbs.issuer, cert.issuer()) {
                continue;
            }
            if let Some(why) = &crl.unsupported {
                notes.push(why.clone());
                continue;
            }
            let mut reasons = ALL_REASONS;
            if let Some(idp) = &crl.idp {
                if (idp.only_contains_user_certs && is_ca) || (idp.only_contains_ca_certs && !is_ca) {
                    notes.push("CRL scope excludes this kind of certificate".into());
                    continue;
                }
                if let Some(r) = idp.only_some_reasons {
                    reasons = r.bits() & ALL_REASONS;
                }
                match &idp.distribution_point {
                    None => {}
                    Some(DistributionPointName::FullName(idp_names)) => {
                        let ok = match &cert.crl_distribution_points {
                            Some(dps) => dps.0.iter().any(|dp| match &dp.distribution_point {
                                Some(DistributionPointName::FullName(names)) => dp_names_match(idp_names, names),
                                _ => false,
                            }),
                            None => dp_names_match(idp_names, &[GeneralName::DirectoryName(tbs.issuer.clone())]),
                        };
                        if !ok {
                            notes.push("CRL distribution point does not match the certificate's".into());
                            continue;
                        }
                    }
                    Some(DistributionPointName::NameRelativeToCRLIssuer(_)) => {
                        notes.push("nameRelativeToCRLIssuer is not supported".into());
                        continue;
                    }
                }
            }
            if let Err(why) = self.signer_ok(crl, ctx, depth) {
                notes.push(why);
                continue;
            }
            if crl.this_update > ctx.time {
                notes.push("CRL thisUpdate is after the validation time".into());
                continue;
            }
            let fresh = crl.next_update.is_none_or(|n| n >= ctx.time);
            for entry in tbs.revoked_certificates.as_deref().unwrap_or(&[]) {
                if entry.serial_number.as_bytes() != cert.serial() {
                    continue;
                }
                let mut reason = None;
                for e in entry.crl_entry_extensions.as_deref().unwrap_or(&[]) {
                    match e.extn_id {
                        oids::ID_CE_CRL_REASONS => {
                            reason = CrlReason::from_der(e.extn_value.as_bytes()).ok().map(|r| format!("{r:?}"));
                        }
                        oids::ID_CE_INVALIDITY_DATE => {}
                        other if e.critical => {
                            return CrlStatus::Unknown(format!("unsupported critical CRL entry extension {other}"));
                        }
                        _ => {}
                    }
                }
                let at = i64::try_from(entry.revocation_date.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
                if at <= ctx.time {
                    return CrlStatus::Revoked { at, reason };
                }
            }
            if fresh {
                covered |= reasons;
            } else {
                stale = Some("the only covering CRL's nextUpdate has passed".to_owned());
            }
        }
        if covered & ALL_REASONS == ALL_REASONS {
            CrlStatus::Good
        } else if let Some(s) = stale {
            CrlStatus::Stale(s)
        } else if notes.is_empty() {
            CrlStatus::Unknown("no CRL from the certificate's issuer".into())
        } else {
            CrlStatus::Unknown(notes.join("; "))
        }
    }
}
