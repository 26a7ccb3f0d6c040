//! The node over real TCP: system endpoints, request ids, metrics, timeouts, graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use tamga_http::{NodeBuilder, ReadinessCheck, RunningNode};

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(600)).await;
    "done"
}

async fn very_slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "never"
}

async fn boom() -> &'static str {
    panic!("handler bug")
}

#[utoipa::path(get, path = "/api/v1/echo/{word}", tag = "test",
    params(("word" = String, Path, description = "a word")),
    responses((status = 200, description = "echo", body = String)))]
async fn echo(axum::extract::Path(word): axum::extract::Path<String>) -> String {
    word
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(echo))]
struct TestApi;

async fn start(db_ok: Arc<AtomicBool>, grace: Duration) -> (RunningNode, String) {
    let routes = Router::new()
        .route("/slow", get(slow))
        .route("/very-slow", get(very_slow))
        .route("/boom", get(boom))
        .route("/api/v1/echo/{word}", get(echo));
    let node = NodeBuilder::new("Tamga test", "0.0.0")
        .merge(routes, <TestApi as utoipa::OpenApi>::openapi())
        .readiness(ReadinessCheck::new("database", move || {
            let ok = db_ok.load(Ordering::SeqCst);
            async move {
                if ok {
                    Ok(())
                } else {
                    Err("connection refused".into())
                }
            }
        }))
        .request_timeout(Duration::from_secs(2))
        .shutdown_grace(grace)
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = node.serve(listener).unwrap();
    let base = format!("http://{}", running.local_addr());
    (running, base)
}

#[tokio::test]
async fn system_endpoints_answer() {
    let db_ok = Arc::new(AtomicBool::new(true));
    let (node, base) = start(Arc::clone(&db_ok), Duration::from_secs(5)).await;
    let c = reqwest::Client::new();

    let r = c.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let r = c.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"][0]["name"], "database");

    db_ok.store(false, Ordering::SeqCst);
    let r = c.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["checks"][0]["error"], "connection refused");

    let doc: serde_json::Value = c
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/api/v1/echo/{word}",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }

    // Metrics count requests per route pattern, not per raw path.
    c.get(format!("{base}/api/v1/echo/сайн"))
        .send()
        .await
        .unwrap();
    let metrics = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "tamga_http_requests_total{method=\"GET\",route=\"/api/v1/echo/{word}\",status=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("tamga_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(!metrics.contains("сайн"));

    node.shutdown_handle().trigger();
    node.wait().await.unwrap();
}

#[tokio::test]
async fn request_ids_are_kept_generated_or_replaced() {
    let (node, base) = start(Arc::new(AtomicBool::new(true)), Duration::from_secs(5)).await;
    let c = reqwest::Client::new();
    let r = c.get(format!("{base}/healthz")).send().await.unwrap();
    let generated = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 32);
    assert!(generated.bytes().all(|b| b.is_ascii_hexdigit()));

    let r = c
        .get(format!("{base}/healthz"))
        .header("x-request-id", "khur-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "khur-abc.123");

    let r = c
        .get(format!("{base}/healthz"))
        .header("x-request-id", "bad id; drop table")
        .send()
        .await
        .unwrap();
    let replaced = r.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(replaced.len(), 32);
    node.shutdown_handle().trigger();
    node.wait().await.unwrap();
}

#[tokio::test]
async fn slow_requests_time_out_and_panics_become_500() {
    let (node, base) = start(Arc::new(AtomicBool::new(true)), Duration::from_secs(5)).await;
    let c = reqwest::Client::new();
    let r = c.get(format!("{base}/very-slow")).send().await.unwrap();
    assert_eq!(r.status(), 408);
    let r = c.get(format!("{base}/boom")).send().await.unwrap();
    assert_eq!(r.status(), 500);
    // The node still serves after a handler panicked.
    assert_eq!(
        c.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    node.shutdown_handle().trigger();
    node.wait().await.unwrap();
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests() {
    let (node, base) = start(Arc::new(AtomicBool::new(true)), Duration::from_secs(10)).await;
    let c = reqwest::Client::new();
    let in_flight = tokio::spawn({
        let c = c.clone();
        let base = base.clone();
        async move { c.get(format!("{base}/slow")).send().await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let handle = node.shutdown_handle();
    handle.trigger();
    let r = in_flight
        .await
        .unwrap()
        .expect("in-flight request completes during drain");
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "done");
    node.wait().await.unwrap();
    // After the drain nothing listens.
    assert!(
        reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn grace_period_bounds_the_drain() {
    let (node, base) = start(Arc::new(AtomicBool::new(true)), Duration::from_millis(300)).await;
    let c = reqwest::Client::new();
    let _stuck = tokio::spawn(async move { c.get(format!("{base}/very-slow")).send().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    node.shutdown_handle().trigger();
    node.wait().await.unwrap();
    // The 30 s handler (2 s timeout) did not hold the shutdown beyond the grace period.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}
