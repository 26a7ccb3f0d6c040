//! The application journey's pages (GOV.UK patterns: one question per page, error summary
//! that links to the field, answers kept on error, back links), the citizen's applications
//! and inbox, notification settings, verification by code, and the organisations' inbound
//! endpoint for applications delivered over the exchange.
//!
//! Every form carries the session's anti-forgery token; a missing or wrong one is refused
//! (403) before anything else is looked at.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::HashMap;
use tamga_http::html::{cookie, esc, t};

use crate::account::Citizen;
use crate::applications::{Applications, Refusal};
use crate::http::{SESSION_COOKIE, lang_of, page, private};
use crate::pages::layout;

type Form = HashMap<String, String>;

fn signed_in(a: &Applications, h: &HeaderMap) -> Option<Citizen> {
    a.accounts().citizen(cookie(h, SESSION_COOKIE).as_deref())
}

fn to_signin(lang: &str) -> Response {
    private(Redirect::to(&format!("/portal/signin?lang={lang}")).into_response())
}

fn forbidden() -> Response {
    private(
        (
            StatusCode::FORBIDDEN,
            "Хүсэлтийг баталгаажуулж чадсангүй (CSRF) / The form could not be verified (CSRF)",
        )
            .into_response(),
    )
}

/// The signed-in citizen behind a posted form, whose anti-forgery token must be the session's.
/// (The refusal is a whole response, returned at once; its size does not matter here.)
#[allow(clippy::result_large_err)]
fn form_citizen(
    a: &Applications,
    h: &HeaderMap,
    lang: &str,
    f: &Form,
) -> Result<Citizen, Response> {
    let c = signed_in(a, h).ok_or_else(|| to_signin(lang))?;
    if !c.csrf_ok(f.get("csrf").map(String::as_str).unwrap_or("")) {
        return Err(forbidden());
    }
    Ok(c)
}

fn csrf_field(c: &Citizen) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&c.csrf)
    )
}

fn error_summary(lang: &str, r: &Refusal, field: &str) -> String {
    format!(
        "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\"><h2>{}</h2><ul><li><a href=\"#{field}\">{}</a></li></ul></div>",
        t(lang, "Алдаа гарлаа", "There is a problem"),
        esc(t(lang, &r.mn, &r.en))
    )
}

/// The message under a field with an error (GOV.UK error message pattern).
fn inline_error(lang: &str, err: Option<&Refusal>, field: &str) -> String {
    err.map(|e| {
        format!(
            "<p class=\"error\" id=\"{field}-error\">{}</p>",
            esc(t(lang, &e.mn, &e.en))
        )
    })
    .unwrap_or_default()
}

fn invalid_attr(err: Option<&Refusal>) -> &'static str {
    if err.is_some() {
        " aria-invalid=\"true\""
    } else {
        ""
    }
}

