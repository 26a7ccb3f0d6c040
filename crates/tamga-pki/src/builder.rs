//! Building and signing X.509 structures (certificates, CRLs, OCSP responses) with any
//! [`tamga_keys::Signer`], software or PKCS#11.
//!
//! Signature AlgorithmIdentifiers follow RFC 5758 (ECDSA, no parameters), RFC 8410 (Ed25519,
//! no parameters), RFC 4055 (RSA PKCS#1 v1.5 with NULL parameters; RSASSA-PSS with explicit
//! SHA-2 hash, MGF1 with the same hash, salt length = hash length). Times are UTCTime through
//! 2049 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).

use std::time::Duration;

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc8410};
use der::asn1::{BitString, GeneralizedTime, Null, OctetString, UtcTime};
use der::{Any, Encode};
use spki::AlgorithmIdentifierOwned;
use tamga_keys::{SignatureAlgorithm, Signer};
use x509_cert::ext::Extension;
use x509_cert::time::Time;

/// Building or signing failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// DER encoding failed.
    #[error("DER encoding: {0}")]
    Der(#[from] der::Error),
    /// The key refused to sign.
    #[error("signing: {0}")]
    Key(#[from] tamga_keys::KeyError),
    /// A value outside what the structure allows.
    #[error("{0}")]
    Invalid(String),
}

const ID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const ID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");

#[derive(der::Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    hash: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    mask_gen: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    salt_length: u32,
}

/// The AlgorithmIdentifier of a signature made with `algorithm`.
pub fn signature_algorithm_identifier(
    algorithm: SignatureAlgorithm,
) -> Result<AlgorithmIdentifierOwned, BuildError> {
    let plain = |oid| AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    };
    let null = |oid| AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::from(Null)),
    };
    let pss = |hash_oid, salt| -> Result<AlgorithmIdentifierOwned, BuildError> {
        let hash = null(hash_oid);
        let params = PssParams {
            mask_gen: AlgorithmIdentifierOwned {
                oid: ID_MGF1,
                parameters: Some(Any::encode_from(&hash)?),
            },
            hash,
            salt_length: salt,
        };
        Ok(AlgorithmIdentifierOwned {
            oid: ID_RSASSA_PSS,
            parameters: Some(Any::encode_from(&params)?),
        })
    };
    Ok(match algorithm {
        SignatureAlgorithm::EcdsaP256Sha256 => plain(rfc5912::ECDSA_WITH_SHA_256),
        SignatureAlgorithm::EcdsaP384Sha384 => plain(rfc5912::ECDSA_WITH_SHA_384),
        SignatureAlgorithm::Ed25519 => plain(rfc8410::ID_ED_25519),
        SignatureAlgorithm::RsaPkcs1Sha256 => null(rfc5912::SHA_256_WITH_RSA_ENCRYPTION),
        SignatureAlgorithm::RsaPkcs1Sha384 => null(rfc5912::SHA_384_WITH_RSA_ENCRYPTION),
        SignatureAlgorithm::RsaPssSha256 => pss(rfc5912::ID_SHA_256, 32)?,
        SignatureAlgorithm::RsaPssSha384 => pss(rfc5912::ID_SHA_384, 48)?,
        #[allow(unreachable_patterns)]
        other => {
            return Err(BuildError::Invalid(format!(
                "no AlgorithmIdentifier for {other}"
            )));
        }
    })
}

/// Signs `tbs_der` and returns (AlgorithmIdentifier, signature bits).
pub fn sign(
    signer: &dyn Signer,
    tbs_der: &[u8],
) -> Result<(AlgorithmIdentifierOwned, BitString), BuildError> {
    let alg = signer.key_algorithm().default_signature();
    let sig = signer.sign(alg, tbs_der)?;
    Ok((
        signature_algorithm_identifier(alg)?,
        BitString::from_bytes(&sig)?,
    ))
}

/// A time as RFC 5280 wants it encoded.
pub fn x509_time(unix_secs: i64) -> Result<Time, BuildError> {
    let secs =
        u64::try_from(unix_secs).map_err(|_| BuildError::Invalid("time before 1970".into()))?;
    let d = Duration::from_secs(secs);
    // 2050-01-01T00:00:00Z
    if secs < 2_524_608_000 {
        Ok(UtcTime::from_unix_duration(d)?.into())
    } else {
        Ok(GeneralizedTime::from_unix_duration(d)?.into())
    }
}

/// A GeneralizedTime (OCSP uses GeneralizedTime only).
pub fn generalized_time(unix_secs: i64) -> Result<GeneralizedTime, BuildError> {
    let secs =
        u64::try_from(unix_secs).map_err(|_| BuildError::Invalid("time before 1970".into()))?;
    Ok(GeneralizedTime::from_unix_duration(Duration::from_secs(
        secs,
    ))?)
}

/// An extension from a value that encodes to DER.
pub fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, BuildError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (the conventional key
/// identifier every CA and OpenSSL computes).
pub fn key_identifier(spki_der: &[u8]) -> Result<Vec<u8>, BuildError> {
    use der::Decode;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der)?;
    let bits = spki.subject_public_key.raw_bytes();
    Ok(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bits)
            .as_ref()
            .to_vec(),
    )
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
