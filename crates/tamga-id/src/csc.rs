//! Remote signing: the Cloud Signature Consortium API (v2.0.0.2, with the v1.0.4 field names
//! many clients — pyHanko among them — still send): `info`, `credentials/list`,
//! `credentials/info` and `signatures/signHash`, served under `/csc/v2/` and `/csc/v1/`.
//!
//! Authorization is OAuth 2.0 through this provider (CSC v2 §8.4): a service token (scope
//! `service`) lists and describes the citizen's credentials; each signature batch needs a
//! credential token (scope `credential`) from an authorization request naming the credential
//! and the exact hashes (SCAL 2), which the citizen confirms on a page showing what is signed,
//! after a sign-in at the configured level. That token is the SAD: single-use, for those
//! hashes only.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};
use tamga_keys::SignatureAlgorithm;

use crate::model::OAuthError;
use crate::provider::Provider;

/// SHA-256.
pub const SHA256_OID: &str = "2.16.840.1.101.3.4.2.1";
/// SHA-384.
pub const SHA384_OID: &str = "2.16.840.1.101.3.4.2.2";
/// ecdsa-with-SHA256 (RFC 5758).
pub const ECDSA_SHA256_OID: &str = "1.2.840.10045.4.3.2";
/// ecdsa-with-SHA384.
pub const ECDSA_SHA384_OID: &str = "1.2.840.10045.4.3.3";
/// id-ecPublicKey (CSC v2 names the key algorithm and the hash separately).
pub const EC_PUBLIC_KEY_OID: &str = "1.2.840.10045.2.1";
/// Most signatures one authorization may cover.
pub const MAX_SIGNATURES: usize = 1000;

/// The digest length of a hash algorithm OID.
pub fn hash_len(oid: &str) -> Option<usize> {
    match oid {
        SHA256_OID => Some(32),
        SHA384_OID => Some(48),
        _ => None,
    }
}

/// Decodes a hash given as base64 or base64url, padded or not.
pub fn decode_hash(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let t = text.trim();
    [&URL_SAFE_NO_PAD, &URL_SAFE, &STANDARD, &STANDARD_NO_PAD]
        .iter()
        .find_map(|e| e.decode(t).ok())
}

fn csc_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn from_oauth(e: OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    csc_error(status, e.error, &e.description)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

fn scopes(claims: &serde_json::Map<String, Value>) -> Vec<String> {
    claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(' ')
        .map(str::to_owned)
        .collect()
}

/// The account behind a token that carries `scope`.
async fn account_of(
    p: &Provider,
    token: Option<&str>,
    scope: &str,
) -> Result<(String, serde_json::Map<String, Value>), Response> {
    let token = token.ok_or_else(|| {
        csc_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "a Bearer access token is required",
        )
    })?;
    let claims = p.check_access_token(token).await.map_err(from_oauth)?;
    if !scopes(&claims).iter().any(|s| s == scope) {
        return Err(csc_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            &format!("the token lacks scope {scope}"),
        ));
    }
    let gid = claims.get("gid").and_then(Value::as_str).unwrap_or("");
    let account = p
        .grant_account(gid)
        .await
        .map_err(from_oauth)?
        .ok_or_else(|| csc_error(StatusCode::UNAUTHORIZED, "invalid_token", "no account"))?;
    Ok((account.account_id, claims))
}

#[utoipa::path(post, path = "/csc/v2/info", tag = "remote-signing",
    summary = "CSC service information / Алсын гарын үсгийн үйлчилгээ",
    responses((status = 200, description = "CSC API v2 info (also at /csc/v1/info)")))]
async fn info(State(p): State<Arc<Provider>>) -> Response {
    Json(json!({
        "specs": "2.0.0.2",
        "name": "Tamga remote signing",
        "logo": "",
        "region": "MN",
        "lang": "mn",
        "description": "Иргэний гарын үсгийн түлхүүр HSM-д / Citizens' signing keys in an HSM",
        "authType": ["oauth2code"],
        "oauth2": p.issuer(),
        "oauth2Issuer": p.issuer(),
        "methods": ["credentials/list", "credentials/info", "signatures/signHash"],
    }))
    .into_response()
}

