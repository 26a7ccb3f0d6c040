//! Signature verification of certificates and CRLs (RFC 5280 §6.1.3 (a)(1)) under an
//! algorithm policy: which hashes and key sizes are still acceptable.
//!
//! `Strict` follows ETSI TS 119 312 for new signatures: SHA-256 or stronger, RSA ≥ 2048 bits,
//! ECDSA P-256/P-384, Ed25519. `Legacy` also accepts SHA-1 and RSA ≥ 1024 bits, for validating
//! old material (and the NIST PKITS suite); DSA is never supported.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc8410};
use der::Decode;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoRef};

/// Which algorithms a validation accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AlgorithmPolicy {
    /// SHA-256+, RSA ≥ 2048, P-256/P-384, Ed25519.
    #[default]
    Strict,
    /// Strict plus SHA-1 and RSA ≥ 1024 (old archives, test suites).
    Legacy,
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature does not verify.
    #[error("signature does not verify")]
    Invalid,
    /// An algorithm Tamga does not implement (DSA, unknown OIDs).
    #[error("unsupported signature algorithm {0}")]
    Unsupported(ObjectIdentifier),
    /// An algorithm the policy forbids.
    #[error("signature algorithm {0} is not acceptable under the {1:?} policy")]
    Weak(ObjectIdentifier, AlgorithmPolicy),
    /// The signer's key does not fit the algorithm or cannot be parsed.
    #[error("signer key unusable: {0}")]
    BadKey(String),
}

const ID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

#[derive(der::Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
}

fn pss_algorithm(
    params: Option<&der::Any>,
) -> Result<&'static dyn VerificationAlgorithm, SignatureError> {
    let bad = || SignatureError::Unsupported(ID_RSASSA_PSS);
    let params = params.ok_or_else(bad)?;
    let p =
        PssParams::from_der(&der::Encode::to_der(params).map_err(|_| bad())?).map_err(|_| bad())?;
    let hash = p.hash.map(|h| h.oid).ok_or_else(bad)?;
    let mgf_hash = p
        .mask_gen
        .and_then(|m| m.parameters)
        .and_then(|a| AlgorithmIdentifierOwned::from_der(&der::Encode::to_der(&a).ok()?).ok())
        .map(|a| a.oid)
        .ok_or_else(bad)?;
    if mgf_hash != hash {
        return Err(bad());
    }
    let (alg, salt): (&'static dyn VerificationAlgorithm, u32) = match hash {
        rfc5912::ID_SHA_256 => (&sig::RSA_PSS_2048_8192_SHA256, 32),
        rfc5912::ID_SHA_384 => (&sig::RSA_PSS_2048_8192_SHA384, 48),
        rfc5912::ID_SHA_512 => (&sig::RSA_PSS_2048_8192_SHA512, 64),
        _ => return Err(bad()),
    };
    // aws-lc-rs verifies PSS with salt length = hash length, the only profile ETSI allows.
    if p.salt_length.unwrap_or(20) != salt {
        return Err(bad());
    }
    Ok(alg)
}

/// Signatures already verified in this process, by SHA-256 of everything that decides the
/// verdict (policy, algorithm, key, message, signature). Only successes are remembered, so a
/// hit can never turn a bad signature good; CA certificates, CRLs and responder certificates
/// that every validation meets again are checked once.
struct VerifiedCache {
    seen: std::sync::RwLock<std::collections::HashSet<[u8; 32]>>,
}

const CACHE_CAPACITY: usize = 100_000;

fn cache() -> &'static VerifiedCache {
    static CACHE: std::sync::OnceLock<VerifiedCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| VerifiedCache {
        seen: std::sync::RwLock::new(std::collections::HashSet::new()),
    })
}

/// How many distinct successful verifications are remembered (benchmarks count the
/// signature checks one cold validation needs with it).
pub fn verification_cache_len() -> usize {
    cache().seen.read().unwrap_or_else(|p| p.into_inner()).len()
}

/// Forgets every remembered verification (benchmarks measure cold validation with it).
pub fn clear_verification_cache() {
    cache()
        .seen
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
}

fn cache_key(
    algorithm: &AlgorithmIdentifierOwned,
    signer_spki: &[u8],
    message: &[u8],
    signature: &[u8],
    policy: AlgorithmPolicy,
) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let alg = der::Encode::to_der(algorithm).unwrap_or_default();
    for part in [&[policy as u8][..], &alg, signer_spki, message, signature] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Verifies `signature` over `message` made with `algorithm` by the key in `signer_spki`.
