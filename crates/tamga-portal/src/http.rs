//! The portal's HTTP surface: `/portal` (home: search, life events, organisations),
//! `/portal/services` (search and filters), `/portal/services/{id}` (one service), and the
//! catalogue as JSON for integrators (`/portal/api/services`).

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use utoipa::OpenApi;

use crate::catalogue::{Catalogue, LIFE_EVENTS};
use crate::pages;

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    event: Option<String>,
    provider: Option<String>,
    lang: Option<String>,
}

fn lang_of(l: Option<&str>) -> &'static str {
    if l == Some("en") { "en" } else { "mn" }
}

fn page(status: StatusCode, html: String) -> Response {
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    r
}

async fn home(Query(q): Query<ListQuery>) -> Response {
    page(
        StatusCode::OK,
        pages::home(lang_of(q.lang.as_deref()), Catalogue::embedded()),
    )
}

async fn services(Query(q): Query<ListQuery>) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let c = Catalogue::embedded();
    let text = q.q.clone().unwrap_or_default();
    if text.len() > 200 {
        return page(
            StatusCode::BAD_REQUEST,
            pages::layout(lang, "400", "/portal", "<h1>400</h1>"),
        );
    }
    let event = q.event.as_deref().filter(|e| !e.is_empty());
    let provider = q.provider.as_deref().filter(|p| !p.is_empty());
    let found = c.search(&text, event, provider);
    let heading = match (event, provider) {
        (Some(e), _) => LIFE_EVENTS
            .iter()
            .find(|(id, _, _)| *id == e)
            .map(|(_, mn, en)| tamga_http::html::t(lang, mn, en).to_owned())
            .unwrap_or_else(|| e.to_owned()),
        (None, Some(p)) => c
            .organisations
            .get(p)
            .map(|o| tamga_http::html::t(lang, &o.name_mn, &o.name_en).to_owned())
            .unwrap_or_else(|| p.to_owned()),
        (None, None) => tamga_http::html::t(lang, "Хайлтын үр дүн", "Search results").to_owned(),
    };
    let mut here = String::from("/portal/services?");
    for (k, v) in [
        ("q", Some(text.as_str())),
        ("event", event),
        ("provider", provider),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            here.push_str(&format!(
                "{k}={}&",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            ));
        }
    }
    let here = here.trim_end_matches(['&', '?']).to_owned();
    page(
        StatusCode::OK,
        pages::list(lang, c, &text, &heading, &here, &found),
    )
}

async fn service(Path(id): Path<String>, Query(q): Query<ListQuery>) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let c = Catalogue::embedded();
    match c.service(&id) {
        Some(s) => page(StatusCode::OK, pages::service(lang, c, s)),
        None => page(
            StatusCode::NOT_FOUND,
            pages::layout(
                lang,
                tamga_http::html::t(lang, "Олдсонгүй", "Not found"),
                "/portal",
                &format!(
                    "<h1>{}</h1><p><a href=\"/portal?lang={lang}\">{}</a></p>",
                    tamga_http::html::t(lang, "Ийм үйлчилгээ олдсонгүй", "No such service"),
                    tamga_http::html::t(lang, "Бүх үйлчилгээ", "All services"),
                ),
            ),
        ),
    }
}

async fn accessibility(Query(q): Query<ListQuery>) -> Response {
    page(
        StatusCode::OK,
        pages::accessibility(lang_of(q.lang.as_deref())),
    )
}

#[utoipa::path(get, path = "/portal/api/services", tag = "portal",
    summary = "The service catalogue (search and filters) / Үйлчилгээний каталог",
    params(("q" = Option<String>, Query, description = "words, Mongolian or English"),
           ("event" = Option<String>, Query, description = "life event id"),
           ("provider" = Option<String>, Query, description = "organisation id")),
    responses((status = 200, description = "services with provider, life event, documents, fee, deadline, Khur operations")))]
async fn api_services(Query(q): Query<ListQuery>) -> Response {
    let c = Catalogue::embedded();
    let found = c.search(
        q.q.as_deref().unwrap_or(""),
        q.event.as_deref().filter(|e| !e.is_empty()),
        q.provider.as_deref().filter(|p| !p.is_empty()),
    );
    Json(json!({
        "count": found.len(),
        "services": found.iter().map(|s| json!({
            "id": s.id, "name_mn": s.name_mn, "name_en": s.name_en,
            "provider_id": s.provider_id, "life_event": s.life_event,
            "documents": s.documents.iter().map(|d| json!({"mn": d.mn, "en": d.en})).collect::<Vec<_>>(),
            "fee": s.fee, "deadline": s.deadline, "khur_operations": s.khur_operations,
        })).collect::<Vec<_>>(),
    }))
    .into_response()
}

#[derive(OpenApi)]
#[openapi(paths(api_services), tags((name = "portal", description = "Citizen portal / Иргэний портал")))]
struct PortalApi;

/// The portal's routes and their OpenAPI description.
pub fn routes() -> (Router, utoipa::openapi::OpenApi) {
    let router = Router::new()
        .route("/portal", get(home))
        .route("/portal/services", get(services))
        .route("/portal/services/{id}", get(service))
        .route("/portal/api/services", get(api_services))
        .route("/portal/accessibility", get(accessibility));
    (router, PortalApi::openapi())
}