/// 422 for a page shown again with an error, 200 otherwise.
fn status_for(err: Option<&Refusal>) -> StatusCode {
    if err.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

fn show(lang: &str, status: StatusCode, title: &str, here: &str, body: &str) -> Response {
    private(page(status, layout(lang, title, here, body)))
}

fn not_found(lang: &str) -> Response {
    show(
        lang,
        StatusCode::NOT_FOUND,
        t(lang, "Олдсонгүй", "Not found"),
        "/portal",
        &format!(
            "<h1>{}</h1>",
            t(lang, "Өргөдөл олдсонгүй", "No such application")
        ),
    )
}

fn unavailable(lang: &str, r: &Refusal) -> Response {
    show(
        lang,
        StatusCode::SERVICE_UNAVAILABLE,
        "503",
        "/portal",
        &format!(
            "<h1>{}</h1><p>{}</p>",
            t(lang, "Түр саатал", "Temporarily unavailable"),
            esc(t(lang, &r.mn, &r.en))
        ),
    )
}

#[derive(Deserialize, Default)]
struct LangQ {
    lang: Option<String>,
    code: Option<String>,
}

/// `GET /portal/services/{id}/apply`: whom for.
async fn start(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQ>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some(c) = signed_in(&a, &h) else {
        return to_signin(lang);
    };
    let Some(s) = a.service(&id) else {
        return not_found(lang);
    };
    start_page(&a, &c, lang, &s, None).await
}

async fn start_page(
    a: &Applications,
    c: &Citizen,
    lang: &str,
    s: &crate::applications::OnceOnlyService,
    err: Option<Refusal>,
) -> Response {
    let who = a.who(c, s).await;
    let mut radios = String::new();
    for (i, w) in who.iter().enumerate() {
        let label = match w.basis.as_str() {
            "self" => format!(
                "{} ({})",
                t(lang, "Өөрийн нэрийн өмнөөс", "For myself"),
                esc(&w.name)
            ),
            "parent" | "guardian" => format!(
                "{} — {} ({})",
                esc(&w.name),
                t(lang, "миний хүүхэд, 16 нас хүрээгүй", "my child, under 16"),
                esc(&w.subject)
            ),
            _ => format!(
                "{} — {} ({})",
                esc(&w.name),
                t(lang, "байгууллага, итгэмжлэлээр", "a company I represent"),
                esc(&w.subject)
            ),
        };
        radios.push_str(&format!(
            "<div class=\"radio\"><input type=\"radio\" id=\"who{i}\" name=\"who\" value=\"{}\"><label for=\"who{i}\">{label}</label></div>",
            esc(&w.choice)
        ));
    }
    let body = format!(
        "<a class=\"back\" href=\"/portal/services/{sid}?lang={lang}\">{back}</a>{err}\
<form method=\"post\" action=\"/portal/services/{sid}/apply?lang={lang}\">{csrf}\
<fieldset id=\"who\"><legend><h1>{q}</h1></legend><p class=\"hint\">{svc}</p>{radios}</fieldset>\
<button type=\"submit\">{go}</button></form>",
        sid = esc(&s.service_id),
        back = t(lang, "Буцах", "Back"),
        err = err
            .as_ref()
            .map(|e| error_summary(lang, e, "who0"))
            .unwrap_or_default(),
        csrf = csrf_field(c),
        q = t(
            lang,
            "Хэний нэрийн өмнөөс өргөдөл гаргах вэ?",
            "Who are you applying for?"
        ),
        svc = esc(t(lang, &s.title[0], &s.title[1])),
        go = t(lang, "Үргэлжлүүлэх", "Continue"),
    );
    show(
        lang,
        status_for(err.as_ref()),
        t(lang, "Өргөдөл", "Apply"),
        &format!("/portal/services/{}/apply", s.service_id),
        &body,
    )
}

async fn start_post(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQ>,
    axum::Form(f): axum::Form<Form>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let c = match form_citizen(&a, &h, lang, &f) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(s) = a.service(&id) else {
        return not_found(lang);
    };
    match a
        .create(&c, &id, f.get("who").map(String::as_str).unwrap_or(""))
        .await
    {
        Ok(app) => private(
            Redirect::to(&format!("/portal/applications/{app}/consent?lang={lang}"))
                .into_response(),
        ),
        Err(e) => start_page(&a, &c, lang, &s, Some(e)).await,
    }
}

/// `GET …/consent`: what will be fetched, from whom, why, on what basis.
async fn consent(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQ>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some(c) = signed_in(&a, &h) else {
        return to_signin(lang);
    };
    let Ok(Some((app, r, _, _))) = a.own(&c, &id).await else {
        return not_found(lang);
    };
    let Some(s) = a.service(&app.service_id) else {
        return not_found(lang);
    };
    let mut rows = String::new();
    for e in &s.evidence {
        let whose = match e.of {
            crate::applications::Party::Applicant => {
                format!("{} ({})", esc(&c.name), esc(&app.applicant))
            }
            crate::applications::Party::Subject => {
                format!("{} ({})", esc(&r.subject_name), esc(&app.subject))
            }
        };
        rows.push_str(&format!(
            "<h2>{}</h2><dl class=\"answers\"><div><dt>{}</dt><dd>{whose}</dd></div><div><dt>{}</dt><dd>{}</dd></div>\
<div><dt>{}</dt><dd>{}</dd></div><div><dt>{}</dt><dd>{}</dd></div></dl>",
            esc(t(lang, &e.title[0], &e.title[1])),
            t(lang, "Хэний", "About"),
            t(lang, "Хаанаас", "From"),
            esc(t(lang, &e.holder[0], &e.holder[1])),
            t(lang, "Зорилго", "Purpose"),
            esc(t(lang, &e.purpose[0], &e.purpose[1])),
            t(lang, "Хууль зүйн үндэслэл", "Legal basis"),
            esc(t(lang, &e.legal_basis[0], &e.legal_basis[1])),
        ));
    }
    let body = format!(
        "<a class=\"back\" href=\"/portal/services/{sid}/apply?lang={lang}\">{back}</a><h1>{h1}</h1><p>{p}</p>\
{rows}\
<p>{after}</p><form method=\"post\" action=\"/portal/applications/{id}/consent?lang={lang}\">{csrf}<button type=\"submit\">{go}</button></form>\
<p><a href=\"/portal/services/{sid}?lang={lang}\">{cancel}</a></p>",
        sid = esc(&s.service_id),
        id = esc(&id),
        back = t(lang, "Буцах", "Back"),
        h1 = t(
            lang,
            "Төр таны өмнөөс бүрдүүлэх мэдээлэл",
            "What the state will fetch for you"
        ),
        p = t(
            lang,
            "Эдгээр мэдээллийг та авчрах шаардлагагүй: бид ХУР-аар эзэмшигч байгууллагаас нь авна. Авсан бүрийг \"Миний мэдээллийг хэн ашигласан\" хэсэгт харна.",
            "You do not need to bring any of this: the portal fetches it over Khur from the organisation that holds it. Each fetch appears in \"Who used my data\"."
        ),
        after = t(
            lang,
            "Зөвшөөрвөл мэдээллийг одоо татна.",
            "If you agree, it is fetched now."
        ),
        csrf = csrf_field(&c),
        go = t(lang, "Зөвшөөрч, мэдээллийг татах", "Agree and fetch"),
        cancel = t(lang, "Цуцлах", "Cancel"),
    );
    show(
        lang,
        StatusCode::OK,
        t(lang, "Зөвшөөрөл", "Consent"),
        &format!("/portal/applications/{id}/consent"),
        &body,
    )
}

async fn consent_post(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQ>,
    axum::Form(f): axum::Form<Form>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let c = match form_citizen(&a, &h, lang, &f) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match a.consent(&c, &id).await {
        Ok(_) => private(
            Redirect::to(&format!("/portal/applications/{id}/question/0?lang={lang}"))
                .into_response(),
        ),
        Err(e) => unavailable(lang, &e),
    }
}

/// `GET …/question/{n}`: one question per page.
async fn question(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path((id, n)): Path<(String, usize)>,
    Query(q): Query<LangQ>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some(c) = signed_in(&a, &h) else {
        return to_signin(lang);
    };
    question_page(&a, &c, lang, &id, n, None, None).await
}

async fn question_page(
    a: &Applications,
    c: &Citizen,
    lang: &str,
    id: &str,
    n: usize,
    typed: Option<&str>,
    err: Option<Refusal>,
) -> Response {
    let Ok(Some((app, r, _, _))) = a.own(c, id).await else {
        return not_found(lang);
    };
    let Some(s) = a.service(&app.service_id) else {
        return not_found(lang);
    };
    let Some(qn) = s.questions.get(n) else {
        return not_found(lang);
    };
    let value = typed
        .map(str::to_owned)
        .or_else(|| r.answers.get(&qn.key).map(i64::to_string))
        .unwrap_or_default();
    let back = if n == 0 {
        format!("/portal/applications/{id}/consent?lang={lang}")
    } else {
        format!("/portal/applications/{id}/question/{}?lang={lang}", n - 1)
    };
    let fetched = if n == 0 {
        let ok = r.evidence.iter().filter(|e| e.ok).count();
        format!(
            "<div class=\"panel\" role=\"status\"><p>{}</p></div>",
            esc(&if lang == "en" {
                format!(
                    "{ok} of {} records were fetched from the registers.",
                    r.evidence.len()
                )
            } else {
                format!("Бүртгэлээс {} мэдээллээс {ok}-г татлаа.", r.evidence.len())
            })
        )
    } else {
        String::new()
    };
    let body = format!(
        "<a class=\"back\" href=\"{back}\">{bl}</a>{fetched}{err}<form method=\"post\" action=\"/portal/applications/{id}/question/{n}?lang={lang}\">{csrf}\
<h1><label for=\"answer\">{label}</label></h1><p class=\"hint\" id=\"answer-hint\">{hint}</p>{inline}\
<input type=\"text\" inputmode=\"numeric\" id=\"answer\" name=\"answer\" value=\"{value}\" aria-describedby=\"answer-hint\"{invalid}>\
<div><button type=\"submit\">{go}</button></div></form>",
        bl = t(lang, "Буцах", "Back"),
        err = err
            .as_ref()
            .map(|e| error_summary(lang, e, "answer"))
            .unwrap_or_default(),
        id = esc(id),
        csrf = csrf_field(c),
        label = esc(t(lang, &qn.label[0], &qn.label[1])),
        hint = esc(t(lang, &qn.hint[0], &qn.hint[1])),
        inline = inline_error(lang, err.as_ref(), "answer"),
        value = esc(&value),
        invalid = invalid_attr(err.as_ref()),
        go = t(lang, "Үргэлжлүүлэх", "Continue"),
    );
    show(
        lang,
        status_for(err.as_ref()),
        t(lang, &qn.label[0], &qn.label[1]),
        &format!("/portal/applications/{id}/question/{n}"),
        &body,
    )
}

async fn question_post(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path((id, n)): Path<(String, usize)>,
    Query(q): Query<LangQ>,
    axum::Form(f): axum::Form<Form>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let c = match form_citizen(&a, &h, lang, &f) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(Some((app, _, _, _))) = a.own(&c, &id).await else {
        return not_found(lang);
    };
    let Some(s) = a.service(&app.service_id) else {
        return not_found(lang);
    };
    let Some(qn) = s.questions.get(n) else {
        return not_found(lang);
    };
    let typed = f.get("answer").cloned().unwrap_or_default();
    match a.answer(&c, &id, &qn.key, &typed).await {
        Ok(()) if n + 1 < s.questions.len() => private(
            Redirect::to(&format!(
                "/portal/applications/{id}/question/{}?lang={lang}",
                n + 1
            ))
            .into_response(),
        ),
        Ok(()) => {
            private(Redirect::to(&format!("/portal/applications/{id}?lang={lang}")).into_response())
        }
        Err(e) => question_page(&a, &c, lang, &id, n, Some(&typed), Some(e)).await,
    }
}

fn status_text(lang: &str, s: &str) -> &'static str {
    match s {
        "draft" => t(lang, "Бөглөж байна", "Draft"),
        "submitted" => t(lang, "Илгээж байна", "Being sent"),
        "delivered" => t(lang, "Байгууллагад очсон", "With the organisation"),
        "more-info" => t(lang, "Нэмэлт мэдээлэл хүссэн", "More information requested"),
        "approved" => t(lang, "Зөвшөөрсөн", "Approved"),
        "refused" => t(lang, "Татгалзсан", "Refused"),
        _ => "?",
    }
}

