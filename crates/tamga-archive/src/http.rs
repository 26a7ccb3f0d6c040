//! The archive over HTTP.
//!
//! Archivist API (bearer token, compared in constant time; deny when none is configured):
//! ingest, metadata, package export, paper copy, disposal, sealing and renewal on demand.
//! Public: `/archive/verify/{id}` (what a paper copy's QR code opens: the original's SHA-256,
//! when it was archived and first time-stamped, whether it is kept — never its title, creator
//! or content) and `POST /archive/verify` (upload a package, get the offline verdict).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tamga_http::auth::problem;
use tamga_http::html::esc;
use utoipa::{OpenApi, ToSchema};

use crate::ers::{self, ErsPolicy, HashAlg};
use crate::service::{Archive, ArchiveError, Ingest};

/// What the routes share.
pub struct ArchiveHttp {
    /// The archive.
    pub archive: Arc<Archive>,
    /// The archivists' bearer token (`None`: the archivist API answers 401 to everyone).
    pub token: Option<String>,
    /// The public base URL (printed on paper copies).
    pub base_url: String,
}

type St = State<Arc<ArchiveHttp>>;

fn archive_error(e: ArchiveError) -> Response {
    match e {
        ArchiveError::Invalid(_) => problem(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        ArchiveError::NotFound(_) => problem(StatusCode::NOT_FOUND, e.to_string()),
        ArchiveError::RetentionNotOver { .. } | ArchiveError::Disposed(_) => {
            problem(StatusCode::CONFLICT, e.to_string())
        }
        ArchiveError::NotSealed(_) => problem(StatusCode::CONFLICT, e.to_string()),
        other => {
            tracing::error!(error = %other, "archive");
            problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

fn authorised(s: &ArchiveHttp, headers: &HeaderMap) -> bool {
    tamga_http::auth::bearer_matches(s.token.as_deref(), headers)
}

fn unauthorised() -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        "the archivist's bearer token is required",
    )
}

/// One document to ingest.
#[derive(Debug, Deserialize, ToSchema)]
pub struct IngestItem {
    /// Archival metadata.
    #[schema(value_type = Object)]
    pub metadata: Ingest,
    /// The content, base64.
    pub content_base64: String,
}

/// An ingest request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct IngestBody {
    /// The documents (at most 1,000 per request).
    pub documents: Vec<IngestItem>,
}

/// A disposal request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DisposalBody {
    /// Why (the records schedule's disposal authority).
    pub reason: String,
}

/// A renewal request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RenewBody {
    /// Renew records whose deadline is within this many days (default 90).
    pub horizon_days: Option<i64>,
    /// Also renew every hash tree under this algorithm: `SHA-384` or `SHA-512`.
    pub hash_tree: Option<String>,
}

/// What a renewal did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Renewed {
    /// Records sealed for the first time.
    pub sealed: usize,
    /// Time-stamp renewals.
    pub renewed: usize,
    /// Hash-tree renewals.
    pub rehashed: usize,
}

#[utoipa::path(post, path = "/archive/api/documents", tag = "archive",
    summary = "Archive documents / Баримт архивт авах",
    request_body(content = IngestBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 201, description = "stored and committed to the ledger"), (status = 401, description = "no or wrong token"), (status = 422, description = "invalid document or metadata: nothing stored")))]
async fn ingest(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let body: IngestBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("malformed request: {e}")),
    };
    if body.documents.is_empty() || body.documents.len() > 1000 {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 1,000 documents per request",
        );
    }
    let mut items = Vec::with_capacity(body.documents.len());
    for d in body.documents {
        match base64::engine::general_purpose::STANDARD.decode(&d.content_base64) {
            Ok(c) => items.push((d.metadata, c)),
            Err(e) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    format!("{}: content_base64: {e}", d.metadata.file_name),
                );
            }
        }
    }
    match s.archive.ingest(items).await {
        Ok(acks) => (StatusCode::CREATED, axum::Json(json!({ "ingested": acks }))).into_response(),
        Err(e) => archive_error(e),
    }
}

#[utoipa::path(get, path = "/archive/api/documents/{id}", tag = "archive",
    summary = "An archived document's metadata / Архивын баримтын мэдээлэл",
    params(("id" = String, Path, description = "document id")),
    security(("bearer" = [])),
    responses((status = 200, description = "metadata and evidence status"), (status = 401, description = "no or wrong token"), (status = 404, description = "no such document")))]
async fn metadata(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    match s.archive.get(&id).await {
        Ok(r) => axum::Json(json!({
            "document_id": r.document_id,
            "sha256": hex::encode(&r.sha256),
            "size_bytes": r.size_bytes,
            "file_name": r.file_name,
            "media_type": r.media_type,
            "title": r.title,
            "creator": r.creator,
            "classification": r.classification,
            "retention_until_ms": r.retention_until_ms,
            "ingested_at_ms": r.ingested_at_ms,
            "ledger": { "log": r.ledger_log, "index": r.ledger_index },
            "sealed": r.evidence.is_some(),
            "renew_by_ms": r.renew_by_ms,
            "disposed_at_ms": r.disposed_at_ms,
            "disposal_reason": r.disposal_reason,
            "disposal_ledger_index": r.disposal_ledger_index,
        }))
        .into_response(),
        Err(e) => archive_error(e),
    }
}

