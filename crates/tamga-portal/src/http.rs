//! The portal's HTTP surface: `/portal` (home: search, life events, organisations),
//! `/portal/services` (search and filters), `/portal/services/{id}` (one service), and the
//! catalogue as JSON for integrators (`/portal/api/services`).

use axum::{Form, Router};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use utoipa::OpenApi;

use crate::account::Accounts;
use crate::catalogue::{Catalogue, LIFE_EVENTS};
use crate::pages;

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    event: Option<String>,
    provider: Option<String>,
    lang: Option<String>,
    next: Option<String>,
}

pub(crate) fn lang_of(l: Option<&str>) -> &'static str {
    if l == Some("en") { "en" } else { "mn" }
}

/// The identity role's origin: forms that start a signature redirect there, and CSP
/// `form-action` also governs where a form's redirects may go.
static IDENTITY_ORIGIN: std::sync::RwLock<String> = std::sync::RwLock::new(String::new());

/// Allows forms to lead to the identity role (`scheme://host:port` of its issuer).
pub fn allow_form_action_to(issuer: &str) {
    let origin = url::Url::parse(issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    *IDENTITY_ORIGIN.write().unwrap_or_else(|p| p.into_inner()) = origin;
}

pub(crate) fn page(status: StatusCode, html: String) -> Response {
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    let identity = IDENTITY_ORIGIN
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; font-src 'self'; form-action 'self' {identity}; frame-ancestors 'none'"
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(csp.trim()).unwrap_or_else(|_| {
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; font-src 'self'; form-action 'self'; frame-ancestors 'none'",
            )
        }),
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

async fn service(
    State(a): State<Arc<Accounts>>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let c = Catalogue::embedded();
    match c.service(&id) {
        Some(s) => page(
            StatusCode::OK,
            pages::service(lang, c, s, a.is_once_only(&s.id)),
        ),
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

/// Noto Sans (OFL), Latin + Cyrillic subset with Ө ө Ү ү: cached for a year, so a rural
/// connection fetches it once.
async fn font(bytes: &'static [u8]) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("font/woff2"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    r
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

const FLOW_COOKIE: &str = "tamga_portal_flow";
pub(crate) const SESSION_COOKIE: &str = "tamga_portal_session";

use tamga_http::html::cookie;

pub(crate) fn set_cookie(name: &str, value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/portal; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(crate) fn private(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn signin(State(a): State<Arc<Accounts>>, Query(q): Query<ListQuery>) -> Response {
    let lang = lang_of(q.lang.as_deref());
    match a.start(lang, q.next.as_deref()) {
        Some((flow, url)) => {
            let mut r = Redirect::to(&url).into_response();
            r.headers_mut()
                .append(header::SET_COOKIE, set_cookie(FLOW_COOKIE, &flow, 600));
            private(r)
        }
        None => page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::layout(lang, "503", "/portal", "<h1>503</h1>"),
        ),
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(a): State<Arc<Accounts>>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let flow = cookie(&headers, FLOW_COOKIE);
    let result = a
        .finish_redirect(
            flow.as_deref(),
            q.code.as_deref(),
            q.state.as_deref(),
            q.iss.as_deref(),
            q.error.as_deref(),
        )
        .await;
    match result {
        Ok((session, next)) => {
            let to = if next.starts_with("/portal/") {
                next
            } else {
                "/portal/my-data".to_owned()
            };
            let mut r = Redirect::to(&to).into_response();
            let h = r.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &session, 3600),
            );
            h.append(header::SET_COOKIE, set_cookie(FLOW_COOKIE, "", 0));
            private(r)
        }
        Err(e) => {
            // The reason is shown to the citizen; it carries nothing personal.
            private(page(
                StatusCode::BAD_REQUEST,
                pages::problem("mn", "Нэвтэрч чадсангүй", "Sign-in failed", &e),
            ))
        }
    }
}

async fn signout(
    State(a): State<Arc<Accounts>>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let session = cookie(&headers, SESSION_COOKIE);
    // A cross-site form cannot sign a citizen out: the token must be the session's.
    if let Some(c) = a.citizen(session.as_deref())
        && !c.csrf_ok(&f.csrf)
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    a.sign_out(session.as_deref());
    let mut r = Redirect::to("/portal").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    private(r)
}

#[derive(Deserialize, Default)]
struct DataQuery {
    org: Option<String>,
    lang: Option<String>,
}

async fn my_data(
    State(a): State<Arc<Accounts>>,
    headers: HeaderMap,
    Query(q): Query<DataQuery>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some(citizen) = a.citizen(cookie(&headers, SESSION_COOKIE).as_deref()) else {
        return private(Redirect::to(&format!("/portal/signin?lang={lang}")).into_response());
    };
    let (mut usages, failed) = a.usage(&citizen).await;
    let orgs: Vec<(String, String)> = {
        let mut v: Vec<(String, String)> = usages
            .iter()
            .map(|u| {
                (
                    u.organisation.clone(),
                    tamga_http::html::t(lang, &u.organisation_mn, &u.organisation_en).to_owned(),
                )
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    if let Some(o) = q.org.as_deref().filter(|o| !o.is_empty()) {
        usages.retain(|u| u.organisation == o);
    }
    private(page(
        StatusCode::OK,
        pages::my_data(
            lang,
            &citizen,
            &usages,
            &failed,
            &orgs,
            q.org.as_deref(),
            &|i| a.receipt_url(i),
        ),
    ))
}

async fn wallet(
    State(a): State<Arc<Accounts>>,
    headers: HeaderMap,
    Query(q): Query<DataQuery>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some(citizen) = a.citizen(cookie(&headers, SESSION_COOKIE).as_deref()) else {
        return private(Redirect::to(&format!("/portal/signin?lang={lang}")).into_response());
    };
    wallet_page(&a, &citizen, lang, None).await
}

async fn wallet_page(
    a: &Accounts,
    citizen: &crate::account::Citizen,
    lang: &str,
    notice: Option<Result<String, String>>,
) -> Response {
    match a.wallet(citizen).await {
        Ok(docs) => private(page(
            if matches!(notice, Some(Err(_))) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            },
            pages::wallet(lang, citizen, &docs, notice.as_ref()),
        )),
        Err(e) => private(page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::problem(lang, "Түр саатал", "Temporarily unavailable", &e),
        )),
    }
}

async fn download(
    State(a): State<Arc<Accounts>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(citizen) = a.citizen(cookie(&headers, SESSION_COOKIE).as_deref()) else {
        return private(Redirect::to("/portal/signin").into_response());
    };
    match a.download(&citizen, &id).await {
        Ok(Some((d, content))) => file(&d, content),
        // Another citizen's document is as absent as a missing one.
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

pub(crate) fn file(d: &tamga_store::WalletDocument, content: Vec<u8>) -> Response {
    let mut r = content.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&d.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let name: String = d
        .file_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    private(r)
}

#[derive(Deserialize)]
struct ShareForm {
    recipient: String,
    days: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lang: Option<String>,
}

async fn share(
    State(a): State<Arc<Accounts>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ShareForm>,
) -> Response {
    let lang = lang_of(f.lang.as_deref());
    let Some(citizen) = a.citizen(cookie(&headers, SESSION_COOKIE).as_deref()) else {
        return private(Redirect::to("/portal/signin").into_response());
    };
    if !citizen.csrf_ok(&f.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let days = f.days.trim().parse::<i64>().unwrap_or(0);
    let result = a
        .share(&citizen, &id, &f.recipient, days)
        .await
        .map(|token| format!("/portal/shared/{token}"));
    wallet_page(&a, &citizen, lang, Some(result)).await
}

#[derive(Deserialize, Default)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn revoke(
    State(a): State<Arc<Accounts>>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let Some(citizen) = a.citizen(cookie(&headers, SESSION_COOKIE).as_deref()) else {
        return private(Redirect::to("/portal/signin").into_response());
    };
    if !citizen.csrf_ok(&f.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    match a.revoke_share(&citizen, &share_id).await {
        Ok(true) => private(Redirect::to("/portal/wallet").into_response()),
        Ok(false) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn shared(State(a): State<Arc<Accounts>>, Path(token): Path<String>) -> Response {
    match a.open_share(&token).await {
        Ok(Some((d, content))) => file(&d, content),
        Ok(None) => page(
            StatusCode::GONE,
            pages::layout(
                "mn",
                "410",
                "/portal",
                "<h1>Холбоос хүчингүй / This link is no longer valid</h1>\
<p>Хугацаа нь дууссан эсвэл эзэмшигч нь цуцалсан. / It has expired or its owner revoked it.</p>",
            ),
        ),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn verify_form(Query(q): Query<ListQuery>) -> Response {
    page(
        StatusCode::OK,
        pages::verify(lang_of(q.lang.as_deref()), None, None),
    )
}

async fn verify_upload(
    State(a): State<Arc<Accounts>>,
    Query(q): Query<ListQuery>,
    mut form: axum::extract::Multipart,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let mut file = None;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("document").to_owned();
            match field.bytes().await {
                Ok(b) if !b.is_empty() => file = Some((name, b.to_vec())),
                _ => {}
            }
        }
    }
    let Some((name, bytes)) = file else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::verify(
                lang,
                None,
                Some(tamga_http::html::t(
                    lang,
                    "Файл сонгоно уу",
                    "Choose a file",
                )),
            ),
        );
    };
    match a.validate(&name, bytes).await {
        Ok(report) if report.get("indication").is_some() => {
            page(StatusCode::OK, pages::verify(lang, Some(&report), None))
        }
        Ok(report) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::verify(
                lang,
                None,
                Some(
                    report
                        .get(if lang == "en" { "error_en" } else { "error_mn" })
                        .and_then(|v| v.as_str())
                        .unwrap_or("?"),
                ),
            ),
        ),
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::verify(lang, None, Some(&e)),
        ),
    }
}

#[derive(OpenApi)]
#[openapi(paths(api_services), tags((name = "portal", description = "Citizen portal / Иргэний портал")))]
struct PortalApi;

/// The portal's routes and their OpenAPI description.
pub fn routes(accounts: Arc<Accounts>) -> (Router, utoipa::openapi::OpenApi) {
    let citizen = Router::new()
        .route("/portal/services/{id}", get(service))
        .route("/portal/signin", get(signin))
        .route("/portal/callback", get(callback))
        .route("/portal/signout", axum::routing::post(signout))
        .route("/portal/my-data", get(my_data))
        .route("/portal/wallet", get(wallet))
        .route("/portal/wallet/{id}/download", get(download))
        .route("/portal/wallet/{id}/share", axum::routing::post(share))
        .route("/portal/shares/{id}/revoke", axum::routing::post(revoke))
        .route("/portal/shared/{token}", get(shared))
        .route(
            "/portal/verify",
            get(verify_form)
                .post(verify_upload)
                .layer(axum::extract::DefaultBodyLimit::max(20 * 1024 * 1024)),
        )
        .with_state(accounts);
    let router = Router::new()
        .route("/portal", get(home))
        .route("/portal/services", get(services))
        .route("/portal/api/services", get(api_services))
        .route("/portal/accessibility", get(accessibility))
        .route(
            "/portal/static/noto-sans.woff2",
            get(|| font(tamga_pdfa::NOTO_SANS_REGULAR_WOFF2)),
        )
        .route(
            "/portal/static/noto-sans-bold.woff2",
            get(|| font(tamga_pdfa::NOTO_SANS_BOLD_WOFF2)),
        )
        .merge(citizen);
    (router, PortalApi::openapi())
}
