//! A member's gateway (X-Road's security server): the consumer side takes requests from the
//! organisation's own systems in the X-Road REST message protocol
//! (`{METHOD} /r1/{INSTANCE}/{CLASS}/{MEMBER}/{SUBSYSTEM}/{SERVICE}/path`, `X-Road-Client`,
//! `X-Road-Id`, `X-Road-UserId`, `X-Road-Represented-Party`; errors in `X-Road-Error`;
//! `X-Road-Request-Hash` on responses) and forwards them, signed (RFC 9421), over mutual TLS to
//! the provider's gateway, which checks TLS peer, signature, freshness, replay, the access right
//! and its configuration before calling the backend service, then signs the response bound to
//! the request. Both sides log every exchange before answering.
//!
//! Personal-data services also need `X-Tamga-Data-Subject` (registration number),
//! `X-Tamga-Purpose` and `X-Tamga-Legal-Basis` (percent-encoded UTF-8 allowed), and may carry
//! `X-Tamga-Disclose-After` (`YYYY-MM-DD`) when the client's right allows delayed disclosure.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Serialize;
use tamga_keys::Signer;
use tamga_store::RecordRow;

use crate::digest::{content_digest, verify_content_digest};
use crate::globalconf::{ConfIndex, sha256};
use crate::httpsig::{self, Component, Message, SignatureParams};
use crate::id::{ClientId, ServiceId};
use crate::messagelog::MessageLog;
use crate::revocation::Revocation;
use crate::sfv::Bare;
use crate::tls::{ConfHandle, PeerPin};
use crate::tracker::{TrackerBlock, TrackerEntry, Usage};

/// The signature label gateways use.
pub const LABEL: &str = "tamga";
const REQUEST_TAG: &str = "tamga-exchange-request";
const RESPONSE_TAG: &str = "tamga-exchange-response";

/// Headers that, when present on a request, must be covered by its signature.
const SIGNED_REQUEST_HEADERS: [&str; 8] = [
    "x-road-client",
    "x-road-id",
    "x-road-userid",
    "x-road-represented-party",
    "x-tamga-data-subject",
    "x-tamga-purpose",
    "x-tamga-legal-basis",
    "x-tamga-disclose-after",
];

/// A gateway's settings.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// The member this gateway serves (`INSTANCE/CLASS/MEMBER`).
    pub member: ClientId,
    /// Backend base URLs by `SUBSYSTEM/SERVICE` (plain HTTP inside the organisation).
    pub backends: HashMap<String, String>,
    /// Keep full bodies in the message log.
    pub log_bodies: bool,
    /// Deadline for the other side (provider gateway or backend).
    pub timeout: Duration,
    /// Lifetime of a signature (`expires - created`), seconds.
    pub signature_lifetime: i64,
    /// Accepted clock difference, seconds.
    pub clock_skew: i64,
}

type TlsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;
type PlainClient = Client<HttpConnector, Full<Bytes>>;

/// What a gateway is built from.
pub struct GatewayParts {
    /// Settings.
    pub settings: GatewaySettings,
    /// The message-signing key.
    pub signer: Arc<dyn Signer>,
    /// Its certificate (DER); the signatures' `keyid` is its SHA-256.
    pub signing_certificate: Vec<u8>,
    /// The global configuration, kept current by a poller.
    pub conf: ConfHandle,
    /// TLS client configuration towards other gateways.
    pub tls: rustls::ClientConfig,
    /// The message log.
    pub log: Arc<MessageLog>,
    /// OCSP checks of other gateways.
    pub revocation: Arc<Revocation>,
    /// The ledger (record exports fetch receipts from it).
    pub ledger: Arc<dyn crate::messagelog::LedgerSink>,
}

/// A running gateway's shared state.
pub struct Gateway {
    settings: GatewaySettings,
    member: String,
    signer: Arc<dyn Signer>,
    keyid: String,
    conf: ConfHandle,
    to_gateways: TlsClient,
    to_backends: PlainClient,
    log: Arc<MessageLog>,
    replay: ReplayCache,
    revocation: Arc<Revocation>,
    ledger_sink: Arc<dyn crate::messagelog::LedgerSink>,
}

/// An X-Road error answer.
#[derive(Debug)]
pub struct XError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn xerr(status: StatusCode, code: &'static str, message: impl Into<String>) -> XError {
    XError {
        status,
        code,
        message: message.into(),
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
    detail: &'a str,
}

impl XError {
    fn response(&self, x_road_id: &str) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            kind: self.code,
            message: &self.message,
            detail: x_road_id,
        })
        .unwrap_or_default();
        let mut r = (self.status, body).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert("x-road-error", HeaderValue::from_static(self.code));
        if let Ok(v) = HeaderValue::from_str(x_road_id) {
            h.insert("x-road-id", v);
        }
        r
    }
}

/// Remembers (key id, nonce) pairs for twice the signature lifetime, in two generations, so
/// memory stays bounded by the request rate. A pair is kept as 16 bytes of SHA-256 over both:
/// only pairs from signatures that verified get here, so nobody can aim for collisions, and
/// no per-entry allocation is made (at 3,000 requests/s a 120 s window holds ~700,000 pairs).
struct ReplayCache {
    window_ms: i64,
    inner: Mutex<ReplayGenerations>,
}

struct ReplayGenerations {
    started_ms: i64,
    current: std::collections::HashSet<[u8; 16]>,
    previous: std::collections::HashSet<[u8; 16]>,
}

impl ReplayCache {
    fn new(window_secs: i64) -> Self {
        Self {
            window_ms: window_secs.max(1) * 1000,
            inner: Mutex::new(ReplayGenerations {
                started_ms: now_ms(),
                current: Default::default(),
                previous: Default::default(),
            }),
        }
    }

    /// `false` if the pair was seen within the window.
    fn first_use(&self, keyid: &str, nonce: &str) -> bool {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(keyid.as_bytes());
        ctx.update(&[0]);
        ctx.update(nonce.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&ctx.finish().as_ref()[..16]);
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let t = now_ms();
        if t - g.started_ms > self.window_ms {
            g.previous = std::mem::take(&mut g.current);
            g.started_ms = t;
        }
        if g.previous.contains(&key) {
            return false;
        }
        g.current.insert(key)
    }
}

fn now_ms() -> i64 {
    tamga_store::now_ms()
}

fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    let _ = aws_lc_rs::rand::fill(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
}

fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a signature verification established.
struct Verified {
    base: String,
    signature: Vec<u8>,
    keyid: String,
    signer_member: ClientId,
}

/// Signature metadata and replay checks common to both directions.
fn check_params(
    params: &SignatureParams,
    tag: &str,
    settings: &GatewaySettings,
) -> Result<(), (&'static str, String)> {
    let now = now_ms() / 1000;
    if params.tag() != Some(tag) {
        return Err(("InvalidSignature", format!("signature tag is not {tag}")));
    }
    let (Some(created), Some(expires)) = (params.created(), params.expires()) else {
        return Err((
            "InvalidSignature",
            "signature lacks created or expires".into(),
        ));
    };
    if created > now + settings.clock_skew {
        return Err(("InvalidSignature", "signature created in the future".into()));
    }
    if expires < now - settings.clock_skew {
        return Err((
            "ExpiredSignature",
            format!("signature expired at {expires}"),
        ));
    }
    if expires - created > settings.signature_lifetime + settings.clock_skew {
        return Err((
            "InvalidSignature",
            format!("signature lifetime over {} s", settings.signature_lifetime),
        ));
    }
    if params.nonce().is_none_or(|n| n.len() < 16) {
        return Err(("InvalidSignature", "signature lacks a nonce".into()));
    }
    Ok(())
}