#[utoipa::path(get, path = "/archive/api/documents/{id}/package", tag = "archive",
    summary = "Export: the document with its evidence record (ASiC-S) / Экспорт",
    params(("id" = String, Path, description = "document id")),
    security(("bearer" = [])),
    responses((status = 200, description = "package", content_type = "application/vnd.etsi.asic-s+zip"), (status = 401, description = "no or wrong token"), (status = 404, description = "no such document"), (status = 409, description = "not sealed yet, or disposed of")))]
async fn package(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    match s.archive.export(&id).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, crate::package::MIMETYPE.to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{id}.asics\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => archive_error(e),
    }
}

#[utoipa::path(get, path = "/archive/api/documents/{id}/copy", tag = "archive",
    summary = "Paper copy (PDF/A with QR and verification code) / Цаасан хуулбар",
    params(("id" = String, Path, description = "document id")),
    security(("bearer" = [])),
    responses((status = 200, description = "PDF/A-2b", content_type = "application/pdf"), (status = 401, description = "no or wrong token"), (status = 404, description = "no such document")))]
async fn copy(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let row = match s.archive.get(&id).await {
        Ok(r) => r,
        Err(e) => return archive_error(e),
    };
    let content = match s.archive.store().archive_content(&id).await {
        Ok(c) => c,
        Err(e) => return archive_error(e.into()),
    };
    match crate::copy::paper_copy(&row, content.as_deref(), &s.base_url) {
        Ok(pdf) => ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response(),
        Err(e) => archive_error(ArchiveError::Package(e.to_string())),
    }
}

#[utoipa::path(post, path = "/archive/api/documents/{id}/disposal", tag = "archive",
    summary = "Dispose of a document at the end of retention / Устгал",
    params(("id" = String, Path, description = "document id")),
    request_body(content = DisposalBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "disposed of; the ledger index of the disposal"), (status = 401, description = "no or wrong token"), (status = 404, description = "no such document"), (status = 409, description = "retention not over, or already disposed of")))]
async fn dispose(
    State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Json(body): axum::Json<DisposalBody>,
) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    match s.archive.dispose(&id, &body.reason).await {
        Ok(index) => {
            axum::Json(json!({ "document_id": id, "disposal_ledger_index": index })).into_response()
        }
        Err(e) => archive_error(e),
    }
}

#[utoipa::path(post, path = "/archive/api/renew", tag = "archive",
    summary = "Seal pending documents and renew evidence now / Сунгалт",
    request_body(content = RenewBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "what was done", body = Renewed), (status = 401, description = "no or wrong token"), (status = 422, description = "unknown hash algorithm")))]
async fn renew(
    State(s): St,
    headers: HeaderMap,
    axum::Json(body): axum::Json<RenewBody>,
) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let alg = match body.hash_tree.as_deref() {
        None => None,
        Some("SHA-384") => Some(HashAlg::Sha384),
        Some("SHA-512") => Some(HashAlg::Sha512),
        Some(other) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("hash_tree {other:?}: use SHA-384 or SHA-512"),
            );
        }
    };
    let mut done = Renewed {
        sealed: 0,
        renewed: 0,
        rehashed: 0,
    };
    loop {
        match s.archive.seal_pending().await {
            Ok(0) => break,
            Ok(n) => done.sealed += n,
            Err(e) => return archive_error(e),
        }
    }
    let horizon = body.horizon_days.unwrap_or(90).clamp(0, 3650) * 86400;
    match s.archive.renew_due(horizon).await {
        Ok(n) => done.renewed = n,
        Err(e) => return archive_error(e),
    }
    if let Some(alg) = alg {
        match s.archive.renew_hash_trees(alg).await {
            Ok(n) => done.rehashed = n,
            Err(e) => return archive_error(e),
        }
    }
    axum::Json(done).into_response()
}

#[utoipa::path(get, path = "/archive/verify/{id}", tag = "archive",
    summary = "Public verification of a paper copy / Цаасан хуулбарыг шалгах",
    params(("id" = String, Path, description = "verification code (document id)")),
    responses((status = 200, description = "HTML page, or JSON with Accept: application/json"), (status = 404, description = "no such document")))]
