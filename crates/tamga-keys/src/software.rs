//! Software keys: aws-lc-rs in memory, encrypted PKCS#8 on disk.
//!
//! Each key is one file `<label>.key.pem` holding two PEM blocks (RFC 7468): the `PUBLIC KEY`
//! (so keys can be listed without the passphrase) and the `ENCRYPTED PRIVATE KEY`. On open the
//! decrypted key's public half must equal the stored one, so a swapped public block is caught.
//! Files are created 0600 in a 0700 directory, written to a temporary name, synced, and linked
//! into place (which fails rather than overwrite an existing key).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use der::Decode;
use der::asn1::ObjectIdentifier;
use der::pem::LineEnding;
use zeroize::Zeroizing;

use crate::pkcs8_encryption::{DEFAULT_PBKDF2_ITERATIONS, decrypt_pkcs8, encrypt_pkcs8};
use crate::spki_encoding::{
    ID_EC_PUBLIC_KEY, ID_ED25519, RSA_ENCRYPTION, SECP256R1, SECP384R1, algorithm_of_spki,
};
use crate::{KeyAlgorithm, KeyError, KeyInfo, KeyStore, SignatureAlgorithm, Signer, check_label};

const FILE_SUFFIX: &str = ".key.pem";

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A key held in memory by aws-lc-rs.
pub struct SoftwareSigner {
    label: String,
    algorithm: KeyAlgorithm,
    spki: Vec<u8>,
    inner: Inner,
}

impl std::fmt::Debug for SoftwareSigner {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("label", &self.label)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn crypto(what: &'static str) -> impl Fn(aws_lc_rs::error::Unspecified) -> KeyError {
    move |_| KeyError::Crypto(what)
}

impl SoftwareSigner {
    /// Generates a fresh key (not stored anywhere).
    pub fn generate(label: &str, algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        let inner = match algorithm {
            KeyAlgorithm::EcP256 => Inner::Ecdsa(
                EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_ASN1_SIGNING)
                    .map_err(crypto("P-256 key generation"))?,
            ),
            KeyAlgorithm::EcP384 => Inner::Ecdsa(
                EcdsaKeyPair::generate(&sig::ECDSA_P384_SHA384_ASN1_SIGNING)
                    .map_err(crypto("P-384 key generation"))?,
            ),
            KeyAlgorithm::Ed25519 => Inner::Ed25519(
                Ed25519KeyPair::generate().map_err(crypto("Ed25519 key generation"))?,
            ),
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let size = match algorithm {
                    KeyAlgorithm::Rsa2048 => KeySize::Rsa2048,
                    KeyAlgorithm::Rsa3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                Inner::Rsa(RsaKeyPair::generate(size).map_err(crypto("RSA key generation"))?)
            }
        };
        Self::from_inner(label, algorithm, inner)
    }

    /// Loads a key from a DER `PrivateKeyInfo` (PKCS#8 v1 or v2).
    pub fn from_pkcs8(label: &str, der: &[u8]) -> Result<Self, KeyError> {
        let info = pkcs8::PrivateKeyInfo::from_der(der)
            .map_err(|e| KeyError::Pkcs8(format!("not a PrivateKeyInfo: {e}")))?;
        let rejected =
            |e: aws_lc_rs::error::KeyRejected| KeyError::Pkcs8(format!("key rejected: {e}"));
        let (algorithm, inner) = match info.algorithm.oid {
            ID_EC_PUBLIC_KEY => {
                let curve: ObjectIdentifier = info
                    .algorithm
                    .parameters_oid()
                    .map_err(|e| KeyError::Pkcs8(format!("EC key without a named curve: {e}")))?;
                match curve {
                    SECP256R1 => (
                        KeyAlgorithm::EcP256,
                        Inner::Ecdsa(
                            EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, der)
                                .map_err(rejected)?,
                        ),
                    ),
                    SECP384R1 => (
                        KeyAlgorithm::EcP384,
                        Inner::Ecdsa(
                            EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P384_SHA384_ASN1_SIGNING, der)
                                .map_err(rejected)?,
                        ),
                    ),
                    other => return Err(KeyError::Pkcs8(format!("unsupported EC curve {other}"))),
                }
            }
            ID_ED25519 => (
                KeyAlgorithm::Ed25519,
                Inner::Ed25519(Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?),
            ),
            RSA_ENCRYPTION => {
                let kp = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
                let bits = kp.public_modulus_len() * 8;
                let algorithm = KeyAlgorithm::from_rsa_bits(bits).ok_or_else(|| {
                    KeyError::Pkcs8(format!("RSA-{bits} is not supported (2048, 3072, 4096)"))
                })?;
                (algorithm, Inner::Rsa(kp))
            }
            other => {
                return Err(KeyError::Pkcs8(format!(
                    "unsupported key algorithm {other}"
                )));
            }
        };
        Self::from_inner(label, algorithm, inner)
    }

    fn from_inner(label: &str, algorithm: KeyAlgorithm, inner: Inner) -> Result<Self, KeyError> {
        let spki: PublicKeyX509Der = match &inner {
            Inner::Ecdsa(k) => k.public_key().as_der(),
            Inner::Ed25519(k) => k.public_key().as_der(),
            Inner::Rsa(k) => k.public_key().as_der(),
        }
        .map_err(crypto("public key encoding"))?;
        Ok(Self {
            label: label.to_owned(),
            algorithm,
            spki: spki.as_ref().to_vec(),
            inner,
        })
    }

    /// The key as a DER `PrivateKeyInfo` (PKCS#8 v1), wiped on drop.
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let der = match &self.inner {
            Inner::Ecdsa(k) => k.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            Inner::Ed25519(k) => k.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            Inner::Rsa(k) => AsDer::<Pkcs8V1Der>::as_der(k).map(|d| d.as_ref().to_vec()),
        }
        .map_err(crypto("PKCS#8 encoding"))?;
        Ok(Zeroizing::new(der))
    }
}

