//! Process shutdown: turns SIGTERM / SIGINT (Ctrl-C) into a [`CancellationToken`] that the
//! runtime and anything else long-running watch.

use tokio_util::sync::CancellationToken;

/// Returns a token that is cancelled on the first SIGTERM or SIGINT.
///
/// The handlers are installed before this returns (so a signal that arrives right after is
/// not lost); a small task on the current tokio runtime waits for them, so call it from inside
/// a runtime. Callers bound their own shutdown time (see `consumer.drain_timeout_ms`).
pub fn signal_token() -> CancellationToken {
    let token = CancellationToken::new();
    let child = token.clone();
    #[cfg(unix)]
    let term = {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(term) => Some(term),
            Err(error) => {
                tracing::warn!(%error, "SIGTERM handler could not be installed; listening for SIGINT only.");
                None
            }
        }
    };
    tokio::spawn(async move {
        #[cfg(unix)]
        match term {
            Some(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = ctrl_c() => {}
                }
            }
            None => ctrl_c().await,
        }
        #[cfg(not(unix))]
        ctrl_c().await;
        tracing::info!("Shutdown signal received.");
        child.cancel();
    });
    token
}

async fn ctrl_c() {
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::warn!(%error, "SIGINT handler could not be installed.");
        // Never resolve: without a handler no signal arrives through this path.
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn sigterm_cancels_the_token() {
        let token = signal_token();
        assert!(!token.is_cancelled());
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(std::time::Duration::from_secs(5), token.cancelled())
            .await
            .expect("token cancelled after SIGTERM");
    }
}
