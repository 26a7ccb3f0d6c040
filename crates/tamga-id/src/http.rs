//! The identity role's HTTP surface, all under the issuer path `/id`: discovery, JWKS, PAR,
//! authorization, the sign-in and consent pages, token, userinfo, revocation, introspection,
//! sign-out, and the operator's admin API (bearer token, compared in constant time; without a
//! token the admin API is off). The certificate sign-in has its own TLS listener
//! ([`certificate_router`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::cert_login::PeerChain;
use crate::client::{ClientRegistration, Presented, parse_basic};
use crate::model::{AuthParams, Loa, OAuthError, SCOPES, needs_consent};
use crate::pages;
use crate::provider::{Next, Profile, Provider, SignInError};

const TX_COOKIE: &str = "tamga_id_tx";
const SESSION_COOKIE: &str = "tamga_id_session";

struct AppState {
    provider: Arc<Provider>,
    admin_token: Option<String>,
    secure_cookies: bool,
}

type St = State<Arc<AppState>>;

use tamga_http::html::cookie;

fn set_cookie(s: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if s.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/id; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

fn page(status: StatusCode, html: String) -> Response {
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Pages are never framed (clickjacking) and load nothing from elsewhere.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn oauth_error(e: &OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = (
        status,
        Json(json!({ "error": e.error, "error_description": e.description })),
    )
        .into_response();
    if e.status == 401 {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tamga-id\""),
        );
    }
    no_store(r)
}

fn presented(headers: &HeaderMap, form: &HashMap<String, String>) -> Presented {
    Presented {
        basic: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_basic),
        assertion_type: form.get("client_assertion_type").cloned(),
        assertion: form.get("client_assertion").cloned(),
        client_id: form.get("client_id").cloned(),
    }
}

fn params_of(map: &HashMap<String, String>) -> AuthParams {
    serde_json::to_value(map)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn lang_of(q: Option<&str>, fallback: Option<&str>) -> String {
    match q.or(fallback) {
        Some("en") => "en".into(),
        _ => "mn".into(),
    }
}

#[utoipa::path(get, path = "/id/.well-known/openid-configuration", tag = "identity",
    summary = "OpenID Provider metadata / OIDC тохиргоо",
    responses((status = 200, description = "OIDC Discovery 1.0 metadata (JSON)")))]
async fn discovery(State(s): St) -> Response {
    Json(s.provider.discovery()).into_response()
}

#[utoipa::path(get, path = "/id/jwks", tag = "identity",
    summary = "Signing keys: previous, current, next / Гарын үсгийн түлхүүрүүд",
    responses((status = 200, description = "JWK Set (RFC 7517)")))]
async fn jwks(State(s): St) -> Response {
    let mut r = Json(s.provider.jwks()).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

#[utoipa::path(post, path = "/id/par", tag = "identity",
    summary = "Pushed authorization request (RFC 9126) / Урьдчилсан хүсэлт",
    request_body(content_type = "application/x-www-form-urlencoded", description = "authorization request parameters and client authentication"),
    responses((status = 201, description = "`request_uri` and `expires_in`"),
        (status = 400, description = "OAuth error"), (status = 401, description = "invalid_client")))]
async fn par(
    State(s): St,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let client = match s.provider.authenticate_client(&presented(&headers, &form)) {
        Ok(c) => c,
        Err(e) => return oauth_error(&e),
    };
    match s.provider.push(&client, params_of(&form)) {
        Ok((uri, exp)) => no_store(
            (
                StatusCode::CREATED,
                Json(json!({ "request_uri": uri, "expires_in": exp })),
            )
                .into_response(),
        ),
        Err(e) => oauth_error(&e),
    }
}

/// A redirect to one of the provider's pages for transaction `tx`, setting the browser-binding
/// cookie when the transaction is new.
fn to_page(s: &AppState, page: &str, tx: &str, cookie: Option<String>, lang: &str) -> Response {
    let mut r = Redirect::to(&format!(
        "{}/{page}?tx={tx}&lang={lang}",
        s.provider.issuer()
    ))
    .into_response();
    if let Some(c) = cookie {
        r.headers_mut()
            .append(header::SET_COOKIE, set_cookie(s, TX_COOKIE, &c, 600));
    }
    no_store(r)
}