/// `GET /portal/applications/{id}`: review and sign (draft) or status.
async fn application(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQ>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some(c) = signed_in(&a, &h) else {
        return to_signin(lang);
    };
    application_page(&a, &c, lang, &id, None).await
}

async fn application_page(
    a: &Applications,
    c: &Citizen,
    lang: &str,
    id: &str,
    err: Option<Refusal>,
) -> Response {
    let Ok(Some((app, r, _, _))) = a.own(c, id).await else {
        return not_found(lang);
    };
    let Some(s) = a.service(&app.service_id) else {
        return not_found(lang);
    };
    let mut b = err
        .as_ref()
        .map(|e| error_summary(lang, e, "file"))
        .unwrap_or_default();
    b.push_str(&format!(
        "<a class=\"back\" href=\"/portal/applications?lang={lang}\">{}</a><h1>{}</h1><p><strong class=\"tag\">{}</strong></p><dl class=\"answers\">",
        t(lang, "Миний өргөдлүүд", "My applications"),
        esc(t(lang, &s.title[0], &s.title[1])),
        status_text(lang, &app.status)
    ));
    let row = |k: &str, v: &str| format!("<div><dt>{}</dt><dd>{}</dd></div>", esc(k), esc(v));
    b.push_str(&row(
        t(lang, "Хэний нэрийн өмнөөс", "For"),
        &format!("{} ({})", r.subject_name, app.subject),
    ));
    for (e, f) in s.evidence.iter().zip(&r.evidence) {
        b.push_str(&row(
            t(lang, &e.title[0], &e.title[1]),
            &format!(
                "{} — {}",
                t(lang, &e.holder[0], &e.holder[1]),
                if f.ok {
                    t(lang, "бүртгэлээс авсан ✓", "fetched from the register ✓")
                } else {
                    t(lang, "авч чадсангүй", "could not be fetched")
                }
            ),
        ));
    }
    for (i, qn) in s.questions.iter().enumerate() {
        let v = r
            .answers
            .get(&qn.key)
            .map(i64::to_string)
            .unwrap_or_default();
        b.push_str(&format!(
            "<div><dt>{}</dt><dd>{}{}</dd></div>",
            esc(t(lang, &qn.label[0], &qn.label[1])),
            esc(&v),
            if app.status == "draft" {
                format!(
                    " <a href=\"/portal/applications/{}/question/{i}?lang={lang}\">{}</a>",
                    esc(id),
                    t(lang, "Өөрчлөх", "Change")
                )
            } else {
                String::new()
            }
        ));
    }
    b.push_str("</dl>");
    let complete =
        r.consent_at_ms.is_some() && s.questions.iter().all(|q| r.answers.contains_key(&q.key));
    if app.status == "draft" && complete && a.remote.enabled() {
        b.push_str(&format!(
            "<h2>{h}</h2><p>{p}</p><form method=\"post\" action=\"/portal/applications/{id}/remote-sign?lang={lang}\">{csrf}\
<button type=\"submit\">{go}</button></form>",
            id = esc(id),
            h = t(lang, "Гарын үсэг зурж илгээх", "Sign and send"),
            p = t(lang, "ДАН-ий алсын гарын үсгээр: иргэний үнэмлэхээрээ нэвтэрч, юунд гарын үсэг зурахаа харж батална.", "With your DAN remote signing certificate: sign in with your ID card, see what you sign, confirm."),
            csrf = csrf_field(c),
            go = t(lang, "Алсын гарын үсгээр гарын үсэг зурах", "Sign with my remote signing certificate"),
        ));
    }
    if app.status == "draft" && complete {
        b.push_str(&format!(
            "<h2>{h}</h2><ol><li><a href=\"/portal/applications/{id}/document\" download>{dl}</a></li><li>{sign}</li></ol>\
<form method=\"post\" action=\"/portal/applications/{id}/sign?lang={lang}\" enctype=\"multipart/form-data\">{csrf}\
<label for=\"file\">{fl}</label><p class=\"hint\" id=\"file-hint\">{hint}</p><input type=\"file\" id=\"file\" name=\"file\" accept=\"application/pdf,.p7s\" aria-describedby=\"file-hint\">\
<div><button type=\"submit\">{go}</button></div></form>",
            id = esc(id),
            h = if a.remote.enabled() {
                t(lang, "Эсвэл өөрийн хэрэгслээр гарын үсэг зурах", "Or sign with your own signing tool")
            } else {
                t(lang, "Гарын үсэг зурж илгээх", "Sign and send")
            },
            dl = t(lang, "Өргөдлийн файлыг (PDF/A) татах", "Download the application (PDF/A)"),
            sign = t(lang, "Иргэний үнэмлэх эсвэл тоон гарын үсгийн хэрэгслээрээ гарын үсэг зурна (PAdES)", "Sign it with your ID card or signing token (PAdES)"),
            csrf = csrf_field(c),
            fl = t(lang, "Гарын үсэг зурсан файл", "The signed file"),
            hint = t(
                lang,
                "PDF (PAdES) эсвэл тусдаа гарын үсэг .p7s (CAdES), 10 МБ хүртэл",
                "PDF (PAdES) or a detached signature .p7s (CAdES), up to 10 MB"
            ),
            go = t(lang, "Илгээх", "Send"),
        ));
    } else if app.status == "draft" {
        b.push_str(&format!(
            "<p><a href=\"/portal/applications/{}/consent?lang={lang}\">{}</a></p>",
            esc(id),
            t(lang, "Үргэлжлүүлэх", "Continue")
        ));
    }
    if !r.messages.is_empty() {
        b.push_str(&format!("<h2>{}</h2><ul>", t(lang, "Харилцаа", "Messages")));
        for m in &r.messages {
            b.push_str(&format!(
                "<li><strong>{}</strong> {}: {}</li>",
                tamga_http::html::date_of_ms(m.at_ms),
                if m.from == "office" {
                    t(lang, "Байгууллага", "Organisation")
                } else {
                    t(lang, "Та", "You")
                },
                esc(&m.text)
            ));
        }
        b.push_str("</ul>");
    }
    if app.status == "more-info" {
        b.push_str(&format!(
            "<form method=\"post\" action=\"/portal/applications/{id}/reply?lang={lang}\">{csrf}<label for=\"reply\">{l}</label>\
<textarea id=\"reply\" name=\"reply\" rows=\"4\"></textarea><div><button type=\"submit\">{go}</button></div></form>",
            id = esc(id),
            csrf = csrf_field(c),
            l = t(lang, "Хариулт", "Your answer"),
            go = t(lang, "Хариулах", "Send answer"),
        ));
    }
    if let Some(d) = &r.decision {
        b.push_str(&format!(
            "<h2>{}</h2><p>{}</p><p><a href=\"/portal/wallet?lang={lang}\">{}</a> · {} <code>{}</code></p>",
            t(lang, "Шийдвэр", "Decision"),
            esc(&d.reason),
            t(lang, "Шийдвэр хэтэвчинд", "The decision is in your wallet"),
            t(lang, "Баталгаажуулах код", "Verification code"),
            esc(&d.code)
        ));
    }
    show(
        lang,
        status_for(err.as_ref()),
        t(lang, &s.title[0], &s.title[1]),
        &format!("/portal/applications/{id}"),
        &b,
    )
}