impl Gateway {
    /// Builds a gateway from its parts.
    pub fn new(p: GatewayParts) -> Arc<Self> {
        let GatewayParts {
            settings,
            signer,
            signing_certificate,
            conf,
            tls,
            log,
            revocation,
            ledger: ledger_sink,
        } = p;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .build();
        let to_gateways = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .build(https);
        let mut plain = HttpConnector::new();
        plain.set_nodelay(true);
        let to_backends = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .build(plain);
        let window = settings.signature_lifetime + 2 * settings.clock_skew;
        Arc::new(Self {
            member: settings.member.to_string(),
            settings,
            signer,
            keyid: hex::encode(sha256(&signing_certificate)),
            conf,
            to_gateways,
            to_backends,
            log,
            replay: ReplayCache::new(window),
            revocation,
            ledger_sink,
        })
    }

    /// The member this gateway serves.
    pub fn member(&self) -> &str {
        &self.member
    }

    /// The message log.
    pub fn message_log(&self) -> &Arc<MessageLog> {
        &self.log
    }

    /// The configuration handle.
    pub fn conf(&self) -> &ConfHandle {
        &self.conf
    }

    /// `Err` with a reason when the gateway must not serve (no or expired configuration,
    /// message log behind its grace period).
    pub fn ready(&self) -> Result<Arc<ConfIndex>, (&'static str, String)> {
        let conf = self.conf.get().ok_or((
            "OutdatedGlobalConf",
            "no global configuration yet".to_owned(),
        ))?;
        conf.check_valid(now_ms() / 1000)
            .map_err(|e| ("OutdatedGlobalConf", e.to_string()))?;
        self.log
            .accountable(now_ms())
            .map_err(|e| ("MessageLogUnavailable", e))?;
        Ok(conf)
    }

    fn sign_params(&self, components: Vec<Component>, tag: &str) -> SignatureParams {
        let now = now_ms() / 1000;
        SignatureParams {
            components,
            params: vec![
                ("created".into(), Bare::Integer(now)),
                (
                    "expires".into(),
                    Bare::Integer(now + self.settings.signature_lifetime),
                ),
                ("nonce".into(), Bare::String(random_b64(18))),
                ("keyid".into(), Bare::String(self.keyid.clone())),
                ("tag".into(), Bare::String(tag.into())),
            ],
        }
    }

    /// Verifies the `tamga` signature of a message against the configuration.
    #[allow(clippy::too_many_arguments)]
    async fn verify_message(
        &self,
        conf: &ConfIndex,
        msg: &Message<'_>,
        req: Option<&Message<'_>>,
        headers: &HeaderMap,
        body: &[u8],
        tag: &str,
        required: &[Component],
    ) -> Result<Verified, (&'static str, String)> {
        let (params, signature) =
            httpsig::find(headers, LABEL).map_err(|e| ("InvalidSignature", e.to_string()))?;
        check_params(&params, tag, &self.settings)?;
        for c in required {
            if !params.covers(c) {
                return Err((
                    "InvalidSignature",
                    format!("the signature does not cover {}", c.name),
                ));
            }
        }
        let keyid = params.keyid().unwrap_or_default().to_owned();
        let signer = conf.signer(&keyid).ok_or((
            "UnknownCertificate",
            format!("signing certificate {keyid:.16}… is not in the global configuration"),
        ))?;
        let base = httpsig::signature_base(&params, msg, req)
            .map_err(|e| ("InvalidSignature", e.to_string()))?;
        httpsig::verify(signer.alg, &signer.spki, base.as_bytes(), &signature)
            .map_err(|e| ("InvalidSignature", e.to_string()))?;
        let digest = header_str(headers, "content-digest").unwrap_or_default();
        verify_content_digest(digest, body).map_err(|e| ("InvalidSignature", e.to_string()))?;
        // Only after the signature verified: a forged request cannot burn a real nonce.
        if !self
            .replay
            .first_use(&keyid, params.nonce().unwrap_or_default())
        {
            return Err(("ReplayedMessage", "this signature was already used".into()));
        }
        self.revocation
            .check(&signer.certificate, &conf.cas)
            .await
            .map_err(|e| ("CertificateRevoked", e))?;
        Ok(Verified {
            base,
            signature,
            keyid,
            signer_member: signer.member.clone(),
        })
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(consume, consume_post, list_clients, export_record))]
struct GatewayApi;

/// The OpenAPI description of the consumer side (served by the node, which documents the
/// gateways it runs).
pub fn consumer_openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    GatewayApi::openapi()
}

/// Routes of the consumer side (the organisation's own systems call these; bind it to an
/// internal address).
pub fn consumer_routes(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route(
            "/r1/{*rest}",
            get(consume)
                .post(consume_post)
                .put(consume)
                .patch(consume)
                .delete(consume),
        )
        .route("/listClients", get(list_clients))
        .route("/exchange/records/{x_road_id}", get(export_record))
        .with_state(gw)
}

/// Routes of the provider side (served over mutual TLS to other gateways).
pub fn provider_routes(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/gw/r1/{*rest}", any(provide))
        .with_state(gw)
}

async fn read_body(body: Body, max: u64) -> Result<Bytes, XError> {
    match Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX))
        .collect()
        .await
    {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(xerr(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Client.BodyTooLarge",
            format!("the body is larger than {max} bytes"),
        )),
        Err(e) => Err(xerr(
            StatusCode::BAD_REQUEST,
            "Client.BadRequest",
            format!("cannot read the body: {e}"),
        )),
    }
}

/// Personal-data headers of a request, checked.
struct Personal {
    subject: String,
    purpose: String,
    legal_basis: String,
    disclose_after_ms: Option<i64>,
}

fn personal_headers(
    h: &HeaderMap,
    max_delay_days: u32,
    prefix: &'static str,
) -> Result<Personal, XError> {
    let need = |name: &str| {
        header_str(h, name).map(percent_decoded).ok_or_else(|| {
            xerr(
                StatusCode::BAD_REQUEST,
                if prefix == "Client" {
                    "Client.MissingPersonalDataHeaders"
                } else {
                    "Server.ServerProxy.MissingPersonalDataHeaders"
                },
                format!(
                    "this service returns personal data: {name} is required (X-Tamga-Data-Subject, X-Tamga-Purpose, X-Tamga-Legal-Basis)"
                ),
            )
        })
    };
    let subject = need("x-tamga-data-subject")?;
    let purpose = need("x-tamga-purpose")?;
    let legal_basis = need("x-tamga-legal-basis")?;
    let disclose_after_ms = match header_str(h, "x-tamga-disclose-after") {
        None => None,
        Some(d) => {
            let at = crate::tracker::parse_date(d).ok_or_else(|| {
                xerr(
                    StatusCode::BAD_REQUEST,
                    "Client.BadRequest",
                    "X-Tamga-Disclose-After is YYYY-MM-DD",
                )
            })?;
            let limit = now_ms() + i64::from(max_delay_days) * 86_400_000;
            if max_delay_days == 0 || at > limit {
                return Err(xerr(
                    StatusCode::FORBIDDEN,
                    "Client.DisclosureDelayNotAllowed",
                    format!("this client may delay disclosure by at most {max_delay_days} days"),
                ));
            }
            Some(at)
        }
    };
    if subject.chars().count() > 32 || purpose.len() > 512 || legal_basis.len() > 512 {
        return Err(xerr(
            StatusCode::BAD_REQUEST,
            "Client.BadRequest",
            "personal-data headers are too long",
        ));
    }
    Ok(Personal {
        subject,
        purpose,
        legal_basis,
        disclose_after_ms,
    })
}

