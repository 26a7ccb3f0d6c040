//! Shared pieces of the server-rendered pages (identity, portal): HTML escaping, the
//! bilingual text picker, and the base style sheet after the GOV.UK Design System (system
//! fonts that carry Cyrillic Ө/ө and Ү/ү — Noto Sans, DejaVu Sans — 19 px text, 4.5:1
//! contrast, visible focus, 24 px targets).

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Picks the Mongolian or English text.
pub fn t<'a>(lang: &str, mn: &'a str, en: &'a str) -> &'a str {
    if lang == "en" { en } else { mn }
}

/// The base style sheet.
pub const BASE_CSS: &str = "body{font-family:'Noto Sans','DejaVu Sans',Arial,sans-serif;margin:0;color:#0b0c0c;background:#fff;font-size:19px;line-height:1.4}\
header{background:#0b0c0c;color:#fff;padding:10px 15px;display:flex;justify-content:space-between;align-items:center}\
header a{color:#fff}main{max-width:640px;margin:0 auto;padding:20px 15px}\
h1{font-size:32px;margin:0 0 20px}label{display:block;font-weight:700;margin:15px 0 5px}\
.hint{color:#505a5f;margin:0 0 5px}input[type=text],input[type=password]{font-size:19px;padding:5px;border:2px solid #0b0c0c;width:100%;max-width:20em;box-sizing:border-box}\
input:focus,button:focus,a:focus{outline:3px solid #fd0;outline-offset:0;box-shadow:inset 0 0 0 2px #0b0c0c}\
button,.button{display:inline-block;font-size:19px;padding:8px 12px;margin:20px 10px 0 0;background:#00703c;color:#fff;border:0;box-shadow:0 2px 0 #002d18;cursor:pointer;text-decoration:none;min-height:24px}\
.secondary{background:#f3f2f1;color:#0b0c0c;box-shadow:0 2px 0 #929191}.error-summary{border:5px solid #d4351c;padding:15px;margin-bottom:20px}\
.error-summary a{color:#d4351c;font-weight:700}.error{color:#d4351c;font-weight:700}section{border-top:1px solid #b1b4b6;margin-top:30px;padding-top:10px}\
ul.claims li{margin:5px 0}";

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The UTC date (`YYYY-MM-DD`) of a time in milliseconds since the Unix epoch (proleptic
/// Gregorian; H. Hinnant's civil-from-days).
pub fn date_of_ms(ms: i64) -> String {
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::date_of_ms(0), "1970-01-01");
        assert_eq!(super::date_of_ms(20_784 * 86_400_000), "2026-11-27");
        assert_eq!(super::date_of_ms(-1), "1969-12-31");
        assert_eq!(super::date_of_ms(951_782_400_000), "2000-02-29");
    }
}
