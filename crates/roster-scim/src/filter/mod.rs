//! The RFC 7644 §3.4.2.2 filter grammar (ABNF in RFC 7644 §8 figure 1) and PATCH paths
//! (§3.5.2): parsed into an AST that never executes anything itself. The store translates a
//! [`Filter`] to SQL with every value as a bound parameter; [`crate::patch`] evaluates value
//! filters in memory against one resource with [`eval`].

mod ast;
pub mod eval;
mod literal;
mod parse;

pub use ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
pub use parse::{MAX_FILTER_LEN, MAX_NESTING, MAX_PATH_LEN, MAX_TERMS, parse_filter, parse_path};