#[derive(Serialize)]
struct SignedPart<'a> {
    signature_base: &'a str,
    signature: String,
    keyid: &'a str,
}

#[derive(Serialize)]
struct Record<'a> {
    format: &'static str,
    side: &'static str,
    gateway: &'a str,
    x_road_id: &'a str,
    client: &'a str,
    service: &'a str,
    method: &'a str,
    path: &'a str,
    at_ms: i64,
    conf_version: u64,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    represented_party: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<SignedPart<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<SignedPart<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracker: Option<TrackerBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bodies: Option<HashMap<&'static str, String>>,
    salt: String,
}

/// Record format name.
pub const RECORD_FORMAT: &str = "tamga-exchange-record/1";

impl Gateway {
    /// Both bodies for the record, when this member's policy keeps them.
    fn bodies(&self, request: &[u8], response: &[u8]) -> Option<HashMap<&'static str, String>> {
        self.settings.log_bodies.then(|| {
            HashMap::from([
                ("request", STANDARD.encode(request)),
                ("response", STANDARD.encode(response)),
            ])
        })
    }

    async fn write_record(
        &self,
        rec: &Record<'_>,
        subject: Option<String>,
        disclose_after_ms: Option<i64>,
    ) -> Result<i64, XError> {
        let text = serde_json::to_string(rec).map_err(|e| {
            xerr(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server.MessageLogFailed",
                e.to_string(),
            )
        })?;
        let hash = sha256(text.as_bytes()).to_vec();
        let row = RecordRow {
            gateway: self.member.clone(),
            x_road_id: rec.x_road_id.to_owned(),
            side: rec.side,
            client: rec.client.to_owned(),
            service: rec.service.to_owned(),
            status: i64::from(rec.status),
            at_ms: rec.at_ms,
            subject,
            disclose_after_ms,
            record: text,
            record_hash: hash,
            access_commitment: rec
                .tracker
                .as_ref()
                .and_then(|t| hex::decode(&t.commitment).ok()),
        };
        self.log.write(row).await.map_err(|e| {
            xerr(
                StatusCode::SERVICE_UNAVAILABLE,
                if rec.side == "consumer" {
                    "Server.ClientProxy.MessageLogFailed"
                } else {
                    "Server.ServerProxy.MessageLogFailed"
                },
                e.to_string(),
            )
        })
    }
}

/// Metric handles of one (side, service, client, outcome), registered once: looking a labelled
/// metric up in the recorder allocates its labels on every call.
#[derive(Clone)]
struct Meters {
    requests: metrics::Counter,
    duration: metrics::Histogram,
    bytes_in: metrics::Counter,
    bytes_out: metrics::Counter,
}

static METERS: std::sync::LazyLock<Mutex<HashMap<String, Meters>>> =
    std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));

fn metrics_done(
    side: &'static str,
    service: &str,
    client: &str,
    outcome: &str,
    started: Instant,
    bytes_in: usize,
    bytes_out: usize,
) {
    let key = format!("{side}|{service}|{client}|{outcome}");
    let m = {
        let mut all = METERS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = all.get(&key) {
            m.clone()
        } else {
            let labels = [
                ("side", side.to_owned()),
                ("service", service.to_owned()),
                ("client", client.to_owned()),
            ];
            let with = |k: &'static str, v: &str| {
                let mut l = labels.to_vec();
                l.push((k, v.to_owned()));
                l
            };
            let m = Meters {
                requests: metrics::counter!(
                    "tamga_exchange_requests_total",
                    &with("outcome", outcome)
                ),
                duration: metrics::histogram!("tamga_exchange_duration_seconds", &labels),
                bytes_in: metrics::counter!("tamga_exchange_bytes_total", &with("direction", "in")),
                bytes_out: metrics::counter!(
                    "tamga_exchange_bytes_total",
                    &with("direction", "out")
                ),
            };
            // Labels come from the signed configuration (services, clients) and a fixed set
            // of outcomes, so this map stays small.
            all.insert(key, m.clone());
            m
        }
    };
    m.requests.increment(1);
    m.duration.record(started.elapsed().as_secs_f64());
    m.bytes_in.increment(bytes_in as u64);
    m.bytes_out.increment(bytes_out as u64);
}

const METASERVICES: [&str; 3] = ["listMethods", "allowedMethods", "getOpenAPI"];

/// Consumer side: an X-Road REST request from the organisation's own system.
#[utoipa::path(get, path = "/r1/{instance}/{member_class}/{member_code}/{subsystem}/{service}/{rest}",
    tag = "exchange-gateway",
    summary = "Call a service over Khur (X-Road REST protocol, gateway consumer side) / Үйлчилгээ дуудах",
    description = "Served on each gateway's `client_listen` address, not on the node's port. `X-Road-Client` is required; personal-data services also need `X-Tamga-Data-Subject`, `X-Tamga-Purpose`, `X-Tamga-Legal-Basis` (percent-encoded UTF-8), optionally `X-Tamga-Disclose-After` (YYYY-MM-DD). Metaservices: `.../{subsystem}/listMethods`, `allowedMethods`, `getOpenAPI?serviceCode=`.",
    params(
        ("instance" = String, Path, description = "X-Road instance, e.g. MN"),
        ("member_class" = String, Path, description = "GOV, COM, NGO"),
        ("member_code" = String, Path, description = "provider's member code"),
        ("subsystem" = String, Path, description = "provider's subsystem"),
        ("service" = String, Path, description = "service code"),
        ("rest" = String, Path, description = "the rest of the path, passed to the service"),
        ("X-Road-Client" = String, Header, description = "INSTANCE/CLASS/MEMBER/SUBSYSTEM of the caller"),
        ("X-Road-Id" = Option<String>, Header, description = "message id (generated if absent)"),
        ("X-Road-UserId" = Option<String>, Header, description = "the end user"),
        ("X-Road-Represented-Party" = Option<String>, Header, description = "on whose behalf"),
    ),
    responses(
        (status = 200, description = "the service's answer, verified; `X-Road-Request-Hash` binds it to the request"),
        (status = 400, description = "Client.* error in `X-Road-Error`"),
        (status = 403, description = "Client.AccessDenied and other refusals"),
        (status = 413, description = "Client.BodyTooLarge"),
        (status = 502, description = "Server.ClientProxy.NetworkError, invalid response signature"),
        (status = 503, description = "OutdatedGlobalConf or MessageLogUnavailable: the gateway refuses to exchange unaccountably"),
        (status = 504, description = "Timeout"),
    ))]
