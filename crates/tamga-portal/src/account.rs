//! The citizen's side of the portal: sign-in through the identity role as an ordinary OpenID
//! Connect relying party (code flow, PKCE S256, `state`, `nonce`, RFC 9207 `iss` check, ID
//! token verified against the provider's JWKS), and "who used my data": the data tracker's
//! entries (`findUsage`) fetched over the exchange from each organisation that holds personal
//! data, newest first.
//!
//! Sign-in flows and portal sessions are kept in memory (a restart signs citizens out).

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use serde::Deserialize;
use serde_json::Value;
use tamga_id::credentials::{b64_hash, random_token, sha256};
use tamga_id::jose::{JwkSet, Unverified};

/// How the portal signs citizens in.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The provider's issuer.
    pub issuer: String,
    /// The portal's client id.
    pub client_id: String,
    /// Its secret (`client_secret_basic`).
    pub client_secret: String,
    /// `…/portal/callback`.
    pub redirect_uri: String,
    /// The level of assurance required (`acr_values`), checked in the ID token; the back
    /// office asks for high (a certificate sign-in).
    pub acr: Option<String>,
}

/// How the portal reaches the data trackers.
#[derive(Debug, Clone)]
pub struct TrackerSettings {
    /// The portal operator's consumer gateway (`http://…`).
    pub consumer_url: String,
    /// Its `X-Road-Client` (`MN/GOV/…/citizen-portal`).
    pub client: String,
    /// The `findUsage` services to ask (`MN/GOV/9000001/civil-registry/findUsage`, …).
    pub services: Vec<String>,
    /// The ledger holding the `access` log, for receipt links.
    pub ledger_url: Option<String>,
}

/// A signed-in citizen.
#[derive(Debug, Clone)]
pub struct Citizen {
    /// Registration number.
    pub registration_number: String,
    /// Name.
    pub name: String,
    /// The session's anti-forgery token, put in every form (compared in constant time).
    pub csrf: String,
    expires: i64,
}

impl Citizen {
    /// Whether a form's anti-forgery token is this session's.
    pub fn csrf_ok(&self, presented: &str) -> bool {
        tamga_id::credentials::same(self.csrf.as_bytes(), presented.as_bytes())
    }
}

struct Flow {
    next: String,
    state: String,
    nonce: String,
    verifier: String,
    created: i64,
}

/// One use of the citizen's data, as a tracker reported it.
#[derive(Debug, Clone, Deserialize)]
pub struct Usage {
    /// When (RFC 3339).
    pub at: String,
    /// Organisation (member id).
    pub organisation: String,
    /// Its name, Mongolian.
    pub organisation_mn: String,
    /// Its name, English.
    pub organisation_en: String,
    /// Service.
    pub service: String,
    /// Purpose.
    pub purpose: String,
    /// Legal basis.
    pub legal_basis: String,
    /// The commitment in the ledger's `access` log.
    pub commitment: String,
    /// Its index there, once committed.
    #[serde(default)]
    pub access_index: Option<u64>,
}

/// The portal's account state.
#[derive(Default)]
pub struct Accounts {
    store: RwLock<Option<tamga_store::Store>>,
    validator: RwLock<Option<String>>,
    oidc: RwLock<Option<OidcSettings>>,
    tracker: RwLock<Option<TrackerSettings>>,
    once_only: RwLock<Vec<String>>,
    flows: Mutex<HashMap<[u8; 32], Flow>>,
    sessions: Mutex<HashMap<[u8; 32], Citizen>>,
    http: reqwest::Client,
}

