//! The identity role (DAN done right): an OpenID Connect provider any agency system plugs into
//! with a standard OIDC library.
//!
//! - [`provider`]: authorization code flow with mandatory PKCE S256, PAR (RFC 9126), RFC 9207
//!   `iss`, ES256 ID tokens with rotating keys, RFC 9068 access tokens, refresh-token rotation
//!   with reuse detection, revocation (RFC 7009), introspection (RFC 7662), RP-initiated and
//!   back-channel logout, pairwise subjects.
//! - [`model`]: levels of assurance (`acr`: eIDAS LoA URIs), `amr` (RFC 8176), requests, errors.
//! - [`client`]: client registrations and client authentication (`client_secret_basic`,
//!   `private_key_jwt`).
//! - [`credentials`]: password hashes, TOTP (RFC 6238), random tokens.
//! - [`cert_login`]: ID-card certificate sign-in over mutual TLS, RFC 5280 + OCSP.
//! - [`csc`]: remote signing, Cloud Signature Consortium API v2 (keys on PKCS#11).
//! - [`jose`]: the JWS/JWK subset used.
//! - [`webauthn`]: passkeys (WebAuthn registration and assertions, ES256).
//! - [`pages`], [`http`]: bilingual server-rendered pages and the HTTP API.

pub mod cert_login;
pub mod client;
pub mod credentials;
pub mod csc;
pub mod http;
pub mod jose;
pub mod model;
pub mod pages;
pub mod provider;
pub mod webauthn;

pub use provider::{Provider, ProviderConfig};