async fn consume(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let started = Instant::now();
    let x_road_id = header_str(req.headers(), "x-road-id")
        .filter(|v| v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| random_b64(18), str::to_owned);
    let mut service_label = String::from("-");
    let mut client_label = String::from("-");
    let result = consume_inner(&gw, req, &x_road_id, &mut service_label, &mut client_label).await;
    match result {
        Ok((r, bin, bout)) => {
            metrics_done(
                "consumer",
                &service_label,
                &client_label,
                "ok",
                started,
                bin,
                bout,
            );
            r
        }
        Err(e) => {
            metrics_done(
                "consumer",
                &service_label,
                &client_label,
                e.code,
                started,
                0,
                0,
            );
            tracing::info!(code = e.code, "exchange refused");
            e.response(&x_road_id)
        }
    }
}

#[utoipa::path(post, path = "/r1/{instance}/{member_class}/{member_code}/{subsystem}/{service}/{rest}",
    tag = "exchange-gateway",
    summary = "Call a service with a body (also PUT, PATCH, DELETE) / Үйлчилгээ дуудах (их биетэй)",
    description = "Served on each gateway's `client_listen` address, not on the node's port. `X-Road-Client` is required; personal-data services also need `X-Tamga-Data-Subject`, `X-Tamga-Purpose`, `X-Tamga-Legal-Basis` (percent-encoded UTF-8), optionally `X-Tamga-Disclose-After` (YYYY-MM-DD). Metaservices: `.../{subsystem}/listMethods`, `allowedMethods`, `getOpenAPI?serviceCode=`.",
    params(
        ("instance" = String, Path, description = "X-Road instance, e.g. MN"),
        ("member_class" = String, Path, description = "GOV, COM, NGO"),
        ("member_code" = String, Path, description = "provider's member code"),
        ("subsystem" = String, Path, description = "provider's subsystem"),
        ("service" = String, Path, description = "service code"),
        ("rest" = String, Path, description = "the rest of the path, passed to the service"),
        ("X-Road-Client" = String, Header, description = "INSTANCE/CLASS/MEMBER/SUBSYSTEM of the caller"),
        ("X-Road-Id" = Option<String>, Header, description = "message id (generated if absent)"),
        ("X-Road-UserId" = Option<String>, Header, description = "the end user"),
        ("X-Road-Represented-Party" = Option<String>, Header, description = "on whose behalf"),
    ),
    responses(
        (status = 200, description = "the service's answer, verified; `X-Road-Request-Hash` binds it to the request"),
        (status = 400, description = "Client.* error in `X-Road-Error`"),
        (status = 403, description = "Client.AccessDenied and other refusals"),
        (status = 413, description = "Client.BodyTooLarge"),
        (status = 502, description = "Server.ClientProxy.NetworkError, invalid response signature"),
        (status = 503, description = "OutdatedGlobalConf or MessageLogUnavailable: the gateway refuses to exchange unaccountably"),
        (status = 504, description = "Timeout"),
    ))]
async fn consume_post(state: State<Arc<Gateway>>, req: Request) -> Response {
    consume(state, req).await
}

