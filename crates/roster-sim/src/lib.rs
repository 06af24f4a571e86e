//! Local simulators of the external APIs Roster talks to, for tests and the demo: real HTTP
//! servers on loopback that speak each vendor's documented JSON, status codes, pagination and
//! rate-limit headers (`docs/reference/atlassian-api.md` cites the sources), keep state, and
//! inject faults on request. They are test partners, never the product.
//!
//! Each simulator is started with [`serve`] on a listener; `roster sim NAME --listen ADDR`
//! prints the simulator's [`Running::info`] as one JSON line first, so scripts can read the
//! base URLs and credentials.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub mod bamboohr;
pub mod cloud;
pub mod dc;
pub mod directory;
pub mod entra;
pub mod faults;
pub mod google;
pub mod hibob;
pub mod hr_people;
pub mod okta;
pub mod personio;

pub use faults::{FaultConfig, Faults};

/// A simulator serving on a loopback port. Dropping it stops the server.
pub struct Running {
    pub addr: SocketAddr,
    /// What a client needs: base URLs and credentials (printed by `roster sim`).
    pub info: serde_json::Value,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }

    /// Serves until the process ends (for `roster sim`).
    pub async fn wait(mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves `router` on `listener` in a background task.
pub fn serve(
    listener: TcpListener,
    router: Router,
    info: serde_json::Value,
) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(Running {
        addr,
        info,
        shutdown: Some(tx),
        handle: Some(handle),
    })
}

/// A random credential: 32 lower-case hex characters (tokens, keys, passwords).
pub fn random_secret() -> String {
    (0..32)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
        .collect()
}
