//! The ledger over HTTP: C2SP tlog-tiles reads (`checkpoint`, `tile/<L>/<N>[.p/<W>]`,
//! `tile/entries/<N>[.p/<W>]`, immutable tiles cached for a year), proofs by index and size,
//! authenticated appends (`POST /ledger/{log}/entries`, bearer token compared in constant
//! time), and the witness's `add-checkpoint`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use crate::log::{Log, LogError, MAX_ENTRY};
use crate::witness::Witness;

struct AppState {
    logs: HashMap<String, Arc<Log>>,
    append_token: Option<String>,
}

type St = State<Arc<AppState>>;

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

fn log_error(e: LogError) -> Response {
    match e {
        LogError::EntrySize(_) => text(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        LogError::OutOfRange(m) => text(StatusCode::BAD_REQUEST, m),
        other => {
            tracing::error!(error = %other, "ledger");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

#[allow(clippy::result_large_err)]
fn find(s: &AppState, log: &str) -> Result<Arc<Log>, Response> {
    s.logs
        .get(log)
        .cloned()
        .ok_or_else(|| text(StatusCode::NOT_FOUND, format!("no log {log:?}")))
}

/// Parses `<N>[.p/<W>]` after the level: 3-digit groups, all but the last prefixed `x`.
pub fn parse_tile_index(parts: &[&str]) -> Option<(u64, Option<usize>)> {
    let (parts, width) = match parts {
        [rest @ .., last, w] if last.ends_with(".p") => {
            if w.starts_with('0') {
                return None;
            }
            let w: usize = w.parse().ok().filter(|w: &usize| (1..=255).contains(w))?;
            let mut v: Vec<&str> = rest.to_vec();
            v.push(last.strip_suffix(".p")?);
            (v, Some(w))
        }
        _ => (parts.to_vec(), None),
    };
    let (last, init) = parts.split_last()?;
    let mut n: u64 = 0;
    for seg in init {
        let d = seg.strip_prefix('x')?;
        if d.len() != 3 || !d.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(d.parse().ok()?)?;
    }
    if last.len() != 3 || !last.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n = n.checked_mul(1000)?.checked_add(last.parse().ok()?)?;
    Some((n, width))
}

/// The `<N>` path for tile index `n`.
pub fn tile_index_path(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut m = n / 1000;
    while m > 0 {
        groups.push(format!("x{:03}", m % 1000));
        m /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

#[utoipa::path(get, path = "/ledger/{log}/checkpoint", tag = "ledger",
    summary = "Latest (cosigned) checkpoint / Сүүлийн шалгах цэг",
    params(("log" = String, Path, description = "log name")),
    responses((status = 200, description = "C2SP signed-note checkpoint", content_type = "text/plain"), (status = 404, description = "no such log")))]
async fn checkpoint(State(s): St, Path(log): Path<String>) -> Response {
    match find(&s, &log) {
        Ok(l) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache, max-age=2"),
            ],
            l.checkpoint(),
        )
            .into_response(),
        Err(r) => r,
    }
}

#[utoipa::path(get, path = "/ledger/{log}/tile/{path}", tag = "ledger",
    summary = "Tiles and entry bundles (C2SP tlog-tiles) / Модны хавтан",
    params(("log" = String, Path, description = "log name"), ("path" = String, Path, description = "`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`")),
    responses((status = 200, description = "tile or bundle", content_type = "application/octet-stream"), (status = 400, description = "malformed path"), (status = 404, description = "not (yet) in the tree")))]