async fn consume_inner(
    gw: &Arc<Gateway>,
    req: Request,
    x_road_id: &str,
    service_label: &mut String,
    client_label: &mut String,
) -> Result<(Response, usize, usize), XError> {
    let conf = gw.ready().map_err(|(code, m)| {
        xerr(
            StatusCode::SERVICE_UNAVAILABLE,
            match code {
                "OutdatedGlobalConf" => "Server.ClientProxy.OutdatedGlobalConf",
                _ => "Server.ClientProxy.MessageLogUnavailable",
            },
            m,
        )
    })?;
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let after = path.strip_prefix("/r1/").unwrap_or_default();
    let after_decoded = percent_decoded(after);
    let client_h = header_str(&parts.headers, "x-road-client").ok_or_else(|| {
        xerr(
            StatusCode::BAD_REQUEST,
            "Client.MissingHeader",
            "X-Road-Client is required",
        )
    })?;
    let client = ClientId::parse_subsystem(client_h).map_err(|e| {
        xerr(
            StatusCode::BAD_REQUEST,
            "Client.InvalidClientId",
            e.to_string(),
        )
    })?;
    if client.member_id().to_string() != gw.member {
        return Err(xerr(
            StatusCode::FORBIDDEN,
            "Client.InvalidClientId",
            format!("{client} is not a subsystem of {}", gw.member),
        ));
    }
    if !conf.has_subsystem(&client.to_string()) {
        return Err(xerr(
            StatusCode::FORBIDDEN,
            "Client.InvalidClientId",
            format!("{client} is not registered"),
        ));
    }
    *client_label = client.to_string();
    // Metaservices: /r1/{subsystem}/listMethods etc., answered from the signed configuration.
    let segs: Vec<&str> = after_decoded.split('/').collect();
    if segs.len() == 5 && METASERVICES.contains(&segs[4]) {
        let sub = segs[..4].join("/");
        return Ok((
            metaservice(&conf, segs[4], &sub, &client.to_string(), parts.uri.query()),
            0,
            0,
        ));
    }
    let (service, _) = ServiceId::from_path(after).map_err(|e| {
        xerr(
            StatusCode::BAD_REQUEST,
            "Client.InvalidServiceId",
            e.to_string(),
        )
    })?;
    let service_s = service.to_string();
    *service_label = service_s.clone();
    let svc = conf.service(&service_s).ok_or_else(|| {
        xerr(
            StatusCode::NOT_FOUND,
            "Server.ClientProxy.UnknownService",
            format!("{service_s} is not in the global configuration"),
        )
    })?;
    let right = conf.right(&service_s, &client.to_string()).ok_or_else(|| {
        xerr(
            StatusCode::FORBIDDEN,
            "Client.AccessDenied",
            format!("{client} has no right to call {service_s}"),
        )
    })?;
    let personal = if svc.personal {
        Some(personal_headers(&parts.headers, right, "Client")?)
    } else {
        None
    };
    let provider = service.provider.member_id().to_string();
    let target_gw = conf.gateway(&provider).ok_or_else(|| {
        xerr(
            StatusCode::BAD_GATEWAY,
            "Server.ClientProxy.NoGateway",
            format!("{provider} has no gateway"),
        )
    })?;
    let body = read_body(body, conf.conf.max_body_bytes).await?;
    let bytes_in = body.len();
    let target = match parts.uri.query() {
        Some(q) => format!("{}/gw{}?{q}", target_gw.address, path),
        None => format!("{}/gw{}", target_gw.address, path),
    };
    // The outgoing request's fields, then the signature over them.
    let mut out = HeaderMap::new();
    out.insert("x-road-id", hv(x_road_id)?);
    for name in SIGNED_REQUEST_HEADERS {
        if name != "x-road-id"
            && let Some(v) = parts.headers.get(name)
        {
            out.insert(HeaderName::from_static(name), v.clone());
        }
    }
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        out.insert(header::CONTENT_TYPE, ct.clone());
    }
    if let Some(a) = parts.headers.get(header::ACCEPT) {
        out.insert(header::ACCEPT, a.clone());
    }
    out.insert("content-digest", hv(&content_digest(&body))?);
    let mut components = vec![
        Component::new("@method"),
        Component::new("@target-uri"),
        Component::new("content-digest"),
    ];
    for name in SIGNED_REQUEST_HEADERS {
        if out.contains_key(name) {
            components.push(Component::new(name));
        }
    }
    if out.contains_key(header::CONTENT_TYPE) {
        components.push(Component::new("content-type"));
    }
    let params = gw.sign_params(components, REQUEST_TAG);
    let method = parts.method.as_str().to_owned();
    let req_base = httpsig::signature_base(
        &params,
        &Message::Request {
            method: &method,
            target_uri: &target,
            headers: &out,
        },
        None,
    )
    .map_err(|e| xerr(StatusCode::BAD_REQUEST, "Client.BadRequest", e.to_string()))?;
    let req_sig = httpsig::sign(gw.signer.as_ref(), req_base.as_bytes()).map_err(|e| {
        xerr(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ClientProxy.CannotSign",
            e.to_string(),
        )
    })?;
    let (si, sg) = httpsig::fields(LABEL, &params, &req_sig);
    out.insert("signature-input", hv(&si)?);
    out.insert("signature", hv(&sg)?);
    let request_hash = STANDARD.encode(sha256(req_base.as_bytes()));

    let mut builder = http::Request::builder()
        .method(parts.method.clone())
        .uri(&target);
    if let Some(h) = builder.headers_mut() {
        h.extend(out.clone());
    }
    let outgoing = builder
        .body(Full::new(body.clone()))
        .map_err(|e| xerr(StatusCode::BAD_REQUEST, "Client.BadRequest", e.to_string()))?;
    let at_ms = now_ms();
    let sent = tokio::time::timeout(gw.settings.timeout, gw.to_gateways.request(outgoing)).await;
    let fail = |status, code: &'static str, m: String| xerr(status, code, m);
    let resp = match sent {
        Err(_) => Err(fail(
            StatusCode::GATEWAY_TIMEOUT,
            "Server.ClientProxy.Timeout",
            format!(
                "{provider}'s gateway did not answer within {} s",
                gw.settings.timeout.as_secs()
            ),
        )),
        Ok(Err(e)) => Err(fail(
            StatusCode::BAD_GATEWAY,
            "Server.ClientProxy.NetworkError",
            format!("cannot reach {provider}'s gateway: {}", error_chain(&e)),
        )),
        Ok(Ok(r)) => Ok(r),
    };
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            log_failure(
                gw, &conf, x_road_id, &client, &service_s, &method, path, at_ms, &params,
                &req_base, &req_sig, &e,
            )
            .await;
            return Err(e);
        }
    };
    let (rparts, rbody) = resp.into_parts();
    let rbody = match tokio::time::timeout(
        gw.settings.timeout,
        read_body(Body::new(rbody), conf.conf.max_body_bytes),
    )
    .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            let e = xerr(
                StatusCode::BAD_GATEWAY,
                "Server.ClientProxy.InvalidResponse",
                e.message,
            );
            log_failure(
                gw, &conf, x_road_id, &client, &service_s, &method, path, at_ms, &params,
                &req_base, &req_sig, &e,
            )
            .await;
            return Err(e);
        }
        Err(_) => {
            let e = xerr(
                StatusCode::GATEWAY_TIMEOUT,
                "Server.ClientProxy.Timeout",
                "the response body did not arrive in time",
            );
            log_failure(
                gw, &conf, x_road_id, &client, &service_s, &method, path, at_ms, &params,
                &req_base, &req_sig, &e,
            )
            .await;
            return Err(e);
        }
    };
    // An unsigned refusal from the provider's gateway is passed on as the failure it is.
    if let Some(code) = header_str(&rparts.headers, "x-road-error")
        && !rparts.headers.contains_key("signature")
    {
        let code: &'static str = known_code(code);
        let message = serde_json::from_slice::<serde_json::Value>(&rbody)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "the provider's gateway refused".into());
        let e = xerr(rparts.status, code, message);
        log_failure(
            gw, &conf, x_road_id, &client, &service_s, &method, path, at_ms, &params, &req_base,
            &req_sig, &e,
        )
        .await;
        return Err(e);
    }
    let req_msg = Message::Request {
        method: &method,
        target_uri: &target,
        headers: &out,
    };
    let required = [
        Component::new("@status"),
        Component::new("content-digest"),
        Component::new("x-road-id"),
        Component::new("x-road-request-hash"),
        Component::new("signature").req().key(LABEL),
    ];
    let verified = gw
        .verify_message(
            &conf,
            &Message::Response {
                status: rparts.status.as_u16(),
                headers: &rparts.headers,
            },
            Some(&req_msg),
            &rparts.headers,
            &rbody,
            RESPONSE_TAG,
            &required,
        )
        .await;
    let verified = match verified {
        Ok(v) if v.signer_member.to_string() != provider => Err(xerr(
            StatusCode::BAD_GATEWAY,
            "Server.ClientProxy.InvalidResponseSignature",
            format!(
                "the response is signed by {}, not {provider}",
                v.signer_member
            ),
        )),
        Ok(v) => {
            if header_str(&rparts.headers, "x-road-request-hash") != Some(request_hash.as_str())
                || header_str(&rparts.headers, "x-road-id") != Some(x_road_id)
            {
                Err(xerr(
                    StatusCode::BAD_GATEWAY,
                    "Server.ClientProxy.InvalidResponseSignature",
                    "the response is not bound to this request",
                ))
            } else {
                Ok(v)
            }
        }
        Err((code, m)) => Err(xerr(
            StatusCode::BAD_GATEWAY,
            match code {
                "CertificateRevoked" => "Server.ClientProxy.ProviderCertificateRevoked",
                "UnknownCertificate" => "Server.ClientProxy.UnknownProviderCertificate",
                _ => "Server.ClientProxy.InvalidResponseSignature",
            },
            m,
        )),
    };
    let verified = match verified {
        Ok(v) => v,
        Err(e) => {
            log_failure(
                gw, &conf, x_road_id, &client, &service_s, &method, path, at_ms, &params,
                &req_base, &req_sig, &e,
            )
            .await;
            return Err(e);
        }
    };
    let disclose = personal.as_ref().and_then(|p| p.disclose_after_ms);
    let bodies = gw.bodies(&body, &rbody);
    let rec = Record {
        format: RECORD_FORMAT,
        side: "consumer",
        gateway: &gw.member,
        x_road_id,
        client: &client.to_string(),
        service: &service_s,
        method: &method,
        path,
        at_ms,
        conf_version: conf.conf.version,
        status: rparts.status.as_u16(),
        error: None,
        user_id: header_str(&parts.headers, "x-road-userid"),
        represented_party: header_str(&parts.headers, "x-road-represented-party"),
        request: Some(SignedPart {
            signature_base: &req_base,
            signature: STANDARD.encode(&req_sig),
            keyid: &gw.keyid,
        }),
        response: Some(SignedPart {
            signature_base: &verified.base,
            signature: STANDARD.encode(&verified.signature),
            keyid: &verified.keyid,
        }),
        tracker: None,
        bodies,
        salt: random_b64(16),
    };
    // The tracker entry (and its access-log commitment) belongs to the provider's record.
    gw.write_record(&rec, None, disclose).await?;
    let mut response = Response::builder().status(rparts.status);
    if let Some(h) = response.headers_mut() {
        for name in [
            header::CONTENT_TYPE,
            HeaderName::from_static("x-road-id"),
            HeaderName::from_static("x-road-request-hash"),
        ] {
            if let Some(v) = rparts.headers.get(&name) {
                h.insert(name, v.clone());
            }
        }
    }
    let bytes_out = rbody.len();
    Ok((
        response
            .body(Body::from(rbody))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        bytes_in,
        bytes_out,
    ))
}