async fn public_verify(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let row = match s.archive.get(&id).await {
        Ok(r) => r,
        Err(ArchiveError::NotFound(_)) => {
            return problem(
                StatusCode::NOT_FOUND,
                "Ийм баримт архивт алга. / No such document in the archive.",
            );
        }
        Err(e) => return archive_error(e),
    };
    // The first time-stamp is re-verified against the original when it is kept.
    let content = match s.archive.store().archive_content(&id).await {
        Ok(c) => c,
        Err(e) => return archive_error(e.into()),
    };
    let evidence = match (&row.evidence, &content) {
        (Some(der), Some(c)) => match ers::parse(der).and_then(|r| {
            ers::verify(
                &r,
                c,
                &ErsPolicy::new(s.archive.anchors(), tamga_pki::builder::now()),
            )
        }) {
            Ok(v) => {
                json!({ "verified": true, "existed_at": tamga_pki::time::format_rfc3339(v.existed_at), "time_stamps": v.stamps.len(), "renew_by": tamga_pki::time::format_rfc3339(v.renew_by) })
            }
            Err(e) => json!({ "verified": false, "problem": e.to_string() }),
        },
        (None, _) => json!({ "verified": false, "problem": "not sealed yet" }),
        (Some(_), None) => json!({ "verified": false, "problem": "disposed of" }),
    };
    let status = if row.disposed_at_ms.is_some() {
        "disposed"
    } else {
        "kept"
    };
    let body = json!({
        "document_id": row.document_id,
        "sha256": hex::encode(&row.sha256),
        "archived_at": tamga_pki::time::format_rfc3339(row.ingested_at_ms / 1000),
        "status": status,
        "disposed_at": row.disposed_at_ms.map(|t| tamga_pki::time::format_rfc3339(t / 1000)),
        "ledger": { "log": row.ledger_log, "index": row.ledger_index },
        "evidence": evidence,
    });
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if wants_json {
        return axum::Json(body).into_response();
    }
    let verdict = if body["evidence"]["verified"] == true {
        format!(
            "<p class=\"ok\">Эх баримт {} онд оршин байсныг баталгаажуулав. / The original is proven to have existed at {}.</p>",
            esc(body["evidence"]["existed_at"].as_str().unwrap_or("")),
            esc(body["evidence"]["existed_at"].as_str().unwrap_or(""))
        )
    } else {
        format!(
            "<p class=\"bad\">Баталгаажуулж чадсангүй / Not verified: {}</p>",
            esc(body["evidence"]["problem"].as_str().unwrap_or(""))
        )
    };
    let html = format!(
        "<!doctype html><html lang=\"mn\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Архивын баримт шалгах / Verify an archived document</title></head><body><main>\
         <h1>Архивын баримт шалгах / Verify an archived document</h1>{verdict}\
         <dl><dt>Баталгаажуулах код / Verification code</dt><dd>{id}</dd>\
         <dt>SHA-256</dt><dd><code>{sha}</code></dd>\
         <dt>Архивт авсан / Archived</dt><dd>{at}</dd>\
         <dt>Төлөв / Status</dt><dd>{status}</dd>\
         <dt>Бүртгэлийн дэвтэр / Ledger</dt><dd>{log} #{index}</dd></dl>\
         <p>Цаасан хуулбар дээрх SHA-256 энэ утгатай тохирох ёстой. / The SHA-256 printed on the paper copy must match this value.</p>\
         </main></body></html>",
        id = esc(&row.document_id),
        sha = hex::encode(&row.sha256),
        at = esc(body["archived_at"].as_str().unwrap_or("")),
        log = esc(&row.ledger_log),
        index = row.ledger_index,
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

#[utoipa::path(post, path = "/archive/verify", tag = "archive",
    summary = "Verify an archive package / Архивын багцыг шалгах",
    request_body(content = Vec<u8>, content_type = "application/vnd.etsi.asic-s+zip"),
    responses((status = 200, description = "verified: the report"), (status = 422, description = "does not verify: the reason")))]
async fn verify_package(State(s): St, body: Bytes) -> Response {
    let policy = ErsPolicy::new(s.archive.anchors(), tamga_pki::builder::now());
    let vkey = s.archive.log().verifier().vkey();
    match crate::package::verify(&body, &policy, Some(&vkey)) {
        Ok(r) => axum::Json(json!({ "verified": true, "report": r })).into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({ "verified": false, "reason": e.to_string() })),
        )
            .into_response(),
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(
        ingest,
        metadata,
        package,
        copy,
        dispose,
        renew,
        public_verify,
        verify_package
    ),
    components(schemas(IngestBody, IngestItem, DisposalBody, RenewBody, Renewed))
)]
struct ArchiveApi;

/// The archive's routes and their OpenAPI description.
pub fn routes(state: Arc<ArchiveHttp>) -> (Router, utoipa::openapi::OpenApi) {
    let router = Router::new()
        .route("/archive/api/documents", post(ingest))
        .route("/archive/api/documents/{id}", get(metadata))
        .route("/archive/api/documents/{id}/package", get(package))
        .route("/archive/api/documents/{id}/copy", get(copy))
        .route("/archive/api/documents/{id}/disposal", post(dispose))
        .route("/archive/api/renew", post(renew))
        .route("/archive/verify/{id}", get(public_verify))
        .route("/archive/verify", post(verify_package))
        .layer(DefaultBodyLimit::max(96 * 1024 * 1024))
        .with_state(state);
    (router, ArchiveApi::openapi())
}
