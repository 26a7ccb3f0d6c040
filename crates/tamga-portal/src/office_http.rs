//! The agency back office (`/office`): officials sign in through the identity role at level
//! high — a sign-in with a certificate over mutual TLS — and act only if the operator named
//! them officials of an organisation; they see their organisation's queue with the evidence
//! the portal fetched, ask the applicant for more, and decide. Deny by default: an official
//! of one organisation never sees another's applications.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tamga_http::html::{cookie, esc, t};

use crate::account::{Accounts, Citizen};
use crate::applications::Applications;
use crate::http::{lang_of, page, private, set_cookie};
use crate::pages::layout;

const FLOW: &str = "tamga_office_flow";
const SESSION: &str = "tamga_office_session";

/// The back office: its own sign-in (client `agency-office`, level high) over the portal's
/// applications.
pub struct Office {
    /// Sign-in and sessions of officials.
    pub accounts: Arc<Accounts>,
    /// The applications.
    pub apps: Arc<Applications>,
}

#[derive(Deserialize, Default)]
struct Q {
    lang: Option<String>,
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

fn office_cookie(name: &str, value: &str, max_age: i64) -> axum::http::HeaderValue {
    let v = set_cookie(name, value, max_age);
    // The portal's cookies are scoped to /portal; the office's to /office.
    axum::http::HeaderValue::from_str(
        &v.to_str()
            .unwrap_or("")
            .replace("Path=/portal", "Path=/office"),
    )
    .unwrap_or(v)
}

async fn official(o: &Office, h: &HeaderMap) -> Option<(Citizen, String, String)> {
    let c = o.accounts.citizen(cookie(h, SESSION).as_deref())?;
    let store = o.apps.accounts().store().ok()?;
    let (org, name) = store.official_get(&c.registration_number).await.ok()??;
    Some((c, org, name))
}

fn show(lang: &str, status: StatusCode, title: &str, here: &str, body: &str) -> Response {
    private(page(status, layout(lang, title, here, body)))
}

async fn signin(State(o): State<Arc<Office>>, Query(q): Query<Q>) -> Response {
    let lang = lang_of(q.lang.as_deref());
    match o.accounts.start(lang, Some("/office")) {
        Some((flow, url)) => {
            let mut r = Redirect::to(&url).into_response();
            r.headers_mut()
                .append(header::SET_COOKIE, office_cookie(FLOW, &flow, 600));
            private(r)
        }
        None => show(
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "503",
            "/office",
            "<h1>503</h1>",
        ),
    }
}

async fn callback(State(o): State<Arc<Office>>, h: HeaderMap, Query(q): Query<Q>) -> Response {
    let result = o
        .accounts
        .finish_redirect(
            cookie(&h, FLOW).as_deref(),
            q.code.as_deref(),
            q.state.as_deref(),
            q.iss.as_deref(),
            q.error.as_deref(),
        )
        .await;
    match result {
        Ok((session, _)) => {
            let mut r = Redirect::to("/office").into_response();
            r.headers_mut()
                .append(header::SET_COOKIE, office_cookie(SESSION, &session, 3600));
            r.headers_mut()
                .append(header::SET_COOKIE, office_cookie(FLOW, "", 0));
            private(r)
        }
        Err(e) => private(page(
            StatusCode::BAD_REQUEST,
            crate::pages::problem("mn", "Нэвтэрч чадсангүй", "Sign-in failed", &e),
        )),
    }
}

fn refused(lang: &str) -> Response {
    show(
        lang,
        StatusCode::FORBIDDEN,
        "403",
        "/office",
        &format!(
            "<h1>{}</h1><p>{}</p>",
            t(lang, "Хандах эрхгүй", "No access"),
            t(
                lang,
                "Та аль нэг байгууллагын албан хаагчаар бүртгэгдээгүй байна.",
                "You are not named an official of any organisation."
            )
        ),
    )
}

async fn queue(State(o): State<Arc<Office>>, h: HeaderMap, Query(q): Query<Q>) -> Response {
    let lang = lang_of(q.lang.as_deref());
    if o.accounts.citizen(cookie(&h, SESSION).as_deref()).is_none() {
        return private(Redirect::to(&format!("/office/signin?lang={lang}")).into_response());
    }
    let Some((_, org, name)) = official(&o, &h).await else {
        return refused(lang);
    };
    let list = o.apps.queue(&org).await.unwrap_or_default();
    let mut rows = String::new();
    for a in &list {
        let title = o
            .apps
            .service(&a.service_id)
            .map(|s| t(lang, &s.title[0], &s.title[1]).to_owned())
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td><a href=\"/office/applications/{id}?lang={lang}\">{id}</a></td><td>{title}</td><td>{subject}</td><td>{status}</td><td>{date}</td></tr>",
            id = esc(&a.application_id),
            title = esc(&title),
            subject = esc(&a.subject),
            status = esc(&a.status),
            date = tamga_http::html::date_of_ms(a.created_at_ms),
        ));
    }
    let body = format!(
        "<h1>{h}</h1><p>{who} <strong>{name}</strong> ({org})</p><table><caption>{cap}</caption><thead><tr><th scope=\"col\">{c1}</th><th scope=\"col\">{c2}</th><th scope=\"col\">{c3}</th><th scope=\"col\">{c4}</th><th scope=\"col\">{c5}</th></tr></thead><tbody>{rows}</tbody></table>",
        h = t(lang, "Ирсэн өргөдлүүд", "Applications received"),
        who = t(lang, "Албан хаагч:", "Official:"),
        name = esc(&name),
        org = esc(&org),
        cap = t(lang, "Хуучин нь эхэндээ", "Oldest first"),
        c1 = t(lang, "Дугаар", "Number"),
        c2 = t(lang, "Үйлчилгээ", "Service"),
        c3 = t(lang, "Хэнд", "For"),
        c4 = t(lang, "Төлөв", "Status"),
        c5 = t(lang, "Ирсэн", "Received"),
    );
    show(
        lang,
        StatusCode::OK,
        t(lang, "Back office", "Back office"),
        "/office",
        &body,
    )
}

