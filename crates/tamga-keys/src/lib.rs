//! Signing keys for every Tamga role.
//!
//! A [`Signer`] is a private key that can sign and tell its public key; a [`KeyStore`] creates,
//! finds and lists signers by label. Two stores exist:
//!
//! * [`SoftwareKeyStore`]: keys in memory via aws-lc-rs, stored on disk as PKCS#8
//!   `EncryptedPrivateKeyInfo` (RFC 5958 §3) protected with PBES2 (RFC 8018 §6.2:
//!   PBKDF2-HMAC-SHA-256 and AES-256-CBC), the same format `openssl pkcs8 -topk8 -v2 aes-256-cbc`
//!   writes and reads.
//! * [`Pkcs11KeyStore`]: keys that never leave a PKCS#11 token (an ID card, an HSM; SoftHSM2 in
//!   tests), found by token label and key label.
//!
//! Every signature these produce is in the encoding X.509 and CMS carry: ECDSA as DER
//! `Ecdsa-Sig-Value` (RFC 5480 / RFC 3279 §2.2.3), RSA as the raw modulus-length octet string,
//! Ed25519 as the 64-byte RFC 8032 signature. [`verify`] checks any of them against a DER
//! `SubjectPublicKeyInfo`.

mod algorithm;
mod error;
mod pkcs11;
mod pkcs12;
mod pkcs8_encryption;
mod software;
mod spki_encoding;
mod verify;

use std::sync::Arc;

pub use algorithm::{KeyAlgorithm, SignatureAlgorithm};
pub use error::KeyError;
pub use pkcs8_encryption::{DEFAULT_PBKDF2_ITERATIONS, decrypt_pkcs8, encrypt_pkcs8};
pub use pkcs11::{Pkcs11Config, Pkcs11KeyStore};
pub use pkcs12::{Pkcs12Contents, build_pkcs12, read_pkcs12};
pub use software::{SoftwareKeyStore, SoftwareSigner, parse_key_file};
pub use verify::verify;

/// A private key that signs. Implementations are cheap to share across threads.
pub trait Signer: Send + Sync {
    /// The label the key was created under (unique within its store).
    fn label(&self) -> &str;
    /// What kind of key this is.
    fn key_algorithm(&self) -> KeyAlgorithm;
    /// The public key as a DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
    fn public_key_der(&self) -> &[u8];
    /// Signs `message` (not a digest: the hash is part of `algorithm`).
    ///
    /// Fails with [`KeyError::AlgorithmMismatch`] when `algorithm` does not fit the key.
    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// Signs a digest computed elsewhere (remote signing: the client hashes the document, the
    /// key holder signs the hash). ECDSA only: `digest` must be the output of the hash that
    /// `algorithm` names (SHA-256 for P-256, SHA-384 for P-384); a DER signature comes back.
    fn sign_digest(
        &self,
        algorithm: SignatureAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let _ = digest;
        Err(KeyError::AlgorithmMismatch {
            key: self.key_algorithm(),
            requested: algorithm,
        })
    }

    /// A stable identifier: the hex SHA-256 of the `SubjectPublicKeyInfo`.
    fn key_id(&self) -> String {
        key_id_of(self.public_key_der())
    }
}

impl std::fmt::Debug for dyn Signer {
    // Public facts only: a signer's Debug output may end up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("label", &self.label())
            .field("algorithm", &self.key_algorithm())
            .field("key_id", &self.key_id())
            .finish()
    }
}

/// Where a key lives, and what it is; returned by [`KeyStore::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key's label in its store.
    pub label: String,
    /// What kind of key it is.
    pub algorithm: KeyAlgorithm,
    /// Hex SHA-256 of the DER `SubjectPublicKeyInfo`.
    pub key_id: String,
}

/// Creates, opens and lists keys by label.
pub trait KeyStore: Send + Sync {
    /// Generates a new key under `label`; fails with [`KeyError::LabelExists`] if taken.
    fn generate(&self, label: &str, algorithm: KeyAlgorithm) -> Result<Arc<dyn Signer>, KeyError>;
    /// Opens the key stored under `label`.
    fn open(&self, label: &str) -> Result<Arc<dyn Signer>, KeyError>;
    /// Every key in the store, sorted by label.
    fn list(&self) -> Result<Vec<KeyInfo>, KeyError>;

    /// Opens `label`, generating it with `algorithm` first if it does not exist yet.
    fn open_or_generate(
        &self,
        label: &str,
        algorithm: KeyAlgorithm,
    ) -> Result<Arc<dyn Signer>, KeyError> {
        match self.open(label) {
            Err(KeyError::KeyNotFound { .. }) => self.generate(label, algorithm),
            other => other,
        }
    }
}

/// Hex SHA-256 of a DER `SubjectPublicKeyInfo`.
pub fn key_id_of(spki_der: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        spki_der,
    ))
}

/// Labels name files and token objects, so they are kept to a safe alphabet.
pub(crate) fn check_label(label: &str) -> Result<(), KeyError> {
    let ok = !label.is_empty()
        && label.len() <= 64
        && !label.starts_with('.')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(KeyError::InvalidLabel(label.to_owned()))
    }
}