fn known_code(code: &str) -> &'static str {
    const CODES: [&str; 16] = [
        "Server.ServerProxy.OutdatedGlobalConf",
        "Server.ServerProxy.MessageLogUnavailable",
        "Server.ServerProxy.UnknownClientCertificate",
        "Server.ServerProxy.InvalidSignature",
        "Server.ServerProxy.ExpiredSignature",
        "Server.ServerProxy.ReplayedMessage",
        "Server.ServerProxy.CertificateRevoked",
        "Server.ServerProxy.UnknownCertificate",
        "Server.ServerProxy.AccessDenied",
        "Server.ServerProxy.UnknownService",
        "Server.ServerProxy.ServiceFailed",
        "Server.ServerProxy.ServiceTimeout",
        "Server.ServerProxy.MissingPersonalDataHeaders",
        "Server.ServerProxy.MessageLogFailed",
        "Client.BodyTooLarge",
        "Client.DisclosureDelayNotAllowed",
    ];
    CODES
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or("Server.ServerProxy.Error")
}

fn hv(s: &str) -> Result<HeaderValue, XError> {
    HeaderValue::from_str(s).map_err(|_| {
        xerr(
            StatusCode::BAD_REQUEST,
            "Client.BadRequest",
            "a header value is not visible ASCII",
        )
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

#[allow(clippy::too_many_arguments)]
async fn log_failure(
    gw: &Gateway,
    conf: &ConfIndex,
    x_road_id: &str,
    client: &ClientId,
    service: &str,
    method: &str,
    path: &str,
    at_ms: i64,
    _params: &SignatureParams,
    req_base: &str,
    req_sig: &[u8],
    e: &XError,
) {
    let rec = Record {
        format: RECORD_FORMAT,
        side: "consumer",
        gateway: &gw.member,
        x_road_id,
        client: &client.to_string(),
        service,
        method,
        path,
        at_ms,
        conf_version: conf.conf.version,
        status: e.status.as_u16(),
        error: Some(e.code),
        user_id: None,
        represented_party: None,
        request: Some(SignedPart {
            signature_base: req_base,
            signature: STANDARD.encode(req_sig),
            keyid: &gw.keyid,
        }),
        response: None,
        tracker: None,
        bodies: None,
        salt: random_b64(16),
    };
    if let Err(le) = gw.write_record(&rec, None, None).await {
        tracing::error!(error = %le.message, "could not log a failed exchange");
    }
}

/// Provider side: a signed request from another gateway, over mutual TLS.
async fn provide(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let started = Instant::now();
    let x_road_id = header_str(req.headers(), "x-road-id")
        .filter(|v| v.len() <= 128)
        .unwrap_or("-")
        .to_owned();
    let mut service_label = String::from("-");
    let mut client_label = String::from("-");
    match provide_inner(&gw, req, &x_road_id, &mut service_label, &mut client_label).await {
        Ok((r, bin, bout)) => {
            metrics_done(
                "provider",
                &service_label,
                &client_label,
                "ok",
                started,
                bin,
                bout,
            );
            r
        }
        Err(e) => {
            metrics_done(
                "provider",
                &service_label,
                &client_label,
                e.code,
                started,
                0,
                0,
            );
            tracing::info!(code = e.code, "exchange refused");
            e.response(&x_road_id)
        }
    }
}

fn sp(status: StatusCode, code: &'static str, m: impl Into<String>) -> XError {
    xerr(status, code, m)
}

async fn provide_inner(
    gw: &Arc<Gateway>,
    req: Request,
    x_road_id: &str,
    service_label: &mut String,
    client_label: &mut String,
) -> Result<(Response, usize, usize), XError> {
    let conf = gw.ready().map_err(|(code, m)| {
        sp(
            StatusCode::SERVICE_UNAVAILABLE,
            match code {
                "OutdatedGlobalConf" => "Server.ServerProxy.OutdatedGlobalConf",
                _ => "Server.ServerProxy.MessageLogUnavailable",
            },
            m,
        )
    })?;
    let peer = req.extensions().get::<PeerPin>().copied();
    let peer_member = peer
        .and_then(|p| conf.tls_client_member(&p.0).map(str::to_owned))
        .ok_or_else(|| {
            sp(
                StatusCode::FORBIDDEN,
                "Server.ServerProxy.UnknownClientCertificate",
                "the TLS client certificate is not registered",
            )
        })?;
    let (parts, body) = req.into_parts();
    let body = read_body(body, conf.conf.max_body_bytes).await?;
    let bytes_in = body.len();
    let host = header_str(&parts.headers, "host").unwrap_or_default();
    let path_q = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str());
    let target = format!("https://{host}{path_q}");
    let method = parts.method.as_str().to_owned();
    let msg = Message::Request {
        method: &method,
        target_uri: &target,
        headers: &parts.headers,
    };
    let mut required = vec![
        Component::new("@method"),
        Component::new("@target-uri"),
        Component::new("content-digest"),
    ];
    for name in SIGNED_REQUEST_HEADERS {
        if parts.headers.contains_key(name) {
            required.push(Component::new(name));
        }
    }
    if parts.headers.contains_key(header::CONTENT_TYPE) {
        required.push(Component::new("content-type"));
    }
    let verified = gw
        .verify_message(
            &conf,
            &msg,
            None,
            &parts.headers,
            &body,
            REQUEST_TAG,
            &required,
        )
        .await
        .map_err(|(code, m)| {
            let (status, code) = match code {
                "ExpiredSignature" => (
                    StatusCode::UNAUTHORIZED,
                    "Server.ServerProxy.ExpiredSignature",
                ),
                "ReplayedMessage" => (StatusCode::CONFLICT, "Server.ServerProxy.ReplayedMessage"),
                "CertificateRevoked" => (
                    StatusCode::FORBIDDEN,
                    "Server.ServerProxy.CertificateRevoked",
                ),
                "UnknownCertificate" => (
                    StatusCode::FORBIDDEN,
                    "Server.ServerProxy.UnknownCertificate",
                ),
                _ => (
                    StatusCode::UNAUTHORIZED,
                    "Server.ServerProxy.InvalidSignature",
                ),
            };
            sp(status, code, m)
        })?;
    let client_h = header_str(&parts.headers, "x-road-client").unwrap_or_default();
    let client = ClientId::parse_subsystem(client_h).map_err(|e| {
        sp(
            StatusCode::BAD_REQUEST,
            "Server.ServerProxy.InvalidSignature",
            e.to_string(),
        )
    })?;
    *client_label = client.to_string();
    let signer_member = verified.signer_member.to_string();
    if signer_member != client.member_id().to_string() || signer_member != peer_member {
        return Err(sp(
            StatusCode::FORBIDDEN,
            "Server.ServerProxy.InvalidSignature",
            format!(
                "signer {signer_member}, TLS peer {peer_member} and client {client} do not match"
            ),
        ));
    }
    let after = parts.uri.path().strip_prefix("/gw/r1/").unwrap_or_default();
    let (service, rest) = ServiceId::from_path(after).map_err(|e| {
        sp(
            StatusCode::BAD_REQUEST,
            "Server.ServerProxy.UnknownService",
            e.to_string(),
        )
    })?;
    let service_s = service.to_string();
    *service_label = service_s.clone();
    if service.provider.member_id().to_string() != gw.member {
        return Err(sp(
            StatusCode::NOT_FOUND,
            "Server.ServerProxy.UnknownService",
            format!("{service_s} is not provided here"),
        ));
    }
    let svc = conf.service(&service_s).ok_or_else(|| {
        sp(
            StatusCode::NOT_FOUND,
            "Server.ServerProxy.UnknownService",
            format!("{service_s} is not in the global configuration"),
        )
    })?;
    let right = conf.right(&service_s, &client.to_string()).ok_or_else(|| {
        sp(
            StatusCode::FORBIDDEN,
            "Server.ServerProxy.AccessDenied",
            format!("{client} has no right to call {service_s}"),
        )
    })?;
    let personal = if svc.personal {
        Some(personal_headers(&parts.headers, right, "Server")?)
    } else {
        None
    };
    let at_ms = now_ms();
    // The backend call (or a built-in service).
    let (status, ctype, rbody) = if service.code == "findUsage" {
        let p = personal.as_ref().ok_or_else(|| {
            sp(
                StatusCode::BAD_REQUEST,
                "Server.ServerProxy.MissingPersonalDataHeaders",
                "findUsage is a personal-data service",
            )
        })?;
        let list = find_usage(gw, &conf, &p.subject).await?;
        (
            StatusCode::OK,
            Some(HeaderValue::from_static("application/json")),
            Bytes::from(serde_json::to_vec(&list).unwrap_or_default()),
        )
    } else {
        call_backend(
            gw,
            &service,
            rest,
            parts.uri.query(),
            &parts.method,
            &parts.headers,
            body.clone(),
            conf.conf.max_body_bytes,
        )
        .await?
    };
    // Sign the response, bound to the request.
    let request_hash = STANDARD.encode(sha256(verified.base.as_bytes()));
    let mut rh = HeaderMap::new();
    rh.insert("x-road-id", hv(x_road_id)?);
    rh.insert("x-road-request-hash", hv(&request_hash)?);
    rh.insert("content-digest", hv(&content_digest(&rbody))?);
    if let Some(ct) = ctype {
        rh.insert(header::CONTENT_TYPE, ct);
    }
    let mut comps = vec![
        Component::new("@status"),
        Component::new("content-digest"),
        Component::new("x-road-id"),
        Component::new("x-road-request-hash"),
    ];
    if rh.contains_key(header::CONTENT_TYPE) {
        comps.push(Component::new("content-type"));
    }
    comps.push(Component::new("signature").req().key(LABEL));
    let params = gw.sign_params(comps, RESPONSE_TAG);
    let resp_base = httpsig::signature_base(
        &params,
        &Message::Response {
            status: status.as_u16(),
            headers: &rh,
        },
        Some(&msg),
    )
    .map_err(|e| {
        sp(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ServerProxy.CannotSign",
            e.to_string(),
        )
    })?;
    let resp_sig = httpsig::sign(gw.signer.as_ref(), resp_base.as_bytes()).map_err(|e| {
        sp(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ServerProxy.CannotSign",
            e.to_string(),
        )
    })?;
    let (si, sg) = httpsig::fields(LABEL, &params, &resp_sig);
    rh.insert("signature-input", hv(&si)?);
    rh.insert("signature", hv(&sg)?);
    let tracker = personal.as_ref().map(|p| {
        let entry = TrackerEntry {
            format: crate::tracker::FORMAT.into(),
            at_ms,
            subject: p.subject.clone(),
            client: client.to_string(),
            service: service_s.clone(),
            purpose: p.purpose.clone(),
            legal_basis: p.legal_basis.clone(),
            x_road_id: x_road_id.to_owned(),
            disclose_after_ms: p.disclose_after_ms,
            salt: random_b64(16),
        };
        TrackerBlock {
            commitment: hex::encode(entry.commitment()),
            entry,
        }
    });
    let bodies = gw.bodies(&body, &rbody);
    let rec = Record {
        format: RECORD_FORMAT,
        side: "provider",
        gateway: &gw.member,
        x_road_id,
        client: &client.to_string(),
        service: &service_s,
        method: &method,
        path: parts.uri.path(),
        at_ms,
        conf_version: conf.conf.version,
        status: status.as_u16(),
        error: None,
        user_id: header_str(&parts.headers, "x-road-userid"),
        represented_party: header_str(&parts.headers, "x-road-represented-party"),
        request: Some(SignedPart {
            signature_base: &verified.base,
            signature: STANDARD.encode(&verified.signature),
            keyid: &verified.keyid,
        }),
        response: Some(SignedPart {
            signature_base: &resp_base,
            signature: STANDARD.encode(&resp_sig),
            keyid: &gw.keyid,
        }),
        tracker,
        bodies,
        salt: random_b64(16),
    };
    gw.write_record(
        &rec,
        personal.as_ref().map(|p| p.subject.clone()),
        personal.as_ref().and_then(|p| p.disclose_after_ms),
    )
    .await?;
    let bytes_out = rbody.len();
    let mut r = Response::builder().status(status);
    if let Some(h) = r.headers_mut() {
        h.extend(rh);
    }
    Ok((
        r.body(Body::from(rbody))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        bytes_in,
        bytes_out,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn call_backend(
    gw: &Gateway,
    service: &ServiceId,
    rest: &str,
    query: Option<&str>,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
    max: u64,
) -> Result<(StatusCode, Option<HeaderValue>, Bytes), XError> {
    let key = format!(
        "{}/{}",
        service.provider.subsystem.as_deref().unwrap_or_default(),
        service.code
    );
    let base = gw.settings.backends.get(&key).ok_or_else(|| {
        sp(
            StatusCode::NOT_FOUND,
            "Server.ServerProxy.UnknownService",
            format!("no backend is configured for {key}"),
        )
    })?;
    let url = match query {
        Some(q) => format!("{}{rest}?{q}", base.trim_end_matches('/')),
        None => format!("{}{rest}", base.trim_end_matches('/')),
    };
    let mut b = http::Request::builder().method(method.clone()).uri(&url);
    if let Some(h) = b.headers_mut() {
        for (k, v) in headers {
            let n = k.as_str();
            if n.starts_with("x-road-")
                || n.starts_with("x-tamga-")
                || k == header::CONTENT_TYPE
                || k == header::ACCEPT
            {
                h.append(k.clone(), v.clone());
            }
        }
    }
    let req = b.body(Full::new(body)).map_err(|e| {
        sp(
            StatusCode::BAD_GATEWAY,
            "Server.ServerProxy.ServiceFailed",
            e.to_string(),
        )
    })?;
    let resp = match tokio::time::timeout(gw.settings.timeout, gw.to_backends.request(req)).await {
        Err(_) => {
            return Err(sp(
                StatusCode::GATEWAY_TIMEOUT,
                "Server.ServerProxy.ServiceTimeout",
                format!(
                    "the service did not answer within {} s",
                    gw.settings.timeout.as_secs()
                ),
            ));
        }
        Ok(Err(e)) => {
            return Err(sp(
                StatusCode::BAD_GATEWAY,
                "Server.ServerProxy.ServiceFailed",
                format!("cannot reach the service: {}", error_chain(&e)),
            ));
        }
        Ok(Ok(r)) => r,
    };
    let (rp, rb) = resp.into_parts();
    let rb = match tokio::time::timeout(gw.settings.timeout, read_body(Body::new(rb), max)).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            return Err(sp(
                StatusCode::BAD_GATEWAY,
                "Server.ServerProxy.ServiceFailed",
                e.message,
            ));
        }
        Err(_) => {
            return Err(sp(
                StatusCode::GATEWAY_TIMEOUT,
                "Server.ServerProxy.ServiceTimeout",
                "the service's body did not arrive in time",
            ));
        }
    };
    Ok((rp.status, rp.headers.get(header::CONTENT_TYPE).cloned(), rb))
}

async fn find_usage(gw: &Gateway, conf: &ConfIndex, subject: &str) -> Result<Vec<Usage>, XError> {
    let recs = gw
        .log
        .store()
        .exchange_usage(&gw.member, subject, now_ms(), 1000)
        .await
        .map_err(|e| {
            sp(
                StatusCode::SERVICE_UNAVAILABLE,
                "Server.ServerProxy.MessageLogFailed",
                e.to_string(),
            )
        })?;
    let mut out = Vec::new();
    for r in recs {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&r.record) else {
            continue;
        };
        let Ok(block) = serde_json::from_value::<TrackerBlock>(v["tracker"].clone()) else {
            continue;
        };
        let e = &block.entry;
        let org = ClientId::parse(&e.client).map(|c| c.member_id()).ok();
        let (mn, en) = org
            .as_ref()
            .and_then(|o| {
                conf.conf
                    .members
                    .iter()
                    .find(|m| m.class == o.class && m.code == o.member)
                    .map(|m| (m.name_mn.clone(), m.name_en.clone()))
            })
            .unwrap_or_default();
        let access_index = gw
            .log
            .accountability(r.seq)
            .await
            .ok()
            .flatten()
            .and_then(|a| a.access_index);
        out.push(Usage {
            at: crate::tracker::rfc3339(e.at_ms),
            organisation: org.map(|o| o.to_string()).unwrap_or_default(),
            organisation_mn: mn,
            organisation_en: en,
            client: e.client.clone(),
            service: e.service.clone(),
            purpose: e.purpose.clone(),
            legal_basis: e.legal_basis.clone(),
            x_road_id: e.x_road_id.clone(),
            entry: serde_json::to_string(e).unwrap_or_default(),
            commitment: block.commitment.clone(),
            access_index,
        });
    }
    Ok(out)
}

fn xroad_id_json(id: &ClientId, service: Option<&str>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "object_type": if service.is_some() { "SERVICE" } else if id.subsystem.is_some() { "SUBSYSTEM" } else { "MEMBER" },
        "xroad_instance": id.instance,
        "member_class": id.class,
        "member_code": id.member,
    });
    if let Some(s) = &id.subsystem {
        v["subsystem_code"] = s.clone().into();
    }
    if let Some(s) = service {
        v["service_code"] = s.into();
        v["service_type"] = "REST".into();
    }
    v
}

