//! The OpenID provider's core, without HTTP: authorization requests (OIDC Core §3.1.2, PKCE
//! S256 mandatory, PAR RFC 9126), sign-in transactions and browser sessions, consent, codes,
//! the token endpoint (authorization_code, refresh_token with rotation and reuse detection,
//! RFC 9700 §4.14.2), ID tokens and RFC 9068 access tokens (ES256), userinfo, revocation
//! (RFC 7009), introspection (RFC 7662), RP-initiated and back-channel logout, and pairwise
//! subjects (OIDC Core §8.1).
//!
//! Short-lived state — pushed requests (60 s), sign-in transactions (10 min), codes (60 s),
//! browser sessions — lives in memory: a restart signs everyone out and aborts sign-ins in
//! progress, which the browser redoes. Everything a client was handed and may present later
//! (grants, revocations, consents, accounts, client registrations) is in the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::{Value, json};
use tamga_keys::{KeyAlgorithm, KeyStore, Signer};
use tamga_store::{AccountRow, GrantRow, Rotation, Store};

use crate::client::{
    AuthMethod, Client, ClientAuthError, ClientRegistration, JtiCache, Presented, authenticate,
};
use crate::credentials::{
    self, b64_hash, dummy_hash, random_token, same, sha256, totp_match, verify_password,
};
use crate::jose::{self, Jwk, JwkSet, Unverified};
use crate::model::{
    AuthParams, Authn, Authorization, CredentialRequest, Loa, OAuthError, Prompt, Represented,
    SCOPES, needs_consent,
};

/// Lifetimes and addresses.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The issuer URL (`https://id.example.mn/id`): endpoints hang below it.
    pub issuer: String,
    /// Access and ID token lifetime, seconds.
    pub access_token_secs: i64,
    /// Refresh token lifetime without `offline_access`, seconds.
    pub refresh_token_secs: i64,
    /// Refresh token lifetime with `offline_access`, seconds.
    pub offline_token_secs: i64,
    /// Browser session lifetime, seconds.
    pub session_secs: i64,
    /// Failed password sign-ins before the backoff starts.
    pub free_failures: i64,
}

impl ProviderConfig {
    /// Defaults for `issuer`.
    pub fn new(issuer: &str) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            access_token_secs: 300,
            refresh_token_secs: 8 * 3600,
            offline_token_secs: 30 * 86400,
            session_secs: 8 * 3600,
            free_failures: 3,
        }
    }
}

/// The provider's signing keys: the current one signs; the previous and the next are published
/// too, so tokens signed before a rotation still verify and clients can cache the next key.
struct SigningKeys {
    current: Arc<dyn Signer>,
    kid: String,
    jwks: JwkSet,
}

fn kid_of(signer: &dyn Signer) -> String {
    signer.key_id()[..32].to_owned()
}

const GENERATION_KEY: &str = "id.signing_generation";

fn load_keys(store_keys: &dyn KeyStore, generation: u64) -> Result<SigningKeys, String> {
    let label = |g: u64| format!("id-signing-{g}");
    let current = store_keys
        .open_or_generate(&label(generation), KeyAlgorithm::EcP256)
        .map_err(|e| e.to_string())?;
    let next = store_keys
        .open_or_generate(&label(generation + 1), KeyAlgorithm::EcP256)
        .map_err(|e| e.to_string())?;
    let mut keys = vec![current.clone(), next];
    if generation > 1
        && let Ok(prev) = store_keys.open(&label(generation - 1))
    {
        keys.push(prev);
    }
    let jwks = JwkSet {
        keys: keys
            .iter()
            .map(|k| Jwk::from_p256_spki(k.public_key_der(), &kid_of(k.as_ref())))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?,
    };
    Ok(SigningKeys {
        kid: kid_of(current.as_ref()),
        current,
        jwks,
    })
}

/// A sign-in in progress: the request waiting for a sign-in and consent in one browser.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// The request.
    pub auth: Authorization,
    /// SHA-256 of the browser's transaction cookie: only that browser may finish it.
    pub binding: [u8; 32],
    /// Set once the citizen has signed in.
    pub authn: Option<Authn>,
    /// Created (Unix seconds).
    pub created: i64,
    /// The passkey challenge of this sign-in (renewed after each attempt).
    pub challenge: [u8; 32],
    /// Whom the citizen chose to act for (`Some(None)`: themselves).
    pub acting_for: Option<Option<Represented>>,
}

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The sign-in.
    pub authn: Authn,
    /// Public session id (`sid` claim).
    pub sid: String,
    /// Expires (Unix seconds).
    pub expires: i64,
}

#[derive(Debug, Clone)]
struct Code {
    auth: Authorization,
    authn: Authn,
    acting_for: Option<Represented>,
    sid: String,
    expires: i64,
    /// Set when redeemed: a second redemption revokes the grant (RFC 6749 §4.1.2).
    grant_id: Option<String>,
}

/// What the browser should see next.
#[derive(Debug)]
pub enum Next {
    /// The sign-in page for this transaction.
    SignIn {
        /// Transaction id.
        tx: String,
        /// The browser-binding cookie value to set (new transactions only).
        cookie: Option<String>,
    },
    /// The "whom do you act for" page.
    Represent {
        /// Transaction id.
        tx: String,
        /// The browser-binding cookie value to set (new transactions only).
        cookie: Option<String>,
    },
    /// The consent page.
    Consent {
        /// Transaction id.
        tx: String,
        /// The browser-binding cookie value to set (new transactions only).
        cookie: Option<String>,
    },
    /// Back to the client (a code or an error).
    Redirect(String),
    /// A request so broken the client cannot be told (unknown client or redirect URI).
    Refuse(String),
}

/// Why a sign-in failed (the page shows one message for all, so accounts cannot be probed).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignInError {
    /// Unknown or expired transaction.
    #[error("the sign-in has expired or belongs to another browser")]
    Transaction,
    /// Wrong registration number, password or code; or locked for a while.
    #[error("wrong registration number, password or code")]
    Credentials,
    /// The certificate was refused.
    #[error("certificate: {0}")]
    Certificate(String),
    /// Storage failed.
    #[error("storage unavailable")]
    Storage,
}

/// A token endpoint answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenResponse {
    /// RFC 9068 JWT.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: i64,
    /// Opaque, rotated on each use.
    pub refresh_token: String,
    /// The ID token.
    pub id_token: String,
    /// Granted scopes.
    pub scope: String,
}

/// Grant details kept with a refresh-token family.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct GrantDetails {
    scopes: Vec<String>,
    authn: Authn,
    sub: String,
    nonce: Option<String>,
    #[serde(default)]
    credential: Option<CredentialRequest>,
    #[serde(default)]
    acting_for: Option<Represented>,
    #[serde(default)]
    actor_sub: Option<String>,
}

/// Account profile data (names are bilingual: the Cyrillic original and a Latin form).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Profile {
    /// Given name.
    pub given_name: String,
    /// Family (father's) name.
    pub family_name: String,
    /// Date of birth, `YYYY-MM-DD`, when known.
    #[serde(default)]
    pub birthdate: Option<String>,
}

/// A boxed future, as trait methods return them.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Checks ID-card certificates for the certificate sign-in (path, purpose, OCSP).
pub trait CertificateChecker: Send + Sync {
    /// The registration number and profile of a valid authentication certificate, or why not.
    fn check<'a>(
        &'a self,
        chain: &'a [Vec<u8>],
    ) -> BoxFuture<'a, Result<(String, Profile), String>>;
}

/// The provider.
pub struct Provider {
    config: ProviderConfig,
    store: Store,
    key_store: Arc<dyn KeyStore>,
    keys: RwLock<Arc<SigningKeys>>,
    clients: RwLock<Arc<HashMap<String, Client>>>,
    pairwise_secret: Vec<u8>,
    pushed: Mutex<HashMap<String, (AuthParams, String, i64)>>,
    transactions: Mutex<HashMap<String, Transaction>>,
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    codes: Mutex<HashMap<[u8; 32], Code>>,
    jtis: JtiCache,
    certificates: RwLock<Option<(String, Arc<dyn CertificateChecker>)>>,
    signing: RwLock<Option<(Arc<dyn KeyStore>, Loa)>>,
    registrations: Mutex<HashMap<[u8; 32], Challenge>>,
    http: reqwest::Client,
}

/// A passkey registration challenge and its expiry (Unix seconds), by session.
type Challenge = ([u8; 32], i64);

/// Where passkeys are bound: the RP ID (a host name) and the pages' origin.
#[derive(Debug, Clone)]
pub struct PasskeyRp {
    /// RP ID.
    pub rp_id: String,
    /// Origin the pages are served from.
    pub origin: String,
}

