//! The catalogue's pages: server-rendered, no JavaScript, Mongolian by default with an English
//! switch, GOV.UK Design System patterns (a search form with a label, lists of links, a
//! summary list on the service page, back links), mobile first.

use tamga_http::html::{BASE_CSS, esc, t};

use crate::catalogue::{Catalogue, LIFE_EVENTS, Service};

const PORTAL_CSS: &str = "@font-face{font-family:'Noto Sans';src:url(/portal/static/noto-sans.woff2) format('woff2');font-display:swap}\
@font-face{font-family:'Noto Sans';font-weight:700;src:url(/portal/static/noto-sans-bold.woff2) format('woff2');font-display:swap}\
body,button,input,select,textarea{font-family:'Noto Sans',Arial,sans-serif}.error{color:#d4351c;font-weight:700}\
.tag{background:#1d70b8;color:#fff;padding:2px 8px}dl.answers{margin:0 0 20px}dl.answers div{display:flex;flex-wrap:wrap;gap:4px 16px;border-bottom:1px solid #b1b4b6;padding:8px 0}dl.answers dt{font-weight:700;flex:1 1 12em}dl.answers dd{margin:0;flex:1 1 12em}\
.panel{border-left:5px solid #00703c;padding:4px 12px;margin:12px 0}\
a.button{display:inline-block;background:#00703c;color:#fff;padding:8px 16px;text-decoration:none;font-weight:700;box-shadow:0 2px 0 #002d18}\
table{border-collapse:collapse;width:100%;font-size:16px}th,td{border-bottom:1px solid #b1b4b6;padding:8px;text-align:left;vertical-align:top}\
select{font-size:19px;padding:5px;border:2px solid #0b0c0c}ul.plain{list-style:none;padding:0}ul.plain li{margin:0 0 12px}\
dl.summary{display:grid;grid-template-columns:minmax(8em,30%) 1fr;gap:8px 16px}dl.summary dt{font-weight:700}\
.tag{display:inline-block;background:#cce2d8;color:#005a30;padding:2px 6px;font-size:16px}\
.hint{color:#505a5f}a{color:#1d70b8}a:visited{color:#4c2c92}";

/// The page frame; `here` is the path and query of this page (for the language switch).
pub fn layout(lang: &str, title: &str, here: &str, body: &str) -> String {
    let other = if lang == "en" { "mn" } else { "en" };
    let sep = if here.contains('?') { '&' } else { '?' };
    let switch = format!("{here}{sep}lang={other}");
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} — {brand}</title><style>{BASE_CSS}{PORTAL_CSS}</style></head><body>\
<header><a href=\"/portal?lang={lang}\">{brand}</a><a href=\"{switch}\" lang=\"{other}\" hreflang=\"{other}\">{other_name}</a></header>\
<main id=\"main\">{body}</main><footer style=\"max-width:640px;margin:0 auto;padding:20px 15px;border-top:1px solid #b1b4b6\">\
<a href=\"/portal/accessibility?lang={lang}\">{acc}</a></footer></body></html>",
        lang = esc(lang),
        title = esc(title),
        brand = t(lang, "Тамга — төрийн үйлчилгээ", "Tamga — public services"),
        switch = esc(&switch),
        other_name = if lang == "en" {
            "Монгол"
        } else {
            "English"
        },
        acc = t(lang, "Хүртээмжийн мэдэгдэл", "Accessibility statement"),
    )
}

fn search_form(lang: &str, q: &str) -> String {
    format!(
        "<form method=\"get\" action=\"/portal/services\" role=\"search\">\
<input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
<label for=\"q\">{l}</label><p class=\"hint\" id=\"q-hint\">{h}</p>\
<input type=\"text\" id=\"q\" name=\"q\" value=\"{q}\" aria-describedby=\"q-hint\">\
<div><button type=\"submit\">{b}</button></div></form>",
        lang = esc(lang),
        l = t(lang, "Үйлчилгээ хайх", "Search for a service"),
        h = t(
            lang,
            "Жишээ нь: тэтгэвэр, төрсний гэрчилгээ",
            "For example: pension, birth certificate"
        ),
        q = esc(q),
        b = t(lang, "Хайх", "Search"),
    )
}

