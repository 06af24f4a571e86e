use super::ast::{Filter, PatchPath};
use crate::ScimError;

/// Parses a `filter` query parameter or `/.search` body filter. Errors are 400 `invalidFilter`
/// naming the position and what was expected.
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    let _ = input;
    todo!("filter parser")
}

/// Parses a PATCH operation's `path`. Errors are 400 `invalidPath`.
pub fn parse_path(input: &str) -> Result<PatchPath, ScimError> {
    let _ = input;
    todo!("path parser")
}
