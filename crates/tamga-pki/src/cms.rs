//! CMS SignedData (RFC 5652 §5) with the signed attributes every Tamga signature carries:
//! contentType, messageDigest, signingTime (when given) and signingCertificateV2
//! (RFC 5035 ESSCertIDv2, which binds the signature to the signer's certificate; required by
//! CAdES EN 319 122-1 and by RFC 5816 time-stamp tokens). Used by the time-stamp authority and
//! by CAdES signing.

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use tamga_keys::{SignatureAlgorithm, Signer};
use x509_cert::attr::Attribute;

use crate::builder::{BuildError, signature_algorithm_identifier, x509_time};
use crate::cert::ParsedCert;

/// id-contentType.
pub const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest.
pub const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime.
pub const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificateV2.
pub const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-data.
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");

/// ESSCertIDv2 (RFC 5035): the hash algorithm defaults to SHA-256, which DER omits.
#[derive(Sequence)]
pub struct EssCertIdV2 {
    /// Absent = SHA-256.
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Hash of the whole certificate.
    pub cert_hash: OctetString,
}

/// SigningCertificateV2 (RFC 5035).
#[derive(Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first.
    pub certs: Vec<EssCertIdV2>,
}

/// What to sign.
pub struct SignedDataSpec<'a> {
    /// eContentType (id-data for CAdES, id-ct-TSTInfo for time-stamp tokens).
    pub content_type: ObjectIdentifier,
    /// The content.
    pub content: &'a [u8],
    /// Whether the content goes inside (enveloping) or stays outside (detached).
    pub encapsulate: bool,
    /// The signer's certificate.
    pub signer_cert: &'a ParsedCert,
    /// The signer's key.
    pub signer: &'a dyn Signer,
    /// Certificates to include (DER): usually the signer's and its chain.
    pub certificates: Vec<x509_cert::Certificate>,
    /// signingTime, Unix seconds.
    pub signing_time: Option<i64>,
}

/// The digest a signature algorithm hashes with, as CMS names it.
pub fn digest_for(
    alg: SignatureAlgorithm,
) -> (&'static aws_lc_rs::digest::Algorithm, ObjectIdentifier) {
    match alg {
        // RFC 8419 §3.1: Ed25519 in CMS goes with SHA-512.
        SignatureAlgorithm::Ed25519 => (&aws_lc_rs::digest::SHA512, rfc5912::ID_SHA_512),
        SignatureAlgorithm::EcdsaP384Sha384
        | SignatureAlgorithm::RsaPkcs1Sha384
        | SignatureAlgorithm::RsaPssSha384 => (&aws_lc_rs::digest::SHA384, rfc5912::ID_SHA_384),
        _ => (&aws_lc_rs::digest::SHA256, rfc5912::ID_SHA_256),
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, BuildError> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

/// Builds and signs a DER ContentInfo holding SignedData with one SignerInfo.
pub fn build_signed_data(spec: &SignedDataSpec<'_>) -> Result<Vec<u8>, BuildError> {
    let alg = spec.signer.key_algorithm().default_signature();
    let (digest, digest_oid) = digest_for(alg);
    let digest_alg = AlgorithmIdentifierOwned {
        oid: digest_oid,
        parameters: None,
    };
    let mut signed_attrs = SetOfVec::new();
    signed_attrs.insert(attribute(
        ID_CONTENT_TYPE,
        Any::encode_from(&spec.content_type)?,
    )?)?;
    let md = aws_lc_rs::digest::digest(digest, spec.content);
    signed_attrs.insert(attribute(
        ID_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(md.as_ref())?)?,
    )?)?;
    if let Some(t) = spec.signing_time {
        signed_attrs.insert(attribute(
            ID_SIGNING_TIME,
            Any::encode_from(&x509_time(t)?)?,
        )?)?;
    }
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &spec.signer_cert.der)
                    .as_ref(),
            )?,
        }],
    };
    signed_attrs.insert(attribute(
        ID_AA_SIGNING_CERTIFICATE_V2,
        Any::encode_from(&ess)?,
    )?)?;
    // The signature covers the DER SET OF the signed attributes (RFC 5652 §5.4).
    let signature = spec.signer.sign(alg, &signed_attrs.to_der()?)?;
    let signer_info = cms::signed_data::SignerInfo {
        version: cms::content_info::CmsVersion::V1,
        sid: cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(
            cms::cert::IssuerAndSerialNumber {
                issuer: spec.signer_cert.issuer().clone(),
                serial_number: spec.signer_cert.cert.tbs_certificate.serial_number.clone(),
            },
        ),
        digest_alg: digest_alg.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: signature_algorithm_identifier(alg)?,
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(digest_alg)?;
    let certificates = if spec.certificates.is_empty() {
        None
    } else {
        let mut set = SetOfVec::new();
        for c in &spec.certificates {
            // A certificate listed twice is included once (SET OF without duplicates).
            if !set
                .iter()
                .any(|x| matches!(x, cms::cert::CertificateChoices::Certificate(y) if y == c))
            {
                set.insert(cms::cert::CertificateChoices::Certificate(c.clone()))?;
            }
        }
        Some(cms::signed_data::CertificateSet(set))
    };
    let signed = cms::signed_data::SignedData {
        // v1 for id-data content (RFC 5652 §5.1), v3 otherwise.
        version: if spec.content_type == ID_DATA {
            cms::content_info::CmsVersion::V1
        } else {
            cms::content_info::CmsVersion::V3
        },
        digest_algorithms,
        encap_content_info: cms::signed_data::EncapsulatedContentInfo {
            econtent_type: spec.content_type,
            econtent: if spec.encapsulate {
                Some(Any::encode_from(&OctetString::new(spec.content)?)?)
            } else {
                None
            },
        },
        certificates,
        crls: None,
        signer_infos: cms::signed_data::SignerInfos::try_from(vec![signer_info])?,
    };
    Ok(cms::content_info::ContentInfo {
        content_type: rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(&signed)?,
    }
    .to_der()?)
}