/// The home page: search and life events.
pub fn home(lang: &str, c: &Catalogue) -> String {
    let mut events = String::new();
    for (id, mn, en) in LIFE_EVENTS {
        let n = c.services.iter().filter(|s| s.life_event == id).count();
        events.push_str(&format!(
            "<li><a href=\"/portal/services?event={id}&amp;lang={lang}\">{}</a> <span class=\"hint\">({n})</span></li>",
            esc(t(lang, mn, en)),
            lang = esc(lang),
        ));
    }
    let mut orgs = String::new();
    for (o, n) in c.providers() {
        orgs.push_str(&format!(
            "<li><a href=\"/portal/services?provider={}&amp;lang={lang}\">{}</a> <span class=\"hint\">({n})</span></li>",
            esc(&o.id),
            esc(t(lang, &o.name_mn, &o.name_en)),
            lang = esc(lang),
        ));
    }
    let body = format!(
        "<h1>{h}</h1><p>{p}</p>{form}<h2>{e}</h2><ul class=\"plain\">{events}</ul><h2>{o}</h2><ul class=\"plain\">{orgs}</ul>",
        h = t(lang, "Төрийн үйлчилгээ", "Public services"),
        p = t(
            lang,
            "Төрд байгаа мэдээллийг та дахин авчрах шаардлагагүй: үйлчилгээ өөрөө татна.",
            "You never bring what the state already holds: the service fetches it."
        ),
        form = search_form(lang, ""),
        e = t(lang, "Амьдралын үйл явдлаар", "By life event"),
        o = t(lang, "Байгууллагаар", "By organisation"),
    );
    layout(lang, t(lang, "Нүүр", "Home"), "/portal", &body)
}

/// Search results.
pub fn list(
    lang: &str,
    c: &Catalogue,
    q: &str,
    heading: &str,
    here: &str,
    found: &[&Service],
) -> String {
    let mut items = String::new();
    for s in found {
        let provider = c
            .organisations
            .get(&s.provider_id)
            .map(|o| t(lang, &o.name_mn, &o.name_en).to_owned())
            .unwrap_or_default();
        items.push_str(&format!(
            "<li><a href=\"/portal/services/{id}?lang={lang}\">{name}</a><br><span class=\"hint\">{provider}</span></li>",
            id = esc(&s.id),
            lang = esc(lang),
            name = esc(t(lang, &s.name_mn, &s.name_en)),
            provider = esc(&provider),
        ));
    }
    let count = format!(
        "{} {}",
        found.len(),
        t(lang, "үйлчилгээ олдлоо", "services found")
    );
    let body = format!(
        "<a href=\"/portal?lang={lang}\">{back}</a><h1>{h}</h1>{form}<p role=\"status\">{count}</p><ul class=\"plain\">{items}</ul>",
        lang = esc(lang),
        back = t(lang, "Буцах", "Back"),
        h = esc(heading),
        form = search_form(lang, q),
    );
    layout(lang, heading, here, &body)
}

