//! The catalogue's pages and API through the router: search in both languages, filters,
//! the once-only section, 404s, hostile query strings.

use axum::body::Body;
use http::Request;
use tower::ServiceExt;

async fn get(path: &str) -> (u16, String) {
    let (router, _) = tamga_portal::http::routes(std::sync::Arc::default());
    let r = router
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn home_lists_life_events_and_organisations_in_both_languages() {
    let (s, mn) = get("/portal").await;
    assert_eq!(s, 200);
    assert!(
        mn.contains("lang=\"mn\"")
            && mn.contains("Тэтгэвэр")
            && mn.contains("Нийгмийн даатгалын ерөнхий газар")
    );
    let (_, en) = get("/portal?lang=en").await;
    assert!(
        en.contains("lang=\"en\"")
            && en.contains("Retirement")
            && en.contains("General Authority for State Registration")
    );
}

#[tokio::test]
async fn search_filters_and_service_page() {
    let (s, page) =
        get("/portal/services?q=%D1%82%D1%8D%D1%82%D0%B3%D1%8D%D0%B2%D1%8D%D1%80").await; // тэтгэвэр
    assert_eq!(s, 200);
    assert!(page.contains("/portal/services/old-age-pension"));
    let (_, page) = get("/portal/services?event=birth&lang=en").await;
    assert!(
        page.contains("/portal/services/birth-registration") && !page.contains("old-age-pension")
    );
    let (_, page) = get("/portal/services/voluntary-social-insurance?lang=en").await;
    assert!(page.contains("Provided by") && page.contains("Documents asked for today"));
    // A service with Khur operations shows what the state fetches itself.
    let (_, page) = get("/portal/services/birth-registration?lang=en").await;
    assert!(page.contains("Once only") && page.contains("WS100101_getCitizenIDCardInfo"));
    let (s, _) = get("/portal/services/no-such-service").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn hostile_input_is_escaped_or_refused() {
    let (s, page) = get("/portal/services?q=%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert_eq!(s, 200);
    assert!(!page.contains("<script>") && page.contains("&lt;script&gt;"));
    let long = "a".repeat(300);
    let (s, _) = get(&format!("/portal/services?q={long}")).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn api_returns_the_same_search() {
    let (s, body) = get("/portal/api/services?provider=gasi").await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["count"].as_u64().unwrap() >= 5);
    assert!(
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["provider_id"] == "gasi")
    );
}

#[tokio::test]
async fn accessibility_statement_in_both_languages_and_linked_from_every_page() {
    let (s, mn) = get("/portal/accessibility").await;
    assert_eq!(s, 200);
    assert!(mn.contains("Хүртээмжийн мэдэгдэл") && mn.contains("WCAG"));
    let (_, en) = get("/portal/accessibility?lang=en").await;
    assert!(en.contains("Accessibility statement") && en.contains("axe-core"));
    let (_, home) = get("/portal").await;
    assert!(home.contains("/portal/accessibility"));
}
