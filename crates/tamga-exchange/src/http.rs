//! The registry's HTTP API: the public signed global configuration, and the operator's
//! commands (bearer token, compared in constant time; without a token the admin API is off).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use crate::registry::{Command, Registry, RegistryError};

struct AppState {
    registry: Arc<Registry>,
    admin_token: Option<String>,
}

type St = State<Arc<AppState>>;

fn text(status: StatusCode, m: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        m.into(),
    )
        .into_response()
}

fn authorised(s: &AppState, h: &HeaderMap) -> bool {
    tamga_http::auth::bearer_matches(s.admin_token.as_deref(), h)
}

#[utoipa::path(get, path = "/exchange/globalconf", tag = "exchange",
    summary = "Signed global configuration / Гарын үсэгтэй нийтлэг тохиргоо",
    responses((status = 200, description = "tamga-globalconf-signed/1 envelope (JSON)")))]
async fn globalconf(State(s): St) -> Response {
    match s.registry.signed_conf() {
        Ok(json) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            json.as_ref().clone(),
        )
            .into_response(),
        Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// A batch of commands, applied as one new version.
#[derive(Deserialize, utoipa::ToSchema)]
struct Commands {
    /// Who asks (recorded in the history).
    actor: String,
    /// Why (recorded in the history).
    why: String,
    /// The commands.
    commands: Vec<Command>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Changed {
    /// The new registry version.
    version: i64,
}

#[utoipa::path(post, path = "/exchange/registry/commands", tag = "exchange",
    summary = "Change the registry / Бүртгэл өөрчлөх",
    request_body(content = Commands, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "applied", body = Changed), (status = 400, description = "refused, with the reason"), (status = 401, description = "no or wrong token")))]
async fn commands(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&s, &headers) {
        return text(
            StatusCode::UNAUTHORIZED,
            "a valid admin bearer token is required",
        );
    }
    let c: Commands = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("malformed commands: {e}")),
    };
    if c.actor.trim().is_empty() || c.why.trim().is_empty() {
        return text(StatusCode::BAD_REQUEST, "actor and why are required");
    }
    match s.registry.change(&c.commands, &c.actor, &c.why).await {
        Ok(version) => axum::Json(Changed { version }).into_response(),
        Err(RegistryError::BadCommand(m)) => text(StatusCode::BAD_REQUEST, m),
        Err(RegistryError::Conflict) => text(StatusCode::CONFLICT, "concurrent change; retry"),
        Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

#[utoipa::path(get, path = "/exchange/registry", tag = "exchange",
    summary = "Registry state and history / Бүртгэлийн төлөв",
    security(("bearer" = [])),
    responses((status = 200, description = "current version, state and change history"), (status = 401, description = "no or wrong token")))]
async fn state(State(s): St, headers: HeaderMap) -> Response {
    if !authorised(&s, &headers) {
        return text(
            StatusCode::UNAUTHORIZED,
            "a valid admin bearer token is required",
        );
    }
    let (version, state) = s.registry.state();
    let history = s.registry.history().await.unwrap_or_default();
    axum::Json(serde_json::json!({
        "version": version,
        "state": state,
        "history": history.iter().map(|(v, a, w, t)| serde_json::json!({"version": v, "actor": a, "why": w, "at_ms": t})).collect::<Vec<_>>(),
    }))
    .into_response()
}

#[derive(OpenApi)]
#[openapi(
    paths(globalconf, commands, state),
    components(schemas(Commands, Changed, Command))
)]
struct RegistryApi;

/// The registry's routes.
pub fn registry_routes(
    registry: Arc<Registry>,
    admin_token: Option<String>,
) -> (Router, utoipa::openapi::OpenApi) {
    let state = Arc::new(AppState {
        registry,
        admin_token: admin_token.filter(|t| !t.is_empty()),
    });
    let r = Router::new()
        .route("/exchange/globalconf", get(globalconf))
        .route("/exchange/registry", get(self::state))
        .route("/exchange/registry/commands", post(commands))
        .with_state(state);
    (r, RegistryApi::openapi())
}
