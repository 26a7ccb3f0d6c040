//! Signature verification against a DER `SubjectPublicKeyInfo`, for every [`SignatureAlgorithm`].

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};

use crate::spki_encoding::algorithm_of_spki;
use crate::{KeyError, SignatureAlgorithm};

/// Verifies `signature` over `message` with the key in `spki_der`.
///
/// The key's kind must fit `algorithm` (an RSA key is not accepted for ECDSA and so on); RSA keys
/// below 2048 bits are refused by the verification algorithms themselves.
pub fn verify(
    algorithm: SignatureAlgorithm,
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), KeyError> {
    let key_algorithm = algorithm_of_spki(spki_der).map_err(KeyError::MalformedPublicKey)?;
    algorithm.check_fits(key_algorithm)?;
    let verifier: &'static dyn VerificationAlgorithm = match algorithm {
        SignatureAlgorithm::EcdsaP256Sha256 => &sig::ECDSA_P256_SHA256_ASN1,
        SignatureAlgorithm::EcdsaP384Sha384 => &sig::ECDSA_P384_SHA384_ASN1,
        SignatureAlgorithm::Ed25519 => &sig::ED25519,
        SignatureAlgorithm::RsaPkcs1Sha256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        SignatureAlgorithm::RsaPkcs1Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        SignatureAlgorithm::RsaPssSha256 => &sig::RSA_PSS_2048_8192_SHA256,
        SignatureAlgorithm::RsaPssSha384 => &sig::RSA_PSS_2048_8192_SHA384,
    };
    UnparsedPublicKey::new(verifier, spki_der)
        .verify(message, signature)
        .map_err(|_| KeyError::BadSignature)
}
