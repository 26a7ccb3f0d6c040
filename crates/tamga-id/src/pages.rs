//! The provider's pages: sign-in, consent, errors and sign-out, server-rendered, in Mongolian
//! (default) and English, after GOV.UK Design System patterns (one question per page, an
//! error summary linked to the field, a visible language switch). No JavaScript: the forms
//! post back. WCAG 2.2 AA: labelled fields, `autocomplete` hints so password managers fill
//! them and pasting works (3.3.8 Accessible Authentication), focus outlines, 4.5:1 contrast,
//! `lang` on the page, targets of at least 24×24 px (2.5.8).

pub use tamga_http::html::{esc, t};

const CSS: &str = tamga_http::html::BASE_CSS;

/// The page frame; `switch` is the same page's URL in the other language.
pub fn layout(lang: &str, title: &str, switch: &str, body: &str) -> String {
    layout_with(lang, title, switch, body, false)
}

/// The page frame, with the passkey script when `script`.
fn layout_with(lang: &str, title: &str, switch: &str, body: &str, script: bool) -> String {
    let other = if lang == "en" {
        "Монгол"
    } else {
        "English"
    };
    let other_lang = if lang == "en" { "mn" } else { "en" };
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} — {brand}</title><style>{CSS}</style>{js}</head><body>\
<header><span>{brand}</span><a href=\"{switch}\" lang=\"{other_lang}\" hreflang=\"{other_lang}\">{other}</a></header>\
<main id=\"main\">{body}</main></body></html>",
        lang = esc(lang),
        title = esc(title),
        brand = t(lang, "Тамга — ДАН нэвтрэлт", "Tamga — DAN sign-in"),
        switch = esc(switch),
        js = if script {
            "<script src=\"static/passkey.js\" defer></script>"
        } else {
            ""
        },
    )
}

/// The passkey button of a sign-in page.
pub struct PasskeyButton {
    /// Challenge, base64url.
    pub challenge: String,
    /// RP ID.
    pub rp_id: String,
}

fn passkey_section(lang: &str, tx: &str, p: &PasskeyButton) -> String {
    format!(
        "<section data-passkey-section hidden><h2>{h}</h2><p>{d}</p>\
<button type=\"button\" id=\"passkey-signin\" data-challenge=\"{c}\" data-rp-id=\"{rp}\" data-tx=\"{tx}\" \
data-action=\"login/passkey\" data-status=\"passkey-status\" data-failed=\"{f}\">{b}</button>\
<p id=\"passkey-status\" class=\"error\" role=\"alert\" tabindex=\"-1\" hidden></p></section>",
        h = t(lang, "Түлхүүрээр (passkey)", "With a passkey"),
        d = t(
            lang,
            "Утас, компьютерийн түгжээ тайлах аргаар. Дунд түвшин.",
            "Unlock with your phone or computer. Substantial level of assurance."
        ),
        c = esc(&p.challenge),
        rp = esc(&p.rp_id),
        tx = esc(tx),
        f = t(
            lang,
            "Түлхүүрээр нэвтэрч чадсангүй. Дахин оролдох эсвэл өөр аргаар нэвтэрнэ үү.",
            "Signing in with a passkey did not work. Try again or use another way."
        ),
        b = t(lang, "Түлхүүрээр нэвтрэх", "Sign in with a passkey"),
    )
}