#[utoipa::path(post, path = "/csc/v2/credentials/list", tag = "remote-signing",
    summary = "The citizen's signing credentials / Иргэний гарын үсгийн түлхүүрүүд",
    security(("bearer" = [])),
    responses((status = 200, description = "credentialIDs"), (status = 401, description = "no or bad token"), (status = 403, description = "scope service missing")))]
async fn list(State(p): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    let (account, _) = match account_of(&p, bearer(&headers), "service").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match p.store().id_credentials_of(&account).await {
        Ok(rows) => Json(json!({
            "credentialIDs": rows.iter().map(|r| r.credential_id.clone()).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => from_oauth(e.into()),
    }
}

#[utoipa::path(post, path = "/csc/v2/credentials/info", tag = "remote-signing",
    summary = "A credential's key, certificates and authorization mode / Түлхүүрийн мэдээлэл",
    security(("bearer" = [])),
    request_body(content_type = "application/json", description = "credentialID, certificates (none|single|chain)"),
    responses((status = 200, description = "key, cert, authMode oauth2code, SCAL 2, multisign"), (status = 400, description = "unknown credential")))]
async fn credential_info(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (account, _) = match account_of(&p, bearer(&headers), "service").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(id) = body.get("credentialID").and_then(Value::as_str) else {
        return csc_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "credentialID is missing",
        );
    };
    let row = match p.store().id_credential(id).await {
        Ok(Some(r)) if r.account_id == account => r,
        Ok(_) => {
            return csc_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "unknown credentialID",
            );
        }
        Err(e) => return from_oauth(e.into()),
    };
    let certs: Vec<String> = serde_json::from_str(&row.certificates).unwrap_or_default();
    let chain = body.get("certificates").and_then(Value::as_str);
    let certs: Vec<String> = match chain {
        Some("none") => vec![],
        Some("single") => certs.into_iter().take(1).collect(),
        _ => certs,
    };
    let mut cert = json!({ "status": "valid", "certificates": certs });
    if let Some(first) = certs_first(&row.certificates) {
        cert["subjectDN"] = json!(tamga_pki::name::display_name(first.subject()));
        cert["issuerDN"] = json!(tamga_pki::name::display_name(first.issuer()));
        cert["serialNumber"] = json!(hex::encode(first.serial()));
    }
    Json(json!({
        "description": row.description,
        "key": { "status": "enabled", "algo": [ECDSA_SHA256_OID, EC_PUBLIC_KEY_OID], "len": 256, "curve": "1.2.840.10045.3.1.7" },
        "cert": cert,
        "authMode": "oauth2code",
        "SCAL": "2",
        "multisign": MAX_SIGNATURES,
        "lang": "mn",
    }))
    .into_response()
}

fn certs_first(json: &str) -> Option<tamga_pki::ParsedCert> {
    let list: Vec<String> = serde_json::from_str(json).ok()?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(list.first()?)
        .ok()?;
    tamga_pki::ParsedCert::from_der(&der).ok()
}

/// `signatures/signHash`: the SAD (or the bearer token) must be a credential token for this
/// credential and these hashes; it is used up by this call.
#[utoipa::path(post, path = "/csc/v2/signatures/signHash", tag = "remote-signing",
    summary = "Sign hashes the citizen authorized / Баталгаажуулсан хэшүүдэд гарын үсэг зурах",
    security(("bearer" = [])),
    request_body(content_type = "application/json", description = "credentialID, SAD (the credential token), hashes|hash, hashAlgorithmOID|hashAlgo, signAlgo"),
    responses((status = 200, description = "signatures (base64 DER ECDSA)"), (status = 400, description = "hash not authorized, SAD used, unknown credential"), (status = 401, description = "bad SAD")))]
