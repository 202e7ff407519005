//! The operations HTTP endpoint: `/metrics` (Prometheus text format), `/healthz` (the process
//! is alive) and `/readyz` (200 only when the model is loaded, a broker is reachable and every
//! assigned partition finished its changelog restore), plus the [`Readiness`] flags the run
//! loop sets.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Errors starting the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// `metrics.listen` is not a `host:port` socket address.
    #[error("metrics.listen ({0}) is not an IP socket address such as 127.0.0.1:9464")]
    BadAddress(String),
    /// The address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Parses `metrics.listen`: empty means "disabled" (`None`); port 0 picks a free port.
pub fn parse_listen(listen: &str) -> Result<Option<SocketAddr>, ServeError> {
    let listen = listen.trim();
    if listen.is_empty() {
        return Ok(None);
    }
    listen
        .parse()
        .map(Some)
        .map_err(|_| ServeError::BadAddress(listen.to_string()))
}

/// What `/readyz` checks. The run loop sets the flags; every method is cheap and lock-free
/// except the partition set (a short mutex, touched only on rebalance and restore).
#[derive(Debug, Default)]
pub struct Readiness {
    model_loaded: AtomicBool,
    broker_reachable: AtomicBool,
    /// Assigned input partitions whose changelog restore has not finished.
    restoring: Mutex<BTreeSet<i32>>,
}

/// A snapshot of [`Readiness`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessStatus {
    /// The model artifact is loaded and its schema matched.
    pub model_loaded: bool,
    /// The consumer sees at least one broker up.
    pub broker_reachable: bool,
    /// Assigned partitions still restoring, ascending.
    pub restoring: Vec<i32>,
}

impl ReadinessStatus {
    /// True when every check passes.
    pub fn is_ready(&self) -> bool {
        self.model_loaded && self.broker_reachable && self.restoring.is_empty()
    }
}

impl Readiness {
    /// All checks failing (nothing loaded yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the model loaded (or unloaded).
    pub fn set_model_loaded(&self, loaded: bool) {
        self.model_loaded.store(loaded, Ordering::Release);
    }

    /// Sets whether a broker is reachable (from statistics, see
    /// [`StatisticsSink`](super::StatisticsSink), or from the start-up metadata call).
    pub fn set_broker_reachable(&self, reachable: bool) {
        self.broker_reachable.store(reachable, Ordering::Release);
    }

    /// Whether a broker is reachable.
    pub fn broker_reachable(&self) -> bool {
        self.broker_reachable.load(Ordering::Acquire)
    }

    /// A partition was assigned: not ready until its restore finishes.
    pub fn partition_assigned(&self, partition: i32) {
        self.restoring_set().insert(partition);
    }

    /// A partition's changelog restore finished.
    pub fn partition_restored(&self, partition: i32) {
        self.restoring_set().remove(&partition);
    }

    /// A partition was revoked (restored or not).
    pub fn partition_revoked(&self, partition: i32) {
        self.restoring_set().remove(&partition);
    }

    /// A snapshot of every check.
    pub fn status(&self) -> ReadinessStatus {
        ReadinessStatus {
            model_loaded: self.model_loaded.load(Ordering::Acquire),
            broker_reachable: self.broker_reachable(),
            restoring: self.restoring_set().iter().copied().collect(),
        }
    }

    /// True when `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.status().is_ready()
    }

    fn restoring_set(&self) -> std::sync::MutexGuard<'_, BTreeSet<i32>> {
        // A poisoned lock only means a panicking writer; the set itself stays valid.
        self.restoring.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Clone)]
struct AppState {
    registry: Registry,
    readiness: Arc<Readiness>,
}

/// Binds `addr` (port 0 = any free port) and serves `/metrics`, `/healthz` and `/readyz` until
/// `shutdown` is cancelled. Returns the bound address and the server task.
pub async fn serve(
    addr: SocketAddr,
    registry: Registry,
    readiness: Arc<Readiness>,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, JoinHandle<std::io::Result<()>>), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(AppState {
            registry,
            readiness,
        });
    tracing::info!(address = %bound, "Metrics endpoint listening.");
    let handle = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    });
    Ok((bound, handle))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    match encoder.encode(&state.registry.gather(), &mut body) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, encoder.format_type().to_string())],
            body,
        ),
        Err(error) => {
            tracing::warn!(%error, "Metrics encoding failed.");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain".to_string())],
                b"metrics encoding failed\n".to_vec(),
            )
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let status = state.readiness.status();
    if status.is_ready() {
        return (StatusCode::OK, "ready\n".into());
    }
    let mut body = String::from("not ready:\n");
    if !status.model_loaded {
        body.push_str("- model not loaded\n");
    }
    if !status.broker_reachable {
        body.push_str("- no broker reachable\n");
    }
    if !status.restoring.is_empty() {
        let list: Vec<String> = status.restoring.iter().map(i32::to_string).collect();
        body.push_str(&format!("- partitions restoring: {}\n", list.join(", ")));
    }
    (StatusCode::SERVICE_UNAVAILABLE, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_parsing() {
        assert_eq!(parse_listen("").unwrap(), None);
        assert_eq!(
            parse_listen("127.0.0.1:9464").unwrap(),
            Some("127.0.0.1:9464".parse().unwrap())
        );
        let err = parse_listen("localhost:x").unwrap_err().to_string();
        assert!(err.contains("metrics.listen"), "{err}");
    }

    #[test]
    fn readiness_needs_model_broker_and_restored_partitions() {
        let r = Readiness::new();
        assert!(!r.is_ready());
        r.set_model_loaded(true);
        r.set_broker_reachable(true);
        assert!(r.is_ready(), "no partitions assigned is ready");
        r.partition_assigned(0);
        r.partition_assigned(3);
        assert_eq!(r.status().restoring, vec![0, 3]);
        assert!(!r.is_ready());
        r.partition_restored(0);
        assert!(!r.is_ready());
        // revoking an unrestored partition does not leave readiness stuck
        r.partition_revoked(3);
        assert!(r.is_ready());
        r.set_broker_reachable(false);
        assert!(!r.is_ready());
    }
}
