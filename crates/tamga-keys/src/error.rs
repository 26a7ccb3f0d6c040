//! Every way a key operation can fail, each naming its cause.

use std::path::PathBuf;

use crate::{KeyAlgorithm, SignatureAlgorithm};

/// A key operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A label outside `[A-Za-z0-9._-]{1,64}` (or starting with `.`).
    #[error("invalid key label {0:?}: use 1-64 characters from A-Z a-z 0-9 . _ -")]
    InvalidLabel(String),
    /// An algorithm name nobody knows.
    #[error("unknown algorithm {0:?}")]
    UnknownAlgorithm(String),
    /// A key with this label exists already.
    #[error("a key labelled {label:?} exists already")]
    LabelExists {
        /// The label asked for.
        label: String,
    },
    /// No key with this label.
    #[error("no key labelled {label:?}")]
    KeyNotFound {
        /// The label asked for.
        label: String,
    },
    /// The signature algorithm does not fit the key.
    #[error("a {key} key cannot make {requested} signatures")]
    AlgorithmMismatch {
        /// The key's kind.
        key: KeyAlgorithm,
        /// The signature asked for.
        requested: SignatureAlgorithm,
    },
    /// Decryption of a key file failed its integrity check.
    #[error("cannot decrypt key file {}: wrong passphrase or damaged file", path.display())]
    WrongPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// The passphrase is unusable (empty).
    #[error("the key passphrase is empty")]
    EmptyPassphrase,
    /// The key file could not be read or written.
    #[error("key file {}: {error}", path.display())]
    KeyFileIo {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said (in the message, so one-line reports show it once).
        error: std::io::Error,
    },
    /// The key file is not a PKCS#8 key Tamga can read.
    #[error("key file {}: {reason}", path.display())]
    MalformedKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// PKCS#8 data (encrypted or not) that cannot be parsed or is not supported.
    #[error("PKCS#8: {0}")]
    Pkcs8(String),
    /// A public key that is not a well-formed `SubjectPublicKeyInfo` of a supported kind.
    #[error("malformed or unsupported public key: {0}")]
    MalformedPublicKey(String),
    /// Signature verification failed.
    #[error("signature does not verify")]
    BadSignature,
    /// The PKCS#11 module could not be loaded or initialised.
    #[error("cannot load PKCS#11 module {}: {reason}", path.display())]
    ModuleLoad {
        /// The module's path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No slot holds a token with this label.
    #[error("no PKCS#11 token labelled {label:?} (tokens present: {present})")]
    TokenNotFound {
        /// The label asked for.
        label: String,
        /// The labels that are present, comma separated.
        present: String,
    },
    /// The token rejected the PIN.
    #[error("PKCS#11 token {token:?} rejected the PIN")]
    WrongPin {
        /// The token's label.
        token: String,
    },
    /// The token's PIN is locked after too many wrong tries.
    #[error("PKCS#11 token {token:?}: the PIN is locked")]
    PinLocked {
        /// The token's label.
        token: String,
    },
    /// Any other PKCS#11 failure.
    #[error("PKCS#11 {operation}: {error}")]
    Pkcs11 {
        /// What Tamga was doing.
        operation: &'static str,
        /// The module's answer.
        error: cryptoki::error::Error,
    },
    /// The crypto library refused (key generation, signing).
    #[error("crypto operation failed: {0}")]
    Crypto(&'static str),
}
