//! Issuing CRLs (RFC 5280 §5): full CRLs with cRLNumber, authorityKeyIdentifier, thisUpdate /
//! nextUpdate, and a reasonCode on each entry that has a reason.

use const_oid::db::rfc5280 as oids;
use der::Encode;
use der::asn1::OctetString;
use x509_cert::certificate::Version;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber, CrlReason};
use x509_cert::serial_number::SerialNumber;

use crate::builder::{BuildError, extension, signature_algorithm_identifier, x509_time};
use crate::issue::Issuer;

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Its serial number bytes.
    pub serial: Vec<u8>,
    /// When it was revoked, Unix seconds.
    pub at: i64,
    /// Why (None: unspecified, no reasonCode extension).
    pub reason: Option<CrlReason>,
}

/// Builds and signs a full CRL numbered `number`.
pub fn build_crl(
    issuer: &Issuer<'_>,
    this_update: i64,
    next_update: i64,
    number: u64,
    entries: &[RevokedEntry],
) -> Result<Vec<u8>, BuildError> {
    let revoked = entries
        .iter()
        .map(|e| {
            let exts = match e.reason {
                Some(r) if r != CrlReason::Unspecified => {
                    Some(vec![extension(oids::ID_CE_CRL_REASONS, false, &r)?])
                }
                _ => None,
            };
            Ok(RevokedCert {
                serial_number: SerialNumber::new(&e.serial)?,
                revocation_date: x509_time(e.at)?,
                crl_entry_extensions: exts,
            })
        })
        .collect::<Result<Vec<_>, BuildError>>()?;
    let sig_alg =
        signature_algorithm_identifier(issuer.signer.key_algorithm().default_signature())?;
    let number_bytes = number.to_be_bytes();
    let tbs = TbsCertList {
        version: Version::V2,
        signature: sig_alg.clone(),
        issuer: issuer.name.clone(),
        this_update: x509_time(this_update)?,
        next_update: Some(x509_time(next_update)?),
        revoked_certificates: (!revoked.is_empty()).then_some(revoked),
        crl_extensions: Some(vec![
            extension(
                oids::ID_CE_AUTHORITY_KEY_IDENTIFIER,
                false,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(issuer.key_id.clone())?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
            )?,
            extension(
                oids::ID_CE_CRL_NUMBER,
                false,
                &CrlNumber(der::asn1::Uint::new(&number_bytes)?),
            )?,
        ]),
    };
    let tbs_der = tbs.to_der()?;
    let sig = issuer
        .signer
        .sign(issuer.signer.key_algorithm().default_signature(), &tbs_der)?;
    Ok(CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: sig_alg,
        signature: der::asn1::BitString::from_bytes(&sig)?,
    }
    .to_der()?)
}
