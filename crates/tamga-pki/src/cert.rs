//! A parsed certificate with the extensions path validation needs, decoded once.
//!
//! RFC 5280 §4.1 and §4.2. Every extension this module knows is decoded strictly; an extension
//! that fails to decode makes the certificate malformed (it is not silently ignored), and unknown
//! critical extensions are listed so the validator can reject them (§6.1.4 (o)).

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280 as oids;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, CrlDistributionPoints,
    ExtendedKeyUsage, InhibitAnyPolicy, KeyUsage, KeyUsages, NameConstraints, PolicyConstraints,
    PolicyMappings, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;

/// A certificate that could not be parsed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CertError {
    /// Not a DER X.509 certificate.
    #[error("not a DER X.509 certificate: {0}")]
    Der(String),
    /// An extension that is present but not well-formed.
    #[error("malformed {extension} extension: {reason}")]
    Extension {
        /// Which extension.
        extension: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// The same extension twice (RFC 5280 §4.2).
    #[error("extension {0} appears more than once")]
    DuplicateExtension(String),
}

/// Extensions this validator processes (so they do not count as unknown when critical).
const KNOWN: &[ObjectIdentifier] = &[
    oids::ID_CE_BASIC_CONSTRAINTS,
    oids::ID_CE_KEY_USAGE,
    oids::ID_CE_EXT_KEY_USAGE,
    oids::ID_CE_NAME_CONSTRAINTS,
    oids::ID_CE_CERTIFICATE_POLICIES,
    oids::ID_CE_POLICY_MAPPINGS,
    oids::ID_CE_POLICY_CONSTRAINTS,
    oids::ID_CE_INHIBIT_ANY_POLICY,
    oids::ID_CE_SUBJECT_ALT_NAME,
    oids::ID_CE_SUBJECT_KEY_IDENTIFIER,
    oids::ID_CE_AUTHORITY_KEY_IDENTIFIER,
    oids::ID_CE_CRL_DISTRIBUTION_POINTS,
];

/// A certificate and the decoded extensions validation uses.
#[derive(Debug, Clone)]
pub struct ParsedCert {
    /// The DER as received.
    pub der: Vec<u8>,
    /// The decoded certificate.
    pub cert: Certificate,
    /// DER of the `tbsCertificate`, the signed bytes.
    pub tbs_der: Vec<u8>,
    /// DER of the `subjectPublicKeyInfo`.
    pub spki_der: Vec<u8>,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// basicConstraints.
    pub basic_constraints: Option<BasicConstraints>,
    /// keyUsage.
    pub key_usage: Option<KeyUsage>,
    /// extKeyUsage.
    pub ext_key_usage: Option<ExtendedKeyUsage>,
    /// nameConstraints.
    pub name_constraints: Option<NameConstraints>,
    /// certificatePolicies.
    pub policies: Option<CertificatePolicies>,
    /// policyMappings.
    pub policy_mappings: Option<PolicyMappings>,
    /// policyConstraints.
    pub policy_constraints: Option<PolicyConstraints>,
    /// inhibitAnyPolicy.
    pub inhibit_any_policy: Option<InhibitAnyPolicy>,
    /// subjectAltName.
    pub subject_alt_name: Option<SubjectAltName>,
    /// subjectKeyIdentifier.
    pub subject_key_id: Option<Vec<u8>>,
    /// authorityKeyIdentifier keyIdentifier.
    pub authority_key_id: Option<Vec<u8>>,
    /// cRLDistributionPoints.
    pub crl_distribution_points: Option<CrlDistributionPoints>,
    /// OIDs of critical extensions this validator does not process.
    pub unknown_critical: Vec<ObjectIdentifier>,
}

fn ext<'a, T: Decode<'a> + const_oid::AssociatedOid>(
    cert: &'a Certificate,
    name: &'static str,
) -> Result<Option<T>, CertError> {
    let mut found = None;
    for e in cert.tbs_certificate.extensions.as_deref().unwrap_or(&[]) {
        if e.extn_id == T::OID {
            if found.is_some() {
                return Err(CertError::DuplicateExtension(name.into()));
            }
            found =
                Some(
                    T::from_der(e.extn_value.as_bytes()).map_err(|err| CertError::Extension {
                        extension: name,
                        reason: err.to_string(),
                    })?,
                );
        }
    }
    Ok(found)
}