async fn application(
    State(o): State<Arc<Office>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Q>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some((c, org, _)) = official(&o, &h).await else {
        return refused(lang);
    };
    application_page(&o, &c, &org, lang, &id, None).await
}

async fn application_page(
    o: &Office,
    c: &Citizen,
    org: &str,
    lang: &str,
    id: &str,
    err: Option<crate::applications::Refusal>,
) -> Response {
    let Ok(Some((a, r, _))) = o.apps.office_get(org, id).await else {
        return show(
            lang,
            StatusCode::NOT_FOUND,
            "404",
            "/office",
            &format!(
                "<h1>{}</h1>",
                t(lang, "Өргөдөл олдсонгүй", "No such application")
            ),
        );
    };
    let s = o.apps.service(&a.service_id);
    let mut b = err
        .map(|e| format!("<div class=\"error-summary\" role=\"alert\"><h2>{}</h2><ul><li><a href=\"#reason\">{}</a></li></ul></div>", t(lang, "Алдаа гарлаа", "There is a problem"), esc(t(lang, &e.mn, &e.en))))
        .unwrap_or_default();
    b.push_str(&format!(
        "<a class=\"back\" href=\"/office?lang={lang}\">{}</a><h1>{} {}</h1><p><strong class=\"tag\">{}</strong></p>\
<p>{}: {} · {}: {} ({})</p><p><a href=\"/office/applications/{id}/signed\">{}</a></p><h2>{}</h2>",
        t(lang, "Буцах", "Back"),
        t(lang, "Өргөдөл", "Application"),
        esc(id),
        esc(&a.status),
        t(lang, "Өргөдөл гаргагч", "Applicant"),
        esc(&a.applicant),
        t(lang, "Хэнд", "For"),
        esc(&r.subject_name),
        esc(&a.subject),
        t(lang, "Гарын үсэгтэй өргөдөл (PDF)", "Signed application (PDF)"),
        t(lang, "Бүртгэлээс авсан мэдээлэл", "Evidence from the registers"),
        id = esc(id),
    ));
    for (i, f) in r.evidence.iter().enumerate() {
        let title = s
            .as_ref()
            .and_then(|s| s.evidence.get(i))
            .map(|e| t(lang, &e.title[0], &e.title[1]).to_owned())
            .unwrap_or_else(|| f.service.clone());
        b.push_str(&format!(
            "<h3>{}</h3><pre style=\"white-space:pre-wrap;overflow-wrap:anywhere\">{}</pre>",
            esc(&title),
            esc(&serde_json::to_string_pretty(&f.data).unwrap_or_default())
        ));
    }
    if let Some(s) = &s {
        b.push_str(&format!(
            "<h2>{}</h2><dl class=\"answers\">",
            t(lang, "Хариултууд", "Answers")
        ));
        for q in &s.questions {
            b.push_str(&format!(
                "<div><dt>{}</dt><dd>{}</dd></div>",
                esc(t(lang, &q.label[0], &q.label[1])),
                r.answers
                    .get(&q.key)
                    .map(i64::to_string)
                    .unwrap_or_default()
            ));
        }
        b.push_str("</dl>");
    }
    for m in &r.messages {
        b.push_str(&format!(
            "<p><strong>{}</strong> {}: {}</p>",
            tamga_http::html::date_of_ms(m.at_ms),
            esc(&m.from),
            esc(&m.text)
        ));
    }
    if a.status == "delivered" {
        b.push_str(&format!(
            "<form method=\"post\" action=\"/office/applications/{id}/decide?lang={lang}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<fieldset><legend><h2>{d}</h2></legend>\
<div class=\"radio\"><input type=\"radio\" id=\"act-approve\" name=\"action\" value=\"approve\"><label for=\"act-approve\">{ap}</label></div>\
<div class=\"radio\"><input type=\"radio\" id=\"act-refuse\" name=\"action\" value=\"refuse\"><label for=\"act-refuse\">{rf}</label></div>\
<div class=\"radio\"><input type=\"radio\" id=\"act-ask\" name=\"action\" value=\"ask\"><label for=\"act-ask\">{ask}</label></div></fieldset>\
<label for=\"reason\">{rl}</label><textarea id=\"reason\" name=\"reason\" rows=\"4\"></textarea>\
<div><button type=\"submit\">{go}</button></div></form>",
            id = esc(id),
            csrf = esc(&c.csrf),
            d = t(lang, "Шийдвэр", "Decision"),
            ap = t(lang, "Зөвшөөрөх", "Approve"),
            rf = t(lang, "Татгалзах", "Refuse"),
            ask = t(lang, "Нэмэлт мэдээлэл хүсэх", "Ask the applicant for more"),
            rl = t(lang, "Үндэслэл эсвэл асуулт", "Grounds, or the question"),
            go = t(lang, "Батлах", "Confirm"),
        ));
    }
    if let Some(d) = &r.decision {
        b.push_str(&format!(
            "<h2>{}</h2><p>{} — {}</p><p><code>{}</code></p>",
            t(lang, "Шийдвэр", "Decision"),
            esc(&d.outcome),
            esc(&d.reason),
            esc(&d.code)
        ));
    }
    show(
        lang,
        StatusCode::OK,
        t(lang, "Өргөдөл", "Application"),
        &format!("/office/applications/{id}"),
        &b,
    )
}