async fn document(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(c) = signed_in(&a, &h) else {
        return to_signin("mn");
    };
    match a.document(&c, &id).await {
        Ok(pdf) => {
            let mut r = pdf.into_response();
            let hd = r.headers_mut();
            hd.insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/pdf"),
            );
            if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
                "attachment; filename=\"application-{}.pdf\"",
                id.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
            )) {
                hd.insert(axum::http::header::CONTENT_DISPOSITION, v);
            }
            private(r)
        }
        Err(_) => not_found("mn"),
    }
}

async fn sign_post(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQ>,
    mut form: Multipart,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some(c) = signed_in(&a, &h) else {
        return to_signin(lang);
    };
    let (mut csrf, mut file) = (String::new(), None);
    while let Ok(Some(f)) = form.next_field().await {
        match f.name() {
            Some("csrf") => csrf = f.text().await.unwrap_or_default(),
            Some("file") => file = f.bytes().await.ok().filter(|b| !b.is_empty()),
            _ => {}
        }
    }
    if !c.csrf_ok(&csrf) {
        return forbidden();
    }
    let Some(file) = file else {
        return application_page(
            &a,
            &c,
            lang,
            &id,
            Some(Refusal {
                mn: "Гарын үсэг зурсан файлаа сонгоно уу".into(),
                en: "Choose the signed file".into(),
            }),
        )
        .await;
    };
    match a.submit_signed(&c, &id, file.to_vec()).await {
        Ok(()) => {
            private(Redirect::to(&format!("/portal/applications/{id}?lang={lang}")).into_response())
        }
        Err(e) => application_page(&a, &c, lang, &id, Some(e)).await,
    }
}

