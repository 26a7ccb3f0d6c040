//! The HTTP node every Tamga role is served from.
//!
//! A [`NodeBuilder`] collects each role's routes, OpenAPI 3.1 paths and readiness checks, and
//! adds what every service must have: `/healthz` (the process answers), `/readyz` (every check
//! passes and the node is not draining), Prometheus `/metrics` (request counts and latency
//! histograms per route), `/openapi.json`, an `x-request-id` on every request and response
//! (kept from the caller when well-formed, else generated) carried in the tracing span, a
//! request timeout, and graceful shutdown: on SIGTERM or Ctrl-C `/readyz` turns 503, new
//! connections stop, in-flight requests finish within a grace period.

pub mod auth;
pub mod html;
mod logging;
mod metrics_layer;
mod node;
mod openapi;
mod request_id;

pub use logging::{LogFormat, init_logging};
pub use node::{
    Node, NodeBuilder, ReadinessCheck, RunningNode, ShutdownHandle, shutdown_signal,
    shutdown_signal_registered,
};
pub use openapi::base_openapi;
pub use request_id::REQUEST_ID_HEADER;
pub use utoipa;
