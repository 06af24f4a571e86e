//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) and the `returned` characteristic:
//! what a response carries.
