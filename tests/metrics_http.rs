//! The operations endpoint end to end: bind port 0, scrape with a plain HTTP/1.1 GET over a
//! TcpStream, check status codes and bodies, then shut down through the token.

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus::Registry;
use readmit::metrics::{self, LabelSets, Metrics, Readiness};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// Sends `GET path` and returns (status code, headers, body).
async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

#[tokio::test]
async fn serves_metrics_health_and_readiness_until_cancelled() {
    let registry = Registry::new();
    let m = Arc::new(
        Metrics::new(
            &registry,
            LabelSets {
                topics: vec!["adt.events".into()],
                collaboratives: vec!["crisp".into()],
            },
        )
        .unwrap(),
    );
    let readiness = Arc::new(Readiness::new());
    m.watch_readiness(readiness.clone());
    m.record_consumed("adt.events", Some("A03"));
    m.set_model_info("gbt-v2", "5");

    let token = CancellationToken::new();
    let (addr, handle) = metrics::serve(
        "127.0.0.1:0".parse().unwrap(),
        registry.clone(),
        readiness.clone(),
        token.clone(),
    )
    .await
    .unwrap();
    assert_ne!(addr.port(), 0, "the bound port is returned");

    let (status, head, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{head}"
    );
    assert!(
        body.contains(r#"readmit_messages_consumed_total{topic="adt.events",trigger="A03"} 1"#),
        "{body}"
    );
    assert!(body.contains(r#"readmit_model_info{schema="5",version="gbt-v2"} 1"#));
    assert!(body.contains("readmit_ready 0"));
    assert!(body.contains("# TYPE readmit_stage_duration_seconds histogram"));

    assert_eq!(get(addr, "/healthz").await.0, 200);

    let (status, _, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("model not loaded") && body.contains("no broker reachable"));

    readiness.set_model_loaded(true);
    readiness.set_broker_reachable(true);
    readiness.partition_assigned(4);
    let (status, _, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("partitions restoring: 4"), "{body}");
    assert!(!body.contains("model not loaded"));

    readiness.partition_restored(4);
    let (status, _, body) = get(addr, "/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready\n"));
    assert!(get(addr, "/metrics").await.2.contains("readmit_ready 1"));

    assert_eq!(get(addr, "/nope").await.0, 404);

    // A rebalance: revoked and not yet reassigned, then reassigned and restoring.
    readiness.partition_revoked(4);
    let (status, _, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("partitions revoked"), "{body}");
    assert!(get(addr, "/metrics").await.2.contains("readmit_ready 0"));
    readiness.partition_assigned(4);
    let (status, _, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(
        body.contains("partitions restoring: 4") && !body.contains("revoked"),
        "{body}"
    );
    readiness.partition_restored(4);
    assert_eq!(get(addr, "/readyz").await.0, 200);

    // Shutdown begins (the signal token is cancelled): 503 while the endpoint still serves.
    let signal = CancellationToken::new();
    readiness.stop_when_cancelled(signal.clone());
    assert_eq!(get(addr, "/readyz").await.0, 200);
    signal.cancel();
    let mut status = 0;
    for _ in 0..100 {
        status = get(addr, "/readyz").await.0;
        if status == 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(status, 503);
    let (_, _, body) = get(addr, "/readyz").await;
    assert!(body.contains("shutting down"), "{body}");
    assert_eq!(
        get(addr, "/healthz").await.0,
        200,
        "still alive while draining"
    );

    token.cancel();
    handle.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn bind_failure_names_the_address() {
    let token = CancellationToken::new();
    let (addr, _handle) = metrics::serve(
        "127.0.0.1:0".parse().unwrap(),
        Registry::new(),
        Arc::new(Readiness::new()),
        token.clone(),
    )
    .await
    .unwrap();
    let err = metrics::serve(
        addr,
        Registry::new(),
        Arc::new(Readiness::new()),
        token.clone(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    token.cancel();
}