/// What the passkey registration page needs.
#[derive(Debug, Clone)]
pub struct RegistrationOptions {
    /// Challenge, base64url.
    pub challenge: String,
    /// The account's WebAuthn user handle, base64url.
    pub user_id: String,
    /// Shown by the authenticator.
    pub user_name: String,
    /// Shown by the authenticator.
    pub display_name: String,
    /// Passkeys the account has already (not to register twice).
    pub exclude: Vec<String>,
}

/// Unix seconds.
pub fn now() -> i64 {
    tamga_store::now_ms() / 1000
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

const PAR_SECS: i64 = 60;
const CODE_SECS: i64 = 60;
const TX_SECS: i64 = 600;
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

impl Provider {
    /// Opens the provider: clients from the database, signing keys from the key store.
    pub async fn open(
        store: Store,
        key_store: Arc<dyn KeyStore>,
        config: ProviderConfig,
    ) -> Result<Self, String> {
        let generation: u64 = store
            .setting_or_insert(GENERATION_KEY, "1")
            .await
            .map_err(|e| e.to_string())?
            .parse()
            .map_err(|_| format!("{GENERATION_KEY} is not a number"))?;
        let ks = Arc::clone(&key_store);
        let keys = tokio::task::spawn_blocking(move || load_keys(ks.as_ref(), generation))
            .await
            .map_err(|e| e.to_string())??;
        let secret = store
            .setting_or_insert(
                "id.pairwise_secret",
                &hex::encode(sha256(&credentials::random_bytes::<32>())),
            )
            .await
            .map_err(|e| e.to_string())?;
        let pairwise_secret = hex::decode(secret).map_err(|_| "id.pairwise_secret is not hex")?;
        let provider = Self {
            config,
            store,
            key_store,
            keys: RwLock::new(Arc::new(keys)),
            clients: RwLock::new(Arc::new(HashMap::new())),
            pairwise_secret,
            pushed: Mutex::new(HashMap::new()),
            transactions: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
            jtis: JtiCache::default(),
            certificates: RwLock::new(None),
            signing: RwLock::new(None),
            registrations: Mutex::new(HashMap::new()),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| e.to_string())?,
        };
        provider.reload_clients().await?;
        Ok(provider)
    }

    /// The configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// Turns on certificate sign-in: the listener at `url` (`https://host:port`) checks
    /// certificates with `checker`.
    pub fn enable_certificate_login(&self, url: &str, checker: Arc<dyn CertificateChecker>) {
        *self.certificates.write().unwrap_or_else(|p| p.into_inner()) =
            Some((url.trim_end_matches('/').to_owned(), checker));
    }

    /// Turns on remote signing (the CSC API): citizens' keys are in `keys` (a PKCS#11 token
    /// in production); authorizing a signature needs a sign-in at `min_loa` or higher.
    pub fn enable_remote_signing(&self, keys: Arc<dyn KeyStore>, min_loa: Loa) {
        *self.signing.write().unwrap_or_else(|p| p.into_inner()) = Some((keys, min_loa));
    }

    /// The remote-signing key store and minimum level, when remote signing is on.
    pub fn remote_signing(&self) -> Option<(Arc<dyn KeyStore>, Loa)> {
        self.signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Enrols a remote-signing credential: the key `key_label` on the signing token, certified
    /// by the first certificate of `chain_pem`, for the citizen with `registration_number`.
    pub async fn enrol_credential(
        &self,
        registration_number: &str,
        key_label: &str,
        chain_pem: &str,
        credential_id: Option<&str>,
        description: Option<&str>,
    ) -> Result<String, String> {
        let (keys, _) = self
            .remote_signing()
            .ok_or("remote signing is not configured")?;
        let reg = tamga_pki::identity::RegistrationNumber::parse(registration_number)
            .map_err(|e| e.to_string())?;
        let account = self
            .store
            .id_account_by_registration(&reg.cyrillic())
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no account for that registration number")?;
        let chain = tamga_pki::ParsedCert::all_from_pem_or_der(chain_pem.as_bytes())
            .map_err(|e| format!("certificates: {e}"))?;
        let leaf = chain.first().ok_or("certificates: none")?;
        let label = key_label.to_owned();
        let key = tokio::task::spawn_blocking(move || keys.open(&label))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if key.public_key_der() != leaf.spki_der.as_slice() {
            return Err("the first certificate does not certify that key".into());
        }
        use base64::Engine;
        let certs: Vec<String> = chain
            .iter()
            .map(|c| base64::engine::general_purpose::STANDARD.encode(&c.der))
            .collect();
        let id = credential_id
            .map(str::to_owned)
            .unwrap_or_else(|| random_token()[..22].to_owned());
        self.store
            .id_credential_put(&tamga_store::CredentialRow {
                credential_id: id.clone(),
                account_id: account.account_id,
                key_label: key_label.to_owned(),
                certificates: serde_json::to_string(&certs).map_err(|e| e.to_string())?,
                description: description
                    .map(str::to_owned)
                    .unwrap_or_else(|| tamga_pki::name::display_name(leaf.subject())),
            })
            .await
            .map_err(|e| e.to_string())?;
        Ok(id)
    }

    /// The passkey RP of this issuer, when its host is a name (WebAuthn RP IDs cannot be IP
    /// addresses).
    pub fn passkey_rp(&self) -> Option<PasskeyRp> {
        let url = url::Url::parse(&self.config.issuer).ok()?;
        let host = match url.host()? {
            url::Host::Domain(d) => d.to_owned(),
            _ => return None,
        };
        Some(PasskeyRp {
            origin: url.origin().ascii_serialization(),
            rp_id: host,
        })
    }

    /// The passkey challenge of a sign-in transaction (base64url).
    pub fn passkey_challenge(&self, tx: &str) -> Option<String> {
        lock(&self.transactions)
            .get(tx)
            .map(|x| jose::b64(&x.challenge))
    }

    /// Passkey sign-in (substantial): verifies the assertion against the transaction's
    /// challenge and the stored key, and moves the counter forward.
    pub async fn sign_in_passkey(
        &self,
        tx: &str,
        cookie: Option<&str>,
        credential_id: &str,
        client_data: &[u8],
        authenticator_data: &[u8],
        signature: &[u8],
    ) -> Result<(), SignInError> {
        let x = self
            .transaction(tx, cookie)
            .ok_or(SignInError::Transaction)?;
        // A challenge is good for one attempt.
        if let Some(t) = lock(&self.transactions).get_mut(tx) {
            t.challenge = credentials::random_bytes();
        }
        let rp = self
            .passkey_rp()
            .ok_or_else(|| SignInError::Certificate("passkeys need a host name".into()))?;
        let failed = |why: String| {
            metrics::counter!("tamga_id_sign_ins_total", "method" => "passkey", "result" => "failed").increment(1);
            tracing::info!(reason = %why, "passkey sign-in refused");
            SignInError::Credentials
        };
        let (account_id, public_key, count) = self
            .store
            .id_passkey(credential_id)
            .await
            .map_err(|_| SignInError::Storage)?
            .ok_or_else(|| failed("unknown passkey".into()))?;
        let new_count = crate::webauthn::verify_assertion(
            client_data,
            authenticator_data,
            signature,
            &x.challenge,
            &rp.origin,
            &rp.rp_id,
            &public_key,
            u32::try_from(count).unwrap_or(0),
        )
        .map_err(|e| failed(e.to_string()))?;
        if !self
            .store
            .id_passkey_count(credential_id, count, i64::from(new_count))
            .await
            .map_err(|_| SignInError::Storage)?
        {
            return Err(failed("counter raced".into()));
        }
        metrics::counter!("tamga_id_sign_ins_total", "method" => "passkey", "result" => "ok")
            .increment(1);
        self.set_authn(
            tx,
            Authn {
                account_id,
                loa: Loa::Substantial,
                amr: vec!["hwk".into(), "user".into(), "mfa".into()],
                auth_time: now(),
            },
        )
    }

    /// Starts a passkey registration for a browser signed in with the ID card (a passkey is
    /// as strong as what enrolled it, so only level high may add one).
    pub async fn passkey_registration(&self, session_cookie: &str) -> Option<RegistrationOptions> {
        let session = self.session(session_cookie)?;
        if session.authn.loa < Loa::High {
            return None;
        }
        let account = self
            .store
            .id_account(&session.authn.account_id)
            .await
            .ok()??;
        let profile: Profile = serde_json::from_str(&account.profile).unwrap_or_default();
        let challenge: [u8; 32] = credentials::random_bytes();
        {
            let t = now();
            let mut r = lock(&self.registrations);
            r.retain(|_, (_, exp)| *exp > t);
            r.insert(sha256(session_cookie.as_bytes()), (challenge, t + 300));
        }
        Some(RegistrationOptions {
            challenge: jose::b64(&challenge),
            user_id: jose::b64(account.account_id.as_bytes()),
            user_name: account.registration_number.clone(),
            display_name: format!("{} {}", profile.family_name, profile.given_name),
            exclude: self
                .store
                .id_passkeys_of(&account.account_id)
                .await
                .unwrap_or_default(),
        })
    }

    /// Finishes a passkey registration.
    pub async fn register_passkey(
        &self,
        session_cookie: &str,
        client_data: &[u8],
        attestation_object: &[u8],
    ) -> Result<(), String> {
        let session = self
            .session(session_cookie)
            .filter(|s| s.authn.loa >= Loa::High)
            .ok_or("sign in with the ID card first")?;
        let (challenge, _) = lock(&self.registrations)
            .remove(&sha256(session_cookie.as_bytes()))
            .filter(|(_, exp)| *exp > now())
            .ok_or("the registration has expired; start again")?;
        let rp = self.passkey_rp().ok_or("passkeys need a host name")?;
        let reg = crate::webauthn::verify_registration(
            client_data,
            attestation_object,
            &challenge,
            &rp.origin,
            &rp.rp_id,
        )
        .map_err(|e| e.to_string())?;
        let stored = self
            .store
            .id_passkey_put(
                &jose::b64(&reg.credential_id),
                &session.authn.account_id,
                &reg.public_key,
                i64::from(reg.sign_count),
            )
            .await
            .map_err(|e| e.to_string())?;
        if !stored {
            return Err("this passkey is registered already".into());
        }
        tracing::info!("passkey registered");
        Ok(())
    }

    /// The mandates an account may use now: live, and a child's only while under 16.
    pub async fn usable_mandates(&self, account_id: &str) -> Vec<tamga_store::MandateRow> {
        let Ok(Some(account)) = self.store.id_account(account_id).await else {
            return vec![];
        };
        let today = crate::model::today();
        self.store
            .id_mandates_of(&account.registration_number)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|m| match (m.basis.as_str(), &m.subject_birthdate) {
                ("parent" | "guardian", Some(b)) => {
                    crate::model::age_on(b, &today).is_some_and(|a| a < 16)
                }
                ("parent" | "guardian", None) => false,
                _ => true,
            })
            .collect()
    }

    /// The citizen's choice on the representation page: `self` or a mandate id.
    pub async fn represent(
        &self,
        tx: &str,
        cookie: Option<&str>,
        session_cookie: Option<&str>,
        choice: &str,
    ) -> Result<Next, SignInError> {
        self.transaction(tx, cookie)
            .ok_or(SignInError::Transaction)?;
        let session = session_cookie
            .and_then(|c| self.session(c))
            .ok_or(SignInError::Transaction)?;
        let acting_for = if choice == "self" {
            None
        } else {
            let m = self
                .usable_mandates(&session.authn.account_id)
                .await
                .into_iter()
                .find(|m| m.mandate_id == choice)
                .ok_or(SignInError::Transaction)?;
            Some(Represented {
                mandate_id: m.mandate_id,
                kind: m.subject_kind,
                id: m.subject_id,
                name: m.subject_name,
                basis: m.basis,
            })
        };
        let x = {
            let mut txs = lock(&self.transactions);
            let x = txs.get_mut(tx).ok_or(SignInError::Transaction)?;
            x.acting_for = Some(acting_for);
            x.clone()
        };
        if self
            .consent_needed(&session.authn.account_id, &x.auth)
            .await
        {
            Ok(Next::Consent {
                tx: tx.to_owned(),
                cookie: None,
            })
        } else {
            self.finish(tx, session_cookie).await
        }
    }

    /// Records a mandate (civil registration, the state register, or a legal representative).
    pub async fn add_mandate(&self, m: tamga_store::MandateRow) -> Result<String, String> {
        tamga_pki::identity::RegistrationNumber::parse(&m.actor).map_err(|e| e.to_string())?;
        if !matches!(m.subject_kind.as_str(), "person" | "organization") {
            return Err("subject_kind: person or organization".into());
        }
        if !matches!(
            m.basis.as_str(),
            "parent" | "guardian" | "legal-representative" | "employee"
        ) {
            return Err("basis: parent, guardian, legal-representative or employee".into());
        }
        let id = m.mandate_id.clone();
        if self
            .store
            .id_mandate_put(&m)
            .await
            .map_err(|e| e.to_string())?
        {
            Ok(id)
        } else {
            Err("that mandate exists already".into())
        }
    }

    /// A company's legal representative (signed in) lets an employee act for the company.
    pub async fn grant_employee_mandate(
        &self,
        session_cookie: &str,
        company_id: &str,
        employee_registration_number: &str,
    ) -> Result<String, String> {
        let session = self.session(session_cookie).ok_or("not signed in")?;
        self.grant_employee_mandate_as(
            &session.authn.account_id,
            company_id,
            employee_registration_number,
        )
        .await
    }

    /// As [`Provider::grant_employee_mandate`], for the legal representative's account.
    pub async fn grant_employee_mandate_as(
        &self,
        account_id: &str,
        company_id: &str,
        employee_registration_number: &str,
    ) -> Result<String, String> {
        let account = self
            .store
            .id_account(account_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no account")?;
        let company = self
            .usable_mandates(account_id)
            .await
            .into_iter()
            .find(|m| m.basis == "legal-representative" && m.subject_id == company_id)
            .ok_or("only the company's legal representative may grant this")?;
        let employee = tamga_pki::identity::RegistrationNumber::parse(employee_registration_number)
            .map_err(|e| e.to_string())?;
        self.add_mandate(tamga_store::MandateRow {
            mandate_id: random_token()[..22].to_owned(),
            actor: employee.cyrillic(),
            subject_kind: "organization".into(),
            subject_id: company.subject_id,
            subject_name: company.subject_name,
            basis: "employee".into(),
            granted_by: account.registration_number,
            subject_birthdate: None,
            valid_until_ms: Some(tamga_store::now_ms() + 365 * 86_400_000),
        })
        .await
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Where the certificate sign-in listener is, when it runs.
    pub fn certificate_login_url(&self) -> Option<String> {
        self.certificates
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(u, _)| u.clone())
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    async fn reload_clients(&self) -> Result<(), String> {
        let rows = self.store.id_clients().await.map_err(|e| e.to_string())?;
        let mut map = HashMap::new();
        for (id, reg, secret_hash) in rows {
            let reg: ClientRegistration =
                serde_json::from_str(&reg).map_err(|e| format!("client {id}: {e}"))?;
            map.insert(id, Client { reg, secret_hash });
        }
        *self.clients.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(map);
        Ok(())
    }

    fn clients(&self) -> Arc<HashMap<String, Client>> {
        Arc::clone(&self.clients.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// A registered client.
    pub fn client(&self, id: &str) -> Option<Client> {
        self.clients().get(id).cloned()
    }

    /// Registers (or replaces) a client; returns its new secret for `client_secret_basic`
    /// (shown once; only its hash is kept).
    pub async fn register_client(&self, reg: ClientRegistration) -> Result<Option<String>, String> {
        reg.validate()?;
        let secret =
            (reg.token_endpoint_auth_method == AuthMethod::ClientSecretBasic).then(random_token);
        let json = serde_json::to_string(&reg).map_err(|e| e.to_string())?;
        self.store
            .id_client_put(
                &reg.client_id,
                &json,
                secret
                    .as_ref()
                    .map(|s| sha256(s.as_bytes()).to_vec())
                    .as_deref(),
            )
            .await
            .map_err(|e| e.to_string())?;
        self.reload_clients().await?;
        tracing::info!(client_id = %reg.client_id, "client registered");
        Ok(secret)
    }

    /// Creates an account; with `totp`, returns its TOTP secret (to enrol in an app).
    pub async fn create_account(
        &self,
        registration_number: &str,
        profile: &Profile,
        password: Option<&str>,
        totp: bool,
    ) -> Result<(String, Option<Vec<u8>>), String> {
        let reg = tamga_pki::identity::RegistrationNumber::parse(registration_number)
            .map_err(|e| e.to_string())?;
        let secret = totp.then(|| credentials::random_bytes::<20>().to_vec());
        let row = AccountRow {
            account_id: random_token()[..22].to_owned(),
            registration_number: reg.cyrillic(),
            profile: serde_json::to_string(profile).map_err(|e| e.to_string())?,
            password_hash: password.map(credentials::hash_password),
            totp_secret: secret.clone(),
            totp_last_step: 0,
            failures: 0,
            locked_until_ms: 0,
        };
        if !self
            .store
            .id_account_insert(&row)
            .await
            .map_err(|e| e.to_string())?
        {
            return Err(format!("{} has an account already", reg.cyrillic()));
        }
        Ok((row.account_id, secret))
    }

    /// Makes the next key current and prepares a new next key.
    pub async fn rotate_keys(&self) -> Result<String, String> {
        let generation: u64 = self
            .store
            .setting(GENERATION_KEY)
            .await
            .map_err(|e| e.to_string())?
            .and_then(|g| g.parse().ok())
            .unwrap_or(1)
            + 1;
        let ks = Arc::clone(&self.key_store);
        let keys = tokio::task::spawn_blocking(move || load_keys(ks.as_ref(), generation))
            .await
            .map_err(|e| e.to_string())??;
        self.store
            .set_setting(GENERATION_KEY, &generation.to_string())
            .await
            .map_err(|e| e.to_string())?;
        let kid = keys.kid.clone();
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
        tracing::info!(kid = %kid, "identity signing key rotated");
        Ok(kid)
    }

    fn keys(&self) -> Arc<SigningKeys> {
        Arc::clone(&self.keys.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The published keys (previous, current, next).
    pub fn jwks(&self) -> JwkSet {
        self.keys().jwks.clone()
    }

    /// OpenID Provider Metadata (OIDC Discovery 1.0 §3, RFC 8414, RFC 9126 §5, RFC 9207 §3).
    pub fn discovery(&self) -> Value {
        let i = &self.config.issuer;
        json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/authorize"),
            "pushed_authorization_request_endpoint": format!("{i}/par"),
            "token_endpoint": format!("{i}/token"),
            "userinfo_endpoint": format!("{i}/userinfo"),
            "jwks_uri": format!("{i}/jwks"),
            "revocation_endpoint": format!("{i}/revoke"),
            "introspection_endpoint": format!("{i}/introspect"),
            "end_session_endpoint": format!("{i}/logout"),
            "scopes_supported": SCOPES.iter().map(|s| s.0).collect::<Vec<_>>(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["pairwise", "public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "userinfo_signing_alg_values_supported": [],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": jose::ACCEPTED_ALGS,
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "acr_values_supported": Loa::ALL.iter().map(|l| l.acr()).collect::<Vec<_>>(),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp", "at_hash", "name", "given_name", "family_name", "birthdate", "registration_number"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": true,
            "require_pushed_authorization_requests": false,
            "authorization_response_iss_parameter_supported": true,
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "frontchannel_logout_supported": false,
            "ui_locales_supported": ["mn", "en"],
        })
    }

    fn audiences(&self) -> [String; 4] {
        let i = &self.config.issuer;
        [
            i.clone(),
            format!("{i}/token"),
            format!("{i}/par"),
            format!("{i}/introspect"),
        ]
    }

    /// Authenticates a client.
    pub fn authenticate_client(&self, presented: &Presented) -> Result<Client, OAuthError> {
        let clients = self.clients();
        let aud = self.audiences();
        let aud: Vec<&str> = aud.iter().map(String::as_str).collect();
        authenticate(presented, |id| clients.get(id), &aud, &self.jtis, now())
            .cloned()
            .map_err(|e| {
                tracing::info!(error = %e, "client authentication failed");
                metrics::counter!("tamga_id_client_auth_failures_total").increment(1);
                match e {
                    ClientAuthError::Missing => {
                        OAuthError::client("client authentication required")
                    }
                    _ => OAuthError::client("client authentication failed"),
                }
            })
    }

    /// RFC 9126 §2: stores an authenticated client's request; returns `request_uri` and its
    /// lifetime.
    pub fn push(&self, client: &Client, params: AuthParams) -> Result<(String, i64), OAuthError> {
        if params.request_uri.is_some() {
            return Err(OAuthError::bad(
                "invalid_request",
                "request_uri is not allowed in a pushed request",
            ));
        }
        if params
            .client_id
            .as_deref()
            .is_some_and(|c| c != client.reg.client_id)
        {
            return Err(OAuthError::bad("invalid_request", "client_id mismatch"));
        }
        // Validate now so the client learns of errors from this call, not a redirect.
        self.validate(client, &params)?;
        let uri = format!("{REQUEST_URI_PREFIX}{}", random_token());
        let t = now();
        let mut pushed = lock(&self.pushed);
        pushed.retain(|_, (_, _, exp)| *exp > t);
        pushed.insert(
            uri.clone(),
            (params, client.reg.client_id.clone(), t + PAR_SECS),
        );
        Ok((uri, PAR_SECS))
    }

    fn validate(&self, client: &Client, p: &AuthParams) -> Result<Authorization, OAuthError> {
        let bad = |e: &'static str, d: &str| Err(OAuthError::bad(e, d));
        if p.request.is_some() {
            return bad("request_not_supported", "request objects are not supported");
        }
        if p.response_type.as_deref() != Some("code") {
            return bad(
                "unsupported_response_type",
                "only the authorization code flow (response_type=code)",
            );
        }
        if p.response_mode.as_deref().is_some_and(|m| m != "query") {
            return bad("invalid_request", "response_mode must be query");
        }
        let scopes: Vec<String> = p
            .scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if !scopes.iter().any(|s| s == "openid") {
            return bad("invalid_scope", "scope must include openid");
        }
        for s in &scopes {
            if s != "openid" && !client.reg.allowed_scopes.contains(s) {
                return Err(OAuthError::bad(
                    "invalid_scope",
                    format!("scope {s:?} is not allowed for this client"),
                ));
            }
        }
        let mut scopes_sorted = vec!["openid".to_owned()];
        for s in scopes {
            if !scopes_sorted.contains(&s) {
                scopes_sorted.push(s);
            }
        }
        if p.code_challenge_method.as_deref() != Some("S256") {
            return bad(
                "invalid_request",
                "PKCE is required: code_challenge_method=S256",
            );
        }
        let challenge = p.code_challenge.clone().unwrap_or_default();
        if challenge.len() != 43 || jose::unb64(&challenge).is_none() {
            return bad(
                "invalid_request",
                "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
            );
        }
        let mut prompt = Prompt::default();
        for v in p.prompt.as_deref().unwrap_or("").split(' ') {
            match v {
                "" => {}
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                other => {
                    return Err(OAuthError::bad(
                        "invalid_request",
                        format!("unknown prompt value {other:?}"),
                    ));
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return bad("invalid_request", "prompt=none with other values");
        }
        let max_age = match p.max_age.as_deref() {
            None | Some("") => None,
            Some(v) => Some(v.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
                OAuthError::bad("invalid_request", "max_age must be a non-negative integer")
            })?),
        };
        // acr_values are preferences in order (OIDC Core §3.1.2.1); Tamga honours the lowest
        // level listed as the minimum, so a client asking "substantial high" gets at least
        // substantial. Unknown values are ignored, as the specification allows.
        let min_loa = p
            .acr_values
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter_map(Loa::from_acr)
            .min()
            .unwrap_or(Loa::Low);
        let lang = p
            .ui_locales
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .find(|l| l.starts_with("en") || l.starts_with("mn"))
            .map(|l| l[..2].to_owned());
        let credential = if scopes_sorted.iter().any(|s| s == "credential") {
            Some(self.credential_request(p)?)
        } else {
            None
        };
        let min_loa = match (&credential, self.remote_signing()) {
            (Some(_), Some((_, signing_loa))) => min_loa.max(signing_loa),
            (Some(_), None) => {
                return bad(
                    "invalid_scope",
                    "remote signing is not enabled on this provider",
                );
            }
            (None, _) => min_loa,
        };
        if credential.is_some() && prompt.none {
            return bad(
                "invalid_request",
                "a signature is always confirmed by the citizen: prompt=none is not allowed",
            );
        }
        if p.state.as_ref().is_some_and(|s| s.len() > 2048)
            || p.nonce.as_ref().is_some_and(|s| s.len() > 512)
        {
            return bad("invalid_request", "state or nonce too long");
        }
        Ok(Authorization {
            client_id: client.reg.client_id.clone(),
            redirect_uri: p.redirect_uri.clone().unwrap_or_default(),
            scopes: scopes_sorted,
            state: p.state.clone(),
            nonce: p.nonce.clone(),
            code_challenge: challenge,
            min_loa,
            max_age,
            prompt,
            lang,
            login_hint: p.login_hint.clone(),
            credential,
        })
    }

    fn credential_request(&self, p: &AuthParams) -> Result<CredentialRequest, OAuthError> {
        let bad = |d: &str| OAuthError::bad("invalid_request", d);
        let credential_id = p
            .credential_id
            .clone()
            .filter(|c| !c.is_empty() && c.len() <= 128)
            .ok_or_else(|| bad("credentialID is required with scope credential"))?;
        let hash_oid = p
            .hash_algorithm_oid
            .clone()
            .unwrap_or_else(|| crate::csc::SHA256_OID.to_owned());
        let len = crate::csc::hash_len(&hash_oid)
            .ok_or_else(|| bad("hashAlgorithmOID: SHA-256 or SHA-384"))?;
        let hashes: Vec<String> = p
            .hashes
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| {
                crate::csc::decode_hash(h)
                    .filter(|b| b.len() == len)
                    .map(|b| jose::b64(&b))
                    .ok_or_else(|| bad("hashes: base64url values of the algorithm's length"))
            })
            .collect::<Result<_, _>>()?;
        if hashes.is_empty() || hashes.len() > crate::csc::MAX_SIGNATURES {
            return Err(bad(
                "hashes: 1 to 1000 values (SCAL 2 binds the authorization to them)",
            ));
        }
        let n: usize = p
            .num_signatures
            .as_deref()
            .unwrap_or("")
            .parse()
            .map_err(|_| bad("numSignatures is required"))?;
        if n != hashes.len() {
            return Err(bad("numSignatures must equal the number of hashes"));
        }
        let description = p.description.clone().unwrap_or_default();
        if description.len() > 500 {
            return Err(bad("description: at most 500 characters"));
        }
        Ok(CredentialRequest {
            credential_id,
            hashes,
            hash_oid,
            description,
        })
    }

    /// The client's redirect URI with response parameters (RFC 9207 `iss` always).
    fn redirect(&self, redirect_uri: &str, state: Option<&str>, params: &[(&str, &str)]) -> String {
        let mut url = match url::Url::parse(redirect_uri) {
            Ok(u) => u,
            Err(_) => return redirect_uri.to_owned(),
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
            if let Some(s) = state {
                q.append_pair("state", s);
            }
            q.append_pair("iss", &self.config.issuer);
        }
        url.to_string()
    }

    fn error_redirect(&self, auth_redirect: &str, state: Option<&str>, e: &OAuthError) -> Next {
        Next::Redirect(self.redirect(
            auth_redirect,
            state,
            &[("error", e.error), ("error_description", &e.description)],
        ))
    }

    /// The authorization endpoint (OIDC Core §3.1.2.2).
    pub async fn authorize(&self, mut params: AuthParams, session_cookie: Option<&str>) -> Next {
        let Some(client_id) = params.client_id.clone() else {
            return Next::Refuse("client_id is missing".into());
        };
        let Some(client) = self.client(&client_id) else {
            return Next::Refuse(format!("unknown client {client_id:?}"));
        };
        if let Some(uri) = params.request_uri.clone() {
            let entry = lock(&self.pushed).remove(&uri);
            match entry {
                Some((pushed, owner, exp)) if owner == client_id && exp > now() => {
                    params = pushed;
                    params.client_id = Some(client_id.clone());
                }
                _ => {
                    return Next::Refuse(
                        "the request_uri is unknown, used or expired; start again from the service"
                            .into(),
                    );
                }
            }
        } else if client.reg.require_pushed_authorization_requests {
            return Next::Refuse("this client must use pushed authorization requests".into());
        }
        // Only an exact registered redirect URI is ever redirected to (RFC 9700 §4.1.3).
        let redirect_uri = match params.redirect_uri.as_deref() {
            Some(r) if client.reg.redirect_uris.iter().any(|u| u == r) => r.to_owned(),
            None if client.reg.redirect_uris.len() == 1 => {
                let r = client.reg.redirect_uris[0].clone();
                params.redirect_uri = Some(r.clone());
                r
            }
            _ => return Next::Refuse("redirect_uri is not registered for this client".into()),
        };
        let auth = match self.validate(&client, &params) {
            Ok(a) => a,
            Err(e) => return self.error_redirect(&redirect_uri, params.state.as_deref(), &e),
        };
        let session = session_cookie.and_then(|c| self.session(c));
        let t = now();
        let usable = session.as_ref().filter(|s| {
            !auth.prompt.login
                && s.authn.loa >= auth.min_loa
                // max_age=0 is a fresh sign-in, like prompt=login (OIDC Core §3.1.2.1).
                && auth
                    .max_age
                    .is_none_or(|m| m > 0 && t - s.authn.auth_time <= m)
        });
        if auth.prompt.none {
            let Some(s) = usable else {
                return self.error_redirect(
                    &redirect_uri,
                    auth.state.as_deref(),
                    &OAuthError::bad("login_required", "no session at the required level"),
                );
            };
            if self.consent_needed(&s.authn.account_id, &auth).await {
                return self.error_redirect(
                    &redirect_uri,
                    auth.state.as_deref(),
                    &OAuthError::bad("consent_required", "consent is needed"),
                );
            }
            if auth.scopes.iter().any(|s| s == "representation") {
                return self.error_redirect(
                    &redirect_uri,
                    auth.state.as_deref(),
                    &OAuthError::bad(
                        "interaction_required",
                        "the citizen chooses whom to act for",
                    ),
                );
            }
            return Next::Redirect(self.issue_code(auth, s.authn.clone(), None, s.sid.clone()));
        }
        let wants_representation = auth.scopes.iter().any(|s| s == "representation");
        if let Some(s) = usable
            && !wants_representation
            && !self.consent_needed(&s.authn.account_id, &auth).await
        {
            return Next::Redirect(self.issue_code(auth, s.authn.clone(), None, s.sid.clone()));
        }
        let cookie = random_token();
        let tx = random_token();
        let authn = usable.map(|s| s.authn.clone());
        let signed_in = authn.is_some();
        {
            let mut txs = lock(&self.transactions);
            txs.retain(|_, x| x.created + TX_SECS > t);
            txs.insert(
                tx.clone(),
                Transaction {
                    auth,
                    binding: sha256(cookie.as_bytes()),
                    authn,
                    created: t,
                    challenge: credentials::random_bytes(),
                    acting_for: None,
                },
            );
        }
        if signed_in && wants_representation {
            Next::Represent {
                tx,
                cookie: Some(cookie),
            }
        } else if signed_in {
            Next::Consent {
                tx,
                cookie: Some(cookie),
            }
        } else {
            Next::SignIn {
                tx,
                cookie: Some(cookie),
            }
        }
    }

    /// A transaction, if `cookie` is the browser it belongs to.
    pub fn transaction(&self, tx: &str, cookie: Option<&str>) -> Option<Transaction> {
        let t = now();
        let txs = lock(&self.transactions);
        let x = txs.get(tx)?;
        (x.created + TX_SECS > t && cookie.is_some_and(|c| same(&sha256(c.as_bytes()), &x.binding)))
            .then(|| x.clone())
    }

    /// A transaction by id alone (the certificate listener, on another origin, cannot see the
    /// binding cookie; the transaction is finished only from the binding browser).
    pub fn transaction_unbound(&self, tx: &str) -> Option<Transaction> {
        let t = now();
        lock(&self.transactions)
            .get(tx)
            .filter(|x| x.created + TX_SECS > t)
            .cloned()
    }

    fn set_authn(&self, tx: &str, authn: Authn) -> Result<(), SignInError> {
        let mut txs = lock(&self.transactions);
        let x = txs.get_mut(tx).ok_or(SignInError::Transaction)?;
        x.authn = Some(authn);
        Ok(())
    }

    /// Password + TOTP sign-in (low). Failures back off exponentially per account after
    /// `free_failures`; unknown accounts cost the same time and get the same answer.
    pub async fn sign_in_password(
        &self,
        tx: &str,
        cookie: Option<&str>,
        registration_number: &str,
        password: &str,
        otp: &str,
    ) -> Result<(), SignInError> {
        self.transaction(tx, cookie)
            .ok_or(SignInError::Transaction)?;
        let reg = tamga_pki::identity::RegistrationNumber::parse(registration_number)
            .map(|r| r.cyrillic())
            .unwrap_or_default();
        let account = if reg.is_empty() {
            None
        } else {
            self.store
                .id_account_by_registration(&reg)
                .await
                .map_err(|_| SignInError::Storage)?
        };
        let t_ms = tamga_store::now_ms();
        let hash = account
            .as_ref()
            .and_then(|a| a.password_hash.clone())
            .unwrap_or_else(|| dummy_hash().to_owned());
        let pw = password.to_owned();
        let password_ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
            .await
            .unwrap_or(false);
        let Some(account) = account else {
            metrics::counter!("tamga_id_sign_ins_total", "method" => "password", "result" => "failed").increment(1);
            return Err(SignInError::Credentials);
        };
        let locked = account.locked_until_ms > t_ms;
        let step = account
            .totp_secret
            .as_deref()
            .and_then(|s| totp_match(s, otp, t_ms / 1000, account.totp_last_step));
        if locked || !password_ok || step.is_none() || account.password_hash.is_none() {
            if !locked {
                let failures = account.failures + 1;
                let over = failures - self.config.free_failures;
                let lock_ms = if over > 0 {
                    // 2 s, 4 s, 8 s … capped at 15 minutes.
                    (1000i64 << over.min(10)).min(15 * 60 * 1000)
                } else {
                    0
                };
                self.store
                    .id_account_failed(&account.account_id, failures, t_ms + lock_ms)
                    .await
                    .map_err(|_| SignInError::Storage)?;
            }
            tracing::info!(locked, "password sign-in refused");
            metrics::counter!("tamga_id_sign_ins_total", "method" => "password", "result" => "failed").increment(1);
            return Err(SignInError::Credentials);
        }
        let step = step.unwrap_or_default();
        if !self
            .store
            .id_account_signed_in(&account.account_id, step)
            .await
            .map_err(|_| SignInError::Storage)?
        {
            // The same code was accepted a moment ago (a replay or a double submit).
            return Err(SignInError::Credentials);
        }
        metrics::counter!("tamga_id_sign_ins_total", "method" => "password", "result" => "ok")
            .increment(1);
        self.set_authn(
            tx,
            Authn {
                account_id: account.account_id,
                loa: Loa::Low,
                amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
                auth_time: t_ms / 1000,
            },
        )
    }

    /// ID-card certificate sign-in (high): `chain` is what the browser presented over mutual
    /// TLS, leaf first. Unknown citizens get an account on first sign-in.
    pub async fn sign_in_certificate(
        &self,
        tx: &str,
        chain: &[Vec<u8>],
    ) -> Result<(), SignInError> {
        self.transaction_unbound(tx)
            .ok_or(SignInError::Transaction)?;
        let checker = self
            .certificates
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(_, c)| Arc::clone(c))
            .ok_or_else(|| {
                SignInError::Certificate("certificate sign-in is not configured".into())
            })?;
        let (reg, profile) = match checker.check(chain).await {
            Ok(v) => v,
            Err(e) => {
                metrics::counter!("tamga_id_sign_ins_total", "method" => "certificate", "result" => "failed").increment(1);
                return Err(SignInError::Certificate(e));
            }
        };
        let account = match self
            .store
            .id_account_by_registration(&reg)
            .await
            .map_err(|_| SignInError::Storage)?
        {
            Some(a) => a,
            None => {
                self.create_account(&reg, &profile, None, false)
                    .await
                    .map_err(|_| SignInError::Storage)?;
                self.store
                    .id_account_by_registration(&reg)
                    .await
                    .map_err(|_| SignInError::Storage)?
                    .ok_or(SignInError::Storage)?
            }
        };
        metrics::counter!("tamga_id_sign_ins_total", "method" => "certificate", "result" => "ok")
            .increment(1);
        self.set_authn(
            tx,
            Authn {
                account_id: account.account_id,
                loa: Loa::High,
                amr: vec!["sc".into(), "mfa".into()],
                auth_time: now(),
            },
        )
    }

    async fn consent_needed(&self, account_id: &str, auth: &Authorization) -> bool {
        // A signature is confirmed every time, never remembered.
        if auth.credential.is_some() {
            return true;
        }
        let wanted: Vec<&String> = auth.scopes.iter().filter(|s| needs_consent(s)).collect();
        if wanted.is_empty() {
            return false;
        }
        if auth.prompt.consent {
            return true;
        }
        let given = self
            .store
            .id_consent(account_id, &auth.client_id)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let given: Vec<&str> = given.split(' ').collect();
        !wanted.iter().all(|w| given.contains(&w.as_str()))
    }

    /// After sign-in: starts the browser session (returns its cookie value) and says whether
    /// consent is needed or the client gets its code.
    pub async fn after_sign_in(
        &self,
        tx: &str,
        cookie: Option<&str>,
    ) -> Result<(Next, Option<String>), SignInError> {
        let x = self
            .transaction(tx, cookie)
            .ok_or(SignInError::Transaction)?;
        let authn = x.authn.clone().ok_or(SignInError::Transaction)?;
        if authn.loa < x.auth.min_loa {
            return Err(SignInError::Transaction);
        }
        let session_cookie = random_token();
        let sid = random_token()[..22].to_owned();
        {
            let t = now();
            let mut s = lock(&self.sessions);
            s.retain(|_, v| v.expires > t);
            s.insert(
                sha256(session_cookie.as_bytes()),
                Session {
                    authn: authn.clone(),
                    sid,
                    expires: t + self.config.session_secs,
                },
            );
        }
        if x.auth.scopes.iter().any(|s| s == "representation") && x.acting_for.is_none() {
            return Ok((
                Next::Represent {
                    tx: tx.to_owned(),
                    cookie: None,
                },
                Some(session_cookie),
            ));
        }
        if self.consent_needed(&authn.account_id, &x.auth).await {
            Ok((
                Next::Consent {
                    tx: tx.to_owned(),
                    cookie: None,
                },
                Some(session_cookie),
            ))
        } else {
            let next = self.finish(tx, Some(&session_cookie)).await?;
            Ok((next, Some(session_cookie)))
        }
    }

    /// The consent decision.
    pub async fn decide(
        &self,
        tx: &str,
        cookie: Option<&str>,
        session_cookie: Option<&str>,
        allow: bool,
    ) -> Result<Next, SignInError> {
        let x = self
            .transaction(tx, cookie)
            .ok_or(SignInError::Transaction)?;
        let session = session_cookie
            .and_then(|c| self.session(c))
            .ok_or(SignInError::Transaction)?;
        if !allow {
            lock(&self.transactions).remove(tx);
            return Ok(self.error_redirect(
                &x.auth.redirect_uri,
                x.auth.state.as_deref(),
                &OAuthError::bad("access_denied", "the citizen declined"),
            ));
        }
        if let Some(c) = &x.auth.credential {
            let owned = self
                .store
                .id_credential(&c.credential_id)
                .await
                .map_err(|_| SignInError::Storage)?
                .is_some_and(|row| row.account_id == session.authn.account_id);
            if !owned {
                lock(&self.transactions).remove(tx);
                return Ok(self.error_redirect(
                    &x.auth.redirect_uri,
                    x.auth.state.as_deref(),
                    &OAuthError::bad("access_denied", "the credential is not this citizen's"),
                ));
            }
        } else {
            // Consents accumulate: agreeing to more never withdraws what was agreed before.
            let earlier = self
                .store
                .id_consent(&session.authn.account_id, &x.auth.client_id)
                .await
                .map_err(|_| SignInError::Storage)?
                .unwrap_or_default();
            let mut scopes: Vec<&str> = earlier.split(' ').filter(|s| !s.is_empty()).collect();
            for s in &x.auth.scopes {
                if !scopes.contains(&s.as_str()) {
                    scopes.push(s);
                }
            }
            self.store
                .id_consent_put(
                    &session.authn.account_id,
                    &x.auth.client_id,
                    &scopes.join(" "),
                )
                .await
                .map_err(|_| SignInError::Storage)?;
        }
        self.finish(tx, session_cookie).await
    }

    async fn finish(&self, tx: &str, session_cookie: Option<&str>) -> Result<Next, SignInError> {
        let session = session_cookie
            .and_then(|c| self.session(c))
            .ok_or(SignInError::Transaction)?;
        let x = lock(&self.transactions)
            .remove(tx)
            .ok_or(SignInError::Transaction)?;
        Ok(Next::Redirect(self.issue_code(
            x.auth,
            session.authn,
            x.acting_for.flatten(),
            session.sid,
        )))
    }

    /// The browser session of a cookie value.
    pub fn session(&self, cookie: &str) -> Option<Session> {
        let t = now();
        lock(&self.sessions)
            .get(&sha256(cookie.as_bytes()))
            .filter(|s| s.expires > t)
            .cloned()
    }

    fn issue_code(
        &self,
        auth: Authorization,
        authn: Authn,
        acting_for: Option<Represented>,
        sid: String,
    ) -> String {
        let code = random_token();
        let t = now();
        let redirect = self.redirect(
            &auth.redirect_uri,
            auth.state.as_deref(),
            &[("code", &code)],
        );
        let mut codes = lock(&self.codes);
        codes.retain(|_, c| c.expires > t - 600);
        codes.insert(
            sha256(code.as_bytes()),
            Code {
                auth,
                authn,
                acting_for,
                sid,
                expires: t + CODE_SECS,
                grant_id: None,
            },
        );
        redirect
    }

    fn subject(&self, client: &Client, account_id: &str) -> String {
        match client.reg.subject_type {
            crate::client::SubjectType::Public => account_id.to_owned(),
            crate::client::SubjectType::Pairwise => {
                let key =
                    aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.pairwise_secret);
                let mac = aws_lc_rs::hmac::sign(
                    &key,
                    format!("{}\u{0}{account_id}", client.reg.sector()).as_bytes(),
                );
                jose::b64(&mac.as_ref()[..20])
            }
        }
    }

    fn sign(&self, typ: &str, claims: &Value) -> Result<String, OAuthError> {
        let keys = self.keys();
        jose::sign_es256(keys.current.as_ref(), &keys.kid, typ, claims)
            .map_err(|e| OAuthError::server(e.to_string()))
    }

    #[allow(clippy::too_many_arguments)]
    fn tokens(
        &self,
        client: &Client,
        details: &GrantDetails,
        grant_id: &str,
        refresh_token: String,
        sid: &str,
        include_nonce: bool,
    ) -> Result<TokenResponse, OAuthError> {
        let t = now();
        let exp = t + self.config.access_token_secs;
        let i = &self.config.issuer;
        let jti = random_token()[..22].to_owned();
        let scope = details.scopes.join(" ");
        let mut at = json!({
            "iss": i, "sub": details.sub, "aud": i, "client_id": client.reg.client_id,
            "exp": exp, "iat": t, "jti": jti, "scope": scope, "gid": grant_id,
            "auth_time": details.authn.auth_time, "acr": details.authn.loa.acr(),
        });
        if let Some(c) = &details.credential {
            at["csc"] = json!({ "credentialID": c.credential_id, "hashes": c.hashes, "hashAlgorithmOID": c.hash_oid });
        }
        let act = details.acting_for.as_ref().map(|r| {
            (
                json!({ "sub": details.actor_sub }),
                json!({ "type": r.kind, "name": r.name, "basis": r.basis, "mandate": r.mandate_id }),
            )
        });
        if let Some((a, r)) = &act {
            at["act"] = a.clone();
            at["represented"] = r.clone();
        }
        let access = self.sign("at+jwt", &at)?;
        let at_hash = {
            let h = sha256(access.as_bytes());
            jose::b64(&h[..16])
        };
        let mut id = json!({
            "iss": i, "sub": details.sub, "aud": client.reg.client_id,
            "azp": client.reg.client_id, "exp": exp, "iat": t,
            "auth_time": details.authn.auth_time, "acr": details.authn.loa.acr(),
            "amr": details.authn.amr, "sid": sid, "at_hash": at_hash,
        });
        if include_nonce && let Some(n) = &details.nonce {
            id["nonce"] = json!(n);
        }
        if let Some((a, r)) = act {
            id["act"] = a;
            id["represented"] = r;
        }
        let id_token = self.sign("JWT", &id)?;
        Ok(TokenResponse {
            access_token: access,
            token_type: "Bearer",
            expires_in: self.config.access_token_secs,
            refresh_token,
            id_token,
            scope,
        })
    }

    /// The token endpoint (RFC 6749 §4.1.3, §6).
    pub async fn token(
        &self,
        client: &Client,
        form: &HashMap<String, String>,
    ) -> Result<TokenResponse, OAuthError> {
        let get = |k: &str| form.get(k).map(String::as_str);
        match get("grant_type") {
            Some("authorization_code") => {
                let code = get("code")
                    .ok_or_else(|| OAuthError::bad("invalid_request", "code is missing"))?;
                self.redeem(client, code, get("redirect_uri"), get("code_verifier"))
                    .await
            }
            Some("refresh_token") => {
                let token = get("refresh_token").ok_or_else(|| {
                    OAuthError::bad("invalid_request", "refresh_token is missing")
                })?;
                self.refresh(client, token).await
            }
            Some(other) => Err(OAuthError::bad(
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported"),
            )),
            None => Err(OAuthError::bad("invalid_request", "grant_type is missing")),
        }
    }

    async fn redeem(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let invalid = |d: &str| OAuthError::bad("invalid_grant", d);
        let key = sha256(code.as_bytes());
        let t = now();
        let found = {
            let mut codes = lock(&self.codes);
            match codes.get_mut(&key) {
                None => None,
                Some(c) => {
                    let first = c.grant_id.is_none();
                    let grant = random_token()[..22].to_owned();
                    if first {
                        c.grant_id = Some(grant.clone());
                    }
                    Some((c.clone(), first, grant))
                }
            }
        };
        let Some((code, first, grant_id)) = found else {
            return Err(invalid("unknown code"));
        };
        if !first {
            // RFC 6749 §4.1.2: a code used twice revokes what it gave.
            if let Some(g) = &code.grant_id {
                let _ = self
                    .store
                    .id_grant_revoke(g, &code.auth.client_id, "authorization code reused")
                    .await;
            }
            tracing::warn!(client_id = %client.reg.client_id, "authorization code reused; grant revoked");
            return Err(invalid("code already used"));
        }
        if code.expires <= t {
            return Err(invalid("code expired"));
        }
        if code.auth.client_id != client.reg.client_id {
            return Err(invalid("code was issued to another client"));
        }
        if redirect_uri != Some(code.auth.redirect_uri.as_str()) {
            return Err(invalid(
                "redirect_uri differs from the authorization request",
            ));
        }
        let verifier = verifier
            .filter(|v| (43..=128).contains(&v.len()))
            .filter(|v| {
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            })
            .ok_or_else(|| {
                OAuthError::bad("invalid_request", "code_verifier missing or malformed")
            })?;
        if !same(
            b64_hash(verifier.as_bytes()).as_bytes(),
            code.auth.code_challenge.as_bytes(),
        ) {
            return Err(invalid("PKCE verification failed"));
        }
        let actor_sub = self.subject(client, &code.authn.account_id);
        let details = GrantDetails {
            scopes: code.auth.scopes.clone(),
            sub: match &code.acting_for {
                Some(r) => self.subject(client, &format!("{}:{}", r.kind, r.id)),
                None => actor_sub.clone(),
            },
            actor_sub: code.acting_for.as_ref().map(|_| actor_sub),
            authn: code.authn.clone(),
            nonce: code.auth.nonce.clone(),
            credential: code.auth.credential.clone(),
            acting_for: code.acting_for.clone(),
        };
        if let Some(r) = &details.acting_for {
            // Both parties are on record: the grant names the actor's account and the mandate.
            tracing::info!(client_id = %client.reg.client_id, mandate = %r.mandate_id, basis = %r.basis, "token issued to a representative");
        }
        let secret = random_token();
        let lifetime = if details.scopes.iter().any(|s| s == "offline_access") {
            self.config.offline_token_secs
        } else {
            self.config.refresh_token_secs
        };
        self.store
            .id_grant_insert(&GrantRow {
                grant_id: grant_id.clone(),
                client_id: client.reg.client_id.clone(),
                account_id: code.authn.account_id.clone(),
                session_id: code.sid.clone(),
                details: serde_json::to_string(&details)
                    .map_err(|e| OAuthError::server(e.to_string()))?,
                generation: 1,
                secret_hash: sha256(secret.as_bytes()).to_vec(),
                expires_at_ms: (t + lifetime) * 1000,
            })
            .await?;
        metrics::counter!("tamga_id_tokens_total", "grant_type" => "authorization_code")
            .increment(1);
        self.tokens(
            client,
            &details,
            &grant_id,
            format!("{grant_id}.1.{secret}"),
            &code.sid,
            true,
        )
    }

    async fn refresh(&self, client: &Client, token: &str) -> Result<TokenResponse, OAuthError> {
        let invalid = |d: &str| OAuthError::bad("invalid_grant", d);
        let (grant_id, generation, secret) =
            parse_refresh(token).ok_or_else(|| invalid("malformed refresh token"))?;
        let new_secret = random_token();
        let rotation = self
            .store
            .id_grant_rotate(
                grant_id,
                &client.reg.client_id,
                generation,
                &sha256(secret.as_bytes()),
                &sha256(new_secret.as_bytes()),
            )
            .await?;
        let (details, session_id) = match rotation {
            Rotation::Rotated {
                details,
                session_id,
                ..
            } => (details, session_id),
            Rotation::Reused => {
                tracing::warn!(client_id = %client.reg.client_id, "refresh token reused; grant revoked");
                metrics::counter!("tamga_id_refresh_reuse_total").increment(1);
                return Err(invalid("refresh token reused; the grant is revoked"));
            }
            Rotation::Revoked => return Err(invalid("grant revoked")),
            Rotation::Expired => return Err(invalid("refresh token expired")),
            Rotation::Unknown => return Err(invalid("unknown refresh token")),
        };
        let details: GrantDetails =
            serde_json::from_str(&details).map_err(|e| OAuthError::server(e.to_string()))?;
        if details.credential.is_some() {
            return Err(invalid("a signature authorization cannot be refreshed"));
        }
        metrics::counter!("tamga_id_tokens_total", "grant_type" => "refresh_token").increment(1);
        self.tokens(
            client,
            &details,
            grant_id,
            format!("{grant_id}.{}.{new_secret}", generation + 1),
            &session_id,
            false,
        )
    }

    /// Verifies one of this provider's access tokens and that it is still live.
    pub async fn check_access_token(
        &self,
        token: &str,
    ) -> Result<serde_json::Map<String, Value>, OAuthError> {
        let invalid = |d: &str| OAuthError {
            error: "invalid_token",
            description: d.into(),
            status: 401,
        };
        let u = Unverified::parse(token).map_err(|e| invalid(&e.to_string()))?;
        if u.header.get("typ").and_then(Value::as_str) != Some("at+jwt") {
            return Err(invalid("not an access token"));
        }
        let claims = u
            .verify(&self.jwks())
            .map_err(|e| invalid(&e.to_string()))?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer()) {
            return Err(invalid("another issuer"));
        }
        if claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_none_or(|e| e <= now())
        {
            return Err(invalid("expired"));
        }
        let jti = claims.get("jti").and_then(Value::as_str).unwrap_or("");
        let gid = claims.get("gid").and_then(Value::as_str).unwrap_or("");
        if self.store.id_token_revoked(jti).await? || !self.store.id_grant_live(gid).await? {
            return Err(invalid("revoked"));
        }
        Ok(claims)
    }

    /// The userinfo endpoint (OIDC Core §5.3): claims by granted scope.
    pub async fn userinfo(&self, token: &str) -> Result<Value, OAuthError> {
        let claims = self.check_access_token(token).await?;
        let scopes: Vec<&str> = claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or("")
            .split(' ')
            .collect();
        let mut out = json!({ "sub": claims.get("sub").cloned().unwrap_or(Value::Null) });
        if let (Some(act), Some(rep)) = (claims.get("act"), claims.get("represented")) {
            // The token is about the represented party: its name, and who acts.
            out["act"] = act.clone();
            out["represented"] = rep.clone();
            out["name"] = rep.get("name").cloned().unwrap_or(Value::Null);
            return Ok(out);
        }
        if scopes.len() <= 1 {
            return Ok(out);
        }
        let gid = claims.get("gid").and_then(Value::as_str).unwrap_or("");
        let account = self.grant_account(gid).await?;
        if let Some(a) = account {
            let profile: Profile = serde_json::from_str(&a.profile).unwrap_or_default();
            if scopes.contains(&"profile") {
                out["given_name"] = json!(profile.given_name);
                out["family_name"] = json!(profile.family_name);
                out["name"] = json!(format!("{} {}", profile.family_name, profile.given_name));
                if let Some(b) = profile.birthdate {
                    out["birthdate"] = json!(b);
                }
            }
            if scopes.contains(&"registration_number") {
                out["registration_number"] = json!(a.registration_number);
            }
        }
        Ok(out)
    }

    pub(crate) async fn grant_account(
        &self,
        grant_id: &str,
    ) -> Result<Option<AccountRow>, OAuthError> {
        let Some(account_id) = self.store.id_grant_account(grant_id).await? else {
            return Ok(None);
        };
        Ok(self.store.id_account(&account_id).await?)
    }

    /// RFC 7009 revocation: refresh tokens revoke their grant, access tokens themselves.
    /// Unknown tokens are not an error (§2.2).
    pub async fn revoke(&self, client: &Client, token: &str) -> Result<(), OAuthError> {
        if let Some((grant_id, _, _)) = parse_refresh(token) {
            self.store
                .id_grant_revoke(grant_id, &client.reg.client_id, "revoked by the client")
                .await?;
            return Ok(());
        }
        if let Ok(u) = Unverified::parse(token)
            && let Ok(claims) = u.verify(&self.jwks())
            && claims.get("client_id").and_then(Value::as_str) == Some(&client.reg.client_id)
        {
            let jti = claims.get("jti").and_then(Value::as_str).unwrap_or("");
            let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
            self.store.id_token_revoke(jti, exp * 1000).await?;
        }
        Ok(())
    }

    /// RFC 7662 introspection: active tokens of the caller (or any, for a resource server).
    pub async fn introspect(&self, client: &Client, token: &str) -> Result<Value, OAuthError> {
        if let Some((grant_id, _, _)) = parse_refresh(token) {
            // Refresh tokens are opaque to resource servers; only their own client may ask,
            // and only whether the grant lives (the secret is checked only when used).
            let live = self.store.id_grant_live(grant_id).await?
                && self.store.id_grant_client(grant_id).await?.as_deref()
                    == Some(client.reg.client_id.as_str());
            return Ok(if live {
                json!({ "active": true, "token_type": "refresh_token", "client_id": client.reg.client_id })
            } else {
                json!({ "active": false })
            });
        }
        match self.check_access_token(token).await {
            Ok(claims)
                if client.reg.introspect_any
                    || claims.get("client_id").and_then(Value::as_str)
                        == Some(&client.reg.client_id) =>
            {
                let mut out = Value::Object(claims);
                out["active"] = json!(true);
                out["token_type"] = json!("Bearer");
                if let Some(o) = out.as_object_mut() {
                    o.remove("gid");
                }
                Ok(out)
            }
            Ok(_) | Err(OAuthError { status: 401, .. }) => Ok(json!({ "active": false })),
            Err(e) => Err(e),
        }
    }

    /// RP-initiated logout (OIDC RP-Initiated Logout 1.0 §2): ends the browser session,
    /// revokes its grants and tells each client's back-channel logout endpoint. Returns where
    /// to send the browser, if the hint names a client that registered that URI.
    pub async fn end_session(
        &self,
        session_cookie: Option<&str>,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Result<Option<String>, OAuthError> {
        let hint_client = id_token_hint.and_then(|h| {
            let u = Unverified::parse(h).ok()?;
            let claims = u.verify(&self.jwks()).ok()?;
            (claims.get("iss").and_then(Value::as_str) == Some(self.issuer())).then_some(())?;
            claims.get("aud").and_then(Value::as_str).map(str::to_owned)
        });
        let session = session_cookie.and_then(|c| {
            let key = sha256(c.as_bytes());
            lock(&self.sessions).remove(&key)
        });
        if let Some(s) = &session {
            let clients = self.store.id_grants_end_session(&s.sid).await?;
            for c in clients {
                if let Some(client) = self.client(&c) {
                    self.backchannel_logout(&client, &s.authn.account_id, &s.sid)
                        .await;
                }
            }
        }
        let target = match (hint_client, post_logout_redirect_uri) {
            (Some(c), Some(uri)) => self
                .client(&c)
                .filter(|cl| cl.reg.post_logout_redirect_uris.iter().any(|u| u == uri))
                .and_then(|_| {
                    let mut url = url::Url::parse(uri).ok()?;
                    if let Some(s) = state {
                        url.query_pairs_mut().append_pair("state", s);
                    }
                    Some(url.to_string())
                }),
            _ => None,
        };
        Ok(target)
    }

    async fn backchannel_logout(&self, client: &Client, account_id: &str, sid: &str) {
        let Some(uri) = &client.reg.backchannel_logout_uri else {
            return;
        };
        let t = now();
        let token = match self.sign(
            "logout+jwt",
            &json!({
                "iss": self.issuer(), "aud": client.reg.client_id, "iat": t, "exp": t + 120,
                "jti": random_token()[..22], "sub": self.subject(client, account_id), "sid": sid,
                "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
            }),
        ) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "logout token");
                return;
            }
        };
        let result = self
            .http
            .post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("logout_token={token}"))
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => {
                tracing::info!(client_id = %client.reg.client_id, "back-channel logout delivered");
            }
            Ok(r) => {
                tracing::warn!(client_id = %client.reg.client_id, status = %r.status(), "back-channel logout refused")
            }
            Err(e) => {
                tracing::warn!(client_id = %client.reg.client_id, error = %e, "back-channel logout failed")
            }
        }
    }

    /// The name of a client for pages, in `lang`.
    pub fn client_name(&self, client_id: &str, lang: &str) -> String {
        self.client(client_id)
            .map(|c| {
                if lang == "en" {
                    c.reg.client_name_en
                } else {
                    c.reg.client_name_mn
                }
            })
            .unwrap_or_else(|| client_id.to_owned())
    }
}

/// Splits `GRANT.GENERATION.SECRET`.
fn parse_refresh(token: &str) -> Option<(&str, i64, &str)> {
    let mut p = token.split('.');
    let (Some(g), Some(n), Some(s), None) = (p.next(), p.next(), p.next(), p.next()) else {
        return None;
    };
    let n: i64 = n.parse().ok().filter(|n| *n >= 1)?;
    (g.len() == 22 && s.len() == 43).then_some((g, n, s))
}
