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
use x509_cert::ext::pkix::crl::dp::{DistributionPoint, IssuingDistributionPoint};
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName, GeneralNames};
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
    /// cRLNumber, big-endian without leading zeros.
    number: Option<Vec<u8>>,
    /// For a delta CRL, the BaseCRLNumber it applies to.
    delta_base: Option<Vec<u8>>,
}

/// Big-endian unsigned integers compare by length, then bytes, once leading zeros are gone.
fn trim_be(b: &[u8]) -> Vec<u8> {
    let start = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b[start..].to_vec()
}

fn be_le(a: &[u8], b: &[u8]) -> bool {
    (a.len(), a) <= (b.len(), b)
}

impl ParsedCrl {
    /// Parses DER.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let crl = CertificateList::from_der(der).map_err(|e| format!("not a DER CRL: {e}"))?;
        let tbs_der = crl.tbs_cert_list.to_der().map_err(|e| e.to_string())?;
        let secs = |t: &x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        let mut idp = None;
        let mut unsupported = None;
        let mut number = None;
        let mut delta_base = None;
        let int = |e: &x509_cert::ext::Extension, what: &str| {
            der::asn1::Uint::from_der(e.extn_value.as_bytes())
                .map(|u| trim_be(u.as_bytes()))
                .map_err(|err| format!("malformed {what}: {err}"))
        };
        for e in crl.tbs_cert_list.crl_extensions.as_deref().unwrap_or(&[]) {
            match e.extn_id {
                oids::ID_CE_ISSUING_DISTRIBUTION_POINT => {
                    let d = IssuingDistributionPoint::from_der(e.extn_value.as_bytes())
                        .map_err(|err| format!("malformed issuingDistributionPoint: {err}"))?;
                    if d.only_contains_attribute_certs {
                        unsupported = Some("CRL covers attribute certificates only".into());
                    }
                    idp = Some(d);
                }
                oids::ID_CE_DELTA_CRL_INDICATOR => delta_base = Some(int(e, "deltaCRLIndicator")?),
                oids::ID_CE_CRL_NUMBER => number = Some(int(e, "cRLNumber")?),
                oids::ID_CE_AUTHORITY_KEY_IDENTIFIER | oids::ID_CE_FRESHEST_CRL => {}
                other if e.critical => {
                    unsupported = Some(format!("unsupported critical CRL extension {other}"))
                }
                _ => {}
            }
        }
        Ok(Self {
            this_update: secs(&crl.tbs_cert_list.this_update),
            next_update: crl.tbs_cert_list.next_update.as_ref().map(secs),
            tbs_der,
            idp,
            unsupported,
            number,
            delta_base,
            crl,
        })
    }
}