async fn reply_post(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQ>,
    axum::Form(f): axum::Form<Form>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let c = match form_citizen(&a, &h, lang, &f) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match a
        .reply(&c, &id, f.get("reply").map(String::as_str).unwrap_or(""))
        .await
    {
        Ok(()) => {
            private(Redirect::to(&format!("/portal/applications/{id}?lang={lang}")).into_response())
        }
        Err(e) => application_page(&a, &c, lang, &id, Some(e)).await,
    }
}

const SIGN_FLOW: &str = "tamga_portal_sign";

async fn remote_start(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQ>,
    axum::Form(f): axum::Form<Form>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let c = match form_citizen(&a, &h, lang, &f) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match a.remote.start(&a, &c, &id).await {
        Ok((flow, url)) => {
            let mut r = Redirect::to(&url).into_response();
            r.headers_mut().append(
                axum::http::header::SET_COOKIE,
                crate::http::set_cookie(SIGN_FLOW, &flow, 600),
            );
            private(r)
        }
        Err(e) => application_page(&a, &c, lang, &id, Some(e)).await,
    }
}

#[derive(Deserialize)]
struct SignBack {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn remote_callback(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Query(q): Query<SignBack>,
) -> Response {
    let Some(c) = signed_in(&a, &h) else {
        return to_signin("mn");
    };
    let (Some(code), Some(state), None) = (&q.code, &q.state, &q.error) else {
        let why = q
            .error
            .clone()
            .unwrap_or_else(|| "code or state missing".into());
        return show(
            "mn",
            StatusCode::BAD_REQUEST,
            "400",
            "/portal/applications",
            &format!(
                "<h1>Гарын үсэг зурсангүй / Not signed</h1><p>{}</p><p><a href=\"/portal/applications\">Миний өргөдлүүд / My applications</a></p>",
                esc(&why)
            ),
        );
    };
    match a
        .remote
        .callback(&a, &c, cookie(&h, SIGN_FLOW).as_deref(), code, state)
        .await
    {
        Ok(crate::remote_sign::Next::Authorize(url)) => private(Redirect::to(&url).into_response()),
        Ok(crate::remote_sign::Next::Done(id)) => {
            let mut r = Redirect::to(&format!("/portal/applications/{id}")).into_response();
            r.headers_mut().append(
                axum::http::header::SET_COOKIE,
                crate::http::set_cookie(SIGN_FLOW, "", 0),
            );
            private(r)
        }
        Err(e) => show(
            "mn",
            StatusCode::UNPROCESSABLE_ENTITY,
            "422",
            "/portal/applications",
            &format!(
                "<h1>Гарын үсэг зурсангүй / Not signed</h1><p>{} / {}</p><p><a href=\"/portal/applications\">Миний өргөдлүүд / My applications</a></p>",
                esc(&e.mn),
                esc(&e.en)
            ),
        ),
    }
}

/// `GET /portal/applications`: the citizen's applications.
async fn mine(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Query(q): Query<LangQ>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some(c) = signed_in(&a, &h) else {
        return to_signin(lang);
    };
    let list = match a.mine(&c).await {
        Ok(l) => l,
        Err(e) => return unavailable(lang, &e),
    };
    let mut rows = String::new();
    for app in &list {
        let title = a
            .service(&app.service_id)
            .map(|s| t(lang, &s.title[0], &s.title[1]).to_owned())
            .unwrap_or_else(|| app.service_id.clone());
        rows.push_str(&format!(
            "<tr><td><a href=\"/portal/applications/{id}?lang={lang}\">{title}</a></td><td>{subject}</td><td>{status}</td><td>{date}</td></tr>",
            id = esc(&app.application_id),
            title = esc(&title),
            subject = esc(&app.subject),
            status = status_text(lang, &app.status),
            date = tamga_http::html::date_of_ms(app.updated_at_ms),
        ));
    }
    let body = format!(
        "<h1>{h}</h1><p><a href=\"/portal/inbox?lang={lang}\">{inbox}</a> · <a href=\"/portal/wallet?lang={lang}\">{wallet}</a> · <a href=\"/portal/my-data?lang={lang}\">{data}</a></p>\
<table><caption>{cap}</caption><thead><tr><th scope=\"col\">{c1}</th><th scope=\"col\">{c2}</th><th scope=\"col\">{c3}</th><th scope=\"col\">{c4}</th></tr></thead><tbody>{rows}</tbody></table>",
        h = t(lang, "Миний өргөдлүүд", "My applications"),
        inbox = t(lang, "Мэдэгдэл", "Inbox"),
        wallet = t(lang, "Баримтын хэтэвч", "Document wallet"),
        data = t(lang, "Миний мэдээллийг хэн ашигласан", "Who used my data"),
        cap = t(lang, "Шинэ нь эхэндээ", "Newest first"),
        c1 = t(lang, "Үйлчилгээ", "Service"),
        c2 = t(lang, "Хэнд", "For"),
        c3 = t(lang, "Төлөв", "Status"),
        c4 = t(lang, "Огноо", "Date"),
    );
    show(
        lang,
        StatusCode::OK,
        t(lang, "Миний өргөдлүүд", "My applications"),
        "/portal/applications",
        &body,
    )
}

/// `GET /portal/inbox` and the notification address.
async fn inbox(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Query(q): Query<LangQ>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some(c) = signed_in(&a, &h) else {
        return to_signin(lang);
    };
    inbox_page(&a, &c, lang, None, None).await
}

async fn inbox_page(
    a: &Applications,
    c: &Citizen,
    lang: &str,
    typed: Option<&str>,
    err: Option<Refusal>,
) -> Response {
    let list = match a.inbox(c).await {
        Ok(l) => l,
        Err(e) => return unavailable(lang, &e),
    };
    let mut items = String::new();
    for m in &list {
        items.push_str(&format!(
            "<li><strong>{}</strong> <span class=\"tag\">{}</span> <a href=\"/portal/applications/{}?lang={lang}\">{}</a></li>",
            tamga_http::html::date_of_ms(m.at_ms),
            status_text(lang, &m.status),
            esc(&m.application_id),
            esc(t(lang, &m.text_mn, &m.text_en)),
        ));
    }
    let email = typed
        .map(str::to_owned)
        .or(a.contact(c).await)
        .unwrap_or_default();
    let body = format!(
        "<a class=\"back\" href=\"/portal/applications?lang={lang}\">{back}</a>{err}<h1>{h}</h1><ul class=\"inbox\">{items}</ul>\
<h2>{nh}</h2><form method=\"post\" action=\"/portal/inbox?lang={lang}\">{csrf}<label for=\"email\">{l}</label>\
<p class=\"hint\" id=\"email-hint\">{hint}</p>{inline}<input type=\"email\" id=\"email\" name=\"email\" autocomplete=\"email\" value=\"{email}\" aria-describedby=\"email-hint\"{invalid}>\
<div><button type=\"submit\">{go}</button></div></form>",
        back = t(lang, "Миний өргөдлүүд", "My applications"),
        err = err
            .as_ref()
            .map(|e| error_summary(lang, e, "email"))
            .unwrap_or_default(),
        h = t(lang, "Мэдэгдэл", "Inbox"),
        nh = t(lang, "И-мэйлээр мэдэгдэл авах", "Get updates by e-mail"),
        csrf = csrf_field(c),
        l = t(lang, "И-мэйл хаяг", "E-mail address"),
        hint = t(
            lang,
            "Өргөдлийн төлөв өөрчлөгдөхөд мэдэгдэнэ",
            "We write when an application changes"
        ),
        inline = inline_error(lang, err.as_ref(), "email"),
        email = esc(&email),
        invalid = invalid_attr(err.as_ref()),
        go = t(lang, "Хадгалах", "Save"),
    );
    show(
        lang,
        status_for(err.as_ref()),
        t(lang, "Мэдэгдэл", "Inbox"),
        "/portal/inbox",
        &body,
    )
}

async fn inbox_post(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Query(q): Query<LangQ>,
    axum::Form(f): axum::Form<Form>,
) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let c = match form_citizen(&a, &h, lang, &f) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let email = f.get("email").cloned().unwrap_or_default();
    match a.set_contact(&c, &email).await {
        Ok(()) => private(Redirect::to(&format!("/portal/inbox?lang={lang}")).into_response()),
        Err(e) => inbox_page(&a, &c, lang, Some(&email), Some(e)).await,
    }
}

