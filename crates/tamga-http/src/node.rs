//! Building and running a node: routes, middleware, readiness, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::metrics_layer;
use crate::openapi::{CheckResult, Readiness, base_openapi, healthz};
use crate::request_id::{REQUEST_ID_HEADER, RandomRequestId, acceptable};

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// A named dependency `/readyz` asks about (the database, a token, a peer).
#[derive(Clone)]
pub struct ReadinessCheck {
    name: &'static str,
    check: Arc<dyn Fn() -> CheckFuture + Send + Sync>,
}

impl ReadinessCheck {
    /// A check that passes when `check` returns `Ok`.
    pub fn new<F, Fut>(name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self {
            name,
            check: Arc::new(move || Box::pin(check())),
        }
    }
}

/// Stops a running node: `/readyz` turns 503 at once, then the server drains.
#[derive(Clone)]
pub struct ShutdownHandle {
    tx: Arc<watch::Sender<bool>>,
}

impl ShutdownHandle {
    fn new() -> Self {
        Self {
            tx: Arc::new(watch::channel(false).0),
        }
    }

    /// Starts the shutdown (idempotent).
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Whether shutdown has started.
    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once shutdown has started.
    pub async fn triggered(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|v| *v).await;
    }
}

/// Registers the SIGTERM and SIGINT handlers now — so a signal that arrives while the node is
/// still starting (migrations, the demo's seeding) asks for a graceful stop instead of killing
/// the process with the default action — and resolves once one arrives.
pub fn shutdown_signal_registered() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {},
                () = wait(int) => {},
            }
        }
    }
    #[cfg(not(unix))]
    {
        shutdown_signal()
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

struct NodeState {
    checks: Vec<ReadinessCheck>,
    draining: AtomicBool,
    openapi_json: String,
}

/// Collects what a node serves.
pub struct NodeBuilder {
    router: Router,
    openapi: utoipa::openapi::OpenApi,
    checks: Vec<ReadinessCheck>,
    request_timeout: Duration,
    shutdown_grace: Duration,
}

impl NodeBuilder {
    /// A node whose OpenAPI document is titled `title`, at `version`.
    pub fn new(title: &str, version: &str) -> Self {
        Self {
            router: Router::new(),
            openapi: base_openapi(title, version),
            checks: Vec::new(),
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }

    /// Adds a role's routes and the OpenAPI paths that describe them.
    pub fn merge(mut self, routes: Router, openapi: utoipa::openapi::OpenApi) -> Self {
        self.router = self.router.merge(routes);
        self.openapi.merge(openapi);
        self
    }

    /// Adds a dependency `/readyz` checks.
    pub fn readiness(mut self, check: ReadinessCheck) -> Self {
        self.checks.push(check);
        self
    }

    /// How long one request may take before it is answered 408.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long in-flight requests may run after shutdown starts.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Assembles the router with system routes and middleware.
    pub fn build(self) -> Node {
        let metrics = metrics_layer::handle();
        metrics::gauge!("tamga_build_info", "version" => self.openapi.info.version.clone())
            .set(1.0);
        let openapi_json = self
            .openapi
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        let state = Arc::new(NodeState {
            checks: self.checks,
            draining: AtomicBool::new(false),
            openapi_json,
        });
        let system = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route(
                "/metrics",
                get(move || {
                    let metrics = metrics.clone();
                    async move {
                        (
                            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                            metrics.render(),
                        )
                    }
                }),
            )
            .route("/openapi.json", get(serve_openapi))
            .with_state(Arc::clone(&state));
        let router = self
            .router
            .merge(system)
            .layer(middleware::from_fn(metrics_layer::record))
            .layer(
                ServiceBuilder::new()
                    .layer(middleware::from_fn(drop_unacceptable_request_id))
                    .layer(SetRequestIdLayer::new(
                        http::HeaderName::from_static(REQUEST_ID_HEADER),
                        RandomRequestId,
                    ))
                    .layer(PropagateRequestIdLayer::new(http::HeaderName::from_static(
                        REQUEST_ID_HEADER,
                    )))
                    .layer(
                        TraceLayer::new_for_http()
                            .make_span_with(|req: &Request| {
                                let id = req
                                    .extensions()
                                    .get::<RequestId>()
                                    .and_then(|id| id.header_value().to_str().ok())
                                    .unwrap_or("-");
                                // The route pattern, never the raw path or query: those may carry
                                // personal identifiers, which must not reach the logs.
                                let route = req
                                    .extensions()
                                    .get::<MatchedPath>()
                                    .map_or("unmatched", |p| p.as_str());
                                tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
                            })
                            .on_request(())
                            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                    )
                    .layer(CatchPanicLayer::new())
                    .layer(TimeoutLayer::with_status_code(
                        StatusCode::REQUEST_TIMEOUT,
                        self.request_timeout,
                    )),
            );
        Node {
            router,
            state,
            shutdown_grace: self.shutdown_grace,
        }
    }
}

async fn drop_unacceptable_request_id(mut request: Request, next: Next) -> Response {
    if request
        .headers()
        .get(REQUEST_ID_HEADER)
        .is_some_and(|v| !acceptable(v))
    {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    next.run(request).await
}

async fn readyz(State(state): State<Arc<NodeState>>) -> Response {
    let mut checks = Vec::with_capacity(state.checks.len());
    for c in &state.checks {
        // A hung dependency is a failed check, not a hung probe.
        let result = match tokio::time::timeout(Duration::from_secs(5), (c.check)()).await {
            Ok(r) => r,
            Err(_) => Err("timed out after 5 s".to_owned()),
        };
        checks.push(CheckResult {
            name: c.name,
            ok: result.is_ok(),
            error: result.err(),
        });
    }
    let draining = state.draining.load(Ordering::SeqCst);
    let ok = !draining && checks.iter().all(|c| c.ok);
    let status = if draining {
        "draining"
    } else if ok {
        "ready"
    } else {
        "not ready"
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(Readiness { status, checks })).into_response()
}

async fn serve_openapi(State(state): State<Arc<NodeState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.openapi_json.clone(),
    )
        .into_response()
}

/// An assembled node, not yet listening.
pub struct Node {
    router: Router,
    state: Arc<NodeState>,
    shutdown_grace: Duration,
}

impl Node {
    /// The full router, for in-process tests.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The OpenAPI document this node serves.
    pub fn openapi_json(&self) -> &str {
        &self.state.openapi_json
    }

    /// Starts serving on `listener`.
    pub fn serve(self, listener: TcpListener) -> std::io::Result<RunningNode> {
        let local_addr = listener.local_addr()?;
        let shutdown = ShutdownHandle::new();
        let state = Arc::clone(&self.state);
        let grace = self.shutdown_grace;
        let on_shutdown = shutdown.clone();
        let server = axum::serve(listener, self.router).with_graceful_shutdown(async move {
            on_shutdown.triggered().await;
            state.draining.store(true, Ordering::SeqCst);
            tracing::info!("shutdown started: draining in-flight requests");
        });
        let deadline = shutdown.clone();
        let task = tokio::spawn(async move {
            let server = server.into_future();
            tokio::pin!(server);
            tokio::select! {
                r = &mut server => r,
                () = async { deadline.triggered().await; tokio::time::sleep(grace).await } => {
                    tracing::warn!(grace_secs = grace.as_secs(), "grace period over: closing remaining connections");
                    Ok(())
                }
            }
        });
        Ok(RunningNode {
            local_addr,
            shutdown,
            task,
        })
    }

    /// Binds `addr` and starts serving.
    pub async fn bind(self, addr: SocketAddr) -> std::io::Result<RunningNode> {
        let listener = TcpListener::bind(addr).await?;
        self.serve(listener)
    }
}

/// A node that is listening.
pub struct RunningNode {
    local_addr: SocketAddr,
    shutdown: ShutdownHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningNode {
    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops it.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Waits until the server has stopped (after a shutdown and the drain).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}
