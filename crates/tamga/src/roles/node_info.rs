//! The `node` role: who this node is and the public keys it signs with, so peers can check its
//! signatures. Public facts only.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, response::IntoResponse};
use serde::Serialize;
use tamga_keys::KeyStore;
use utoipa::OpenApi;

/// What `/api/v1/node` answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NodeInfo {
    /// The node's configured name.
    pub name: String,
    /// The software version.
    pub version: String,
    /// The roles it runs.
    pub roles: Vec<String>,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// `software` or `pkcs11`.
    pub key_store: String,
    /// The node's own signing key.
    pub node_key: PublicKey,
    /// When this process started (ms since the Unix epoch).
    pub started_at_ms: i64,
}

/// A public key.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicKey {
    /// Its label in the key store.
    pub label: String,
    /// `ec-p256`, `ed25519`, …
    pub algorithm: String,
    /// Hex SHA-256 of the DER SubjectPublicKeyInfo.
    pub key_id: String,
    /// The SubjectPublicKeyInfo as PEM (`PUBLIC KEY`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_pem: Option<String>,
}

struct RoleState {
    info: NodeInfo,
    keys: Arc<dyn KeyStore>,
}

#[utoipa::path(get, path = "/api/v1/node", tag = "node",
    summary = "This node / Энэ зангилаа",
    responses((status = 200, description = "Node identity and signing key", body = NodeInfo)))]
async fn node(State(state): State<Arc<RoleState>>) -> Json<NodeInfo> {
    Json(state.info.clone())
}

#[utoipa::path(get, path = "/api/v1/node/keys", tag = "node",
    summary = "Public keys held by this node / Нийтийн түлхүүрүүд",
    responses(
        (status = 200, description = "Every key in the node's key store", body = Vec<PublicKey>),
        (status = 503, description = "The key store does not answer")))]
async fn keys(State(state): State<Arc<RoleState>>) -> axum::response::Response {
    let store = Arc::clone(&state.keys);
    // PKCS#11 calls block; keep them off the async workers.
    match tokio::task::spawn_blocking(move || store.list()).await {
        Ok(Ok(list)) => Json(
            list.into_iter()
                .map(|k| PublicKey {
                    label: k.label,
                    algorithm: k.algorithm.name().to_owned(),
                    key_id: k.key_id,
                    public_key_pem: None,
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(node, keys),
    components(schemas(NodeInfo, PublicKey)),
    tags((name = "node", description = "Node identity / Зангилааны мэдээлэл"))
)]
struct NodeApi;

/// The role's routes and OpenAPI paths.
pub fn role(info: NodeInfo, keys: Arc<dyn KeyStore>) -> (Router, utoipa::openapi::OpenApi) {
    let router = Router::new()
        .route("/api/v1/node", get(node))
        .route("/api/v1/node/keys", get(self::keys))
        .with_state(Arc::new(RoleState { info, keys }));
    (router, NodeApi::openapi())
}