async fn sign_hash(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let s = |k: &str| body.get(k).and_then(Value::as_str);
    let Some(credential_id) = s("credentialID") else {
        return csc_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "credentialID is missing",
        );
    };
    // v2: `hashes`, `hashAlgorithmOID`; v1: `hash`, `hashAlgo`.
    let hashes: Vec<&str> = body
        .get("hashes")
        .or_else(|| body.get("hash"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if hashes.is_empty() || hashes.len() > MAX_SIGNATURES {
        return csc_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "hashes: 1 to 1000 values",
        );
    }
    let hash_oid = s("hashAlgorithmOID")
        .or_else(|| s("hashAlgo"))
        .unwrap_or(SHA256_OID);
    let sign_algo = s("signAlgo").unwrap_or(ECDSA_SHA256_OID);
    let algorithm = match (hash_oid, sign_algo) {
        (SHA256_OID, ECDSA_SHA256_OID | EC_PUBLIC_KEY_OID) => SignatureAlgorithm::EcdsaP256Sha256,
        _ => {
            return csc_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "signAlgo/hashAlgo: this credential signs ECDSA P-256 with SHA-256",
            );
        }
    };
    // The SAD is the credential token; some clients send it as the bearer token instead.
    let sad = s("SAD").or_else(|| bearer(&headers));
    let (account, claims) = match account_of(&p, sad, "credential").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let csc = claims.get("csc").cloned().unwrap_or(Value::Null);
    if csc["credentialID"].as_str() != Some(credential_id) {
        return csc_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the SAD authorizes another credential",
        );
    }
    let authorized: Vec<Vec<u8>> = csc["hashes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(decode_hash)
        .collect();
    let mut digests = Vec::with_capacity(hashes.len());
    for h in &hashes {
        match decode_hash(h) {
            Some(d) if authorized.contains(&d) => digests.push(d),
            _ => {
                return csc_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "a hash was not authorized by the citizen",
                );
            }
        }
    }
    let row = match p.store().id_credential(credential_id).await {
        Ok(Some(r)) if r.account_id == account => r,
        Ok(_) => {
            return csc_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "unknown credentialID",
            );
        }
        Err(e) => return from_oauth(e.into()),
    };
    let jti = claims.get("jti").and_then(Value::as_str).unwrap_or("");
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    match p.store().id_token_use(jti, exp * 1000).await {
        Ok(true) => {}
        Ok(false) => {
            return csc_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the SAD was used already",
            );
        }
        Err(e) => return from_oauth(e.into()),
    }
    let Some((keys, _)) = p.remote_signing() else {
        return csc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "remote signing is off",
        );
    };
    let label = row.key_label.clone();
    let signed = tokio::task::spawn_blocking(move || -> Result<Vec<String>, String> {
        let key = keys.open(&label).map_err(|e| e.to_string())?;
        digests
            .iter()
            .map(|d| {
                key.sign_digest(algorithm, d)
                    .map(|sig| base64::engine::general_purpose::STANDARD.encode(sig))
                    .map_err(|e| e.to_string())
            })
            .collect()
    })
    .await;
    match signed {
        Ok(Ok(sigs)) => {
            metrics::counter!("tamga_id_remote_signatures_total").increment(sigs.len() as u64);
            tracing::info!(credential = %credential_id, count = sigs.len(), "remote signatures made");
            Json(json!({ "signatures": sigs })).into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "remote signing failed");
            csc_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the signing token failed",
            )
        }
        Err(_) => csc_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the signing task failed",
        ),
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(info, list, credential_info, sign_hash),
    tags((name = "remote-signing", description = "Cloud Signature Consortium API v2 / Алсын гарын үсэг"))
)]
struct CscApi;

/// The CSC API's routes (v2, and v1 paths for v1 clients) and their OpenAPI description.
pub fn routes(provider: Arc<Provider>) -> (Router, utoipa::openapi::OpenApi) {
    let mut r = Router::new();
    for v in ["v1", "v2"] {
        r = r
            .route(&format!("/csc/{v}/info"), post(info))
            .route(&format!("/csc/{v}/credentials/list"), post(list))
            .route(&format!("/csc/{v}/credentials/info"), post(credential_info))
            .route(&format!("/csc/{v}/signatures/signHash"), post(sign_hash));
    }
    (
        r.with_state(provider),
        <CscApi as utoipa::OpenApi>::openapi(),
    )
}
