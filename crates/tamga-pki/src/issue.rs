//! Certificate issuance: names, profiles and signing (RFC 5280 §4 with ETSI EN 319 412-2/-3
//! semantics for natural and legal persons).
//!
//! | profile | keyUsage (critical) | extKeyUsage | other |
//! |---|---|---|---|
//! | root / issuing CA | keyCertSign, cRLSign | — | basicConstraints cA (critical), pathLen |
//! | citizen authentication | digitalSignature | clientAuth | registration number in SAN otherName |
//! | citizen signing | nonRepudiation | — | registration number in SAN otherName |
//! | legal person seal | digitalSignature, nonRepudiation | — | organizationIdentifier NTRMN-… |
//! | official | digitalSignature, nonRepudiation | — | person + organisation + title |
//! | TLS server | digitalSignature (+keyEncipherment for RSA) | serverAuth | SAN dNSNames |
//! | TLS client | digitalSignature | clientAuth | |
//! | OCSP signer | digitalSignature | OCSPSigning | id-pkix-ocsp-nocheck |
//! | TSA | digitalSignature, nonRepudiation | timeStamping (critical, only) | |
//!
//! Every certificate carries subject and authority key identifiers, the CA's policy OID, and
//! (below the root) the CA's CRL distribution point and OCSP / caIssuers URLs.

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc4519, rfc5280 as oids, rfc6960};
use der::asn1::{Ia5String, Null, OctetString, PrintableString, SetOfVec};
use der::{Any, Decode, Encode, Tag};
use tamga_keys::Signer;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

use crate::builder::{
    BuildError, extension, key_identifier, signature_algorithm_identifier, x509_time,
};
use crate::identity::RegistrationNumber;

/// organizationIdentifier (X.520, used by ETSI EN 319 412-1 for legal persons).
pub const ID_AT_ORGANIZATION_IDENTIFIER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.4.97");

/// Builds a distinguished name one attribute per RDN, in the order given.
#[derive(Default, Debug, Clone)]
pub struct NameBuilder {
    rdns: Vec<RelativeDistinguishedName>,
}

impl NameBuilder {
    /// An empty name.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(mut self, oid: ObjectIdentifier, value: Any) -> Result<Self, BuildError> {
        let mut set = SetOfVec::new();
        set.insert(AttributeTypeAndValue { oid, value })?;
        self.rdns.push(RelativeDistinguishedName(set));
        Ok(self)
    }

    /// A PrintableString attribute (country, serialNumber).
    pub fn printable(self, oid: ObjectIdentifier, value: &str) -> Result<Self, BuildError> {
        let v = PrintableString::new(value)
            .map_err(|_| BuildError::Invalid(format!("{value:?} is not a PrintableString")))?;
        self.push(oid, Any::encode_from(&v)?)
    }

    /// A UTF8String attribute (names in Cyrillic).
    pub fn utf8(self, oid: ObjectIdentifier, value: &str) -> Result<Self, BuildError> {
        self.push(oid, Any::new(Tag::Utf8String, value.as_bytes())?)
    }

    /// `C=`.
    pub fn country(self, code: &str) -> Result<Self, BuildError> {
        self.printable(rfc4519::C, code)
    }

    /// `O=`.
    pub fn organization(self, name: &str) -> Result<Self, BuildError> {
        self.utf8(rfc4519::O, name)
    }

    /// `CN=`.
    pub fn common_name(self, name: &str) -> Result<Self, BuildError> {
        self.utf8(rfc4519::CN, name)
    }

    /// The name.
    pub fn build(self) -> Name {
        RdnSequence(self.rdns)
    }
}

/// A natural person's subject: `C=MN, SN, GN, serialNumber=PNOMN-…, CN="GN SN"`.
pub fn citizen_name(
    given: &str,
    surname: &str,
    id: &RegistrationNumber,
) -> Result<Name, BuildError> {
    Ok(NameBuilder::new()
        .country("MN")?
        .utf8(rfc4519::SN, surname)?
        .utf8(rfc4519::GIVEN_NAME, given)?
        .printable(rfc4519::SERIAL_NUMBER, &id.serial_number_attribute())?
        .common_name(&format!("{given} {surname}"))?
        .build())
}