/// The passkey registration page (for a browser signed in with the ID card).
pub fn passkeys(
    lang: &str,
    options: Option<(&str, &crate::provider::RegistrationOptions)>,
) -> String {
    let body = match options {
        Some((rp_id, o)) => format!(
            "<h1>{h}</h1><p>{p}</p><section data-passkey-section hidden>\
<button type=\"button\" id=\"passkey-register\" data-challenge=\"{c}\" data-rp-id=\"{rp}\" data-user-id=\"{u}\" \
data-user-name=\"{un}\" data-display-name=\"{dn}\" data-exclude=\"{ex}\" data-action=\"passkeys\" \
data-status=\"passkey-status\" data-done=\"{done}\" data-failed=\"{failed}\">{b}</button></section>\
<p id=\"passkey-status\" role=\"status\" tabindex=\"-1\" hidden></p>\
<noscript><p>{nojs}</p></noscript>",
            h = t(lang, "Түлхүүр (passkey) нэмэх", "Add a passkey"),
            p = t(
                lang,
                "Дараагийн удаа үнэмлэхгүйгээр, утас эсвэл компьютерийнхээ түгжээг тайлж нэвтэрнэ.",
                "Next time, sign in without your ID card by unlocking your phone or computer."
            ),
            c = esc(&o.challenge),
            rp = esc(rp_id),
            u = esc(&o.user_id),
            un = esc(&o.user_name),
            dn = esc(&o.display_name),
            ex = esc(&o.exclude.join(",")),
            done = t(lang, "Түлхүүр нэмэгдлээ.", "Your passkey was added."),
            failed = t(
                lang,
                "Түлхүүр нэмж чадсангүй.",
                "The passkey could not be added."
            ),
            b = t(lang, "Түлхүүр нэмэх", "Add a passkey"),
            nojs = t(
                lang,
                "Түлхүүр нэмэхэд JavaScript шаардлагатай.",
                "Adding a passkey needs JavaScript."
            ),
        ),
        None => format!(
            "<h1>{}</h1><p>{}</p>",
            t(lang, "Түлхүүр (passkey) нэмэх", "Add a passkey"),
            t(
                lang,
                "Эхлээд иргэний үнэмлэхээрээ нэвтэрнэ үү: түлхүүр нь түүнийг бүртгэсэн аргаас илүү хүчтэй байж чадахгүй.",
                "Sign in with your ID card first: a passkey cannot be stronger than what registered it."
            )
        ),
    };
    layout_with(
        lang,
        t(lang, "Түлхүүр нэмэх", "Add a passkey"),
        "?lang=en",
        &body,
        true,
    )
}

/// The sign-in page: password + TOTP form, and the ID-card sign-in when it is available.
#[allow(clippy::too_many_arguments)]
pub fn sign_in(
    lang: &str,
    tx: &str,
    client_name: &str,
    password_not_enough: bool,
    certificate_url: Option<&str>,
    error: Option<&str>,
    login_hint: Option<&str>,
    passkey: Option<&PasskeyButton>,
    switch: &str,
) -> String {
    let mut b = String::new();
    if let Some(e) = error {
        b.push_str(&format!(
            "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\"><h2>{}</h2><ul><li><a href=\"#registration_number\">{}</a></li></ul></div>",
            t(lang, "Алдаа гарлаа", "There is a problem"),
            esc(e)
        ));
    }
    b.push_str(&format!(
        "<h1>{}</h1><p>{} <strong>{}</strong>.</p>",
        t(lang, "Нэвтрэх", "Sign in"),
        t(
            lang,
            "Дараах үйлчилгээ рүү нэвтэрч байна:",
            "You are signing in to"
        ),
        esc(client_name)
    ));
    if let Some(url) = certificate_url {
        b.push_str(&format!(
            "<section><h2>{}</h2><p>{}</p><a class=\"button\" href=\"{}\">{}</a></section>",
            t(lang, "Иргэний үнэмлэхээр", "With your ID card"),
            t(
                lang,
                "Картын уншигчид үнэмлэхээ хийж, PIN кодоо оруулна. Хамгийн өндөр түвшин.",
                "Insert your card in the reader and enter its PIN. The highest level of assurance."
            ),
            esc(url),
            t(lang, "Үнэмлэхээр нэвтрэх", "Sign in with ID card"),
        ));
    }
    if let Some(p) = passkey {
        b.push_str(&passkey_section(lang, tx, p));
    }
    if password_not_enough {
        b.push_str(&format!(
            "<p>{}</p>",
            if passkey.is_some() {
                t(
                    lang,
                    "Энэ үйлчилгээ иргэний үнэмлэх эсвэл түлхүүрээр (passkey) нэвтрэхийг зөвшөөрнө.",
                    "This service accepts the ID card or a passkey."
                )
            } else {
                t(
                    lang,
                    "Энэ үйлчилгээ зөвхөн иргэний үнэмлэхээр нэвтрэхийг зөвшөөрнө.",
                    "This service accepts only the ID card."
                )
            }
        ));
    } else {
        let hint = login_hint.map(esc).unwrap_or_default();
        b.push_str(&format!(
            "<section><h2>{h}</h2><form method=\"post\" action=\"login/password\" novalidate>\
<input type=\"hidden\" name=\"tx\" value=\"{tx}\">\
<label for=\"registration_number\">{reg}</label><p class=\"hint\" id=\"reg-hint\">{reg_hint}</p>\
<input type=\"text\" id=\"registration_number\" name=\"registration_number\" value=\"{hint}\" autocomplete=\"username\" aria-describedby=\"reg-hint\" spellcheck=\"false\" autocapitalize=\"characters\">\
<label for=\"password\">{pw}</label>\
<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\">\
<label for=\"otp\">{otp}</label><p class=\"hint\" id=\"otp-hint\">{otp_hint}</p>\
<input type=\"text\" id=\"otp\" name=\"otp\" inputmode=\"numeric\" autocomplete=\"one-time-code\" aria-describedby=\"otp-hint\" maxlength=\"8\">\
<div><button type=\"submit\">{go}</button></div></form></section>",
            h = t(lang, "Нууц үг ба нэг удаагийн кодоор", "With password and one-time code"),
            tx = esc(tx),
            reg = t(lang, "Регистрийн дугаар", "Registration number"),
            reg_hint = t(lang, "Жишээ нь: УБ99010112", "For example: УБ99010112"),
            pw = t(lang, "Нууц үг", "Password"),
            otp = t(lang, "Нэг удаагийн код", "One-time code"),
            otp_hint = t(
                lang,
                "Баталгаажуулах аппликейшн дээрх 6 оронтой код",
                "The 6-digit code from your authenticator app"
            ),
            go = t(lang, "Нэвтрэх", "Sign in"),
        ));
    }
    layout_with(
        lang,
        t(lang, "Нэвтрэх", "Sign in"),
        switch,
        &b,
        passkey.is_some(),
    )
}

