//! The operations HTTP endpoint: `/metrics` (Prometheus text format), `/healthz` (the process
//! is alive) and `/readyz` (200 only when the model is loaded, a broker is reachable, no
//! rebalance is under way, every assigned partition finished its changelog restore and
//! shutdown has not begun), plus the [`Readiness`] flags the run loop sets.
//!
//! Readiness across a rebalance: a revoke makes the instance not ready until the group settles
//! — the next assignment arrives (its partitions then restore) — or, when none follows (a
//! cooperative revoke that only takes partitions away), until [`Readiness::rebalance_grace`]
//! has passed, so a shrunk instance does not stay unready for ever.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// How long a revoke keeps the instance unready when no assignment follows it (see the module
/// docs); default of [`Readiness::rebalance_grace`].
pub const DEFAULT_REBALANCE_GRACE: Duration = Duration::from_secs(30);

/// What `/readyz` checks. The run loop sets the flags; every method is cheap and lock-free
/// except the partition set and rebalance clock (short mutexes, touched only on rebalance and
/// restore).
#[derive(Debug)]
pub struct Readiness {
    model_loaded: AtomicBool,
    broker_reachable: AtomicBool,
    stopping: AtomicBool,
    /// Assigned input partitions whose changelog restore has not finished.
    restoring: Mutex<BTreeSet<i32>>,
    /// When the last revoke happened that no assignment has followed yet.
    revoked_at: Mutex<Option<Instant>>,
    rebalance_grace: Duration,
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            model_loaded: AtomicBool::new(false),
            broker_reachable: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            restoring: Mutex::default(),
            revoked_at: Mutex::default(),
            rebalance_grace: DEFAULT_REBALANCE_GRACE,
        }
    }
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
    /// Partitions were revoked and the group has not settled yet (no assignment since, and
    /// the grace has not passed).
    pub rebalancing: bool,
    /// Shutdown has begun (draining, committing): never ready again.
    pub stopping: bool,
}

impl ReadinessStatus {
    /// True when every check passes.
    pub fn is_ready(&self) -> bool {
        self.model_loaded
            && self.broker_reachable
            && self.restoring.is_empty()
            && !self.rebalancing
            && !self.stopping
    }
}

impl Readiness {
    /// All checks failing (nothing loaded yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how long a revoke with no assignment after it keeps the instance unready
    /// (default [`DEFAULT_REBALANCE_GRACE`]; use the consumer's session timeout or more).
    pub fn with_rebalance_grace(mut self, grace: Duration) -> Self {
        self.rebalance_grace = grace;
        self
    }

    /// The grace of [`with_rebalance_grace`](Self::with_rebalance_grace).
    pub fn rebalance_grace(&self) -> Duration {
        self.rebalance_grace
    }

    /// Shutdown has begun: `/readyz` answers 503 from now on, so load balancers and rollouts
    /// stop counting on this instance while it drains.
    pub fn begin_stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Whether shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Calls [`begin_stopping`](Self::begin_stopping) as soon as `shutdown` is cancelled (a
    /// task on the current tokio runtime). Serve `/readyz` with a token of its own, cancelled
    /// after the run finished, so the 503 is visible during the drain.
    pub fn stop_when_cancelled(self: &Arc<Self>, shutdown: CancellationToken) {
        let readiness = self.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            readiness.begin_stopping();
        });
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

    /// A partition was assigned: not ready until its restore finishes. An assignment also
    /// ends the rebalance a revoke started.
    pub fn partition_assigned(&self, partition: i32) {
        self.restoring_set().insert(partition);
        self.assignment_received();
    }

    /// An assignment arrived (possibly empty, as in a cooperative rebalance that only took
    /// partitions away): the rebalance a revoke started is over.
    pub fn assignment_received(&self) {
        *self.revoked_clock() = None;
    }

    /// A partition's changelog restore finished.
    pub fn partition_restored(&self, partition: i32) {
        self.restoring_set().remove(&partition);
    }

    /// A partition was revoked (restored or not): not ready until the next assignment (or
    /// the rebalance grace).
    pub fn partition_revoked(&self, partition: i32) {
        self.restoring_set().remove(&partition);
        *self.revoked_clock() = Some(Instant::now());
    }

    /// A snapshot of every check.
    pub fn status(&self) -> ReadinessStatus {
        ReadinessStatus {
            model_loaded: self.model_loaded.load(Ordering::Acquire),
            broker_reachable: self.broker_reachable(),
            restoring: self.restoring_set().iter().copied().collect(),
            rebalancing: self
                .revoked_clock()
                .is_some_and(|at| at.elapsed() < self.rebalance_grace),
            stopping: self.is_stopping(),
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

    fn revoked_clock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.revoked_at.lock().unwrap_or_else(|e| e.into_inner())
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
    tracing::info!(address = %bound, "Metrics endpoint listening (/metrics, /healthz, /readyz).");
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
    if status.stopping {
        body.push_str("- shutting down\n");
    }
    if status.rebalancing {
        body.push_str("- partitions revoked; waiting for the group to settle\n");
    }
    if !status.model_loaded {
        body.push_str("- model not loaded\n");
    }
    if !status.broker_reachable {
        body.push_str(
            "- no broker reachable (none up in librdkafka's last statistics, or no statistics \
             or group assignment yet)\n",
        );
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
        // revoking an unrestored partition does not leave readiness stuck once the group
        // settles: the next assignment (here empty) ends the rebalance
        r.partition_revoked(3);
        assert!(r.status().rebalancing);
        assert!(!r.is_ready());
        r.assignment_received();
        assert!(r.is_ready());
        r.set_broker_reachable(false);
        assert!(!r.is_ready());
    }

    #[test]
    fn a_revoke_keeps_readiness_down_until_reassigned_partitions_are_restored() {
        let r = Readiness::new();
        r.set_model_loaded(true);
        r.set_broker_reachable(true);
        r.partition_assigned(0);
        r.partition_restored(0);
        assert!(r.is_ready());
        // eager rebalance: everything revoked, then assigned again
        r.partition_revoked(0);
        let s = r.status();
        assert!(
            s.rebalancing && s.restoring.is_empty() && !s.is_ready(),
            "{s:?}"
        );
        r.partition_assigned(0);
        let s = r.status();
        assert!(
            !s.rebalancing && s.restoring == vec![0] && !s.is_ready(),
            "{s:?}"
        );
        r.partition_restored(0);
        assert!(r.is_ready());
    }

    #[test]
    fn a_revoke_with_no_assignment_after_it_expires_after_the_grace() {
        let r = Readiness::new().with_rebalance_grace(Duration::ZERO);
        r.set_model_loaded(true);
        r.set_broker_reachable(true);
        r.partition_assigned(1);
        r.partition_restored(1);
        r.partition_revoked(1);
        assert!(!r.status().rebalancing, "grace 0: settled at once");
        assert!(r.is_ready());
    }

    #[test]
    fn stopping_is_final() {
        let r = Readiness::new();
        r.set_model_loaded(true);
        r.set_broker_reachable(true);
        assert!(r.is_ready());
        r.begin_stopping();
        assert!(r.is_stopping());
        assert!(!r.is_ready());
        r.partition_assigned(0);
        r.partition_restored(0);
        assert!(
            !r.is_ready(),
            "nothing makes a stopping instance ready again"
        );
    }
}