fn metaservice(
    conf: &ConfIndex,
    which: &str,
    subsystem: &str,
    client: &str,
    query: Option<&str>,
) -> Response {
    let Ok(sub) = ClientId::parse_subsystem(subsystem) else {
        return xerr(
            StatusCode::BAD_REQUEST,
            "Client.InvalidServiceId",
            "not a subsystem",
        )
        .response("-");
    };
    let services: Vec<&crate::globalconf::Service> = conf
        .conf
        .services
        .iter()
        .filter(|s| s.id.starts_with(&format!("{subsystem}/")))
        .filter(|s| which != "allowedMethods" || conf.right(&s.id, client).is_some())
        .collect();
    if which == "getOpenAPI" {
        let code = query
            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("serviceCode=")))
            .unwrap_or_default();
        return match services
            .iter()
            .find(|s| s.id == format!("{subsystem}/{code}"))
            .and_then(|s| s.openapi.clone())
        {
            Some(doc) => ([(header::CONTENT_TYPE, "application/json")], doc).into_response(),
            None => xerr(
                StatusCode::NOT_FOUND,
                "Server.ClientProxy.UnknownService",
                format!("no OpenAPI description for {subsystem}/{code}"),
            )
            .response("-"),
        };
    }
    let list: Vec<serde_json::Value> = services
        .iter()
        .map(|s| xroad_id_json(&sub, s.id.rsplit('/').next()))
        .collect();
    axum::Json(serde_json::json!({ "service": list })).into_response()
}

