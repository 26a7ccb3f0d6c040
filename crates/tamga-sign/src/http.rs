//! `POST /api/v1/validate`: the validator over HTTP for portals, courts' case systems and
//! banks. A multipart upload (`file`, optionally `content` for a detached signature,
//! `revocation`, `at`) under a size limit; the answer is the TS 119 102-2 JSON report with the
//! verdict also in the `X-Tamga-Indication` header. Validation is offline (embedded and DSS
//! revocation data) against the node's trust anchors; it runs on the blocking pool so a large
//! PDF does not stall the server.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use tamga_pki::ParsedCert;
use utoipa::OpenApi;

use crate::validate::{Policy, RevocationRequirement, ValidateError};

/// Where the trust anchors come from: asked on every request, so CAs created after start
/// (or removed) count at once.
pub type AnchorSource = Arc<dyn Fn() -> Vec<ParsedCert> + Send + Sync>;

struct AppState {
    anchors: AnchorSource,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ErrorBody {
    /// What went wrong.
    error: String,
    /// The same, in Mongolian.
    error_mn: &'static str,
}

fn error(status: StatusCode, e: impl std::fmt::Display, mn: &'static str) -> Response {
    (
        status,
        Json(ErrorBody {
            error: e.to_string(),
            error_mn: mn,
        }),
    )
        .into_response()
}

/// The multipart form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ValidateForm {
    /// The signed file: PDF, CAdES (.p7s/.p7m) or ASiC (.asics/.asice).
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
    /// For a detached CAdES signature: the file it signs.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    content: Option<Vec<u8>>,
    /// `require` (default) or `if-available`.
    revocation: Option<String>,
    /// Validation time, RFC 3339 (default now).
    at: Option<String>,
}

/// Validates an upload.
#[utoipa::path(post, path = "/api/v1/validate", tag = "signatures",
    summary = "Validate signatures (EN 319 102-1) / Гарын үсэг шалгах",
    request_body(content = ValidateForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "ETSI TS 119 102-2 validation report (JSON mapping) / Шалгалтын тайлан", body = Object,
            headers(("X-Tamga-Indication" = String, description = "TOTAL-PASSED, TOTAL-FAILED or INDETERMINATE"))),
        (status = 400, description = "No file, or nothing to validate", body = ErrorBody),
        (status = 413, description = "Upload too large", body = ErrorBody)))]
async fn validate(State(s): State<Arc<AppState>>, mut form: Multipart) -> Response {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut content = None;
    let mut revocation = RevocationRequirement::Require;
    let mut at = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let status = e.status();
                return error(
                    status,
                    e.body_text(),
                    if status == StatusCode::PAYLOAD_TOO_LARGE {
                        "Файл хэт том байна"
                    } else {
                        "Хүсэлт буруу байна"
                    },
                );
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().unwrap_or("upload").to_string();
        let bytes = match field.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => {
                let status = e.status();
                return error(
                    status,
                    e.body_text(),
                    if status == StatusCode::PAYLOAD_TOO_LARGE {
                        "Файл хэт том байна"
                    } else {
                        "Хүсэлт буруу байна"
                    },
                );
            }
        };
        match name.as_str() {
            "file" => file = Some((filename, bytes)),
            "content" => content = Some(bytes),
            "revocation" => {
                revocation = match bytes.as_slice() {
                    b"require" => RevocationRequirement::Require,
                    b"if-available" => RevocationRequirement::IfAvailable,
                    _ => {
                        return error(
                            StatusCode::BAD_REQUEST,
                            "revocation must be require or if-available",
                            "revocation утга буруу",
                        );
                    }
                }
            }
            "at" => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                match tamga_pki::time::parse_rfc3339(&text) {
                    Ok(t) => at = Some(t),
                    Err(e) => return error(StatusCode::BAD_REQUEST, e, "Цаг буруу"),
                }
            }
            other => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("unknown form field {other:?}"),
                    "Үл мэдэгдэх талбар",
                );
            }
        }
    }
    let Some((name, bytes)) = file else {
        return error(
            StatusCode::BAD_REQUEST,
            "the form has no `file` field",
            "`file` талбар алга",
        );
    };
    let policy = Policy {
        anchors: (s.anchors)(),
        extra_certs: vec![],
        extra_crls: vec![],
        extra_ocsp: vec![],
        time: at.unwrap_or_else(tamga_pki::builder::now),
        algorithms: tamga_pki::AlgorithmPolicy::Strict,
        revocation,
    };
    let result = tokio::task::spawn_blocking(move || {
        validate_any(&name, &bytes, content.as_deref(), &policy).map(|mut r| {
            r.identify_document(&bytes);
            r
        })
    })
    .await;
    match result {
        Ok(Ok(report)) => {
            let indication = report.indication.label();
            ([("x-tamga-indication", indication)], Json(report)).into_response()
        }
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e, "Шалгах боломжгүй файл"),
        Err(e) => {
            tracing::error!(error = %e, "validation task");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "validation failed",
                "Дотоод алдаа",
            )
        }
    }
}

/// Validates a PDF, an ASiC container or a CMS signature, by its first bytes.
pub fn validate_any(
    name: &str,
    bytes: &[u8],
    content: Option<&[u8]>,
    policy: &Policy,
) -> Result<crate::report::Report, ValidateError> {
    // A container first: an ASiC-S holding a PDF stored uncompressed has `%PDF-` in its first
    // kilobyte too, and must not be read as a PDF.
    if bytes.starts_with(b"PK\x03\x04") {
        crate::asic::validate_asic(name, bytes, policy)
    } else if bytes.windows(5).take(1024).any(|w| w == b"%PDF-") {
        crate::pades::validate_pdf(name, bytes, policy)
    } else {
        crate::validate::validate_cms(name, bytes, content, policy)
    }
}

#[derive(OpenApi)]
#[openapi(paths(validate), components(schemas(ErrorBody, ValidateForm)))]
struct ValidationApi;

/// The validation route; `max_bytes` bounds the whole upload.
pub fn routes(anchors: AnchorSource, max_bytes: usize) -> (Router, utoipa::openapi::OpenApi) {
    let router = Router::new()
        .route("/api/v1/validate", post(validate))
        .layer(DefaultBodyLimit::max(max_bytes))
        .with_state(Arc::new(AppState { anchors }));
    (router, ValidationApi::openapi())
}