async fn tile(State(s): St, Path((log, path)): Path<(String, String)>) -> Response {
    let l = match find(&s, &log) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let parts: Vec<&str> = path.split('/').collect();
    let (entries, rest) = match parts.split_first() {
        Some((&"entries", rest)) => (true, rest),
        Some((level, rest)) => {
            if level.is_empty() || (level.len() > 1 && level.starts_with('0')) {
                return text(StatusCode::BAD_REQUEST, "malformed tile level");
            }
            match level.parse::<u32>() {
                Ok(lv) if lv <= 63 => (false, rest),
                _ => return text(StatusCode::BAD_REQUEST, "malformed tile level"),
            }
        }
        None => return text(StatusCode::BAD_REQUEST, "empty tile path"),
    };
    let Some((n, width)) = parse_tile_index(rest) else {
        return text(StatusCode::BAD_REQUEST, "malformed tile index");
    };
    let w = width.unwrap_or(256);
    let r = if entries {
        l.bundle(n, w).await
    } else {
        let level: u32 = parts[0].parse().unwrap_or(0);
        l.tile(level, n, w).await
    };
    match r {
        Ok(Some(b)) => {
            let cache = if width.is_some() {
                "public, max-age=60"
            } else {
                "public, max-age=31536000, immutable"
            };
            (
                [
                    (header::CONTENT_TYPE, "application/octet-stream"),
                    (header::CACHE_CONTROL, cache),
                ],
                b,
            )
                .into_response()
        }
        Ok(None) => text(StatusCode::NOT_FOUND, "not in the tree"),
        Err(e) => log_error(e),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct InclusionQuery {
    /// Entry index (or give `leaf_hash`).
    index: Option<u64>,
    /// The entry's RFC 9162 leaf hash, base64 (instead of `index`).
    leaf_hash: Option<String>,
    /// Tree size (default: the current checkpoint's).
    size: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ProofBody {
    /// Entry index or old size.
    from: u64,
    /// Tree size.
    size: u64,
    /// Proof hashes, base64.
    proof: Vec<String>,
    /// For inclusion: the entry's leaf hash, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    leaf_hash: Option<String>,
}

fn b64(h: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(h)
}

#[utoipa::path(get, path = "/ledger/{log}/proof/inclusion", tag = "ledger",
    summary = "Inclusion proof by index / Оруулалтын нотолгоо",
    params(("log" = String, Path, description = "log name"), InclusionQuery),
    responses((status = 200, description = "RFC 9162 inclusion proof", body = ProofBody), (status = 400, description = "beyond the tree")))]
async fn inclusion(
    State(s): St,
    Path(log): Path<String>,
    Query(q): Query<InclusionQuery>,
) -> Response {
    let l = match find(&s, &log) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let size = q.size.unwrap_or_else(|| l.size());
    let index = match (q.index, &q.leaf_hash) {
        (Some(i), None) => i,
        (None, Some(h)) => {
            let Ok(h) = base64::engine::general_purpose::STANDARD.decode(h) else {
                return text(StatusCode::BAD_REQUEST, "leaf_hash is not base64");
            };
            match l.index_of(&h, size).await {
                Ok(i) => i,
                Err(LogError::OutOfRange(m)) => return text(StatusCode::NOT_FOUND, m),
                Err(e) => return log_error(e),
            }
        }
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                "give exactly one of index and leaf_hash",
            );
        }
    };
    let proof = match l.inclusion_proof(index, size).await {
        Ok(p) => p,
        Err(e) => return log_error(e),
    };
    let leaf = match l.entry(index).await {
        Ok(e) => crate::merkle::leaf_hash(&e),
        Err(e) => return log_error(e),
    };
    axum::Json(ProofBody {
        from: index,
        size,
        proof: proof.iter().map(|h| b64(h)).collect(),
        leaf_hash: Some(b64(&leaf)),
    })
    .into_response()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ConsistencyQuery {
    /// The older size.
    old: u64,
    /// The newer size (default: the current checkpoint's).
    size: Option<u64>,
}

#[utoipa::path(get, path = "/ledger/{log}/proof/consistency", tag = "ledger",
    summary = "Consistency proof between sizes / Тууштай байдлын нотолгоо",
    params(("log" = String, Path, description = "log name"), ConsistencyQuery),
    responses((status = 200, description = "RFC 9162 consistency proof", body = ProofBody), (status = 400, description = "beyond the tree")))]