fn next_response(s: &AppState, next: Next, lang: &str) -> Response {
    match next {
        Next::SignIn { tx, cookie } => to_page(s, "login", &tx, cookie, lang),
        Next::Represent { tx, cookie } => to_page(s, "represent", &tx, cookie, lang),
        Next::Consent { tx, cookie } => to_page(s, "consent", &tx, cookie, lang),
        Next::Redirect(url) => no_store(Redirect::to(&url).into_response()),
        Next::Refuse(why) => page(
            StatusCode::BAD_REQUEST,
            pages::problem(
                lang,
                "Хүсэлтийг хүлээн авах боломжгүй",
                "The request cannot be accepted",
                &why,
            ),
        ),
    }
}

async fn authorize(
    State(s): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let params = params_of(&q);
    let lang = lang_of(
        params
            .ui_locales
            .as_deref()
            .and_then(|l| l.split(' ').next()),
        None,
    );
    let session = cookie(&headers, SESSION_COOKIE);
    let next = s.provider.authorize(params, session.as_deref()).await;
    next_response(&s, next, &lang)
}

async fn authorize_post(
    st: St,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    authorize(st, headers, Query(form)).await
}

#[derive(Deserialize)]
struct TxQuery {
    tx: String,
    lang: Option<String>,
    error: Option<String>,
}

fn switch_url(path: &str, tx: &str, lang: &str) -> String {
    format!(
        "{path}?tx={}&lang={}",
        url::form_urlencoded::byte_serialize(tx.as_bytes()).collect::<String>(),
        if lang == "en" { "mn" } else { "en" }
    )
}

fn expired(lang: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        pages::problem(
            lang,
            "Нэвтрэлтийн хугацаа дууссан",
            "This sign-in has expired",
            pages::t(
                lang,
                "Үйлчилгээ рүүгээ буцаж, дахин эхлүүлнэ үү.",
                "Go back to the service and start again.",
            ),
        ),
    )
}

async fn login_page(State(s): St, headers: HeaderMap, Query(q): Query<TxQuery>) -> Response {
    let binding = cookie(&headers, TX_COOKIE);
    let Some(x) = s.provider.transaction(&q.tx, binding.as_deref()) else {
        return expired(&lang_of(q.lang.as_deref(), None));
    };
    let lang = lang_of(q.lang.as_deref(), x.auth.lang.as_deref());
    let cert_url = s.provider.certificate_login_url().map(|u| {
        format!(
            "{u}/id/certificate?tx={}&lang={lang}",
            url::form_urlencoded::byte_serialize(q.tx.as_bytes()).collect::<String>()
        )
    });
    let error = q.error.as_deref().map(|e| match e {
        "certificate" => pages::t(
            &lang,
            "Үнэмлэхний гэрчилгээг хүлээн авсангүй. Картаа шалгаад дахин оролдоно уу.",
            "Your ID card's certificate was not accepted. Check the card and try again.",
        ),
        _ => pages::t(
            &lang,
            "Регистрийн дугаар, нууц үг эсвэл код буруу байна. Олон удаа буруу оруулсан бол хэдэн минут хүлээнэ үү.",
            "The registration number, password or code is wrong. After several attempts, wait a few minutes.",
        ),
    });
    let name = s.provider.client_name(&x.auth.client_id, &lang);
    let passkey = s
        .provider
        .passkey_rp()
        .filter(|_| x.auth.min_loa <= Loa::Substantial)
        .and_then(|rp| {
            Some(pages::PasskeyButton {
                challenge: s.provider.passkey_challenge(&q.tx)?,
                rp_id: rp.rp_id,
            })
        });
    page(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        pages::sign_in(
            &lang,
            &q.tx,
            &name,
            x.auth.min_loa > Loa::Low,
            cert_url.as_deref(),
            error,
            x.auth.login_hint.as_deref(),
            passkey.as_ref(),
            &switch_url("login", &q.tx, &lang),
        ),
    )
}