/// The entry for `cert` in `crl`: revocation time and reason; `Err` when the entry carries a
/// critical extension this code does not understand (the CRL cannot then be relied on).
fn find_entry(
    crl: &ParsedCrl,
    cert: &ParsedCert,
) -> Result<Option<(i64, Option<CrlReason>)>, String> {
    let indirect = crl.idp.as_ref().is_some_and(|i| i.indirect_crl);
    let mut entry_issuer = Some(crl.crl.tbs_cert_list.issuer.clone());
    for entry in crl
        .crl
        .tbs_cert_list
        .revoked_certificates
        .as_deref()
        .unwrap_or(&[])
    {
        let mut reason = None;
        for e in entry.crl_entry_extensions.as_deref().unwrap_or(&[]) {
            match e.extn_id {
                oids::ID_CE_CRL_REASONS => {
                    reason = CrlReason::from_der(e.extn_value.as_bytes()).ok()
                }
                oids::ID_CE_INVALIDITY_DATE => {}
                // Sets the issuer of this and the following entries (indirect CRLs, §5.3.3).
                oids::ID_CE_CERTIFICATE_ISSUER if indirect => {
                    let names = GeneralNames::from_der(e.extn_value.as_bytes())
                        .map_err(|err| format!("malformed certificateIssuer: {err}"))?;
                    entry_issuer = names.into_iter().find_map(|n| match n {
                        GeneralName::DirectoryName(d) => Some(d),
                        _ => None,
                    });
                }
                other if e.critical => {
                    return Err(format!("unsupported critical CRL entry extension {other}"));
                }
                _ => {}
            }
        }
        if entry.serial_number.as_bytes() != cert.serial()
            || !entry_issuer
                .as_ref()
                .is_some_and(|i| names_match(i, cert.issuer()))
        {
            continue;
        }
        let at =
            i64::try_from(entry.revocation_date.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
        return Ok(Some((at, reason)));
    }
    Ok(None)
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
    /// Status as of a past `time` (long-term validation): CRLs issued after `time`, or up to
    /// [`PAST_FRESHNESS`] before it, decide; revocations after `time` do not count.
    pub past: bool,
}

/// How old revocation data may be, relative to a past validation time, and still speak for it.
pub const PAST_FRESHNESS: i64 = 24 * 3600;

/// A distribution point name as full names; a name relative to the CRL issuer is that issuer's
/// DN with the RDN appended (RFC 5280 §4.2.1.13).
fn full_names(dp: &DistributionPointName, crl_issuer: &x509_cert::name::Name) -> Vec<GeneralName> {
    match dp {
        DistributionPointName::FullName(names) => names.clone(),
        DistributionPointName::NameRelativeToCRLIssuer(rdn) => {
            let mut name = crl_issuer.clone();
            name.0.push(rdn.clone());
            vec![GeneralName::DirectoryName(name)]
        }
    }
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
            crls: list
                .iter()
                .map(|d| ParsedCrl::from_der(d))
                .collect::<Result<_, _>>()?,
        })
    }

    fn signer_ok(
        &self,
        crl: &ParsedCrl,
        ctx: &CrlContext<'_>,
        visiting: &[&[u8]],
    ) -> Result<(), String> {
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
            // A CRL signer whose own status this very check is establishing vouches for itself
            // (PKITS 4.14.30): its certificate's signature chain is already verified.
            if visiting.contains(&cand.der.as_slice()) {
                return Ok(());
            }
            if visiting.len() >= 3 {
                continue;
            }
            let sub = CrlContext {
                ancestors: &ctx.ancestors[pos..],
                pool: ctx.pool,
                time: ctx.time,
                policy: ctx.policy,
                past: ctx.past,
            };
            let mut deeper = visiting.to_vec();
            deeper.push(&cand.der);
            match self.status_at_depth(cand, cand.is_ca(), &sub, &deeper) {
                CrlStatus::Good => return Ok(()),
                other => {
                    return Err(format!(
                        "the CRL signing certificate is not good: {other:?}"
                    ));
                }
            }
        }
        Err("CRL signature does not verify with the issuer's key or a CRL key it certified".into())
    }

    /// The status of `cert` (a CA certificate if `is_ca`).
    pub fn status(&self, cert: &ParsedCert, is_ca: bool, ctx: &CrlContext<'_>) -> CrlStatus {
        self.status_at_depth(cert, is_ca, ctx, &[])
    }

    fn status_at_depth(
        &self,
        cert: &ParsedCert,
        is_ca: bool,
        ctx: &CrlContext<'_>,
        visiting: &[&[u8]],
    ) -> CrlStatus {
        let mut covered: u16 = 0;
        let mut notes: Vec<String> = Vec::new();
        let mut stale = None;
        let mut revoked: Option<(i64, Option<CrlReason>)> = None;
        let mut base_numbers: Vec<Vec<u8>> = Vec::new();
        // Complete CRLs first, then delta CRLs on top of them (RFC 5280 §5.2.4).
        for pass_delta in [false, true] {
            for crl in self
                .crls
                .iter()
                .filter(|c| c.delta_base.is_some() == pass_delta)
            {
                let reasons = match self.applicable(crl, cert, is_ca, ctx, visiting) {
                    Ok(r) => r,
                    Err(Some(why)) => {
                        notes.push(why);
                        continue;
                    }
                    Err(None) => continue,
                };
                let fresh = crl.next_update.is_none_or(|n| n >= ctx.time)
                    || (ctx.past && crl.this_update + PAST_FRESHNESS >= ctx.time);
                if pass_delta {
                    let based = crl
                        .delta_base
                        .as_ref()
                        .is_some_and(|b| base_numbers.iter().any(|n| be_le(b, n)));
                    if !fresh || !based {
                        continue;
                    }
                }
                match find_entry(crl, cert) {
                    Err(why) => return CrlStatus::Unknown(why),
                    Ok(Some((at, reason))) if at <= ctx.time => {
                        if reason == Some(CrlReason::RemoveFromCRL) {
                            if pass_delta
                                && revoked
                                    .is_some_and(|(_, r)| r == Some(CrlReason::CertificateHold))
                            {
                                revoked = None;
                            }
                        } else {
                            revoked = Some((at, reason));
                        }
                    }
                    Ok(_) => {}
                }
                if pass_delta {
                    continue;
                }
                if fresh {
                    covered |= reasons;
                    base_numbers.extend(crl.number.clone());
                } else {
                    stale = Some("the only covering CRL's nextUpdate has passed".to_owned());
                }
            }
        }
        if let Some((at, reason)) = revoked {
            CrlStatus::Revoked {
                at,
                reason: reason.map(|r| format!("{r:?}")),
            }
        } else if covered & ALL_REASONS == ALL_REASONS {
            CrlStatus::Good
        } else if let Some(s) = stale {
            CrlStatus::Stale(s)
        } else if notes.is_empty() {
            CrlStatus::Unknown("no CRL from the certificate's issuer".into())
        } else {
            CrlStatus::Unknown(notes.join("; "))
        }
    }

    /// Whether `crl` can speak for `cert`: the reasons it covers, or why not (`None`: a CRL of
    /// another issuer, not worth a note).
    fn applicable(
        &self,
        crl: &ParsedCrl,
        cert: &ParsedCert,
        is_ca: bool,
        ctx: &CrlContext<'_>,
        visiting: &[&[u8]],
    ) -> Result<u16, Option<String>> {
        let tbs = &crl.crl.tbs_cert_list;
        let indirect = crl.idp.as_ref().is_some_and(|i| i.indirect_crl);
        let direct = names_match(&tbs.issuer, cert.issuer());
        // The certificate's distribution points that this CRL's issuer serves: for an indirect
        // CRL those naming it as cRLIssuer, for a direct one those without a cRLIssuer.
        let dps: Option<Vec<&DistributionPoint>> = cert.crl_distribution_points.as_ref().map(|d| {
            d.0.iter()
                .filter(|dp| match &dp.crl_issuer {
                    Some(issuers) => {
                        indirect
                            && dp_names_match(
                                issuers,
                                &[GeneralName::DirectoryName(tbs.issuer.clone())],
                            )
                    }
                    None => direct,
                })
                .collect()
        });
        let served_indirectly = indirect && dps.as_ref().is_some_and(|d| !d.is_empty());
        if !(direct || served_indirectly) {
            return Err(None);
        }
        if let Some(why) = &crl.unsupported {
            return Err(Some(why.clone()));
        }
        let mut reasons = ALL_REASONS;
        if let Some(idp) = &crl.idp {
            if (idp.only_contains_user_certs && is_ca) || (idp.only_contains_ca_certs && !is_ca) {
                return Err(Some("CRL scope excludes this kind of certificate".into()));
            }
            if let Some(r) = idp.only_some_reasons {
                reasons = r.bits() & ALL_REASONS;
            }
            if let Some(idp_dp) = &idp.distribution_point {
                let idp_names = full_names(idp_dp, &tbs.issuer);
                let ok = match &dps {
                    Some(dps) => {
                        dps.iter()
                            .any(|dp| match (&dp.distribution_point, &dp.crl_issuer) {
                                (Some(n), _) => {
                                    dp_names_match(&idp_names, &full_names(n, &tbs.issuer))
                                }
                                (None, Some(issuers)) => dp_names_match(&idp_names, issuers),
                                (None, None) => false,
                            })
                    }
                    None => dp_names_match(
                        &idp_names,
                        &[GeneralName::DirectoryName(tbs.issuer.clone())],
                    ),
                };
                if !ok {
                    return Err(Some(
                        "CRL distribution point does not match the certificate's".into(),
                    ));
                }
            }
        }
        self.signer_ok(crl, ctx, visiting).map_err(Some)?;
        if crl.this_update > ctx.time && !ctx.past {
            return Err(Some("CRL thisUpdate is after the validation time".into()));
        }
        Ok(reasons)
    }
}
