//! e-Notary over HTTP.
//!
//! The notary office's API (bearer token, constant-time; refused when none is configured):
//! create a contract, read it and download its current version, submit a party's signed
//! version, submit the notary's countersigned version.
//!
//! The public verification service: by register number (sequential, so enumerable: it shows
//! only that the act exists, when, the document hash and what the parties made public), and by
//! verification code or by uploading the document (whoever holds either gets the validation
//! report, the ledger entry with its receipt, and the evidence bundle).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use tamga_http::auth::problem;
use utoipa::{OpenApi, ToSchema};

use crate::contracts::{Lookup, NewContract, Notary, NotaryError};

/// What the routes share.
pub struct NotaryHttp {
    /// The service.
    pub notary: Arc<Notary>,
    /// The notary office's bearer token.
    pub token: Option<String>,
    /// The public base URL (printed in paper copies' QR codes).
    pub base_url: String,
}

type St = State<Arc<NotaryHttp>>;

fn notary_error(e: NotaryError) -> Response {
    use NotaryError as E;
    match e {
        E::NotFound(_) => problem(StatusCode::NOT_FOUND, e.to_string()),
        E::Conflict | E::WrongState(_) | E::Expired(_) => {
            problem(StatusCode::CONFLICT, e.to_string())
        }
        E::Store(_) | E::Ledger(_) => {
            tracing::error!(error = %e, "notary");
            problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
        other => problem(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    }
}

fn authorised(s: &NotaryHttp, headers: &HeaderMap) -> bool {
    tamga_http::auth::bearer_matches(s.token.as_deref(), headers)
}

fn unauthorised() -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        "the notary office's bearer token is required",
    )
}

/// One file of a multi-file contract.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FileBody {
    /// Its name in the container.
    pub name: String,
    /// Its content, base64.
    pub content_base64: String,
}

/// A new contract: one PDF, or several files (kept as an ASiC-E container).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateBody {
    /// Title, parties, order, deadline, public fields.
    #[schema(value_type = Object)]
    pub contract: NewContract,
    /// The unsigned PDF, base64.
    pub pdf_base64: Option<String>,
    /// Or the files, each signed by every party (ASiC-E).
    pub files: Option<Vec<FileBody>>,
}

#[utoipa::path(post, path = "/notary/api/contracts", tag = "notary",
    summary = "Create a contract to sign / Гэрээ үүсгэх",
    request_body(content = CreateBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 201, description = "created: its id"), (status = 401, description = "no or wrong token"), (status = 422, description = "invalid contract")))]
async fn create(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let body: CreateBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("malformed request: {e}")),
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let doc = match (&body.pdf_base64, body.files) {
        (Some(p), None) => match b64.decode(p) {
            Ok(p) => p,
            Err(e) => return problem(StatusCode::BAD_REQUEST, format!("pdf_base64: {e}")),
        },
        (None, Some(files)) => {
            let mut entries = Vec::with_capacity(files.len());
            for f in files {
                match b64.decode(&f.content_base64) {
                    Ok(data) => entries.push(tamga_sign::zip::Entry { name: f.name, data }),
                    Err(e) => {
                        return problem(StatusCode::BAD_REQUEST, format!("{}: {e}", f.name));
                    }
                }
            }
            match crate::contracts::unsigned_container(entries) {
                Ok(c) => c,
                Err(e) => return notary_error(e),
            }
        }
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                "give either pdf_base64 or files, not both",
            );
        }
    };
    match s.notary.create(body.contract, doc).await {
        Ok(id) => (
            StatusCode::CREATED,
            axum::Json(json!({ "contract_id": id })),
        )
            .into_response(),
        Err(e) => notary_error(e),
    }
}

#[utoipa::path(get, path = "/notary/api/contracts/{id}", tag = "notary",
    summary = "A contract's state / Гэрээний төлөв",
    params(("id" = String, Path, description = "contract id")),
    security(("bearer" = [])),
    responses((status = 200, description = "parties, who signed, status"), (status = 401, description = "no or wrong token"), (status = 404, description = "no such contract")))]