async fn signed(State(o): State<Arc<Office>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let Some((_, org, _)) = official(&o, &h).await else {
        return refused("mn");
    };
    match o.apps.office_get(&org, &id).await {
        Ok(Some((_, _, Some(pdf)))) => {
            let asic = !pdf.starts_with(b"%PDF-");
            let mut r = pdf.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static(if asic {
                    tamga_sign::asic::MIME_ASIC_S
                } else {
                    "application/pdf"
                }),
            );
            private(r)
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn decide(
    State(o): State<Arc<Office>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Q>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some((c, org, name)) = official(&o, &h).await else {
        return refused(lang);
    };
    if !c.csrf_ok(f.get("csrf").map(String::as_str).unwrap_or("")) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let reason = f.get("reason").map(String::as_str).unwrap_or("");
    let result = match f.get("action").map(String::as_str) {
        Some("approve") => o
            .apps
            .decide(&org, &name, &id, true, reason)
            .await
            .map(|_| ()),
        Some("refuse") => o
            .apps
            .decide(&org, &name, &id, false, reason)
            .await
            .map(|_| ()),
        Some("ask") => o.apps.ask(&org, &id, reason).await,
        _ => Err(crate::applications::Refusal {
            mn: "Шийдвэрээ сонгоно уу".into(),
            en: "Choose a decision".into(),
        }),
    };
    match result {
        Ok(()) => {
            private(Redirect::to(&format!("/office/applications/{id}?lang={lang}")).into_response())
        }
        Err(e) => application_page(&o, &c, &org, lang, &id, Some(e)).await,
    }
}

/// The back office's routes.
pub fn routes(office: Arc<Office>) -> Router {
    Router::new()
        .route("/office", get(queue))
        .route("/office/signin", get(signin))
        .route("/office/callback", get(callback))
        .route("/office/applications/{id}", get(application))
        .route("/office/applications/{id}/signed", get(signed))
        .route("/office/applications/{id}/decide", post(decide))
        .with_state(office)
}