#[derive(Deserialize)]
struct PasswordForm {
    tx: String,
    #[serde(default)]
    registration_number: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    otp: String,
    #[serde(default)]
    lang: Option<String>,
}

async fn login_password(State(s): St, headers: HeaderMap, Form(f): Form<PasswordForm>) -> Response {
    let binding = cookie(&headers, TX_COOKIE);
    let lang = lang_of(f.lang.as_deref(), None);
    match s
        .provider
        .sign_in_password(
            &f.tx,
            binding.as_deref(),
            &f.registration_number,
            &f.password,
            &f.otp,
        )
        .await
    {
        Ok(()) => complete_sign_in(&s, &f.tx, binding.as_deref(), &lang).await,
        Err(SignInError::Credentials) => no_store(
            Redirect::to(&format!(
                "{}/login?tx={}&error=credentials&lang={lang}",
                s.provider.issuer(),
                url::form_urlencoded::byte_serialize(f.tx.as_bytes()).collect::<String>()
            ))
            .into_response(),
        ),
        Err(SignInError::Storage) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::problem(&lang, "Түр саатал", "Temporarily unavailable", ""),
        ),
        Err(_) => expired(&lang),
    }
}

#[derive(Deserialize)]
struct PasskeyAssertion {
    tx: String,
    id: String,
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "authenticatorData")]
    authenticator_data: String,
    signature: String,
}

async fn login_passkey(
    State(s): St,
    headers: HeaderMap,
    Json(a): Json<PasskeyAssertion>,
) -> Response {
    let binding = cookie(&headers, TX_COOKIE);
    let dec = |v: &str| crate::jose::unb64(v).unwrap_or_default();
    match s
        .provider
        .sign_in_passkey(
            &a.tx,
            binding.as_deref(),
            &a.id,
            &dec(&a.client_data_json),
            &dec(&a.authenticator_data),
            &dec(&a.signature),
        )
        .await
    {
        Ok(()) => no_store(
            Json(json!({
                "next": format!(
                    "{}/login/complete?tx={}",
                    s.provider.issuer(),
                    url::form_urlencoded::byte_serialize(a.tx.as_bytes()).collect::<String>()
                )
            }))
            .into_response(),
        ),
        Err(SignInError::Transaction) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "the sign-in has expired" })),
        )
            .into_response(),
        Err(_) => (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "passkey refused" })),
        )
            .into_response(),
    }
}

async fn passkeys_page(State(s): St, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let lang = lang_of(q.lang.as_deref(), None);
    let session = cookie(&headers, SESSION_COOKIE);
    let rp = s.provider.passkey_rp();
    let options = match (&session, &rp) {
        (Some(c), Some(_)) => s.provider.passkey_registration(c).await,
        _ => None,
    };
    let rp_id = rp.map(|r| r.rp_id).unwrap_or_default();
    page(
        StatusCode::OK,
        pages::passkeys(&lang, options.as_ref().map(|o| (rp_id.as_str(), o))),
    )
}

#[derive(Deserialize)]
struct PasskeyRegistration {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "attestationObject")]
    attestation_object: String,
}

async fn passkeys_register(
    State(s): St,
    headers: HeaderMap,
    Json(r): Json<PasskeyRegistration>,
) -> Response {
    let Some(session) = cookie(&headers, SESSION_COOKIE) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "not signed in" })),
        )
            .into_response();
    };
    let dec = |v: &str| crate::jose::unb64(v).unwrap_or_default();
    match s
        .provider
        .register_passkey(
            &session,
            &dec(&r.client_data_json),
            &dec(&r.attestation_object),
        )
        .await
    {
        Ok(()) => (StatusCode::CREATED, Json(json!({ "registered": true }))).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response(),
    }
}