async fn consistency(
    State(s): St,
    Path(log): Path<String>,
    Query(q): Query<ConsistencyQuery>,
) -> Response {
    let l = match find(&s, &log) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let size = q.size.unwrap_or_else(|| l.size());
    match l.consistency_proof(q.old, size).await {
        Ok(p) => axum::Json(ProofBody {
            from: q.old,
            size,
            proof: p.iter().map(|h| b64(h)).collect(),
            leaf_hash: None,
        })
        .into_response(),
        Err(e) => log_error(e),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct Appended {
    /// The entry's index.
    index: u64,
    /// Its leaf hash, base64.
    leaf_hash: String,
}

#[utoipa::path(post, path = "/ledger/{log}/entries", tag = "ledger",
    summary = "Append an entry (durable before the answer) / Бичилт нэмэх",
    params(("log" = String, Path, description = "log name")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    security(("bearer" = [])),
    responses((status = 201, description = "appended", body = Appended), (status = 401, description = "no or wrong token"), (status = 413, description = "entry over 64 KiB")))]
async fn append(
    State(s): St,
    Path(log): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&s, &headers) {
        return text(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is required to append",
        );
    }
    let l = match find(&s, &log) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let leaf = crate::merkle::leaf_hash(&body);
    match l.append(body.to_vec()).await {
        Ok(index) => (
            StatusCode::CREATED,
            axum::Json(Appended {
                index,
                leaf_hash: b64(&leaf),
            }),
        )
            .into_response(),
        Err(e) => log_error(e),
    }
}

/// Largest batch request body (JSON, base64 entries).
const MAX_BATCH_BODY: usize = 16 * 1024 * 1024;
/// Most entries per batch request.
const MAX_BATCH_ENTRIES: usize = 10_000;

#[derive(Deserialize, utoipa::ToSchema)]
struct BatchBody {
    /// Entries, base64.
    entries: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct BatchAppended {
    /// Their indices, in order.
    indices: Vec<u64>,
}

fn authorised(s: &AppState, headers: &HeaderMap) -> bool {
    tamga_http::auth::bearer_matches(s.append_token.as_deref(), headers)
}

#[utoipa::path(post, path = "/ledger/{log}/entries/batch", tag = "ledger",
    summary = "Append several entries (durable before the answer) / Олон бичилт нэмэх",
    params(("log" = String, Path, description = "log name")),
    request_body(content = BatchBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 201, description = "appended", body = BatchAppended), (status = 400, description = "malformed"), (status = 401, description = "no or wrong token")))]
async fn append_batch(
    State(s): St,
    Path(log): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&s, &headers) {
        return text(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is required to append",
        );
    }
    let l = match find(&s, &log) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let Ok(req) = serde_json::from_slice::<BatchBody>(&body) else {
        return text(
            StatusCode::BAD_REQUEST,
            "expected {\"entries\": [base64, ...]}",
        );
    };
    if req.entries.is_empty() || req.entries.len() > MAX_BATCH_ENTRIES {
        return text(StatusCode::BAD_REQUEST, "1 to 10000 entries per batch");
    }
    let mut entries = Vec::with_capacity(req.entries.len());
    for e in &req.entries {
        match base64::engine::general_purpose::STANDARD.decode(e) {
            Ok(v) => entries.push(v),
            Err(_) => return text(StatusCode::BAD_REQUEST, "an entry is not base64"),
        }
    }
    match l.append_many(entries).await {
        Ok(indices) => (StatusCode::CREATED, axum::Json(BatchAppended { indices })).into_response(),
        Err(LogError::EntrySize(n)) => text(
            StatusCode::BAD_REQUEST,
            format!("entry of {n} bytes (1..=65536 allowed)"),
        ),
        Err(e) => log_error(e),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ReceiptQuery {
    /// Entry index.
    index: u64,
}

#[utoipa::path(get, path = "/ledger/{log}/receipt", tag = "ledger",
    summary = "Offline receipt for an entry / Баримт",
    params(("log" = String, Path, description = "log name"), ReceiptQuery),
    responses((status = 200, description = "entry, inclusion proof and cosigned checkpoint", body = crate::receipt::Receipt), (status = 404, description = "not in the checkpoint yet")))]