#[utoipa::path(get, path = "/listClients", tag = "exchange-gateway",
    summary = "Members and subsystems of the exchange (metaservice) / Гишүүдийн жагсаалт",
    responses((status = 200, description = "X-Road listClients JSON")))]
async fn list_clients(State(gw): State<Arc<Gateway>>) -> Response {
    let Some(conf) = gw.conf.get() else {
        return xerr(
            StatusCode::SERVICE_UNAVAILABLE,
            "Server.ClientProxy.OutdatedGlobalConf",
            "no global configuration yet",
        )
        .response("-");
    };
    let mut out = Vec::new();
    for m in &conf.conf.members {
        let id = ClientId {
            instance: conf.conf.instance.clone(),
            class: m.class.clone(),
            member: m.code.clone(),
            subsystem: None,
        };
        out.push(serde_json::json!({ "id": xroad_id_json(&id, None), "name": m.name_en, "name_mn": m.name_mn }));
        for s in &m.subsystems {
            let sid = ClientId {
                subsystem: Some(s.clone()),
                ..id.clone()
            };
            out.push(serde_json::json!({ "id": xroad_id_json(&sid, None), "name": m.name_en, "name_mn": m.name_mn }));
        }
    }
    axum::Json(serde_json::json!({ "member": out })).into_response()
}

#[utoipa::path(get, path = "/exchange/records/{x_road_id}", tag = "exchange-gateway",
    summary = "Export the message-log records of an exchange / Бичлэг татах",
    params(("x_road_id" = String, Path, description = "the exchange's X-Road-Id")),
    responses((status = 200, description = "records with signatures, certificates, time-stamp and ledger receipt (verify with `tamga exchange verify-record`)"), (status = 404, description = "none, or not yet time-stamped and in the ledger")))]
async fn export_record(
    State(gw): State<Arc<Gateway>>,
    axum::extract::Path(x_road_id): axum::extract::Path<String>,
) -> Response {
    match crate::export::export(&gw, &x_road_id).await {
        Ok(Some(e)) => axum::Json(e).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            "no record with this X-Road-Id (or not yet time-stamped and in the ledger)",
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    }
}

impl Gateway {
    /// The certificate (DER) of a signing key id in the current configuration.
    pub fn certificate_of(&self, keyid: &str) -> Option<Vec<u8>> {
        self.conf
            .get()?
            .signer(keyid)
            .map(|s| s.certificate.clone())
    }

    /// The ledger sink used by the message log (exports fetch receipts through it).
    pub fn ledger(&self) -> Arc<dyn crate::messagelog::LedgerSink> {
        Arc::clone(&self.ledger_sink)
    }
}