/// A legal person's subject: `C=MN, O, organizationIdentifier=NTRMN-…, CN`.
pub fn organisation_name(name: &str, register_number: &str) -> Result<Name, BuildError> {
    let oi = crate::identity::legal_person_identifier(register_number)
        .map_err(|e| BuildError::Invalid(e.0))?;
    Ok(NameBuilder::new()
        .country("MN")?
        .organization(name)?
        .utf8(ID_AT_ORGANIZATION_IDENTIFIER, &oi)?
        .common_name(name)?
        .build())
}

/// An official's subject: the person, their organisation and their title.
pub fn official_name(
    given: &str,
    surname: &str,
    id: &RegistrationNumber,
    organisation: &str,
    register_number: &str,
    title: &str,
) -> Result<Name, BuildError> {
    let oi = crate::identity::legal_person_identifier(register_number)
        .map_err(|e| BuildError::Invalid(e.0))?;
    Ok(NameBuilder::new()
        .country("MN")?
        .organization(organisation)?
        .utf8(ID_AT_ORGANIZATION_IDENTIFIER, &oi)?
        .utf8(rfc4519::TITLE, title)?
        .utf8(rfc4519::SN, surname)?
        .utf8(rfc4519::GIVEN_NAME, given)?
        .printable(rfc4519::SERIAL_NUMBER, &id.serial_number_attribute())?
        .common_name(&format!("{given} {surname}"))?
        .build())
}

/// The SAN entry that carries the Cyrillic registration number: directoryName
/// `CN=PNOMN-УБ99010112` (UTF8String).
pub fn registration_alt_name(id: &RegistrationNumber) -> Result<GeneralName, BuildError> {
    Ok(GeneralName::DirectoryName(
        NameBuilder::new()
            .common_name(&format!("PNOMN-{}", id.cyrillic()))?
            .build(),
    ))
}

/// What a certificate is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Profile {
    /// A self-signed root.
    RootCa {
        /// pathLenConstraint.
        path_len: Option<u8>,
    },
    /// A subordinate CA.
    IssuingCa {
        /// pathLenConstraint.
        path_len: Option<u8>,
    },
    /// ID-card authentication.
    CitizenAuth,
    /// ID-card signing (legally binding).
    CitizenSign,
    /// An organisation's electronic seal.
    LegalPersonSeal,
    /// A civil servant acting for an organisation.
    Official,
    /// TLS server (gateways).
    TlsServer,
    /// TLS client (gateways).
    TlsClient,
    /// Delegated OCSP responder.
    OcspSigner,
    /// Time-stamping authority.
    Tsa,
}

impl Profile {
    /// Whether certificates of this profile are CAs.
    pub fn is_ca(&self) -> bool {
        matches!(self, Profile::RootCa { .. } | Profile::IssuingCa { .. })
    }
}

/// The issuing CA as issuance needs it.
pub struct Issuer<'a> {
    /// The CA's subject name (the issued certificate's issuer).
    pub name: Name,
    /// The CA's subjectKeyIdentifier.
    pub key_id: Vec<u8>,
    /// The CA's key.
    pub signer: &'a dyn Signer,
    /// The CA's certificate policy OID.
    pub policy: ObjectIdentifier,
    /// Where its CRL is published.
    pub crl_url: Option<String>,
    /// Its OCSP responder.
    pub ocsp_url: Option<String>,
    /// Where its certificate is published.
    pub ca_issuers_url: Option<String>,
}

