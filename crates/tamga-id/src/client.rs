//! Relying parties: what the operator registers (OIDC Dynamic Client Registration's metadata
//! names, RFC 7591 §2, so an integrator recognises them) and how a client proves who it is at
//! the token, PAR, revocation and introspection endpoints: `client_secret_basic` (RFC 6749
//! §2.3.1) or `private_key_jwt` (OIDC Core §9, RFC 7523 §2.2) with a one-time `jti`.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::credentials::{same, sha256};
use crate::jose::{JwkSet, Unverified};

/// How a client authenticates.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic with a generated secret.
    ClientSecretBasic,
    /// A JWT signed with the client's registered key.
    PrivateKeyJwt,
}

/// `sub` as the client sees it (OIDC Core §8).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    /// Different for each sector: clients cannot link a citizen across sectors.
    #[default]
    Pairwise,
    /// The same for every client.
    Public,
}

/// A registered client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClientRegistration {
    /// The client's id.
    pub client_id: String,
    /// Name shown to citizens, Mongolian.
    pub client_name_mn: String,
    /// Name shown to citizens, English.
    pub client_name_en: String,
    /// Exact redirect URIs (no wildcards, no prefix matching).
    pub redirect_uris: Vec<String>,
    /// Where the provider may send the browser after sign-out.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// How it authenticates.
    pub token_endpoint_auth_method: AuthMethod,
    /// Its public keys, for `private_key_jwt`.
    #[serde(default)]
    pub jwks: Option<JwkSet>,
    /// Pairwise (default) or public subjects.
    #[serde(default)]
    pub subject_type: SubjectType,
    /// Sector for pairwise subjects; default: the host of the first redirect URI.
    #[serde(default)]
    pub sector_identifier: Option<String>,
    /// Scopes it may ask for (beyond `openid`).
    #[serde(default)]
    pub allowed_scopes: Vec<String>,
    /// Whether it must use pushed authorization requests (RFC 9126 §6).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// OIDC Back-Channel Logout 1.0 endpoint.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// Whether it may introspect tokens issued to other clients (a resource server).
    #[serde(default)]
    pub introspect_any: bool,
}

impl ClientRegistration {
    /// Checks the registration before it is stored.
    pub fn validate(&self) -> Result<(), String> {
        if self.client_id.is_empty()
            || self.client_id.len() > 128
            || !self
                .client_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err("client_id: 1-128 characters of A-Z a-z 0-9 - _ .".into());
        }
        if self.redirect_uris.is_empty() {
            return Err("redirect_uris: at least one".into());
        }
        for u in self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
            .chain(&self.backchannel_logout_uri)
        {
            let url = url::Url::parse(u).map_err(|e| format!("{u}: {e}"))?;
            if url.fragment().is_some() {
                return Err(format!("{u}: a redirect URI has no fragment"));
            }
            if !matches!(url.scheme(), "https" | "http") {
                return Err(format!("{u}: https (or http for local tests) only"));
            }
        }
        if self.token_endpoint_auth_method == AuthMethod::PrivateKeyJwt
            && self.jwks.as_ref().is_none_or(|j| j.keys.is_empty())
        {
            return Err("private_key_jwt needs jwks".into());
        }
        Ok(())
    }

    /// The sector pairwise subjects are computed for.
    pub fn sector(&self) -> String {
        self.sector_identifier.clone().unwrap_or_else(|| {
            self.redirect_uris
                .first()
                .and_then(|u| url::Url::parse(u).ok())
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| self.client_id.clone())
        })
    }
}

/// A client as the provider holds it.
#[derive(Debug, Clone)]
pub struct Client {
    /// Its registration.
    pub reg: ClientRegistration,
    /// SHA-256 of its secret (`client_secret_basic`).
    pub secret_hash: Option<Vec<u8>>,
}

/// Why client authentication failed (RFC 6749 §5.2 `invalid_client`; the detail is logged,
/// the client sees only `invalid_client`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientAuthError {
    /// No credentials, or two kinds at once.
    #[error("no client authentication, or more than one method")]
    Missing,
    /// Unknown client.
    #[error("unknown client")]
    Unknown,
    /// The method is not the one registered.
    #[error("client must authenticate with {0:?}")]
    WrongMethod(AuthMethod),
    /// Wrong secret.
    #[error("wrong client secret")]
    Secret,
    /// The assertion is bad.
    #[error("client assertion: {0}")]
    Assertion(String),
}

/// The credentials a request presented.
#[derive(Debug, Default)]
pub struct Presented {
    /// From `Authorization: Basic`.
    pub basic: Option<(String, String)>,
    /// `client_assertion_type`.
    pub assertion_type: Option<String>,
    /// `client_assertion`.
    pub assertion: Option<String>,
    /// `client_id` form parameter.
    pub client_id: Option<String>,
}

/// Parses `Authorization: Basic` (RFC 6749 §2.3.1: both parts form-urlencoded).
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    use base64::Engine;
    let b64 = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