/// A service: who provides it, what it needs and which of it the state fetches itself.
pub fn service(lang: &str, c: &Catalogue, s: &Service, apply: bool) -> String {
    let org = c.organisations.get(&s.provider_id);
    let provider = org
        .map(|o| t(lang, &o.name_mn, &o.name_en).to_owned())
        .unwrap_or_default();
    let docs: String = s
        .documents
        .iter()
        .map(|d| format!("<li>{}</li>", esc(t(lang, &d.mn, &d.en))))
        .collect();
    let fetched: String = s
        .khur_operations
        .iter()
        .map(|op| format!("<li><code>{}</code></li>", esc(op)))
        .collect();
    let once_only = if s.khur_operations.is_empty() {
        format!(
            "<p>{}</p>",
            t(
                lang,
                "Хур-аар татах өгөгдөл бүртгэгдээгүй.",
                "No Khur data recorded for this service."
            )
        )
    } else {
        format!(
            "<p><span class=\"tag\">{}</span> {}</p><ul>{fetched}</ul>",
            t(lang, "Нэг удаа", "Once only"),
            t(
                lang,
                "Эдгээр бүртгэлийг үйлчилгээ ХУР-аар өөрөө татна; цаасаар авчрах шаардлагагүй:",
                "The service fetches these records itself over Khur; no paper needed:"
            )
        )
    };
    let unknown = t(lang, "Эх сурвалжид дурдаагүй", "Not stated in the sources");
    let sources: String = s
        .sources
        .iter()
        .map(|k| {
            format!(
                "<li>{}</li>",
                esc(c.sources.get(k).map(String::as_str).unwrap_or(k))
            )
        })
        .collect();
    let name = t(lang, &s.name_mn, &s.name_en);
    let start = if apply {
        format!(
            "<p><a class=\"button\" role=\"button\" href=\"/portal/signin?lang={lang}&amp;next=/portal/services/{id}/apply%3Flang%3D{lang}\">{go}</a></p>",
            lang = esc(lang),
            id = esc(&s.id),
            go = t(lang, "Онлайнаар өргөдөл гаргах", "Apply online"),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<a href=\"/portal/services?event={event}&amp;lang={lang}\">{back}</a><h1>{name}</h1>{start}\
<dl class=\"summary\"><dt>{lp}</dt><dd><a href=\"/portal/services?provider={pid}&amp;lang={lang}\">{provider}</a></dd>\
<dt>{lf}</dt><dd>{fee}</dd><dt>{lt}</dt><dd>{deadline}</dd><dt>{lo}</dt><dd>{online}</dd>\
<dt>{lb}</dt><dd>{basis}</dd></dl>\
<h2>{ln}</h2><ul>{docs}</ul><h2>{lk}</h2>{once_only}\
<details><summary>{ls}</summary><p>{conf}: {confidence}</p><ul>{sources}</ul></details>",
        event = esc(&s.life_event),
        lang = esc(lang),
        back = t(lang, "Буцах", "Back"),
        name = esc(name),
        lp = t(lang, "Үйлчилгээ үзүүлэгч", "Provided by"),
        pid = esc(&s.provider_id),
        provider = esc(&provider),
        lf = t(lang, "Төлбөр", "Fee"),
        fee = esc(s.fee.as_deref().unwrap_or(unknown)),
        lt = t(lang, "Хугацаа", "Time and deadline"),
        deadline = esc(s.deadline.as_deref().unwrap_or(unknown)),
        lo = t(lang, "Одоогийн байдал", "Available today"),
        online = esc(&s.online.status),
        lb = t(lang, "Хууль зүйн үндэслэл", "Legal basis"),
        basis = t(
            lang,
            "Каталогийн өгөгдөлд хараахан бүртгэгдээгүй",
            "Not yet recorded in the catalogue data"
        ),
        ln = t(
            lang,
            "Шаардлагатай баримт (одоогийн журмаар)",
            "Documents asked for today"
        ),
        lk = t(
            lang,
            "Төр өөрөө татах мэдээлэл",
            "What the state fetches itself"
        ),
        ls = t(lang, "Эх сурвалж", "Sources"),
        conf = t(lang, "Итгэлцүүр", "Confidence"),
        confidence = esc(&s.confidence),
    );
    layout(lang, name, &format!("/portal/services/{}", s.id), &body)
}

/// The accessibility statement (WCAG 2.2 AA; how it is checked; what is known not to work).
pub fn accessibility(lang: &str) -> String {
    let body = if lang == "en" {
        "<h1>Accessibility statement</h1>\
<p>This service aims to meet the Web Content Accessibility Guidelines (WCAG) 2.2 at level AA.</p>\
<h2>How we check</h2><p>Every page of the tested journeys is checked automatically with axe-core \
(WCAG 2.0, 2.1 and 2.2 rules at levels A and AA) in Chromium on every change, and must report no \
violation. Pages work without JavaScript, at 320 px width, with the keyboard alone and with \
text enlarged to 200 %. Forms accept pasted text and password managers.</p>\
<h2>Known limitations</h2><p>Automated checks find only part of the problems: screen-reader \
testing with users has not been done yet. Service descriptions come from public sources and \
may use technical language. Fonts: pages use the system's Noto Sans or DejaVu Sans, which \
render Ө/ө and Ү/ү; a device without either falls back to Arial.</p>\
<h2>Feedback</h2><p>Tell the operator of this portal about any barrier you meet; we answer \
within 5 working days.</p>"
    } else {
        "<h1>Хүртээмжийн мэдэгдэл</h1>\
<p>Энэ үйлчилгээ нь Вэб агуулгын хүртээмжийн удирдамж (WCAG) 2.2-ын AA түвшинг хангахыг зорьдог.</p>\
<h2>Хэрхэн шалгадаг вэ</h2><p>Туршсан үйл явцын хуудас бүрийг өөрчлөлт бүрт Chromium дээр axe-core-оор \
(WCAG 2.0, 2.1, 2.2-ын A, AA түвшний дүрэм) автоматаар шалгаж, зөрчилгүй байхыг шаарддаг. Хуудсууд \
JavaScript-гүй, 320 px өргөнд, зөвхөн гараар, текстийг 200 % томруулсан үед ажилладаг. Маягтууд \
хуулж буулгасан текст болон нууц үгийн менежерийг хүлээн авдаг.</p>\
<h2>Мэдэгдэж буй хязгаарлалт</h2><p>Автомат шалгалт бүх асуудлыг олдоггүй: дэлгэц уншигчтай \
хэрэглэгчдийн туршилт хараахан хийгдээгүй. Үйлчилгээний тайлбар нийтийн эх сурвалжаас авсан тул \
мэргэжлийн үг хэллэг агуулж болно. Фонт: Ө/ө, Ү/ү үсгийг зөв харуулдаг Noto Sans эсвэл DejaVu Sans-ийг \
ашиглана.</p><h2>Санал хүсэлт</h2><p>Саад тулгарвал порталын операторт мэдэгдэнэ үү; 5 ажлын \
өдөрт хариулна.</p>"
    };
    layout(
        lang,
        t(lang, "Хүртээмжийн мэдэгдэл", "Accessibility statement"),
        "/portal/accessibility",
        body,
    )
}

/// A problem, explained.
pub fn problem(lang: &str, title_mn: &str, title_en: &str, detail: &str) -> String {
    let title = t(lang, title_mn, title_en);
    layout(
        lang,
        title,
        "/portal",
        &format!(
            "<h1>{}</h1><p>{}</p><p><a href=\"/portal/signin?lang={lang}\">{}</a></p>",
            esc(title),
            esc(detail),
            t(lang, "Дахин нэвтрэх", "Sign in again"),
            lang = esc(lang),
        ),
    )
}

/// "Who used my data": every recorded use, newest first, filterable by organisation.
pub fn my_data(
    lang: &str,
    citizen: &crate::account::Citizen,
    usages: &[crate::account::Usage],
    failed: &[String],
    orgs: &[(String, String)],
    selected: Option<&str>,
    receipt: &dyn Fn(u64) -> Option<String>,
) -> String {
    let mut rows = String::new();
    for u in usages {
        rows.push_str(&format!(
            "<tr><td>{at}</td><td>{org}</td><td><code>{svc}</code></td><td>{purpose}</td><td>{basis}</td><td>{ledger}</td></tr>",
            at = esc(u.at.replace('T', " ").trim_end_matches('Z')),
            org = esc(t(lang, &u.organisation_mn, &u.organisation_en)),
            svc = esc(u.service.rsplit('/').next().unwrap_or(&u.service)),
            purpose = esc(&u.purpose),
            basis = esc(&u.legal_basis),
            ledger = match (u.access_index, u.access_index.and_then(receipt)) {
                (Some(i), Some(url)) => format!(
                    "<a href=\"{}\" download=\"access-{i}.json\" data-commitment=\"{}\">{} #{i}</a>",
                    esc(&url),
                    esc(&u.commitment),
                    t(lang, "баримт", "receipt"),
                ),
                (Some(i), None) => format!(
                    "<span title=\"{}\">access #{i}</span>",
                    esc(&u.commitment)
                ),
                (None, _) => t(lang, "бүртгэгдэж байна", "being recorded").to_owned(),
            },
        ));
    }
    let mut options = format!(
        "<option value=\"\">{}</option>",
        t(lang, "Бүх байгууллага", "All organisations")
    );
    for (id, name) in orgs {
        options.push_str(&format!(
            "<option value=\"{id}\"{sel}>{name}</option>",
            id = esc(id),
            sel = if selected == Some(id.as_str()) {
                " selected"
            } else {
                ""
            },
            name = esc(name),
        ));
    }
    let warning = if failed.is_empty() {
        String::new()
    } else {
        format!(
            "<div class=\"error-summary\" role=\"alert\"><h2>{}</h2><ul>{}</ul></div>",
            t(
                lang,
                "Зарим байгууллагаас хариу ирсэнгүй",
                "Some organisations did not answer"
            ),
            failed
                .iter()
                .map(|f| format!("<li>{}</li>", esc(f)))
                .collect::<String>()
        )
    };
    let table = if usages.is_empty() {
        format!(
            "<p>{}</p>",
            t(lang, "Бүртгэл олдсонгүй.", "No use recorded.")
        )
    } else {
        format!(
            "<div style=\"overflow-x:auto\"><table><caption>{cap}</caption><thead><tr><th scope=\"col\">{w}</th><th scope=\"col\">{o}</th><th scope=\"col\">{s}</th><th scope=\"col\">{p}</th><th scope=\"col\">{b}</th><th scope=\"col\">{l}</th></tr></thead><tbody>{rows}</tbody></table></div>",
            cap = t(lang, "Шинэ нь эхэндээ", "Newest first"),
            w = t(lang, "Хэзээ", "When"),
            o = t(lang, "Байгууллага", "Organisation"),
            s = t(lang, "Үйлчилгээ", "Service"),
            p = t(lang, "Зорилго", "Purpose"),
            b = t(lang, "Хууль зүйн үндэслэл", "Legal basis"),
            l = t(lang, "Бүртгэл (ledger)", "Ledger"),
        )
    };
    let body = format!(
        "<h1>{h}</h1><p>{who} <strong>{name}</strong> ({reg}).</p><p><a href=\"/portal/wallet?lang={lang}\">{wl}</a></p><p>{intro}</p>{warning}\
<form method=\"get\" action=\"/portal/my-data\"><input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
<label for=\"org\">{fl}</label><select id=\"org\" name=\"org\">{options}</select>\
<div><button type=\"submit\">{fb}</button></div></form>{table}\
<form method=\"post\" action=\"/portal/signout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\" class=\"secondary\">{so}</button></form>",
        h = t(
            lang,
            "Миний мэдээллийг хэн ашигласан бэ",
            "Who used my data"
        ),
        who = t(lang, "Нэвтэрсэн:", "Signed in:"),
        name = esc(&citizen.name),
        reg = esc(&citizen.registration_number),
        intro = t(
            lang,
            "Төрийн байгууллагууд ХУР-аар таны мэдээллийг хэзээ, ямар зорилгоор, ямар хуулийн үндэслэлээр авсныг харуулна. Бүртгэл бүрийн давсалсан хэш нээлттэй бүртгэлд (ledger) байгаа.",
            "When organisations read your data over Khur, why, and on what legal basis. Each entry's salted hash is in the public ledger."
        ),
        lang = esc(lang),
        fl = t(lang, "Байгууллагаар шүүх", "Filter by organisation"),
        fb = t(lang, "Шүүх", "Filter"),
        so = t(lang, "Гарах", "Sign out"),
        csrf = esc(&citizen.csrf),
        wl = t(lang, "Миний бичиг баримт", "My documents"),
    );
    layout(
        lang,
        t(lang, "Миний мэдээлэл", "My data"),
        "/portal/my-data",
        &body,
    )
}

/// The document wallet: documents issued to the citizen, downloads, share links with their
/// openings, revocation.
pub fn wallet(
    lang: &str,
    citizen: &crate::account::Citizen,
    docs: &[(tamga_store::WalletDocument, Vec<tamga_store::Share>)],
    notice: Option<&Result<String, String>>,
) -> String {
    let mut b = String::new();
    match notice {
        Some(Ok(link)) => b.push_str(&format!(
            "<div role=\"status\" style=\"border:5px solid #00703c;padding:15px;margin-bottom:20px\"><h2>{}</h2>\
<p>{}</p><p><code id=\"share-link\">{}</code></p></div>",
            t(lang, "Хуваалцах холбоос үүслээ", "Share link created"),
            t(
                lang,
                "Энэ холбоосыг зөвхөн одоо харуулна: хуулж аваад хүлээн авагчид илгээнэ үү.",
                "This link is shown only now: copy it and send it to the recipient."
            ),
            esc(link)
        )),
        Some(Err(e)) => b.push_str(&format!(
            "<div class=\"error-summary\" role=\"alert\"><h2>{}</h2><p>{}</p></div>",
            t(lang, "Алдаа гарлаа", "There is a problem"),
            esc(e)
        )),
        None => {}
    }
    b.push_str(&format!(
        "<h1>{}</h1><p>{} <strong>{}</strong> ({})</p><p><a href=\"/portal/my-data?lang={lang}\">{}</a></p>",
        t(lang, "Миний бичиг баримт", "My documents"),
        t(lang, "Нэвтэрсэн:", "Signed in:"),
        esc(&citizen.name),
        esc(&citizen.registration_number),
        t(lang, "Миний мэдээллийг хэн ашигласан бэ", "Who used my data"),
        lang = esc(lang),
    ));
    if docs.is_empty() {
        b.push_str(&format!(
            "<p>{}</p>",
            t(lang, "Бичиг баримт алга.", "No documents yet.")
        ));
    }
    for (d, shares) in docs {
        let mut rows = String::new();
        for s in shares {
            let state = if s.revoked_at_ms.is_some() {
                t(lang, "цуцалсан", "revoked").to_owned()
            } else if s.expires_at_ms <= tamga_store::now_ms() {
                t(lang, "хугацаа дууссан", "expired").to_owned()
            } else {
                format!(
                    "{} {} <form method=\"post\" action=\"/portal/shares/{}/revoke\" style=\"display:inline\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<button type=\"submit\" class=\"secondary\" style=\"margin:0\">{}</button></form>",
                    t(lang, "хүчинтэй, дуусах:", "valid until"),
                    tamga_http::html::date_of_ms(s.expires_at_ms),
                    esc(&s.share_id),
                    esc(&citizen.csrf),
                    t(lang, "Цуцлах", "Revoke")
                )
            };
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.recipient),
                s.opens,
                state
            ));
        }
        let shares_table = if rows.is_empty() {
            String::new()
        } else {
            format!(
                "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>{rows}</tbody></table>",
                t(lang, "Хуваалцсан холбоосууд", "Share links"),
                t(lang, "Хэнд", "For"),
                t(lang, "Нээсэн удаа", "Times opened"),
                t(lang, "Төлөв", "Status"),
            )
        };
        let id = esc(&d.document_id);
        b.push_str(&format!(
            "<section><h2>{title}</h2><p class=\"hint\">{issuer} · {added} · SHA-256 <code>{hash}</code></p>\
<p><a href=\"/portal/wallet/{id}/download\">{dl}</a></p>{shares_table}\
<form method=\"post\" action=\"/portal/wallet/{id}/share\"><input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"recipient-{id}\">{lr}</label><p class=\"hint\" id=\"recipient-hint-{id}\">{hr}</p>\
<input type=\"text\" id=\"recipient-{id}\" name=\"recipient\" aria-describedby=\"recipient-hint-{id}\" autocomplete=\"organization\">\
<label for=\"days-{id}\">{ld}</label><input type=\"text\" id=\"days-{id}\" name=\"days\" inputmode=\"numeric\" value=\"7\" style=\"max-width:5em\">\
<div><button type=\"submit\">{sb}</button></div></form></section>",
            title = esc(t(lang, &d.title_mn, &d.title_en)),
            issuer = esc(&d.issuer),
            added = tamga_http::html::date_of_ms(d.created_at_ms),
            hash = esc(&d.sha256.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>()),
            dl = t(lang, "Татах", "Download"),
            csrf = esc(&citizen.csrf),
            lang = esc(lang),
            lr = t(lang, "Хэнтэй хуваалцах", "Share with"),
            hr = t(lang, "Жишээ нь: Төрийн банк", "For example: State Bank"),
            ld = t(lang, "Хэд хоног (1–30)", "For how many days (1–30)"),
            sb = t(lang, "Холбоос үүсгэх", "Create a share link"),
        ));
    }
    layout(
        lang,
        t(lang, "Миний бичиг баримт", "My documents"),
        "/portal/wallet",
        &b,
    )
}