impl Signer for SoftwareSigner {
    fn label(&self) -> &str {
        &self.label
    }

    fn key_algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    fn sign_digest(
        &self,
        algorithm: SignatureAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        algorithm.check_fits(self.algorithm)?;
        let (Inner::Ecdsa(k), Some(hash)) = (&self.inner, crate::algorithm::ecdsa_hash(algorithm))
        else {
            return Err(KeyError::AlgorithmMismatch {
                key: self.algorithm,
                requested: algorithm,
            });
        };
        if digest.len() != hash.output_len() {
            return Err(KeyError::Crypto("digest length does not match the hash"));
        }
        let d = aws_lc_rs::digest::Digest::import_less_safe(digest, hash)
            .map_err(crypto("digest import"))?;
        Ok(k.sign_digest(&d)
            .map_err(crypto("ECDSA signing"))?
            .as_ref()
            .to_vec())
    }

    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        algorithm.check_fits(self.algorithm)?;
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.inner {
            Inner::Ecdsa(k) => Ok(k
                .sign(&rng, message)
                .map_err(crypto("ECDSA signing"))?
                .as_ref()
                .to_vec()),
            Inner::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
            Inner::Rsa(k) => {
                let padding: &'static dyn sig::RsaEncoding = match algorithm {
                    SignatureAlgorithm::RsaPkcs1Sha256 => &sig::RSA_PKCS1_SHA256,
                    SignatureAlgorithm::RsaPkcs1Sha384 => &sig::RSA_PKCS1_SHA384,
                    SignatureAlgorithm::RsaPssSha256 => &sig::RSA_PSS_SHA256,
                    _ => &sig::RSA_PSS_SHA384,
                };
                let mut out = vec![0u8; k.public_modulus_len()];
                k.sign(padding, &rng, message, &mut out)
                    .map_err(crypto("RSA signing"))?;
                Ok(out)
            }
        }
    }
}

/// A directory of passphrase-encrypted key files.
pub struct SoftwareKeyStore {
    dir: PathBuf,
    passphrase: Zeroizing<Vec<u8>>,
    iterations: u32,
    opened: Mutex<HashMap<String, Arc<SoftwareSigner>>>,
}

impl SoftwareKeyStore {
    /// Opens (creating with mode 0700 if missing) the key directory `dir`.
    pub fn open(dir: impl Into<PathBuf>, passphrase: &[u8]) -> Result<Self, KeyError> {
        if passphrase.is_empty() {
            return Err(KeyError::EmptyPassphrase);
        }
        let dir = dir.into();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|error| KeyError::KeyFileIo {
                path: dir.clone(),
                error,
            })?;
        Ok(Self {
            dir,
            passphrase: Zeroizing::new(passphrase.to_vec()),
            iterations: DEFAULT_PBKDF2_ITERATIONS,
            opened: Mutex::new(HashMap::new()),
        })
    }

    /// Sets the PBKDF2 iteration count for keys generated from now on.
    pub fn with_pbkdf2_iterations(mut self, iterations: u32) -> Self {
        self.iterations = iterations.max(1);
        self
    }

    /// The file a label's key lives in.
    pub fn path_of(&self, label: &str) -> PathBuf {
        self.dir.join(format!("{label}{FILE_SUFFIX}"))
    }

    fn io(path: &Path) -> impl Fn(std::io::Error) -> KeyError + '_ {
        move |error| KeyError::KeyFileIo {
            path: path.to_owned(),
            error,
        }
    }

    fn write_new(&self, label: &str, contents: &[u8]) -> Result<(), KeyError> {
        let path = self.path_of(label);
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce).map_err(crypto("random file name"))?;
        let tmp = self
            .dir
            .join(format!(".{label}.{}.tmp", hex::encode(nonce)));
        let result = (|| {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(Self::io(&tmp))?;
            file.write_all(contents).map_err(Self::io(&tmp))?;
            file.sync_all().map_err(Self::io(&tmp))?;
            fs::hard_link(&tmp, &path).map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    KeyError::LabelExists {
                        label: label.to_owned(),
                    }
                } else {
                    KeyError::KeyFileIo {
                        path: path.clone(),
                        error: source,
                    }
                }
            })?;
            fs::File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(Self::io(&self.dir))
        })();
        let _ = fs::remove_file(&tmp);
        result
    }

    fn read_blocks(&self, label: &str) -> Result<(Vec<u8>, Vec<u8>), KeyError> {
        let path = self.path_of(label);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::KeyNotFound {
                    label: label.to_owned(),
                });
            }
            Err(e) => return Err(Self::io(&path)(e)),
        };
        parse_key_file(&text).map_err(|reason| KeyError::MalformedKeyFile { path, reason })
    }
}

