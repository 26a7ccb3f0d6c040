//! Keys on PKCS#11 tokens (PKCS#11 v2.40 / v3.0): the citizen ID card, an agency HSM, SoftHSM2.
//!
//! A module (`.so`) is loaded and `C_Initialize`d once per process and shared; a
//! [`Pkcs11KeyStore`] is one token, found by its label, with the user logged in. Private keys are
//! generated on the token as `CKA_SENSITIVE`, non-extractable objects; only public halves leave
//! it. ECDSA is requested as `CKM_ECDSA` over a digest computed here (tokens differ in which
//! hash-and-sign ECDSA mechanisms they offer) and converted from `r || s` to DER.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::{constant_time, digest};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::spki_encoding::{
    curve_from_params_der, curve_params_der, ecdsa_raw_to_der, spki_from_ec_point, spki_from_rsa,
};
use crate::{KeyAlgorithm, KeyError, KeyInfo, KeyStore, SignatureAlgorithm, Signer, check_label};

/// Where a token is and how to log in to it.
#[derive(Clone)]
pub struct Pkcs11Config {
    /// Path of the PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label (`CKA_LABEL` of the token, trailing blanks ignored).
    pub token_label: String,
    /// The user PIN; wiped on drop.
    pub pin: Zeroizing<String>,
}

impl std::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"<redacted>")
            .finish()
    }
}

fn ck(operation: &'static str) -> impl Fn(CkError) -> KeyError {
    move |error| KeyError::Pkcs11 { operation, error }
}

/// Loaded modules, by path: `C_Initialize` may run only once per module per process.
fn module(path: &Path) -> Result<Pkcs11, KeyError> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut modules = MODULES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(m) = modules.get(path) {
        return Ok(m.clone());
    }
    let load_err = |reason: String| KeyError::ModuleLoad {
        path: path.to_owned(),
        reason,
    };
    if !path.is_file() {
        return Err(load_err("no such file".into()));
    }
    let ctx = Pkcs11::new(path).map_err(|e| load_err(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(load_err(e.to_string())),
    }
    modules.insert(path.to_owned(), ctx.clone());
    Ok(ctx)
}

/// PINs that a token accepted in this process, by (module, slot), as SHA-256.
///
/// PKCS#11 login state belongs to the application, not the session: once one store logged in,
/// `C_Login` answers "already logged in" to any PIN. Remembering the accepted PIN lets a second
/// store with a wrong PIN still be refused.
type AcceptedPins = Mutex<HashMap<(PathBuf, u64), [u8; 32]>>;

fn accepted_pins() -> &'static AcceptedPins {
    static PINS: OnceLock<AcceptedPins> = OnceLock::new();
    PINS.get_or_init(Default::default)
}