async fn represent_page(State(s): St, headers: HeaderMap, Query(q): Query<TxQuery>) -> Response {
    let binding = cookie(&headers, TX_COOKIE);
    let session = cookie(&headers, SESSION_COOKIE).and_then(|c| s.provider.session(&c));
    let (Some(x), Some(session)) = (s.provider.transaction(&q.tx, binding.as_deref()), session)
    else {
        return expired(&lang_of(q.lang.as_deref(), None));
    };
    let lang = lang_of(q.lang.as_deref(), x.auth.lang.as_deref());
    let mandates = s.provider.usable_mandates(&session.authn.account_id).await;
    let me = s
        .provider
        .store()
        .id_account(&session.authn.account_id)
        .await
        .ok()
        .flatten()
        .and_then(|a| serde_json::from_str::<Profile>(&a.profile).ok())
        .map(|p| format!("{} {}", p.family_name, p.given_name))
        .unwrap_or_default();
    let options: Vec<(String, String, String)> = mandates
        .iter()
        .map(|m| {
            let basis = match m.basis.as_str() {
                "parent" => pages::t(&lang, "хүүхэд (16 хүртэл насны)", "child under 16"),
                "guardian" => pages::t(&lang, "асран хамгаалуулагч", "ward"),
                "legal-representative" => {
                    pages::t(&lang, "хууль ёсны төлөөлөгч", "legal representative")
                }
                _ => pages::t(&lang, "ажилтан, итгэмжлэлээр", "employee, by mandate"),
            };
            (
                m.mandate_id.clone(),
                m.subject_name.clone(),
                basis.to_owned(),
            )
        })
        .collect();
    let name = s.provider.client_name(&x.auth.client_id, &lang);
    page(
        StatusCode::OK,
        pages::represent(
            &lang,
            &q.tx,
            &name,
            &me,
            &options,
            &switch_url("represent", &q.tx, &lang),
        ),
    )
}

#[derive(Deserialize)]
struct RepresentForm {
    tx: String,
    #[serde(default)]
    choice: String,
    #[serde(default)]
    lang: Option<String>,
}

async fn represent_post(
    State(s): St,
    headers: HeaderMap,
    Form(f): Form<RepresentForm>,
) -> Response {
    let binding = cookie(&headers, TX_COOKIE);
    let session = cookie(&headers, SESSION_COOKIE);
    let lang = lang_of(f.lang.as_deref(), None);
    if f.choice.is_empty() {
        // GOV.UK pattern: the same page again with an error summary.
        return no_store(
            Redirect::to(&format!(
                "{}/represent?tx={}&lang={lang}&error=choose",
                s.provider.issuer(),
                url::form_urlencoded::byte_serialize(f.tx.as_bytes()).collect::<String>()
            ))
            .into_response(),
        );
    }
    match s
        .provider
        .represent(&f.tx, binding.as_deref(), session.as_deref(), &f.choice)
        .await
    {
        Ok(next) => next_response(&s, next, &lang),
        Err(_) => expired(&lang),
    }
}

async fn mandates_page(State(s): St, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let lang = lang_of(q.lang.as_deref(), None);
    let Some(session) = cookie(&headers, SESSION_COOKIE).and_then(|c| s.provider.session(&c))
    else {
        return page(
            StatusCode::UNAUTHORIZED,
            pages::problem(&lang, "Нэвтэрнэ үү", "Please sign in", ""),
        );
    };
    let mandates = s.provider.usable_mandates(&session.authn.account_id).await;
    page(StatusCode::OK, pages::mandates(&lang, &mandates, None))
}

#[derive(Deserialize)]
struct GrantForm {
    company: String,
    registration_number: String,
    #[serde(default)]
    lang: Option<String>,
}

async fn mandates_post(State(s): St, headers: HeaderMap, Form(f): Form<GrantForm>) -> Response {
    let lang = lang_of(f.lang.as_deref(), None);
    let Some(c) = cookie(&headers, SESSION_COOKIE) else {
        return page(
            StatusCode::UNAUTHORIZED,
            pages::problem(&lang, "Нэвтэрнэ үү", "Please sign in", ""),
        );
    };
    let result = s
        .provider
        .grant_employee_mandate(&c, &f.company, &f.registration_number)
        .await;
    let Some(session) = s.provider.session(&c) else {
        return expired(&lang);
    };
    let mandates = s.provider.usable_mandates(&session.authn.account_id).await;
    match result {
        Ok(_) => page(
            StatusCode::OK,
            pages::mandates(&lang, &mandates, Some(Ok(()))),
        ),
        Err(e) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::mandates(&lang, &mandates, Some(Err(e))),
        ),
    }
}

