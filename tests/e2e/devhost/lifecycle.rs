//! Handler process lifecycle under devhost: restart after a crash on a new port, no restart
//! after exit 0, devhost gives up after 3 failures, SIGTERM stops the handler too.

use std::time::{Duration, Instant};

use serde_json::json;

use super::TempApp;
use super::basics::{T, app, started};

/// Waits until the recorder has started `n` times and its latest instance accepts connections.
async fn wait_started(app: &TempApp, n: usize) -> u16 {
    let give_up_at = Instant::now() + T;
    loop {
        let starts = app.starts();
        if starts.len() >= n {
            let port: u16 = starts[n - 1]["FUNCTIONS_CUSTOMHANDLER_PORT"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .expect("port");
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
        assert!(Instant::now() < give_up_at, "handler start {n} not seen");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn third_crash_within_the_window_stops_devhost_with_an_error() {
    let app = app();
    app.script(json!({"Tick": {"crash": true}}));
    let mut d = started(&app).await;
    let client = reqwest::Client::new();
    for n in 1..=3 {
        wait_started(&app, n).await;
        client
            .post(d.url("/admin/functions/Tick"))
            .send()
            .await
            .expect("admin");
    }
    assert_eq!(d.wait_exit().await, Some(1), "{}", d.log_text());
    // The last stderr line may still be in the relay after the exit status is known.
    d.wait_log("Exceeded http worker restart retry count", T)
        .await;
    assert_eq!(app.starts().len(), 3);
}

#[tokio::test]
async fn exit_code_zero_is_not_restarted() {
    let app = app();
    app.script(json!({"Tick": {"exit0": true}}));
    let d = started(&app).await;
    reqwest::Client::new()
        .post(d.url("/admin/functions/Tick"))
        .send()
        .await
        .expect("admin");
    d.wait_log("not restarting", T).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.starts().len(), 1);
    let res = reqwest::get(d.url("/api/x")).await.expect("forward");
    assert_eq!(res.status().as_u16(), 503, "no handler to forward to");
}

#[tokio::test]
async fn crashed_handler_is_restarted_on_a_new_port_and_stopped_on_sigterm() {
    let app = app();
    let mut d = started(&app).await;
    app.script(json!({"Tick": {"crash": true}}));
    reqwest::Client::new()
        .post(d.url("/admin/functions/Tick"))
        .send()
        .await
        .expect("admin");
    let give_up_at = std::time::Instant::now() + T;
    while app.starts().len() < 2 {
        assert!(
            std::time::Instant::now() < give_up_at,
            "no restart; log:\n{}",
            d.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let starts = app.starts();
    assert_ne!(
        starts[0]["FUNCTIONS_CUSTOMHANDLER_PORT"],
        starts[1]["FUNCTIONS_CUSTOMHANDLER_PORT"]
    );
    assert_ne!(
        starts[0]["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"],
        starts[1]["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"]
    );
    let port: u16 = starts[1]["FUNCTIONS_CUSTOMHANDLER_PORT"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .expect("port");
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < give_up_at,
            "restarted handler never listened"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(d.stop().await, Some(0), "clean exit on SIGTERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "handler stopped with devhost"
    );
}