fn pin_hash(pin: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, pin.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Generation takes this for writing, signing for reading (see [`Pkcs11KeyStore::generate`]).
static TOKEN_OBJECTS: std::sync::RwLock<()> = std::sync::RwLock::new(());

struct Token {
    ctx: Pkcs11,
    slot: Slot,
    label: String,
    /// Keeps the login alive: a token logs out when its application's last session closes.
    admin: Mutex<Session>,
}

impl Token {
    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.admin.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One PKCS#11 token, logged in as the user.
pub struct Pkcs11KeyStore {
    token: Arc<Token>,
}

impl Pkcs11KeyStore {
    /// Loads the module, finds the token by label and logs in.
    pub fn open(config: &Pkcs11Config) -> Result<Self, KeyError> {
        let ctx = module(&config.module)?;
        let mut present = Vec::new();
        let mut found = None;
        for slot in ctx.get_slots_with_token().map_err(ck("C_GetSlotList"))? {
            let info = ctx.get_token_info(slot).map_err(ck("C_GetTokenInfo"))?;
            let label = info.label().trim_end().to_owned();
            if label == config.token_label && info.token_initialized() {
                found = Some(slot);
                break;
            }
            if info.token_initialized() {
                present.push(label);
            }
        }
        let slot = found.ok_or_else(|| KeyError::TokenNotFound {
            label: config.token_label.clone(),
            present: if present.is_empty() {
                "none".into()
            } else {
                present.join(", ")
            },
        })?;
        let session = ctx.open_rw_session(slot).map_err(ck("C_OpenSession"))?;
        let token_label = config.token_label.clone();
        let key = (config.module.clone(), slot.id());
        let hash = pin_hash(&config.pin);
        let pin = AuthPin::new(config.pin.as_str().into());
        // Held across C_Login and the bookkeeping: a concurrent open must not see "already
        // logged in" before the PIN that logged in is recorded.
        let mut pins = accepted_pins().lock().unwrap_or_else(|p| p.into_inner());
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) => {
                pins.insert(key, hash);
            }
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {
                let same = pins.get(&key).is_some_and(|known| {
                    constant_time::verify_slices_are_equal(known, &hash).is_ok()
                });
                if !same {
                    return Err(KeyError::WrongPin { token: token_label });
                }
            }
            Err(CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
                _,
            )) => {
                return Err(KeyError::WrongPin { token: token_label });
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                return Err(KeyError::PinLocked { token: token_label });
            }
            Err(e) => return Err(ck("C_Login")(e)),
        }
        drop(pins);
        Ok(Self {
            token: Arc::new(Token {
                ctx,
                slot,
                label: token_label,
                admin: Mutex::new(session),
            }),
        })
    }

    /// The token's label.
    pub fn token_label(&self) -> &str {
        &self.token.label
    }

    fn find(
        session: &Session,
        class: ObjectClass,
        label: &str,
    ) -> Result<Vec<ObjectHandle>, KeyError> {
        session
            .find_objects(&[
                Attribute::Class(class),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(ck("C_FindObjects"))
    }

    fn describe(
        session: &Session,
        private: ObjectHandle,
    ) -> Result<(String, KeyAlgorithm, Vec<u8>), KeyError> {
        let attrs = session
            .get_attributes(
                private,
                &[
                    AttributeType::Label,
                    AttributeType::KeyType,
                    AttributeType::Id,
                ],
            )
            .map_err(ck("C_GetAttributeValue"))?;
        let mut label = String::new();
        let mut key_type = None;
        let mut id = Vec::new();
        for a in attrs {
            match a {
                Attribute::Label(l) => label = String::from_utf8_lossy(&l).into_owned(),
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::Id(i) => id = i,
                _ => {}
            }
        }
        let unsupported =
            |what: String| KeyError::MalformedPublicKey(format!("token key {label:?}: {what}"));
        let mut public_template = vec![
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Label(label.clone().into_bytes()),
        ];
        if !id.is_empty() {
            public_template.push(Attribute::Id(id));
        }
        let public = session
            .find_objects(&public_template)
            .map_err(ck("C_FindObjects"))?
            .into_iter()
            .next()
            .ok_or_else(|| unsupported("no matching public key object".into()))?;
        match key_type {
            Some(t) if t == KeyType::RSA => {
                let attrs = session
                    .get_attributes(
                        public,
                        &[AttributeType::Modulus, AttributeType::PublicExponent],
                    )
                    .map_err(ck("C_GetAttributeValue"))?;
                let (mut n, mut e) = (Vec::new(), Vec::new());
                for a in attrs {
                    match a {
                        Attribute::Modulus(m) => n = m,
                        Attribute::PublicExponent(x) => e = x,
                        _ => {}
                    }
                }
                let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
                let alg = KeyAlgorithm::from_rsa_bits(bits)
                    .ok_or_else(|| unsupported(format!("RSA-{bits}")))?;
                Ok((label, alg, spki_from_rsa(&n, &e)?))
            }
            Some(t) if t == KeyType::EC || t == KeyType::EC_EDWARDS => {
                let attrs = session
                    .get_attributes(public, &[AttributeType::EcParams, AttributeType::EcPoint])
                    .map_err(ck("C_GetAttributeValue"))?;
                let (mut params, mut point) = (Vec::new(), Vec::new());
                for a in attrs {
                    match a {
                        Attribute::EcParams(p) => params = p,
                        Attribute::EcPoint(p) => point = p,
                        _ => {}
                    }
                }
                let alg = curve_from_params_der(&params)
                    .ok_or_else(|| unsupported("unsupported curve".into()))?;
                Ok((label, alg, spki_from_ec_point(alg, &point)?))
            }
            other => Err(unsupported(format!("unsupported key type {other:?}"))),
        }
    }

    fn signer(&self, private: ObjectHandle) -> Result<Arc<dyn Signer>, KeyError> {
        let (label, algorithm, spki) = Self::describe(&self.token.session(), private)?;
        let session = self
            .token
            .ctx
            .open_ro_session(self.token.slot)
            .map_err(ck("C_OpenSession"))?;
        Ok(Arc::new(Pkcs11Signer {
            label,
            algorithm,
            spki,
            key: private,
            session: Mutex::new(session),
            _token: Arc::clone(&self.token),
        }))
    }
}

impl KeyStore for Pkcs11KeyStore {
    fn generate(&self, label: &str, algorithm: KeyAlgorithm) -> Result<Arc<dyn Signer>, KeyError> {
        check_label(label)?;
        // Key generation runs alone: SoftHSM2 2.6 answers CKR_GENERAL_ERROR now and then when
        // a key pair is generated while other sessions sign or generate, and a label check
        // racing a creation could let a label exist twice.
        let _creating = TOKEN_OBJECTS.write().unwrap_or_else(|p| p.into_inner());
        let private = {
            let session = self.token.session();
            if !Self::find(&session, ObjectClass::PRIVATE_KEY, label)?.is_empty() {
                return Err(KeyError::LabelExists {
                    label: label.to_owned(),
                });
            }
            let mut id = [0u8; 16];
            aws_lc_rs::rand::fill(&mut id).map_err(|_| KeyError::Crypto("random key id"))?;
            let common = |extra: Vec<Attribute>| {
                let mut v = vec![
                    Attribute::Token(true),
                    Attribute::Label(label.as_bytes().to_vec()),
                    Attribute::Id(id.to_vec()),
                ];
                v.extend(extra);
                v
            };
            let private_template = common(vec![
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
            ]);
            let (mechanism, public_template) = match algorithm.rsa_bits() {
                Some(bits) => (
                    Mechanism::RsaPkcsKeyPairGen,
                    common(vec![
                        Attribute::Verify(true),
                        Attribute::ModulusBits(u64::from(bits).into()),
                        Attribute::PublicExponent(vec![1, 0, 1]),
                    ]),
                ),
                None => {
                    let params =
                        curve_params_der(algorithm).ok_or(KeyError::Crypto("curve parameters"))?;
                    let mechanism = if algorithm == KeyAlgorithm::Ed25519 {
                        Mechanism::EccEdwardsKeyPairGen
                    } else {
                        Mechanism::EccKeyPairGen
                    };
                    (
                        mechanism,
                        common(vec![Attribute::Verify(true), Attribute::EcParams(params)]),
                    )
                }
            };
            // SoftHSM2 2.6 (OpenSSL 3 backend) fails an EdDSA generation with
            // CKR_GENERAL_ERROR now and then while other threads use the library; nothing is
            // created when it does, so a bounded retry is safe.
            let mut attempt = 0;
            loop {
                match session.generate_key_pair(&mechanism, &public_template, &private_template) {
                    Ok((_public, private)) => break private,
                    Err(CkError::Pkcs11(RvError::GeneralError, _)) if attempt < 3 => attempt += 1,
                    Err(e) => return Err(ck("C_GenerateKeyPair")(e)),
                }
            }
        };
        self.signer(private)
    }

    fn open(&self, label: &str) -> Result<Arc<dyn Signer>, KeyError> {
        check_label(label)?;
        let found = Self::find(&self.token.session(), ObjectClass::PRIVATE_KEY, label)?;
        let private = found
            .into_iter()
            .next()
            .ok_or_else(|| KeyError::KeyNotFound {
                label: label.to_owned(),
            })?;
        self.signer(private)
    }

    fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let session = self.token.session();
        let handles = session
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
            .map_err(ck("C_FindObjects"))?;
        let mut out = Vec::new();
        for h in handles {
            let (label, algorithm, spki) = Self::describe(&session, h)?;
            out.push(KeyInfo {
                label,
                algorithm,
                key_id: crate::key_id_of(&spki),
            });
        }
        out.sort_by(|a, b| a.label.cmp(&b.label));
        Ok(out)
    }
}

