//! The ledger: a witnessed, append-only transparency log.
//!
//! [`merkle`] is RFC 9162 hashing and proofs; [`note`] C2SP signed notes, checkpoints and
//! cosignatures; the log itself, its tiles and its HTTP API build on them.

pub mod commitment;
pub mod http;
pub mod log;
pub mod merkle;
pub mod note;
pub mod receipt;
pub mod tiles;
pub mod witness;