/// Parses a key file's text into its DER `SubjectPublicKeyInfo` and DER
/// `EncryptedPrivateKeyInfo`; exactly those two PEM blocks are accepted.
pub fn parse_key_file(text: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut public = None;
    let mut private = None;
    for block in split_pem_blocks(text) {
        let (kind, der) =
            der::pem::decode_vec(block.as_bytes()).map_err(|e| format!("bad PEM: {e}"))?;
        let slot = match kind {
            "PUBLIC KEY" => &mut public,
            "ENCRYPTED PRIVATE KEY" => &mut private,
            other => return Err(format!("unexpected PEM block {other:?}")),
        };
        if slot.replace(der).is_some() {
            return Err(format!("more than one {kind} block"));
        }
    }
    match (public, private) {
        (Some(p), Some(k)) => Ok((p, k)),
        _ => Err("needs a PUBLIC KEY and an ENCRYPTED PRIVATE KEY block".into()),
    }
}

/// Splits PEM text into its `-----BEGIN ...-----`..`-----END ...-----` blocks.
fn split_pem_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start..];
        let Some(end_marker) = after.find("-----END ") else {
            blocks.push(after);
            break;
        };
        let tail = &after[end_marker + 9..];
        let close = tail.find("-----").map(|i| i + 5).unwrap_or(tail.len());
        let len = end_marker + 9 + close;
        blocks.push(&after[..len]);
        rest = &after[len..];
    }
    blocks
}

impl KeyStore for SoftwareKeyStore {
    fn generate(&self, label: &str, algorithm: KeyAlgorithm) -> Result<Arc<dyn Signer>, KeyError> {
        check_label(label)?;
        if self.path_of(label).exists() {
            return Err(KeyError::LabelExists {
                label: label.to_owned(),
            });
        }
        let signer = SoftwareSigner::generate(label, algorithm)?;
        let encrypted = encrypt_pkcs8(&signer.to_pkcs8()?, &self.passphrase, self.iterations)?;
        let pem_err = |e: der::pem::Error| KeyError::Pkcs8(e.to_string());
        let mut file =
            der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &signer.spki).map_err(pem_err)?;
        file.push_str(
            &der::pem::encode_string("ENCRYPTED PRIVATE KEY", LineEnding::LF, &encrypted)
                .map_err(pem_err)?,
        );
        self.write_new(label, file.as_bytes())?;
        let signer = Arc::new(signer);
        self.lock_opened()
            .insert(label.to_owned(), Arc::clone(&signer));
        Ok(signer)
    }

    fn open(&self, label: &str) -> Result<Arc<dyn Signer>, KeyError> {
        check_label(label)?;
        if let Some(s) = self.lock_opened().get(label) {
            return Ok(Arc::clone(s) as Arc<dyn Signer>);
        }
        let path = self.path_of(label);
        let (public, encrypted) = self.read_blocks(label)?;
        let plain = decrypt_pkcs8(&encrypted, &self.passphrase).map_err(|e| match e {
            KeyError::WrongPassphrase { .. } => KeyError::WrongPassphrase { path: path.clone() },
            KeyError::Pkcs8(reason) => KeyError::MalformedKeyFile {
                path: path.clone(),
                reason,
            },
            other => other,
        })?;
        let signer = SoftwareSigner::from_pkcs8(label, &plain)?;
        if signer.spki != public {
            return Err(KeyError::MalformedKeyFile {
                path,
                reason: "the PUBLIC KEY block does not match the private key".into(),
            });
        }
        let signer = Arc::new(signer);
        self.lock_opened()
            .insert(label.to_owned(), Arc::clone(&signer));
        Ok(signer)
    }

    fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(Self::io(&self.dir))? {
            let entry = entry.map_err(Self::io(&self.dir))?;
            let name = entry.file_name();
            let Some(label) = name.to_str().and_then(|n| n.strip_suffix(FILE_SUFFIX)) else {
                continue;
            };
            if check_label(label).is_err() {
                continue;
            }
            let (public, _) = self.read_blocks(label)?;
            out.push(KeyInfo {
                label: label.to_owned(),
                algorithm: algorithm_of_spki(&public).map_err(|reason| {
                    KeyError::MalformedKeyFile {
                        path: entry.path(),
                        reason,
                    }
                })?,
                key_id: crate::key_id_of(&public),
            });
        }
        out.sort_by(|a, b| a.label.cmp(&b.label));
        Ok(out)
    }
}

impl SoftwareKeyStore {
    fn lock_opened(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<SoftwareSigner>>> {
        // A poisoned cache only means another thread panicked mid-insert; the map is still valid.
        self.opened.lock().unwrap_or_else(|p| p.into_inner())
    }
}