/// What a signature authorization shows the citizen.
pub struct Signing {
    /// What the service says is signed.
    pub description: String,
    /// The credential (whose certificate signs).
    pub credential: String,
    /// The hashes, base64url.
    pub hashes: Vec<String>,
}

/// The consent page: what the client will receive, or what the citizen is about to sign.
pub fn consent(
    lang: &str,
    tx: &str,
    client_name: &str,
    scopes: &[(&str, &str)],
    signing: Option<&Signing>,
    switch: &str,
) -> String {
    let items: String = scopes
        .iter()
        .map(|(mn, en)| format!("<li>{}</li>", esc(t(lang, mn, en))))
        .collect();
    let (heading, allow, detail) = match signing {
        Some(sig) => {
            let hashes: String = sig
                .hashes
                .iter()
                .map(|h| format!("<li><code>{}</code></li>", esc(h)))
                .collect();
            (
                t(lang, "Гарын үсэг зурах уу?", "Sign these documents?"),
                t(lang, "Гарын үсэг зурах", "Sign"),
                format!(
                    "<p><strong>{c}</strong> {p}</p><dl><dt>{what}</dt><dd>{d}</dd><dt>{with}</dt><dd>{cred}</dd>\
<dt>{n}</dt><dd>{count}</dd></dl><details><summary>{hs}</summary><ul>{hashes}</ul></details><p>{warn}</p>",
                    c = esc(client_name),
                    p = t(
                        lang,
                        "таны нэрийн өмнөөс гарын үсэг зурахыг хүсэж байна.",
                        "asks you to sign in your name."
                    ),
                    what = t(lang, "Юунд", "What"),
                    d = esc(&sig.description),
                    with = t(lang, "Гэрчилгээ", "Certificate"),
                    cred = esc(&sig.credential),
                    n = t(lang, "Гарын үсгийн тоо", "Number of signatures"),
                    count = sig.hashes.len(),
                    hs = t(lang, "Гарын үсэг зурах хэшүүд", "The hashes to be signed"),
                    warn = t(
                        lang,
                        "Таны гарын үсэг гараар зурсантай адил хүчинтэй.",
                        "Your signature has the same effect as a handwritten one."
                    ),
                ),
            )
        }
        None => (
            t(lang, "Мэдээлэл хуваалцах уу?", "Share your information?"),
            t(lang, "Зөвшөөрөх", "Allow"),
            format!(
                "<p><strong>{}</strong> {}</p><ul class=\"claims\">{items}</ul>",
                esc(client_name),
                t(
                    lang,
                    "үйлчилгээ дараах мэдээллийг авна:",
                    "will receive the following:"
                ),
            ),
        ),
    };
    let body = format!(
        "<h1>{heading}</h1>{detail}\
<form method=\"post\" action=\"consent\"><input type=\"hidden\" name=\"tx\" value=\"{tx}\">\
<button type=\"submit\" name=\"decision\" value=\"allow\">{allow}</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">{deny}</button></form>",
        tx = esc(tx),
        deny = t(lang, "Татгалзах", "Deny"),
    );
    layout(lang, heading, switch, &body)
}