pub fn verify_signed(
    algorithm: &AlgorithmIdentifierOwned,
    signer_spki: &[u8],
    message: &[u8],
    signature: &[u8],
    policy: AlgorithmPolicy,
) -> Result<(), SignatureError> {
    let key = cache_key(algorithm, signer_spki, message, signature, policy);
    if cache()
        .seen
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&key)
    {
        return Ok(());
    }
    verify_uncached(algorithm, signer_spki, message, signature, policy)?;
    let mut seen = cache().seen.write().unwrap_or_else(|p| p.into_inner());
    if seen.len() >= CACHE_CAPACITY {
        seen.clear();
    }
    seen.insert(key);
    Ok(())
}

fn verify_uncached(
    algorithm: &AlgorithmIdentifierOwned,
    signer_spki: &[u8],
    message: &[u8],
    signature: &[u8],
    policy: AlgorithmPolicy,
) -> Result<(), SignatureError> {
    let spki = SubjectPublicKeyInfoRef::from_der(signer_spki)
        .map_err(|e| SignatureError::BadKey(e.to_string()))?;
    let key_oid = spki.algorithm.oid;
    let curve = spki.algorithm.parameters_oid().ok();
    let legacy = policy == AlgorithmPolicy::Legacy;
    let weak = || SignatureError::Weak(algorithm.oid, policy);
    let ec = |p256: &'static dyn VerificationAlgorithm,
              p384: &'static dyn VerificationAlgorithm,
              p521: &'static dyn VerificationAlgorithm| {
        if key_oid != rfc5912::ID_EC_PUBLIC_KEY {
            return Err(SignatureError::BadKey("not an EC key".into()));
        }
        match curve {
            Some(rfc5912::SECP_256_R_1) => Ok(p256),
            Some(rfc5912::SECP_384_R_1) => Ok(p384),
            Some(rfc5912::SECP_521_R_1) => Ok(p521),
            _ => Err(SignatureError::BadKey("unsupported EC curve".into())),
        }
    };
    let rsa = |alg: &'static dyn VerificationAlgorithm| {
        if key_oid == rfc5912::RSA_ENCRYPTION {
            Ok(alg)
        } else {
            Err(SignatureError::BadKey("not an RSA key".into()))
        }
    };
    let verifier: &'static dyn VerificationAlgorithm = match algorithm.oid {
        rfc5912::SHA_1_WITH_RSA_ENCRYPTION if legacy => {
            rsa(&sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY)?
        }
        rfc5912::SHA_1_WITH_RSA_ENCRYPTION => return Err(weak()),
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION if legacy => {
            rsa(&sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY)?
        }
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION => rsa(&sig::RSA_PKCS1_2048_8192_SHA256)?,
        rfc5912::SHA_384_WITH_RSA_ENCRYPTION => rsa(&sig::RSA_PKCS1_2048_8192_SHA384)?,
        rfc5912::SHA_512_WITH_RSA_ENCRYPTION if legacy => {
            rsa(&sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY)?
        }
        rfc5912::SHA_512_WITH_RSA_ENCRYPTION => rsa(&sig::RSA_PKCS1_2048_8192_SHA512)?,
        ID_RSASSA_PSS => rsa(pss_algorithm(algorithm.parameters.as_ref())?)?,
        rfc5912::ECDSA_WITH_SHA_256 => ec(
            &sig::ECDSA_P256_SHA256_ASN1,
            &sig::ECDSA_P384_SHA256_ASN1,
            &sig::ECDSA_P521_SHA256_ASN1,
        )?,
        rfc5912::ECDSA_WITH_SHA_384 => ec(
            &sig::ECDSA_P256_SHA384_ASN1,
            &sig::ECDSA_P384_SHA384_ASN1,
            &sig::ECDSA_P521_SHA384_ASN1,
        )?,
        rfc5912::ECDSA_WITH_SHA_512 => ec(
            &sig::ECDSA_P256_SHA512_ASN1,
            &sig::ECDSA_P384_SHA512_ASN1,
            &sig::ECDSA_P521_SHA512_ASN1,
        )?,
        rfc8410::ID_ED_25519 if key_oid == rfc8410::ID_ED_25519 => &sig::ED25519,
        rfc8410::ID_ED_25519 => return Err(SignatureError::BadKey("not an Ed25519 key".into())),
        other => return Err(SignatureError::Unsupported(other)),
    };
    UnparsedPublicKey::new(verifier, signer_spki)
        .verify(message, signature)
        .map_err(|_| SignatureError::Invalid)
}