#[derive(Deserialize)]
struct MandateRequest {
    actor_registration_number: String,
    subject_kind: String,
    subject_id: String,
    subject_name: String,
    basis: String,
    granted_by: String,
    subject_birthdate: Option<String>,
}

#[utoipa::path(post, path = "/id/admin/mandates", tag = "identity",
    summary = "Record a mandate from civil registration or the state register (operator) / Төлөөлөх эрх бүртгэх",
    security(("bearer" = [])),
    request_body(content_type = "application/json", description = "actor_registration_number, subject_kind (person|organization), subject_id, subject_name, basis (parent|guardian|legal-representative|employee), granted_by, subject_birthdate?"),
    responses((status = 201, description = "`mandate_id`"), (status = 400, description = "invalid or existing"), (status = 401, description = "no or wrong admin token")))]
async fn admin_mandate(State(s): St, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !authorised(&s, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let m: MandateRequest = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("mandate: {e}")).into_response(),
    };
    let row = tamga_store::MandateRow {
        mandate_id: crate::credentials::random_token()[..22].to_owned(),
        actor: m.actor_registration_number,
        subject_kind: m.subject_kind,
        subject_id: m.subject_id,
        subject_name: m.subject_name,
        basis: m.basis,
        granted_by: m.granted_by,
        subject_birthdate: m.subject_birthdate,
        valid_until_ms: None,
    };
    match s.provider.add_mandate(row).await {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "mandate_id": id }))).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn passkey_js() -> Response {
    let mut r = (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/passkey.js"),
    )
        .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

async fn complete_sign_in(s: &AppState, tx: &str, binding: Option<&str>, lang: &str) -> Response {
    match s.provider.after_sign_in(tx, binding).await {
        Ok((next, session)) => {
            let mut r = next_response(s, next, lang);
            if let Some(c) = session {
                r.headers_mut().append(
                    header::SET_COOKIE,
                    set_cookie(s, SESSION_COOKIE, &c, s.provider.config().session_secs),
                );
            }
            no_store(r)
        }
        Err(_) => expired(lang),
    }
}

async fn login_complete(State(s): St, headers: HeaderMap, Query(q): Query<TxQuery>) -> Response {
    let binding = cookie(&headers, TX_COOKIE);
    let lang = lang_of(q.lang.as_deref(), None);
    complete_sign_in(&s, &q.tx, binding.as_deref(), &lang).await
}

async fn consent_page(State(s): St, headers: HeaderMap, Query(q): Query<TxQuery>) -> Response {
    let binding = cookie(&headers, TX_COOKIE);
    let Some(x) = s.provider.transaction(&q.tx, binding.as_deref()) else {
        return expired(&lang_of(q.lang.as_deref(), None));
    };
    let lang = lang_of(q.lang.as_deref(), x.auth.lang.as_deref());
    let scopes: Vec<(&str, &str)> = SCOPES
        .iter()
        .filter(|(id, _, _)| needs_consent(id) && x.auth.scopes.iter().any(|s| s == id))
        .map(|(_, mn, en)| (*mn, *en))
        .collect();
    let name = s.provider.client_name(&x.auth.client_id, &lang);
    let signing = match &x.auth.credential {
        Some(c) => {
            let subject = s
                .provider
                .store()
                .id_credential(&c.credential_id)
                .await
                .ok()
                .flatten()
                .map(|r| r.description)
                .unwrap_or_default();
            Some(pages::Signing {
                description: c.description.clone(),
                credential: subject,
                hashes: c.hashes.clone(),
            })
        }
        None => None,
    };
    page(
        StatusCode::OK,
        pages::consent(
            &lang,
            &q.tx,
            &name,
            &scopes,
            signing.as_ref(),
            &switch_url("consent", &q.tx, &lang),
        ),
    )
}

#[derive(Deserialize)]
struct ConsentForm {
    tx: String,
    decision: String,
    #[serde(default)]
    lang: Option<String>,
}

async fn consent_post(State(s): St, headers: HeaderMap, Form(f): Form<ConsentForm>) -> Response {
    let binding = cookie(&headers, TX_COOKIE);
    let session = cookie(&headers, SESSION_COOKIE);
    let lang = lang_of(f.lang.as_deref(), None);
    match s
        .provider
        .decide(
            &f.tx,
            binding.as_deref(),
            session.as_deref(),
            f.decision == "allow",
        )
        .await
    {
        Ok(next) => next_response(&s, next, &lang),
        Err(_) => expired(&lang),
    }
}

#[utoipa::path(post, path = "/id/token", tag = "identity",
    summary = "Token endpoint: authorization_code (PKCE S256), refresh_token (rotated) / Токен",
    request_body(content_type = "application/x-www-form-urlencoded", description = "RFC 6749 §4.1.3 / §6 parameters and client authentication"),
    responses((status = 200, description = "access_token (RFC 9068 JWT), refresh_token, id_token (ES256)"),
        (status = 400, description = "OAuth error (invalid_grant, …)"), (status = 401, description = "invalid_client")))]
