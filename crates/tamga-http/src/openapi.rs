//! The node's own OpenAPI 3.1 paths (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`);
//! roles merge theirs into the document the node serves.

use serde::Serialize;
use utoipa::OpenApi;
use utoipa::openapi::{InfoBuilder, LicenseBuilder};

/// What `/readyz` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready`, `not ready` or `draining`.
    pub status: &'static str,
    /// Each check's result.
    pub checks: Vec<CheckResult>,
}

/// One readiness check's result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckResult {
    /// The check's name, e.g. `database`.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[utoipa::path(get, path = "/healthz", tag = "system",
    summary = "Liveness: the process answers / Процесс ажиллаж байна",
    responses((status = 200, description = "Alive", body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

#[utoipa::path(get, path = "/readyz", tag = "system",
    summary = "Readiness: every dependency answers / Бэлэн байдал",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "Not ready or draining", body = Readiness)))]
#[allow(dead_code)]
pub(crate) fn readyz_doc() {}

#[utoipa::path(get, path = "/metrics", tag = "system",
    summary = "Prometheus metrics / Хэмжилтүүд",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain")))]
#[allow(dead_code)]
pub(crate) fn metrics_doc() {}

#[utoipa::path(get, path = "/openapi.json", tag = "system",
    summary = "This document / Энэ баримт бичиг",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
#[allow(dead_code)]
pub(crate) fn openapi_doc() {}

#[derive(OpenApi)]
#[openapi(
    paths(healthz, readyz_doc, metrics_doc, openapi_doc),
    components(schemas(Readiness, CheckResult)),
    tags((name = "system", description = "Health, readiness, metrics / Системийн төлөв"))
)]
struct SystemApi;

/// The document a node starts from: its title and version, and the system paths.
pub fn base_openapi(title: &str, version: &str) -> utoipa::openapi::OpenApi {
    let mut doc = SystemApi::openapi();
    doc.info = InfoBuilder::new()
        .title(title)
        .version(version)
        .description(Some(
            "Tamga — signature-first e-government platform / Тамга — цахим засаглалын гарын үсэгт суурилсан платформ",
        ))
        .license(Some(LicenseBuilder::new().name("Apache-2.0").identifier(Some("Apache-2.0")).build()))
        .build();
    doc
}