/// One-time `jti`s of client assertions, kept until the assertion expires.
#[derive(Default)]
pub struct JtiCache(Mutex<HashMap<String, i64>>);

impl JtiCache {
    /// `false` if `jti` was seen (and has not expired).
    pub fn first_use(&self, client: &str, jti: &str, exp: i64, now: i64) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 100_000 {
            m.retain(|_, e| *e >= now);
        }
        let key = format!("{client}\u{0}{jti}");
        if m.get(&key).is_some_and(|e| *e >= now) {
            return false;
        }
        m.insert(key, exp);
        true
    }
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Authenticates the client of a request; `audiences` are the values `aud` may take.
pub fn authenticate<'a>(
    presented: &Presented,
    lookup: impl Fn(&str) -> Option<&'a Client>,
    audiences: &[&str],
    jtis: &JtiCache,
    now: i64,
) -> Result<&'a Client, ClientAuthError> {
    match (&presented.basic, &presented.assertion) {
        (Some((id, secret)), None) => {
            let client = lookup(id).ok_or(ClientAuthError::Unknown)?;
            if client.reg.token_endpoint_auth_method != AuthMethod::ClientSecretBasic {
                return Err(ClientAuthError::WrongMethod(
                    client.reg.token_endpoint_auth_method,
                ));
            }
            if presented.client_id.as_ref().is_some_and(|c| c != id) {
                return Err(ClientAuthError::Missing);
            }
            let ok = client
                .secret_hash
                .as_ref()
                .is_some_and(|h| same(h, &sha256(secret.as_bytes())));
            if ok {
                Ok(client)
            } else {
                Err(ClientAuthError::Secret)
            }
        }
        (None, Some(jwt)) => {
            if presented.assertion_type.as_deref() != Some(ASSERTION_TYPE) {
                return Err(ClientAuthError::Assertion(format!(
                    "client_assertion_type must be {ASSERTION_TYPE}"
                )));
            }
            let bad = |m: &str| ClientAuthError::Assertion(m.into());
            let unverified = Unverified::parse(jwt).map_err(|e| bad(&e.to_string()))?;
            let iss = unverified
                .claims
                .get("iss")
                .and_then(|v| v.as_str())
                .ok_or_else(|| bad("no iss"))?
                .to_owned();
            let client = lookup(&iss).ok_or(ClientAuthError::Unknown)?;
            if client.reg.token_endpoint_auth_method != AuthMethod::PrivateKeyJwt {
                return Err(ClientAuthError::WrongMethod(
                    client.reg.token_endpoint_auth_method,
                ));
            }
            let jwks = client.reg.jwks.clone().unwrap_or_default();
            let claims = unverified.verify(&jwks).map_err(|e| bad(&e.to_string()))?;
            let s = |k: &str| claims.get(k).and_then(|v| v.as_str());
            if s("sub") != Some(iss.as_str()) {
                return Err(bad("sub must equal iss (the client_id)"));
            }
            if presented.client_id.as_ref().is_some_and(|c| *c != iss) {
                return Err(bad("client_id differs from the assertion's issuer"));
            }
            let aud_ok = match claims.get("aud") {
                Some(serde_json::Value::String(a)) => audiences.contains(&a.as_str()),
                Some(serde_json::Value::Array(list)) => list
                    .iter()
                    .any(|a| a.as_str().is_some_and(|a| audiences.contains(&a))),
                _ => false,
            };
            if !aud_ok {
                return Err(bad("aud is not this provider's issuer or endpoint"));
            }
            let exp = claims
                .get("exp")
                .and_then(|v| v.as_i64())
                .ok_or_else(|| bad("no exp"))?;
            if exp < now - 30 {
                return Err(bad("expired"));
            }
            // Libraries default to an hour (authlib, nimbus); longer-lived assertions are
            // refused so the jti cache stays bounded.
            if exp > now + 3660 {
                return Err(bad("exp more than an hour ahead"));
            }
            if claims
                .get("iat")
                .and_then(|v| v.as_i64())
                .is_some_and(|iat| iat > now + 60)
            {
                return Err(bad("issued in the future"));
            }
            let jti = s("jti").ok_or_else(|| bad("no jti"))?;
            if !jtis.first_use(&iss, jti, exp + 30, now) {
                return Err(bad("jti used before (replayed assertion)"));
            }
            Ok(client)
        }
        _ => Err(ClientAuthError::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_form_decoded() {
        use base64::Engine;
        let h = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("my%20app:s%3Acret")
        );
        assert_eq!(
            parse_basic(&h),
            Some(("my app".to_owned(), "s:cret".to_owned()))
        );
        assert_eq!(parse_basic("Bearer x"), None);
    }

    #[test]
    fn jti_once() {
        let c = JtiCache::default();
        assert!(c.first_use("a", "1", 100, 50));
        assert!(!c.first_use("a", "1", 100, 60));
        assert!(c.first_use("b", "1", 100, 60));
        assert!(
            c.first_use("a", "1", 200, 150),
            "expired entries are forgotten"
        );
    }
}