/// `GET /portal/verify?code=…`: the document a printed code names, validated now.
async fn verify_code(State(a): State<Arc<Applications>>, Query(q): Query<LangQ>) -> Response {
    let lang = lang_of(q.lang.as_deref());
    let Some(code) = q.code.as_deref().filter(|c| !c.trim().is_empty()) else {
        return page(StatusCode::OK, crate::pages::verify(lang, None, None));
    };
    let found = match a.by_code(code).await {
        Ok(f) => f,
        Err(e) => return unavailable(lang, &e),
    };
    let Some((d, content, ledger)) = found else {
        return page(
            StatusCode::NOT_FOUND,
            crate::pages::verify(
                lang,
                None,
                Some(t(
                    lang,
                    "Ийм кодтой баримт олдсонгүй. Кодоо шалгана уу.",
                    "No document has this code. Check the code.",
                )),
            ),
        );
    };
    let in_ledger = match &ledger {
        Some((log, index, salt)) => {
            let (text, colour) = match a.ledger_check(log, *index, salt, &content).await {
                Ok(Some(url)) => (
                    format!(
                        "{} ({} <code>{}</code>, #{index}) — <a href=\"{}\" download=\"receipt-{index}.json\">{}</a>",
                        t(
                            lang,
                            "Нээлттэй бүртгэлд (ledger) байгаа ✓",
                            "In the public ledger ✓"
                        ),
                        t(lang, "бүртгэл", "log"),
                        esc(log),
                        esc(&url),
                        t(lang, "баримт (receipt)", "receipt"),
                    ),
                    "#00703c",
                ),
                Ok(None) => (
                    t(
                        lang,
                        "Бүртгэлд илгээсэн; дараагийн checkpoint-д орно",
                        "Sent to the ledger; it will be in the next checkpoint",
                    )
                    .to_owned(),
                    "#f47738",
                ),
                Err(e) => (
                    format!(
                        "{} ({})",
                        t(lang, "Бүртгэлтэй таарахгүй", "Does not match the ledger"),
                        esc(&e)
                    ),
                    "#d4351c",
                ),
            };
            format!(
                "<div><dt>{}</dt><dd style=\"border-left:5px solid {colour};padding-left:8px\">{text}</dd></div>",
                t(lang, "Нээлттэй бүртгэл", "Ledger")
            )
        }
        None => String::new(),
    };
    match a.accounts().validate(&d.file_name, content).await {
        Ok(report) => {
            let mut html = crate::pages::verify(lang, Some(&report), None);
            let about = format!(
                "<section><h2>{}</h2><dl class=\"answers\"><div><dt>{}</dt><dd>{}</dd></div><div><dt>{}</dt><dd>{}</dd></div><div><dt>{}</dt><dd>{}</dd></div>{in_ledger}</dl></section>",
                t(lang, "Баримт", "The document"),
                t(lang, "Нэр", "Title"),
                esc(t(lang, &d.title_mn, &d.title_en)),
                t(lang, "Гаргасан", "Issued by"),
                esc(&d.issuer),
                t(lang, "Огноо", "Date"),
                tamga_http::html::date_of_ms(d.created_at_ms),
            );
            if let Some(at) = html.find("</main>") {
                html.insert_str(at, &about);
            }
            page(StatusCode::OK, html)
        }
        Err(e) => unavailable(
            lang,
            &Refusal {
                mn: e.clone(),
                en: e,
            },
        ),
    }
}

