//! PATCH (RFC 7644 §3.5.2) applied to one resource document: `add`, `replace` and `remove`,
//! with and without `path`, value-filtered paths, multi-valued merges, and the documented
//! quirks of Entra ID and Okta (listed in `docs/scim.md`).