/// The public verification page: upload a signed file, read the verdict in plain language.
pub fn verify(lang: &str, report: Option<&serde_json::Value>, error: Option<&str>) -> String {
    let mut b = String::new();
    if let Some(e) = error {
        b.push_str(&format!(
            "<div class=\"error-summary\" role=\"alert\"><h2>{}</h2><ul><li><a href=\"#file\">{}</a></li></ul></div>",
            t(lang, "Алдаа гарлаа", "There is a problem"),
            esc(e)
        ));
    }
    b.push_str(&format!(
        "<h1>{h}</h1><p>{p}</p>\
<form method=\"post\" action=\"/portal/verify?lang={lang}\" enctype=\"multipart/form-data\">\
<label for=\"file\">{l}</label><p class=\"hint\" id=\"file-hint\">{hint}</p>\
<input type=\"file\" id=\"file\" name=\"file\" aria-describedby=\"file-hint\">\
<div><button type=\"submit\">{go}</button></div></form>",
        h = t(lang, "Баримт шалгах", "Check a signed document"),
        p = t(
            lang,
            "Гарын үсэг, цагийн тэмдэг, гэрчилгээг шалгаж, үр дүнг энгийн үгээр харуулна. Файл хадгалагдахгүй.",
            "Checks the signatures, time-stamps and certificates and explains the result. The file is not kept."
        ),
        lang = esc(lang),
        l = t(lang, "Файл", "File"),
        hint = t(lang, "PDF, .p7s/.p7m эсвэл ASiC, 20 МБ хүртэл", "PDF, .p7s/.p7m or ASiC, up to 20 MB"),
        go = t(lang, "Шалгах", "Check"),
    ));
    b.push_str(&format!(
        "<form method=\"get\" action=\"/portal/verify/code\"><input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
<label for=\"code\">{l}</label><p class=\"hint\" id=\"code-hint\">{hint}</p>\
<input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"off\" aria-describedby=\"code-hint\">\
<div><button type=\"submit\">{go}</button></div></form>",
        lang = esc(lang),
        l = t(lang, "Эсвэл баримт дээрх кодыг оруулна уу", "Or enter the code printed on the document"),
        hint = t(lang, "Жишээ нь: 7K3Q-M9XD-2F4A", "For example: 7K3Q-M9XD-2F4A"),
        go = t(lang, "Кодоор шалгах", "Check the code"),
    ));
    if let Some(r) = report {
        let pick = |v: &serde_json::Value| {
            v.get(if lang == "en" { "en" } else { "mn" })
                .and_then(|s| s.as_str())
                .unwrap_or("")
                .to_owned()
        };
        let indication = r["indication"].as_str().unwrap_or("?");
        let (colour, verdict) = match indication {
            "TOTAL-PASSED" => ("#00703c", t(lang, "Хүчинтэй", "Valid")),
            "TOTAL-FAILED" => ("#d4351c", t(lang, "Хүчингүй", "Not valid")),
            _ => ("#f47738", t(lang, "Тодорхойгүй", "Could not be confirmed")),
        };
        b.push_str(&format!(
            "<section aria-live=\"polite\"><h2 style=\"border-left:10px solid {colour};padding-left:10px\">{verdict} <span class=\"hint\">({ind})</span></h2><p>{sum}</p><ul>",
            ind = esc(indication),
            sum = esc(&pick(&r["summary"])),
        ));
        for s in r["signatures"].as_array().into_iter().flatten() {
            b.push_str(&format!("<li>{}</li>", esc(&pick(&s["summary"]))));
        }
        b.push_str(&format!(
            "</ul><p class=\"hint\">SHA-256 <code>{}</code></p></section>",
            esc(r["document"]["sha256"].as_str().unwrap_or(""))
        ));
    }
    layout(
        lang,
        t(lang, "Баримт шалгах", "Check a document"),
        "/portal/verify",
        &b,
    )
}
