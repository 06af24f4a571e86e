//! SCIM 2.0 as Roster serves it (RFC 7643 resources and schemas, RFC 7644 protocol): the
//! schemas and their attribute characteristics, the filter grammar (parsed into [`Filter`],
//! which the store translates to parameterised SQL), PATCH applied to a resource document,
//! `attributes`/`excludedAttributes` projection, and RFC-shaped errors. Pure: no HTTP, no SQL.
//!
//! Resources are `serde_json::Value` documents in their wire form (core attributes at the top,
//! extension attributes under the extension's URN), so nothing a client sends is lost.

pub mod error;
pub mod filter;
pub mod patch;
pub mod project;
pub mod resource;
pub mod schema;

pub use error::{ScimError, ScimType};
pub use filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath, parse_filter, parse_path};
