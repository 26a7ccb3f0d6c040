//! The roles this binary wires into a node. Each role is a library crate; this module only
//! hands it the shared parts (store, keys) and collects its routes and OpenAPI paths.

pub mod node_info;