async fn token(
    State(s): St,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let client = match s.provider.authenticate_client(&presented(&headers, &form)) {
        Ok(c) => c,
        Err(e) => return oauth_error(&e),
    };
    match s.provider.token(&client, &form).await {
        Ok(t) => no_store(Json(t).into_response()),
        Err(e) => oauth_error(&e),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}

#[utoipa::path(get, path = "/id/userinfo", tag = "identity",
    summary = "Claims about the signed-in citizen / Иргэний мэдээлэл",
    security(("bearer" = [])),
    responses((status = 200, description = "claims by granted scope"), (status = 401, description = "invalid_token")))]
async fn userinfo(State(s): St, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    };
    match s.provider.userinfo(&token).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => {
            let mut r = (StatusCode::UNAUTHORIZED, Json(json!({"error": e.error}))).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "Bearer error=\"{}\", error_description=\"{}\"",
                e.error,
                e.description.replace('"', "'")
            )) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            r
        }
    }
}

#[utoipa::path(post, path = "/id/revoke", tag = "identity",
    summary = "Token revocation (RFC 7009) / Токен цуцлах",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token, token_type_hint, client authentication"),
    responses((status = 200, description = "revoked (or unknown)"), (status = 401, description = "invalid_client")))]
async fn revoke(
    State(s): St,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let client = match s.provider.authenticate_client(&presented(&headers, &form)) {
        Ok(c) => c,
        Err(e) => return oauth_error(&e),
    };
    let Some(token) = form.get("token") else {
        return oauth_error(&OAuthError::bad("invalid_request", "token is missing"));
    };
    match s.provider.revoke(&client, token).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => oauth_error(&e),
    }
}

#[utoipa::path(post, path = "/id/introspect", tag = "identity",
    summary = "Token introspection (RFC 7662) / Токен шалгах",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token and client authentication"),
    responses((status = 200, description = "{active, …}"), (status = 401, description = "invalid_client")))]
async fn introspect(
    State(s): St,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let client = match s.provider.authenticate_client(&presented(&headers, &form)) {
        Ok(c) => c,
        Err(e) => return oauth_error(&e),
    };
    let Some(token) = form.get("token") else {
        return oauth_error(&OAuthError::bad("invalid_request", "token is missing"));
    };
    match s.provider.introspect(&client, token).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => oauth_error(&e),
    }
}

async fn logout(
    State(s): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let session = cookie(&headers, SESSION_COOKIE);
    let lang = lang_of(q.get("ui_locales").map(String::as_str), None);
    match s
        .provider
        .end_session(
            session.as_deref(),
            q.get("id_token_hint").map(String::as_str),
            q.get("post_logout_redirect_uri").map(String::as_str),
            q.get("state").map(String::as_str),
        )
        .await
    {
        Ok(target) => {
            let mut r = match target {
                Some(url) => Redirect::to(&url).into_response(),
                None => page(StatusCode::OK, pages::signed_out(&lang)),
            };
            r.headers_mut()
                .append(header::SET_COOKIE, set_cookie(&s, SESSION_COOKIE, "", 0));
            no_store(r)
        }
        Err(e) => oauth_error(&e),
    }
}