/// The organisations' inbound endpoint, the backend behind their gateway: an application
/// delivered over the exchange (`POST …/submitApplication/{id}`).
#[utoipa::path(post, path = "/office/api/inbound/{org}/{id}", tag = "portal",
    summary = "Receive a signed application delivered over the exchange / Өргөдөл хүлээн авах",
    params(("org" = String, Path, description = "deciding organisation (demo id)"),
           ("id" = String, Path, description = "application id"),
           ("X-Road-Id" = Option<String>, Header, description = "the exchange message id, recorded")),
    request_body(content = Vec<u8>, content_type = "application/pdf", description = "the signed application, exactly as submitted"),
    responses((status = 202, description = "accepted: the application is with the organisation"),
              (status = 409, description = "not a submitted application of this organisation, or different bytes, or delivered already")))]
async fn inbound(
    State(a): State<Arc<Applications>>,
    h: HeaderMap,
    Path((org, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let message = h
        .get("x-road-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    match a.receive(&org, &id, &body, &message).await {
        Ok(()) => (StatusCode::ACCEPTED, axum::Json(serde_json::json!({"application": id, "status": "delivered", "message": message}))).into_response(),
        Err(e) => (StatusCode::CONFLICT, axum::Json(serde_json::json!({"error": "not_accepted", "message_mn": e.mn, "message_en": e.en}))).into_response(),
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(inbound))]
struct InboundApi;

/// The journey's routes, and the OpenAPI description of its one API (the inbound endpoint;
/// the rest are pages).
pub fn routes(apps: Arc<Applications>) -> (Router, utoipa::openapi::OpenApi) {
    let router = Router::new()
        .route("/portal/services/{id}/apply", get(start).post(start_post))
        .route("/portal/applications", get(mine))
        .route("/portal/applications/{id}", get(application))
        .route(
            "/portal/applications/{id}/consent",
            get(consent).post(consent_post),
        )
        .route(
            "/portal/applications/{id}/question/{n}",
            get(question).post(question_post),
        )
        .route("/portal/applications/{id}/document", get(document))
        .route(
            "/portal/applications/{id}/sign",
            post(sign_post).layer(axum::extract::DefaultBodyLimit::max(10 * 1024 * 1024)),
        )
        .route("/portal/applications/{id}/reply", post(reply_post))
        .route("/portal/applications/{id}/remote-sign", post(remote_start))
        .route("/portal/remote-sign/callback", get(remote_callback))
        .route("/portal/inbox", get(inbox).post(inbox_post))
        .route("/portal/verify/code", get(verify_code))
        .route(
            "/office/api/inbound/{org}/{id}",
            post(inbound).layer(axum::extract::DefaultBodyLimit::max(12 * 1024 * 1024)),
        )
        .with_state(apps);
    (router, <InboundApi as utoipa::OpenApi>::openapi())
}