/// "Whom are you acting for?" (GOV.UK radios; one question on the page).
pub fn represent(
    lang: &str,
    tx: &str,
    client_name: &str,
    me: &str,
    options: &[(String, String, String)],
    switch: &str,
) -> String {
    let mut radios = format!(
        "<div><input type=\"radio\" id=\"choice-self\" name=\"choice\" value=\"self\" checked>\
<label for=\"choice-self\" style=\"display:inline;font-weight:400\">{} ({})</label></div>",
        t(lang, "Өөрийнхөө өмнөөс", "Myself"),
        esc(me)
    );
    for (i, (id, name, basis)) in options.iter().enumerate() {
        radios.push_str(&format!(
            "<div><input type=\"radio\" id=\"choice-{i}\" name=\"choice\" value=\"{}\">\
<label for=\"choice-{i}\" style=\"display:inline;font-weight:400\">{} — {}</label></div>",
            esc(id),
            esc(name),
            esc(basis)
        ));
    }
    let body = format!(
        "<form method=\"post\" action=\"represent\"><input type=\"hidden\" name=\"tx\" value=\"{tx}\">\
<fieldset><legend><h1>{h}</h1></legend><p>{p} <strong>{c}</strong>.</p>{radios}</fieldset>\
<button type=\"submit\">{go}</button></form>",
        tx = esc(tx),
        h = t(lang, "Хэний өмнөөс ажиллах вэ?", "Who are you acting for?"),
        p = t(lang, "Үйлчилгээ:", "Service:"),
        c = esc(client_name),
        go = t(lang, "Үргэлжлүүлэх", "Continue"),
    );
    layout(lang, t(lang, "Хэний өмнөөс", "Acting for"), switch, &body)
}

/// The citizen's mandates; a legal representative can let an employee act for the company.
pub fn mandates(
    lang: &str,
    mandates: &[tamga_store::MandateRow],
    result: Option<Result<(), String>>,
) -> String {
    let mut b = String::new();
    match result {
        Some(Ok(())) => b.push_str(&format!(
            "<p role=\"status\"><strong>{}</strong></p>",
            t(lang, "Эрх олгогдлоо.", "The mandate was granted.")
        )),
        Some(Err(e)) => b.push_str(&format!(
            "<div class=\"error-summary\" role=\"alert\"><h2>{}</h2><p>{}</p></div>",
            t(lang, "Алдаа гарлаа", "There is a problem"),
            esc(&e)
        )),
        None => {}
    }
    b.push_str(&format!(
        "<h1>{}</h1><ul>",
        t(lang, "Төлөөлөх эрх", "Your mandates")
    ));
    for m in mandates {
        b.push_str(&format!(
            "<li>{} — {}</li>",
            esc(&m.subject_name),
            esc(&m.basis)
        ));
    }
    b.push_str("</ul>");
    for m in mandates
        .iter()
        .filter(|m| m.basis == "legal-representative")
    {
        b.push_str(&format!(
            "<section><h2>{h} {n}</h2><form method=\"post\" action=\"mandates\">\
<input type=\"hidden\" name=\"company\" value=\"{id}\"><label for=\"reg-{id}\">{l}</label>\
<input type=\"text\" id=\"reg-{id}\" name=\"registration_number\" autocomplete=\"off\" spellcheck=\"false\">\
<div><button type=\"submit\">{go}</button></div></form></section>",
            h = t(lang, "Ажилтанд эрх олгох:", "Let an employee act for"),
            n = esc(&m.subject_name),
            id = esc(&m.subject_id),
            l = t(lang, "Ажилтны регистрийн дугаар", "The employee's registration number"),
            go = t(lang, "Эрх олгох", "Grant"),
        ));
    }
    layout(lang, t(lang, "Төлөөлөх эрх", "Mandates"), "?lang=en", &b)
}

/// A page that explains a problem.
pub fn problem(lang: &str, title_mn: &str, title_en: &str, detail: &str) -> String {
    let body = format!(
        "<h1>{}</h1><p>{}</p>",
        esc(t(lang, title_mn, title_en)),
        esc(detail)
    );
    layout(lang, t(lang, title_mn, title_en), "?lang=en", &body)
}

/// After sign-out.
pub fn signed_out(lang: &str) -> String {
    let body = format!(
        "<h1>{}</h1><p>{}</p>",
        t(lang, "Та гарлаа", "You have signed out"),
        t(
            lang,
            "Энэ хөтөч дээрх нэвтрэлт дууслаа.",
            "Your session in this browser has ended."
        )
    );
    layout(lang, t(lang, "Гарсан", "Signed out"), "?lang=en", &body)
}