fn now() -> i64 {
    tamga_store::now_ms() / 1000
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn pct(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Percent-encoding for header values and path segments (RFC 3986 §2.1: everything but the
/// unreserved characters, spaces as `%20`); the form encoding's `+` would reach the data
/// tracker as a literal plus.
pub(crate) fn pct_header(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Accounts {
    /// Where signed documents are validated (`…/api/v1/validate`).
    pub fn set_validator(&self, url: &str) {
        *self.validator.write().unwrap_or_else(|p| p.into_inner()) = Some(url.to_owned());
    }

    /// Validates a signed file with the node's validation service; the ETSI TS 119 102-2 style
    /// report as JSON.
    pub async fn validate(&self, file_name: &str, content: Vec<u8>) -> Result<Value, String> {
        let url = self
            .validator
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or("validation is not configured")?;
        let part = reqwest::multipart::Part::bytes(content).file_name(file_name.to_owned());
        let r = self
            .http
            .post(url)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .map_err(|e| format!("validation service: {e}"))?;
        r.json()
            .await
            .map_err(|e| format!("validation service: {e}"))
    }

    /// Gives the portal its database (the document wallet).
    pub fn set_store(&self, s: tamga_store::Store) {
        *self.store.write().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }

    pub(crate) fn store(&self) -> Result<tamga_store::Store, String> {
        self.store
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| "the wallet has no database".to_owned())
    }

    /// Puts a document issued to `owner` into their wallet; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_document(
        &self,
        owner: &str,
        title_mn: &str,
        title_en: &str,
        media_type: &str,
        file_name: &str,
        issuer: &str,
        content: &[u8],
    ) -> Result<String, String> {
        let id = random_token()[..22].to_owned();
        self.store()?
            .wallet_put(
                &tamga_store::WalletDocument {
                    document_id: id.clone(),
                    owner: owner.to_owned(),
                    title_mn: title_mn.to_owned(),
                    title_en: title_en.to_owned(),
                    media_type: media_type.to_owned(),
                    file_name: file_name.to_owned(),
                    sha256: sha256(content).to_vec(),
                    issuer: issuer.to_owned(),
                    created_at_ms: tamga_store::now_ms(),
                },
                content,
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(id)
    }

    /// The citizen's documents with their share links.
    pub async fn wallet(
        &self,
        citizen: &Citizen,
    ) -> Result<Vec<(tamga_store::WalletDocument, Vec<tamga_store::Share>)>, String> {
        let store = self.store()?;
        let docs = store
            .wallet_of(&citizen.registration_number)
            .await
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for d in docs {
            let shares = store
                .shares_of(&citizen.registration_number, &d.document_id)
                .await
                .map_err(|e| e.to_string())?;
            out.push((d, shares));
        }
        Ok(out)
    }

    /// One of the citizen's documents (never another citizen's).
    pub async fn download(
        &self,
        citizen: &Citizen,
        id: &str,
    ) -> Result<Option<(tamga_store::WalletDocument, Vec<u8>)>, String> {
        self.store()?
            .wallet_get(&citizen.registration_number, id)
            .await
            .map_err(|e| e.to_string())
    }

    /// Shares one of the citizen's documents for `days` (1–30); returns the link token, shown
    /// once (only its hash is kept).
    pub async fn share(
        &self,
        citizen: &Citizen,
        id: &str,
        recipient: &str,
        days: i64,
    ) -> Result<String, String> {
        if !(1..=30).contains(&days) {
            return Err("days: 1 to 30".into());
        }
        let recipient = recipient.trim();
        if recipient.is_empty() || recipient.chars().count() > 100 {
            return Err("recipient: 1 to 100 characters".into());
        }
        let store = self.store()?;
        if store
            .wallet_get(&citizen.registration_number, id)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            return Err("no such document".into());
        }
        let token = random_token();
        store
            .share_put(
                &random_token()[..16],
                &sha256(token.as_bytes()),
                id,
                &citizen.registration_number,
                recipient,
                tamga_store::now_ms() + days * 86_400_000,
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(token)
    }

    /// Revokes one of the citizen's share links.
    pub async fn revoke_share(&self, citizen: &Citizen, share_id: &str) -> Result<bool, String> {
        self.store()?
            .share_revoke(&citizen.registration_number, share_id)
            .await
            .map_err(|e| e.to_string())
    }

    /// Opens a shared link (recorded); `None` when unknown, expired or revoked.
    pub async fn open_share(
        &self,
        token: &str,
    ) -> Result<Option<(tamga_store::WalletDocument, Vec<u8>)>, String> {
        self.store()?
            .share_open(&sha256(token.as_bytes()))
            .await
            .map_err(|e| e.to_string())
    }

    /// The catalogue services that can be applied for online.
    pub fn set_once_only(&self, ids: Vec<String>) {
        *self.once_only.write().unwrap_or_else(|p| p.into_inner()) = ids;
    }

    /// Whether a catalogue service can be applied for online.
    pub fn is_once_only(&self, id: &str) -> bool {
        self.once_only
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|s| s == id)
    }

    /// Turns on sign-in.
    pub fn set_oidc(&self, s: OidcSettings) {
        crate::http::allow_form_action_to(&s.issuer);
        *self.oidc.write().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }

    /// Turns on the data tracker.
    pub fn set_tracker(&self, s: TrackerSettings) {
        *self.tracker.write().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }

    pub(crate) fn tracker_settings(&self) -> Option<TrackerSettings> {
        self.tracker
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn oidc_settings(&self) -> Option<OidcSettings> {
        self.oidc()
    }

    fn oidc(&self) -> Option<OidcSettings> {
        self.oidc.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Starts a sign-in: the flow cookie to set and where to send the browser.
    pub fn start(&self, lang: &str, next: Option<&str>) -> Option<(String, String)> {
        let o = self.oidc()?;
        let cookie = random_token();
        let flow = Flow {
            // Only a path on this site (no scheme, no `//host`): never an open redirect.
            next: next
                .filter(|n| {
                    n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.is_ascii()
                })
                .unwrap_or("")
                .to_owned(),
            state: random_token(),
            nonce: random_token(),
            verifier: random_token(),
            created: now(),
        };
        let url = format!(
            "{}/authorize?client_id={}&response_type=code&scope=openid%20profile%20registration_number\
             &redirect_uri={}&state={}&nonce={}&code_challenge={}&code_challenge_method=S256&ui_locales={lang}{}",
            o.issuer,
            pct(&o.client_id),
            pct(&o.redirect_uri),
            flow.state,
            flow.nonce,
            b64_hash(flow.verifier.as_bytes()),
            o.acr
                .as_deref()
                .map(|a| format!("&acr_values={}", pct(a)))
                .unwrap_or_default(),
        );
        let mut flows = lock(&self.flows);
        let t = now();
        flows.retain(|_, f| f.created + 600 > t);
        flows.insert(sha256(cookie.as_bytes()), flow);
        Some((cookie, url))
    }

    /// Finishes a sign-in from the redirect's query (`code`, `state`, `iss`, or `error`).
    pub async fn finish_redirect(
        &self,
        flow_cookie: Option<&str>,
        code: Option<&str>,
        state: Option<&str>,
        iss: Option<&str>,
        error: Option<&str>,
    ) -> Result<(String, String), String> {
        match (code, state, error) {
            (Some(code), Some(state), None) => self.finish(flow_cookie, code, state, iss).await,
            (_, _, Some(e)) => Err(format!("the identity provider answered {e}")),
            _ => Err("code or state missing".into()),
        }
    }

    /// Finishes a sign-in; returns the session cookie and where the citizen was going.
    pub async fn finish(
        &self,
        flow_cookie: Option<&str>,
        code: &str,
        state: &str,
        iss: Option<&str>,
    ) -> Result<(String, String), String> {
        let o = self.oidc().ok_or("sign-in is not configured")?;
        let flow = flow_cookie
            .and_then(|c| lock(&self.flows).remove(&sha256(c.as_bytes())))
            .ok_or("the sign-in expired or started in another browser")?;
        if !tamga_id::credentials::same(flow.state.as_bytes(), state.as_bytes()) {
            return Err("state does not match".into());
        }
        // RFC 9207: the answer must come from the provider the portal asked.
        if iss != Some(o.issuer.as_str()) {
            return Err("the response names another issuer".into());
        }
        let token: Value = self
            .http
            .post(format!("{}/token", o.issuer))
            .basic_auth(&o.client_id, Some(&o.client_secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
                pct(code),
                pct(&o.redirect_uri),
                flow.verifier
            ))
            .send()
            .await
            .map_err(|e| format!("token endpoint: {e}"))?
            .json()
            .await
            .map_err(|e| format!("token endpoint: {e}"))?;
        let id_token = token["id_token"]
            .as_str()
            .ok_or_else(|| format!("no ID token: {}", token["error"]))?;
        let jwks: JwkSet = self
            .http
            .get(format!("{}/jwks", o.issuer))
            .send()
            .await
            .map_err(|e| format!("JWKS: {e}"))?
            .json()
            .await
            .map_err(|e| format!("JWKS: {e}"))?;
        let claims = Unverified::parse(id_token)
            .and_then(|u| u.verify(&jwks))
            .map_err(|e| format!("ID token: {e}"))?;
        let s = |k: &str| claims.get(k).and_then(Value::as_str);
        if s("iss") != Some(o.issuer.as_str())
            || s("aud") != Some(o.client_id.as_str())
            || s("nonce") != Some(flow.nonce.as_str())
            || claims
                .get("exp")
                .and_then(Value::as_i64)
                .is_none_or(|e| e <= now())
        {
            return Err("ID token: wrong issuer, audience, nonce or expired".into());
        }
        if let Some(acr) = &o.acr
            && s("acr") != Some(acr.as_str())
        {
            return Err(format!("this service needs a sign-in at level {acr}"));
        }
        let access = token["access_token"].as_str().unwrap_or_default();
        let info: Value = self
            .http
            .get(format!("{}/userinfo", o.issuer))
            .bearer_auth(access)
            .send()
            .await
            .map_err(|e| format!("userinfo: {e}"))?
            .json()
            .await
            .map_err(|e| format!("userinfo: {e}"))?;
        let reg = info["registration_number"]
            .as_str()
            .ok_or("the registration number was not released")?
            .to_owned();
        let citizen = Citizen {
            registration_number: reg,
            name: info["name"].as_str().unwrap_or_default().to_owned(),
            csrf: random_token(),
            expires: now() + 3600,
        };
        let cookie = random_token();
        let mut sessions = lock(&self.sessions);
        let t = now();
        sessions.retain(|_, c| c.expires > t);
        sessions.insert(sha256(cookie.as_bytes()), citizen);
        Ok((cookie, flow.next))
    }

    /// The citizen of a session cookie.
    pub fn citizen(&self, cookie: Option<&str>) -> Option<Citizen> {
        let c = cookie?;
        let t = now();
        lock(&self.sessions)
            .get(&sha256(c.as_bytes()))
            .filter(|s| s.expires > t)
            .cloned()
    }

    /// Ends a session.
    pub fn sign_out(&self, cookie: Option<&str>) {
        if let Some(c) = cookie {
            lock(&self.sessions).remove(&sha256(c.as_bytes()));
        }
    }

    /// Where an `access`-log receipt for `index` is served, when the ledger is known.
    pub fn receipt_url(&self, index: u64) -> Option<String> {
        let t = self.tracker.read().unwrap_or_else(|p| p.into_inner());
        let base = t.as_ref()?.ledger_url.as_ref()?;
        Some(format!(
            "{}/ledger/access/receipt?index={index}",
            base.trim_end_matches('/')
        ))
    }

    /// Every recorded use of the citizen's data, newest first; organisations that could not be
    /// asked are named in the second list.
    pub async fn usage(&self, citizen: &Citizen) -> (Vec<Usage>, Vec<String>) {
        let Some(t) = self
            .tracker
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        else {
            return (vec![], vec!["the data tracker is not configured".into()]);
        };
        let mut all = Vec::new();
        let mut failed = Vec::new();
        for service in &t.services {
            let r = self
                .http
                .get(format!(
                    "{}/r1/{service}",
                    t.consumer_url.trim_end_matches('/')
                ))
                .header("X-Road-Client", &t.client)
                .header(
                    "X-Tamga-Data-Subject",
                    pct_header(&citizen.registration_number),
                )
                .header(
                    "X-Tamga-Purpose",
                    pct_header(
                        "Иргэн өөрийн мэдээллийн ашиглалтыг харах / citizen views use of own data",
                    ),
                )
                .header(
                    "X-Tamga-Legal-Basis",
                    pct_header(
                        "Хувь хүний мэдээлэл хамгаалах тухай хууль / Personal Data Protection Law",
                    ),
                )
                .send()
                .await;
            match r {
                Ok(r) if r.status().is_success() => match r.json::<Vec<Usage>>().await {
                    Ok(list) => all.extend(list),
                    Err(e) => failed.push(format!("{service}: {e}")),
                },
                Ok(r) => failed.push(format!(
                    "{service}: {} {}",
                    r.status(),
                    r.headers()
                        .get("x-road-error")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                )),
                Err(e) => failed.push(format!("{service}: {e}")),
            }
        }
        all.sort_by(|a, b| b.at.cmp(&a.at));
        (all, failed)
    }
}