/// One certificate to issue.
pub struct CertificateRequest {
    /// Subject name.
    pub subject: Name,
    /// DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// Profile.
    pub profile: Profile,
    /// Validity start, Unix seconds.
    pub not_before: i64,
    /// Validity end, Unix seconds.
    pub not_after: i64,
    /// subjectAltName entries.
    pub alt_names: Vec<GeneralName>,
    /// Further extensions, appended as given (name constraints on a CA, test extensions).
    pub extra_extensions: Vec<Extension>,
}

fn uri(url: &str) -> Result<GeneralName, BuildError> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(url)?))
}

/// A random positive 128-bit serial number (CA/B Forum asks ≥ 64 bits of entropy).
pub fn random_serial() -> Result<Vec<u8>, BuildError> {
    let mut s = [0u8; 16];
    aws_lc_rs::rand::fill(&mut s).map_err(|_| BuildError::Invalid("no randomness".into()))?;
    s[0] = (s[0] & 0x7f) | 0x40;
    Ok(s.to_vec())
}

/// Issues a certificate; returns (DER, serial number bytes).
pub fn issue(
    issuer: &Issuer<'_>,
    req: &CertificateRequest,
) -> Result<(Vec<u8>, Vec<u8>), BuildError> {
    if req.not_after <= req.not_before {
        return Err(BuildError::Invalid(
            "notAfter must be after notBefore".into(),
        ));
    }
    let spki = SubjectPublicKeyInfoOwned::from_der(&req.spki_der)?;
    let subject_key_id = key_identifier(&req.spki_der)?;
    let is_rsa = spki.algorithm.oid == const_oid::db::rfc5912::RSA_ENCRYPTION;
    let self_signed = matches!(req.profile, Profile::RootCa { .. });
    let mut exts: Vec<Extension> = Vec::new();
    let ku = |u: &[KeyUsages]| -> Result<Extension, BuildError> {
        let mut flags = x509_cert::der::flagset::FlagSet::<KeyUsages>::default();
        for f in u {
            flags |= *f;
        }
        extension(oids::ID_CE_KEY_USAGE, true, &KeyUsage(flags))
    };
    let eku = |list: Vec<ObjectIdentifier>, critical: bool| {
        extension(oids::ID_CE_EXT_KEY_USAGE, critical, &ExtendedKeyUsage(list))
    };
    match &req.profile {
        Profile::RootCa { path_len } | Profile::IssuingCa { path_len } => {
            exts.push(extension(
                oids::ID_CE_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: *path_len,
                },
            )?);
            exts.push(ku(&[KeyUsages::KeyCertSign, KeyUsages::CRLSign])?);
        }
        Profile::CitizenAuth => {
            exts.push(ku(&[KeyUsages::DigitalSignature])?);
            exts.push(eku(vec![oids::ID_KP_CLIENT_AUTH], false)?);
        }
        Profile::CitizenSign => exts.push(ku(&[KeyUsages::NonRepudiation])?),
        Profile::LegalPersonSeal | Profile::Official => exts.push(ku(&[
            KeyUsages::DigitalSignature,
            KeyUsages::NonRepudiation,
        ])?),
        Profile::TlsServer => {
            if is_rsa {
                exts.push(ku(&[
                    KeyUsages::DigitalSignature,
                    KeyUsages::KeyEncipherment,
                ])?);
            } else {
                exts.push(ku(&[KeyUsages::DigitalSignature])?);
            }
            exts.push(eku(vec![oids::ID_KP_SERVER_AUTH], false)?);
        }
        Profile::TlsClient => {
            exts.push(ku(&[KeyUsages::DigitalSignature])?);
            exts.push(eku(vec![oids::ID_KP_CLIENT_AUTH], false)?);
        }
        Profile::OcspSigner => {
            exts.push(ku(&[KeyUsages::DigitalSignature])?);
            exts.push(eku(vec![oids::ID_KP_OCSP_SIGNING], false)?);
            exts.push(extension(rfc6960::ID_PKIX_OCSP_NOCHECK, false, &Null)?);
        }
        Profile::Tsa => {
            exts.push(ku(&[
                KeyUsages::DigitalSignature,
                KeyUsages::NonRepudiation,
            ])?);
            exts.push(eku(vec![oids::ID_KP_TIME_STAMPING], true)?);
        }
    }
    exts.push(extension(
        oids::ID_CE_SUBJECT_KEY_IDENTIFIER,
        false,
        &SubjectKeyIdentifier(OctetString::new(subject_key_id.clone())?),
    )?);
    let aki_id = if self_signed {
        subject_key_id
    } else {
        issuer.key_id.clone()
    };
    exts.push(extension(
        oids::ID_CE_AUTHORITY_KEY_IDENTIFIER,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(aki_id)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )?);
    exts.push(extension(
        oids::ID_CE_CERTIFICATE_POLICIES,
        false,
        &CertificatePolicies(vec![PolicyInformation {
            policy_identifier: issuer.policy,
            policy_qualifiers: None,
        }]),
    )?);
    if !req.alt_names.is_empty() {
        exts.push(extension(
            oids::ID_CE_SUBJECT_ALT_NAME,
            req.subject.0.is_empty(),
            &SubjectAltName(req.alt_names.clone()),
        )?);
    }
    if !self_signed {
        if let Some(url) = &issuer.crl_url
            && req.profile != Profile::OcspSigner
        {
            exts.push(extension(
                oids::ID_CE_CRL_DISTRIBUTION_POINTS,
                false,
                &CrlDistributionPoints(vec![DistributionPoint {
                    distribution_point: Some(DistributionPointName::FullName(vec![uri(url)?])),
                    reasons: None,
                    crl_issuer: None,
                }]),
            )?);
        }
        let mut aia = Vec::new();
        if let Some(url) = &issuer.ocsp_url
            && req.profile != Profile::OcspSigner
        {
            aia.push(AccessDescription {
                access_method: oids::ID_AD_OCSP,
                access_location: uri(url)?,
            });
        }
        if let Some(url) = &issuer.ca_issuers_url {
            aia.push(AccessDescription {
                access_method: oids::ID_AD_CA_ISSUERS,
                access_location: uri(url)?,
            });
        }
        if !aia.is_empty() {
            exts.push(extension(
                oids::ID_PE_AUTHORITY_INFO_ACCESS,
                false,
                &AuthorityInfoAccessSyntax(aia),
            )?);
        }
    }
    exts.extend(req.extra_extensions.iter().cloned());
    let serial = random_serial()?;
    let sig_alg =
        signature_algorithm_identifier(issuer.signer.key_algorithm().default_signature())?;
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial)?,
        signature: sig_alg.clone(),
        issuer: issuer.name.clone(),
        validity: Validity {
            not_before: x509_time(req.not_before)?,
            not_after: x509_time(req.not_after)?,
        },
        subject: req.subject.clone(),
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(exts),
    };
    let tbs_der = tbs.to_der()?;
    let signature = issuer
        .signer
        .sign(issuer.signer.key_algorithm().default_signature(), &tbs_der)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: sig_alg,
        signature: der::asn1::BitString::from_bytes(&signature)?,
    };
    Ok((cert.to_der()?, serial))
}

/// Creates a self-signed root CA certificate for `signer`.
pub fn self_signed_root(
    signer: &dyn Signer,
    name: Name,
    not_before: i64,
    not_after: i64,
    path_len: Option<u8>,
) -> Result<Vec<u8>, BuildError> {
    let key_id = key_identifier(signer.public_key_der())?;
    let issuer = Issuer {
        name: name.clone(),
        key_id,
        signer,
        policy: const_oid::db::rfc5280::ANY_POLICY,
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
    };
    let req = CertificateRequest {
        subject: name,
        spki_der: signer.public_key_der().to_vec(),
        profile: Profile::RootCa { path_len },
        not_before,
        not_after,
        alt_names: Vec::new(),
        extra_extensions: Vec::new(),
    };
    Ok(issue(&issuer, &req)?.0)
}