async fn status(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    match s.notary.get(&id).await {
        Ok((view, _)) => axum::Json(view).into_response(),
        Err(e) => notary_error(e),
    }
}

#[utoipa::path(get, path = "/notary/api/contracts/{id}/document", tag = "notary",
    summary = "The current version to sign / Гарын үсэг зурах хувилбар",
    params(("id" = String, Path, description = "contract id")),
    security(("bearer" = [])),
    responses((status = 200, description = "PDF or ASiC-E container", content_type = "application/octet-stream"), (status = 401, description = "no or wrong token"), (status = 404, description = "no such contract")))]
async fn document(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    match s.notary.get(&id).await {
        Ok((_, doc)) => (
            [(header::CONTENT_TYPE, crate::contracts::media_type(&doc))],
            doc,
        )
            .into_response(),
        Err(e) => notary_error(e),
    }
}

#[utoipa::path(post, path = "/notary/api/contracts/{id}/signatures", tag = "notary",
    summary = "A party's signed version / Талын гарын үсэг",
    params(("id" = String, Path, description = "contract id")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the PDF or ASiC-E container with one more signature"),
    security(("bearer" = [])),
    responses((status = 200, description = "accepted: the new status"), (status = 401, description = "no or wrong token"), (status = 409, description = "not signing any more, deadline passed, or changed meanwhile"), (status = 422, description = "another version, not a party, already signed, out of turn, invalid signature")))]
async fn sign(State(s): St, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    match s.notary.sign(&id, body.to_vec()).await {
        Ok(status) => axum::Json(json!({ "contract_id": id, "status": status })).into_response(),
        Err(e) => notary_error(e),
    }
}

#[utoipa::path(post, path = "/notary/api/contracts/{id}/notarisation", tag = "notary",
    summary = "The notary's countersigned version / Нотариатын гэрчилгээ",
    params(("id" = String, Path, description = "contract id")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the PDF or ASiC-E container with the notary's signature"),
    security(("bearer" = [])),
    responses((status = 200, description = "notarised: register number and verification code"), (status = 401, description = "no or wrong token"), (status = 409, description = "not awaiting the notary"), (status = 422, description = "not a notary, not an official certificate, no mandate, invalid signature")))]
async fn notarise(
    State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    match s.notary.notarise(&id, body.to_vec()).await {
        Ok((number, code)) => axum::Json(json!({
            "contract_id": id, "register_number": number, "verification_code": code,
        }))
        .into_response(),
        Err(e) => notary_error(e),
    }
}

#[utoipa::path(get, path = "/notary/verify/act/{year}/{seq}", tag = "notary",
    summary = "Is this act in the register? / Бүртгэлд байгаа эсэх",
    params(("year" = i64, Path, description = "year"), ("seq" = String, Path, description = "number within the year")),
    responses((status = 200, description = "exists: date, hash and what the parties made public"), (status = 404, description = "no such act")))]
async fn by_number(State(s): St, Path((year, seq)): Path<(String, String)>) -> Response {
    let number = format!("{year}/{seq}");
    match s.notary.find(Lookup::Number(&number)).await {
        Ok((act, _)) => axum::Json(json!({
            "register_number": act.register_number,
            "notarised_at": tamga_pki::time::format_rfc3339(act.notarised_at_ms / 1000),
            "sha256": hex::encode(&act.sha256),
            "public": serde_json::from_str::<serde_json::Value>(&act.public_record).unwrap_or_default(),
            "ledger": { "log": act.ledger_log, "index": act.ledger_index },
            "details": "Баталгаажуулах кодоор эсвэл баримтыг оруулж бүрэн шалгана. / Verify in full with the verification code or by uploading the document.",
        }))
        .into_response(),
        Err(e) => notary_error(e),
    }
}