async fn logout_post(
    st: St,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    logout(st, headers, Query(form)).await
}

fn authorised(s: &AppState, h: &HeaderMap) -> bool {
    let given = bearer(h).unwrap_or_default();
    s.admin_token.as_deref().is_some_and(|t| {
        aws_lc_rs::constant_time::verify_slices_are_equal(t.as_bytes(), given.as_bytes()).is_ok()
    })
}

#[utoipa::path(post, path = "/id/admin/clients", tag = "identity",
    summary = "Register a client (operator) / Клиент бүртгэх",
    security(("bearer" = [])),
    request_body(content_type = "application/json", description = "client registration"),
    responses((status = 201, description = "registered; `client_secret` for client_secret_basic, shown once"),
        (status = 400, description = "invalid registration"), (status = 401, description = "no or wrong admin token")))]
async fn admin_client(State(s): St, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !authorised(&s, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let reg: ClientRegistration = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("registration: {e}")).into_response(),
    };
    let id = reg.client_id.clone();
    match s.provider.register_client(reg).await {
        Ok(secret) => no_store(
            (
                StatusCode::CREATED,
                Json(json!({ "client_id": id, "client_secret": secret })),
            )
                .into_response(),
        ),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

#[derive(Deserialize)]
struct AccountRequest {
    registration_number: String,
    #[serde(flatten)]
    profile: Profile,
    password: Option<String>,
    #[serde(default)]
    totp: bool,
}

#[utoipa::path(post, path = "/id/admin/accounts", tag = "identity",
    summary = "Create a citizen account (operator) / Иргэний бүртгэл үүсгэх",
    security(("bearer" = [])),
    request_body(content_type = "application/json", description = "registration_number, given_name, family_name, birthdate?, password?, totp?"),
    responses((status = 201, description = "`account_id`, and the TOTP secret (base32, otpauth URI) when asked"),
        (status = 400, description = "invalid or existing"), (status = 401, description = "no or wrong admin token")))]
async fn admin_account(State(s): St, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !authorised(&s, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let req: AccountRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("account: {e}")).into_response(),
    };
    let pw = req.password.clone();
    match s
        .provider
        .create_account(
            &req.registration_number,
            &req.profile,
            pw.as_deref(),
            req.totp,
        )
        .await
    {
        Ok((id, totp)) => {
            let mut out = json!({ "account_id": id });
            if let Some(secret) = totp {
                let b32 = crate::credentials::base32(&secret);
                out["totp_secret"] = json!(b32);
                out["otpauth_uri"] = json!(format!(
                    "otpauth://totp/Tamga:{}?secret={b32}&issuer=Tamga&digits=6&period=30",
                    url::form_urlencoded::byte_serialize(req.registration_number.as_bytes())
                        .collect::<String>()
                ));
            }
            no_store((StatusCode::CREATED, Json(out)).into_response())
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

#[utoipa::path(post, path = "/id/admin/rotate-keys", tag = "identity",
    summary = "Rotate the ID-token signing key (operator) / Түлхүүр солих",
    security(("bearer" = [])),
    responses((status = 200, description = "`kid` of the new current key"), (status = 401, description = "no or wrong admin token")))]
async fn admin_rotate(State(s): St, headers: HeaderMap) -> Response {
    if !authorised(&s, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match s.provider.rotate_keys().await {
        Ok(kid) => Json(json!({ "kid": kid })).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

#[derive(Deserialize)]
struct CredentialEnrolment {
    registration_number: String,
    key_label: String,
    certificates_pem: String,
    credential_id: Option<String>,
    description: Option<String>,
}

#[utoipa::path(post, path = "/id/admin/credentials", tag = "identity",
    summary = "Enrol a remote-signing credential (operator) / Алсын гарын үсгийн түлхүүр бүртгэх",
    security(("bearer" = [])),
    request_body(content_type = "application/json", description = "registration_number, key_label (on the signing token), certificates_pem (signer first), credential_id?, description?"),
    responses((status = 201, description = "`credentialID`"),
        (status = 400, description = "no account, no such key, or the certificate is not the key's"), (status = 401, description = "no or wrong admin token")))]
async fn admin_credential(State(s): St, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !authorised(&s, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let req: CredentialEnrolment = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("credential: {e}")).into_response(),
    };
    match s
        .provider
        .enrol_credential(
            &req.registration_number,
            &req.key_label,
            &req.certificates_pem,
            req.credential_id.as_deref(),
            req.description.as_deref(),
        )
        .await
    {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "credentialID": id }))).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(discovery, jwks, par, token, userinfo, revoke, introspect, admin_client, admin_account, admin_rotate, admin_credential, admin_mandate),
    tags((name = "identity", description = "OpenID Connect provider (DAN) / ДАН нэвтрэлт"))
)]
struct IdApi;