/// A private key on a token; signing happens inside the token.
struct Pkcs11Signer {
    label: String,
    algorithm: KeyAlgorithm,
    spki: Vec<u8>,
    key: ObjectHandle,
    session: Mutex<Session>,
    _token: Arc<Token>,
}

impl Signer for Pkcs11Signer {
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
        let hash = crate::algorithm::ecdsa_hash(algorithm).ok_or(KeyError::AlgorithmMismatch {
            key: self.algorithm,
            requested: algorithm,
        })?;
        if digest.len() != hash.output_len() {
            return Err(KeyError::Crypto("digest length does not match the hash"));
        }
        let _no_generation = TOKEN_OBJECTS.read().unwrap_or_else(|p| p.into_inner());
        let session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        // CKM_ECDSA signs the digest as given (PKCS#11 v2.40 §2.3.6).
        let raw = session
            .sign(&Mechanism::Ecdsa, self.key, digest)
            .map_err(ck("C_Sign"))?;
        ecdsa_raw_to_der(&raw)
    }

    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        algorithm.check_fits(self.algorithm)?;
        let _no_generation = TOKEN_OBJECTS.read().unwrap_or_else(|p| p.into_inner());
        let session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let sign = |mechanism: &Mechanism, data: &[u8]| {
            session
                .sign(mechanism, self.key, data)
                .map_err(ck("C_Sign"))
        };
        let pss = |hash_alg, mgf, s_len: u64| PkcsPssParams {
            hash_alg,
            mgf,
            s_len: s_len.into(),
        };
        match algorithm {
            SignatureAlgorithm::EcdsaP256Sha256 => {
                let d = digest::digest(&digest::SHA256, message);
                ecdsa_raw_to_der(&sign(&Mechanism::Ecdsa, d.as_ref())?)
            }
            SignatureAlgorithm::EcdsaP384Sha384 => {
                let d = digest::digest(&digest::SHA384, message);
                ecdsa_raw_to_der(&sign(&Mechanism::Ecdsa, d.as_ref())?)
            }
            SignatureAlgorithm::Ed25519 => sign(
                &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                message,
            ),
            SignatureAlgorithm::RsaPkcs1Sha256 => sign(&Mechanism::Sha256RsaPkcs, message),
            SignatureAlgorithm::RsaPkcs1Sha384 => sign(&Mechanism::Sha384RsaPkcs, message),
            SignatureAlgorithm::RsaPssSha256 => sign(
                &Mechanism::Sha256RsaPkcsPss(pss(
                    MechanismType::SHA256,
                    PkcsMgfType::MGF1_SHA256,
                    32,
                )),
                message,
            ),
            SignatureAlgorithm::RsaPssSha384 => sign(
                &Mechanism::Sha384RsaPkcsPss(pss(
                    MechanismType::SHA384,
                    PkcsMgfType::MGF1_SHA384,
                    48,
                )),
                message,
            ),
        }
    }
}