#[utoipa::path(get, path = "/notary/verify/code/{code}", tag = "notary",
    summary = "Verify by verification code / Кодоор шалгах",
    params(("code" = String, Path, description = "verification code")),
    responses((status = 200, description = "the act, the ledger entry and the validation report"), (status = 404, description = "no such act")))]
async fn by_code(State(s): St, Path(code): Path<String>) -> Response {
    match s.notary.verify(Lookup::Code(&code)).await {
        Ok((view, _, _)) => axum::Json(view).into_response(),
        Err(e) => notary_error(e),
    }
}

#[utoipa::path(get, path = "/notary/verify/code/{code}/bundle", tag = "notary",
    summary = "Evidence bundle for a bank or court / Нотлох баримтын багц",
    params(("code" = String, Path, description = "verification code")),
    responses((status = 200, description = "tamga-evidence-bundle/1 (ZIP); `tamga verify --offline` reproduces the verdict", content_type = "application/zip"), (status = 404, description = "no such act")))]
async fn bundle(State(s): St, Path(code): Path<String>) -> Response {
    match s.notary.bundle(Lookup::Code(&code)).await {
        Ok(zip) => (
            [
                (header::CONTENT_TYPE, "application/zip".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"notarial-act-evidence.zip\"".to_owned(),
                ),
            ],
            zip,
        )
            .into_response(),
        Err(e) => notary_error(e),
    }
}

#[utoipa::path(get, path = "/notary/verify/code/{code}/copy", tag = "notary",
    summary = "Paper copy with QR and verification code / Цаасан хуулбар",
    params(("code" = String, Path, description = "verification code")),
    responses((status = 200, description = "PDF/A-2b", content_type = "application/pdf"), (status = 404, description = "no such act")))]
async fn copy(State(s): St, Path(code): Path<String>) -> Response {
    match s.notary.find(Lookup::Code(&code)).await {
        Ok((act, _)) => {
            let url = format!(
                "{}/notary/verify/code/{}",
                s.base_url.trim_end_matches('/'),
                act.verification_code
            );
            match crate::contracts::paper_copy(&act, &url) {
                Ok(pdf) => ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "notary paper copy");
                    problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                }
            }
        }
        Err(e) => notary_error(e),
    }
}

#[utoipa::path(post, path = "/notary/verify", tag = "notary",
    summary = "Verify by uploading the document / Баримтаар шалгах",
    request_body(content = Vec<u8>, content_type = "application/pdf"),
    responses((status = 200, description = "the act, the ledger entry and the validation report"), (status = 404, description = "this exact document was not notarised here")))]
async fn by_document(State(s): St, body: Bytes) -> Response {
    match s.notary.verify(Lookup::Document(&body)).await {
        Ok((view, _, _)) => axum::Json(view).into_response(),
        Err(e) => notary_error(e),
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(
        create,
        status,
        document,
        sign,
        notarise,
        by_number,
        by_code,
        bundle,
        by_document
    ),
    components(schemas(CreateBody, FileBody))
)]
struct NotaryApi;

/// The routes and their OpenAPI description.
pub fn routes(state: Arc<NotaryHttp>) -> (Router, utoipa::openapi::OpenApi) {
    let router = Router::new()
        .route("/notary/api/contracts", post(create))
        .route("/notary/api/contracts/{id}", get(status))
        .route("/notary/api/contracts/{id}/document", get(document))
        .route("/notary/api/contracts/{id}/signatures", post(sign))
        .route("/notary/api/contracts/{id}/notarisation", post(notarise))
        .route("/notary/verify/act/{year}/{seq}", get(by_number))
        .route("/notary/verify/code/{code}", get(by_code))
        .route("/notary/verify/code/{code}/bundle", get(bundle))
        .route("/notary/verify/code/{code}/copy", get(copy))
        .route("/notary/verify", post(by_document))
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(state);
    (router, NotaryApi::openapi())
}
