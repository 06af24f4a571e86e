//! The SCIM server over real HTTP on loopback, one test binary (each extra binary costs a
//! link). Tests whose outcome depends on storage run on SQLite always and on PostgreSQL when
//! `ROSTER_TEST_DATABASE_URL` is set (each in a fresh schema); names carry the backend.

mod common;

mod auth;
mod bulk;
mod crud;
mod discovery;
mod hooks;
mod replay;
mod reqlog;