/// The identity role's routes and their OpenAPI description.
pub fn routes(
    provider: Arc<Provider>,
    admin_token: Option<String>,
) -> (Router, utoipa::openapi::OpenApi) {
    let secure_cookies = provider.issuer().starts_with("https://");
    let state = Arc::new(AppState {
        provider,
        admin_token,
        secure_cookies,
    });
    let (csc, csc_api) = crate::csc::routes(Arc::clone(&state.provider));
    let router = Router::new()
        .route("/id/.well-known/openid-configuration", get(discovery))
        .route("/id/jwks", get(jwks))
        .route("/id/par", post(par))
        .route("/id/authorize", get(authorize).post(authorize_post))
        .route("/id/login", get(login_page))
        .route("/id/login/password", post(login_password))
        .route("/id/login/complete", get(login_complete))
        .route("/id/login/passkey", post(login_passkey))
        .route("/id/passkeys", get(passkeys_page).post(passkeys_register))
        .route("/id/represent", get(represent_page).post(represent_post))
        .route("/id/mandates", get(mandates_page).post(mandates_post))
        .route("/id/admin/mandates", post(admin_mandate))
        .route("/id/static/passkey.js", get(passkey_js))
        .route("/id/consent", get(consent_page).post(consent_post))
        .route("/id/token", post(token))
        .route("/id/userinfo", get(userinfo).post(userinfo))
        .route("/id/revoke", post(revoke))
        .route("/id/introspect", post(introspect))
        .route("/id/logout", get(logout).post(logout_post))
        .route("/id/admin/clients", post(admin_client))
        .route("/id/admin/accounts", post(admin_account))
        .route("/id/admin/rotate-keys", post(admin_rotate))
        .route("/id/admin/credentials", post(admin_credential))
        .with_state(state)
        .merge(csc);
    let mut api = IdApi::openapi();
    api.merge(csc_api);
    (router, api)
}

async fn certificate(
    State(p): State<Arc<Provider>>,
    chain: Option<Extension<PeerChain>>,
    Query(q): Query<TxQuery>,
    Query(l): Query<LangQuery>,
) -> Response {
    let lang = lang_of(l.lang.as_deref(), None);
    let chain = chain.map(|Extension(c)| c).unwrap_or_default();
    let tx = url::form_urlencoded::byte_serialize(q.tx.as_bytes()).collect::<String>();
    match p.sign_in_certificate(&q.tx, &chain.0).await {
        Ok(()) => no_store(
            Redirect::to(&format!(
                "{}/login/complete?tx={tx}&lang={lang}",
                p.issuer()
            ))
            .into_response(),
        ),
        Err(SignInError::Certificate(why)) => {
            tracing::info!(reason = %why, "certificate sign-in refused");
            page(
                StatusCode::FORBIDDEN,
                pages::problem(
                    &lang,
                    "Үнэмлэхний гэрчилгээг хүлээн авсангүй",
                    "Your ID card's certificate was not accepted",
                    &why,
                ),
            )
        }
        Err(_) => expired(&lang),
    }
}

/// The certificate sign-in listener's routes (served by [`crate::cert_login::serve`]).
pub fn certificate_router(provider: Arc<Provider>) -> Router {
    Router::new()
        .route("/id/certificate", get(certificate))
        .route(
            "/healthz",
            get(|| async { Json(Value::String("ok".into())) }),
        )
        .with_state(provider)
}