impl ParsedCert {
    /// Parses DER.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let cert = Certificate::from_der(der).map_err(|e| CertError::Der(e.to_string()))?;
        let tbs_der = cert
            .tbs_certificate
            .to_der()
            .map_err(|e| CertError::Der(e.to_string()))?;
        let spki_der = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| CertError::Der(e.to_string()))?;
        let validity = &cert.tbs_certificate.validity;
        let secs = |t: &x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        let mut unknown_critical = Vec::new();
        for e in cert.tbs_certificate.extensions.as_deref().unwrap_or(&[]) {
            if e.critical && !KNOWN.contains(&e.extn_id) {
                unknown_critical.push(e.extn_id);
            }
        }
        Ok(Self {
            not_before: secs(&validity.not_before),
            not_after: secs(&validity.not_after),
            basic_constraints: ext(&cert, "basicConstraints")?,
            key_usage: ext(&cert, "keyUsage")?,
            ext_key_usage: ext(&cert, "extKeyUsage")?,
            name_constraints: ext(&cert, "nameConstraints")?,
            policies: ext(&cert, "certificatePolicies")?,
            policy_mappings: ext(&cert, "policyMappings")?,
            policy_constraints: ext(&cert, "policyConstraints")?,
            inhibit_any_policy: ext(&cert, "inhibitAnyPolicy")?,
            subject_alt_name: ext(&cert, "subjectAltName")?,
            subject_key_id: ext::<SubjectKeyIdentifier>(&cert, "subjectKeyIdentifier")?
                .map(|k| k.0.as_bytes().to_vec()),
            authority_key_id: ext::<AuthorityKeyIdentifier>(&cert, "authorityKeyIdentifier")?
                .and_then(|k| k.key_identifier.map(|i| i.as_bytes().to_vec())),
            crl_distribution_points: ext(&cert, "cRLDistributionPoints")?,
            unknown_critical,
            der: der.to_vec(),
            tbs_der,
            spki_der,
            cert,
        })
    }

    /// Parses PEM (one `CERTIFICATE` block) or DER.
    pub fn from_pem_or_der(data: &[u8]) -> Result<Self, CertError> {
        if data.starts_with(b"-----BEGIN") {
            let (label, der) =
                der::pem::decode_vec(data).map_err(|e| CertError::Der(e.to_string()))?;
            if label != "CERTIFICATE" {
                return Err(CertError::Der(format!(
                    "PEM block {label:?}, expected CERTIFICATE"
                )));
            }
            Self::from_der(&der)
        } else {
            Self::from_der(data)
        }
    }

    /// Every certificate in PEM text (`CERTIFICATE` blocks; other blocks are skipped), or one
    /// DER certificate.
    pub fn all_from_pem_or_der(data: &[u8]) -> Result<Vec<Self>, CertError> {
        let Ok(text) = std::str::from_utf8(data) else {
            return Ok(vec![Self::from_der(data)?]);
        };
        if !text.contains("-----BEGIN") {
            return Ok(vec![Self::from_der(data)?]);
        }
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
            let block = &rest[start..];
            let end = block
                .find("-----END CERTIFICATE-----")
                .ok_or_else(|| CertError::Der("unterminated PEM CERTIFICATE block".into()))?
                + "-----END CERTIFICATE-----".len();
            out.push(Self::from_pem_or_der(&block.as_bytes()[..end])?);
            rest = &block[end..];
        }
        if out.is_empty() {
            return Err(CertError::Der(
                "no CERTIFICATE block in the PEM text".into(),
            ));
        }
        Ok(out)
    }

    /// Subject name.
    pub fn subject(&self) -> &Name {
        &self.cert.tbs_certificate.subject
    }

    /// Issuer name.
    pub fn issuer(&self) -> &Name {
        &self.cert.tbs_certificate.issuer
    }

    /// Serial number bytes (big-endian, as encoded).
    pub fn serial(&self) -> &[u8] {
        self.cert.tbs_certificate.serial_number.as_bytes()
    }

    /// Whether subject and issuer are the same name (RFC 5280 §3.2 "self-issued").
    pub fn is_self_issued(&self) -> bool {
        crate::name::names_match(self.subject(), self.issuer())
    }

    /// Whether basicConstraints says CA.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.as_ref().is_some_and(|b| b.ca)
    }

    /// Whether keyUsage is absent or includes `usage`.
    pub fn allows_key_usage(&self, usage: KeyUsages) -> bool {
        self.key_usage.as_ref().is_none_or(|k| k.0.contains(usage))
    }

    /// OCSP responder URLs from authorityInfoAccess (RFC 5280 §4.2.2.1).
    pub fn ocsp_urls(&self) -> Vec<String> {
        self.access_urls(const_oid::db::rfc5280::ID_AD_OCSP)
    }

    /// CA-issuers URLs from authorityInfoAccess.
    pub fn ca_issuers_urls(&self) -> Vec<String> {
        self.access_urls(const_oid::db::rfc5280::ID_AD_CA_ISSUERS)
    }

    fn access_urls(&self, method: ObjectIdentifier) -> Vec<String> {
        let Ok(Some(aia)) = ext::<x509_cert::ext::pkix::AuthorityInfoAccessSyntax>(
            &self.cert,
            "authorityInfoAccess",
        ) else {
            return vec![];
        };
        aia.0
            .iter()
            .filter(|d| d.access_method == method)
            .filter_map(|d| match &d.access_location {
                x509_cert::ext::pkix::name::GeneralName::UniformResourceIdentifier(u) => {
                    Some(u.to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// The subject DN in RFC 4514 form, for messages.
    pub fn subject_string(&self) -> String {
        crate::name::display_name(self.subject())
    }
}
