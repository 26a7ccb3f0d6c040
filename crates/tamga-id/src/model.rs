//! The provider's vocabulary: levels of assurance with their `acr` values (eIDAS LoA URIs,
//! Commission Implementing Regulation (EU) 2015/1502) and `amr` values (RFC 8176), the
//! authorization request as validated (OIDC Core §3.1.2.1, PKCE RFC 7636, PAR RFC 9126),
//! and OAuth error answers (RFC 6749 §4.1.2.1, §5.2).

use serde::{Deserialize, Serialize};

/// A level of assurance, ordered: a higher level satisfies a request for a lower one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loa {
    /// Password and TOTP.
    Low,
    /// A passkey (WebAuthn, user verification).
    Substantial,
    /// An ID-card authentication certificate over mutual TLS, OCSP-checked.
    High,
}

impl Loa {
    /// Every level, lowest first.
    pub const ALL: [Loa; 3] = [Loa::Low, Loa::Substantial, Loa::High];

    /// The `acr` value.
    pub fn acr(self) -> &'static str {
        match self {
            Loa::Low => "http://eidas.europa.eu/LoA/low",
            Loa::Substantial => "http://eidas.europa.eu/LoA/substantial",
            Loa::High => "http://eidas.europa.eu/LoA/high",
        }
    }

    /// The level of an `acr` value.
    pub fn from_acr(acr: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.acr() == acr)
    }
}

/// The party a citizen acts for under a mandate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Represented {
    /// The mandate.
    pub mandate_id: String,
    /// `person` or `organization`.
    pub kind: String,
    /// Registration number or state register number.
    pub id: String,
    /// Name.
    pub name: String,
    /// `parent`, `guardian`, `legal-representative` or `employee`.
    pub basis: String,
}

/// A sign-in that happened: who, how, when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Authn {
    /// The account.
    pub account_id: String,
    /// Level reached.
    pub loa: Loa,
    /// RFC 8176 methods.
    pub amr: Vec<String>,
    /// When (Unix seconds).
    pub auth_time: i64,
}

/// What `prompt` asked for.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: no page may be shown.
    pub none: bool,
    /// `login`: sign in again.
    pub login: bool,
    /// `consent`: ask again.
    pub consent: bool,
}

/// A validated authorization request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Authorization {
    /// Client.
    pub client_id: String,
    /// Exactly one of the client's registered redirect URIs.
    pub redirect_uri: String,
    /// Scopes granted to be asked (`openid` first).
    pub scopes: Vec<String>,
    /// Client state, returned as is.
    pub state: Option<String>,
    /// Replay protection for the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// Lowest level acceptable.
    pub min_loa: Loa,
    /// Maximum authentication age, seconds.
    pub max_age: Option<i64>,
    /// `prompt`.
    pub prompt: Prompt,
    /// Preferred language (`mn` or `en`).
    pub lang: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// A remote-signing authorization, with `scope=credential`.
    #[serde(default)]
    pub credential: Option<CredentialRequest>,
}

/// The raw request parameters (query, form or PAR body), all optional until validated.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AuthParams {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `response_type`.
    pub response_type: Option<String>,
    /// `response_mode`.
    pub response_mode: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
    /// `max_age`.
    pub max_age: Option<String>,
    /// `acr_values`.
    pub acr_values: Option<String>,
    /// `ui_locales`.
    pub ui_locales: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `request_uri` (from PAR).
    pub request_uri: Option<String>,
    /// `request` (request objects are not supported).
    pub request: Option<String>,
    /// CSC: the credential to authorize (`scope=credential`).
    #[serde(rename = "credentialID")]
    pub credential_id: Option<String>,
    /// CSC: how many signatures.
    #[serde(rename = "numSignatures")]
    pub num_signatures: Option<String>,
    /// CSC: the hashes to sign, base64url, comma-separated.
    pub hashes: Option<String>,
    /// CSC: the hash algorithm's OID.
    #[serde(rename = "hashAlgorithmOID")]
    pub hash_algorithm_oid: Option<String>,
    /// CSC: what is signed, shown to the citizen.
    pub description: Option<String>,
}

/// A remote-signing authorization asked for (CSC API v2 §8.4.2, `scope=credential`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CredentialRequest {
    /// The credential.
    pub credential_id: String,
    /// The hashes, as bytes in base64url.
    pub hashes: Vec<String>,
    /// Hash algorithm OID.
    pub hash_oid: String,
    /// What is signed.
    pub description: String,
}

/// An OAuth/OIDC error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    /// RFC 6749 error code.
    pub error: &'static str,
    /// Human-readable detail (never secrets).
    pub description: String,
    /// HTTP status for endpoint errors.
    pub status: u16,
}

impl OAuthError {
    /// A 400 error.
    pub fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
            status: 400,
        }
    }

    /// `invalid_client`, 401.
    pub fn client(description: impl Into<String>) -> Self {
        Self {
            error: "invalid_client",
            description: description.into(),
            status: 401,
        }
    }

    /// `server_error`, 500 (storage failures).
    pub fn server(description: impl Into<String>) -> Self {
        Self {
            error: "server_error",
            description: description.into(),
            status: 500,
        }
    }
}

impl From<tamga_store::StoreError> for OAuthError {
    fn from(e: tamga_store::StoreError) -> Self {
        tracing::error!(error = %e, "identity storage");
        Self::server("storage unavailable")
    }
}

/// The scopes Tamga knows, with what each releases.
pub const SCOPES: [(&str, &str, &str); 7] = [
    ("openid", "Таны нэвтрэлт", "That you signed in"),
    (
        "profile",
        "Овог, нэр, төрсөн огноо",
        "Your names and date of birth",
    ),
    (
        "registration_number",
        "Регистрийн дугаар",
        "Your registration number",
    ),
    (
        "offline_access",
        "Таныг байхгүй үед хандах",
        "Access while you are away",
    ),
    ("representation", "Хэний өмнөөс", "Whom you act for"),
    (
        "service",
        "Таны гарын үсгийн гэрчилгээнүүдийг харах",
        "See your signing certificates",
    ),
    (
        "credential",
        "Таны нэрийн өмнөөс гарын үсэг зурах",
        "Sign in your name",
    ),
];

/// Whether a scope needs the citizen's consent (anything beyond `openid`).
pub fn needs_consent(scope: &str) -> bool {
    scope != "openid"
}

/// Today's date, `YYYY-MM-DD` (UTC).
pub fn today() -> String {
    tamga_http::html::date_of_ms(tamga_store::now_ms())
}

/// Age in whole years on `on` of someone born on `birth` (both `YYYY-MM-DD`).
pub fn age_on(birth: &str, on: &str) -> Option<i64> {
    let parse = |s: &str| -> Option<(i64, i64, i64)> {
        let mut p = s.split('-');
        let y = p.next()?.parse().ok()?;
        let m = p.next()?.parse().ok()?;
        let d = p.next()?.parse().ok()?;
        (p.next().is_none() && (1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
    };
    let (by, bm, bd) = parse(birth)?;
    let (y, m, d) = parse(on)?;
    let mut age = y - by;
    if (m, d) < (bm, bd) {
        age -= 1;
    }
    (age >= 0).then_some(age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(age_on("2010-11-28", "2026-11-27"), Some(15));
        assert_eq!(age_on("2010-11-27", "2026-11-27"), Some(16));
        assert_eq!(age_on("2030-01-01", "2026-11-27"), None);
        assert_eq!(age_on("2010-13-01", "2026-11-27"), None);
    }
}