async fn receipt(State(s): St, Path(log): Path<String>, Query(q): Query<ReceiptQuery>) -> Response {
    let l = match find(&s, &log) {
        Ok(l) => l,
        Err(r) => return r,
    };
    match l.receipt(q.index).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(LogError::OutOfRange(m)) => text(StatusCode::NOT_FOUND, m),
        Err(e) => log_error(e),
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(
        checkpoint,
        tile,
        inclusion,
        consistency,
        append,
        append_batch,
        receipt
    ),
    components(schemas(ProofBody, Appended, BatchBody, BatchAppended, crate::receipt::Receipt))
)]
struct LedgerApi;

/// Routes for `logs`; appends need `append_token` (none: appends are refused).
pub fn routes(
    logs: Vec<Arc<Log>>,
    append_token: Option<String>,
) -> (Router, utoipa::openapi::OpenApi) {
    let state = Arc::new(AppState {
        logs: logs
            .into_iter()
            .map(|l| (l.name().to_string(), l))
            .collect(),
        append_token: append_token.filter(|t| !t.is_empty()),
    });
    let router = Router::new()
        .route("/ledger/{log}/checkpoint", get(checkpoint))
        .route("/ledger/{log}/tile/{*path}", get(tile))
        .route("/ledger/{log}/proof/inclusion", get(inclusion))
        .route("/ledger/{log}/proof/consistency", get(consistency))
        .route("/ledger/{log}/receipt", get(receipt))
        .route("/ledger/{log}/entries", post(append))
        .layer(DefaultBodyLimit::max(MAX_ENTRY + 1))
        .merge(
            Router::new()
                .route("/ledger/{log}/entries/batch", post(append_batch))
                .layer(DefaultBodyLimit::max(MAX_BATCH_BODY)),
        )
        .with_state(state);
    (router, LedgerApi::openapi())
}

#[utoipa::path(post, path = "/witness/{name}/add-checkpoint", tag = "ledger",
    summary = "Witness: cosign a consistent checkpoint (C2SP tlog-witness) / Гэрчлэх",
    params(("name" = String, Path, description = "witness name (path element)")),
    request_body(content = String, content_type = "text/plain"),
    responses((status = 200, description = "cosignature line(s)"), (status = 403, description = "bad or no trusted signature"), (status = 404, description = "unknown log"), (status = 409, description = "old size differs", content_type = "text/x.tlog.size"), (status = 422, description = "inconsistent")))]
async fn add_checkpoint(
    State(w): State<Arc<HashMap<String, Arc<Witness>>>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let Some(w) = w.get(&name) else {
        return text(StatusCode::NOT_FOUND, "no such witness");
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1);
    match w.add_checkpoint(&body, now).await {
        Ok(lines) => text(StatusCode::OK, lines),
        Err(e) => {
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            if e.size_body {
                (status, [(header::CONTENT_TYPE, "text/x.tlog.size")], e.body).into_response()
            } else {
                text(status, e.body)
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(paths(add_checkpoint))]
struct WitnessApi;

/// Routes for witnesses, by path name.
pub fn witness_routes(
    witnesses: HashMap<String, Arc<Witness>>,
) -> (Router, utoipa::openapi::OpenApi) {
    let router = Router::new()
        .route("/witness/{name}/add-checkpoint", post(add_checkpoint))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(Arc::new(witnesses));
    (router, WitnessApi::openapi())
}
