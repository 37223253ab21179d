//! A notification too large for its destination, end to end through the real handler: a
//! `NotifyWebhook` message whose title is about 1 MiB, to a webhook receiver that closes the
//! connection without an answer on a body over 256 KiB (as a proxy refusing the size does). The
//! body is cut to the webhook's bounds before sending (the title ends with the marker `…(cut)`),
//! so it is delivered at once: never a 500 for ever.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// Bodies over this are refused by closing the connection.
const REFUSED_OVER: usize = 256 * 1024;

/// A receiver on 127.0.0.1 closing the connection on a body over [`REFUSED_OVER`] bytes and
/// answering 200 otherwise: its base URL and the bodies it took.
async fn closing_receiver() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let taken = Arc::new(Mutex::new(Vec::new()));
    let kept = taken.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(serve(sock, kept.clone()));
        }
    });
    (base, taken)
}

async fn serve(mut sock: tokio::net::TcpStream, kept: Arc<Mutex<Vec<Vec<u8>>>>) {
    let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 64 * 1024]);
    let head_end = loop {
        let n = sock.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = (head.lines())
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if length > REFUSED_OVER {
        return; // closed without an answer
    }
    while buf.len() < head_end + length {
        let n = sock.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    kept.lock()
        .expect("kept")
        .push(buf[head_end..head_end + length].to_vec());
    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    let _ = sock.write_all(ok).await;
}

#[tokio::test]
async fn a_one_mebibyte_title_is_cut_to_fit_and_delivered() {
    let rx = Receiver::start().await;
    let (base, taken) = closing_receiver().await;
    let hook = format!("{base}{HOOK}");
    let extra = [
        ("NOTIFY_TEAMS_URL", ""),
        ("NOTIFY_SLACK_URL", ""),
        ("NOTIFY_WEBHOOK_URL", hook.as_str()),
        ("NOTIFY_BUDGET_MS", "10000"),
    ];
    let h = spawn(&env(&rx, &extra)).await;
    let mut n = notification("one-mebibyte-title", "critical");
    n["title"] = json!("T".repeat(1024 * 1024));
    let (status, body) = h.invoke("NotifyWebhook", &invocation(&n, 1)).await;
    assert_eq!(status, 200, "{body}\n{}", h.log_text());
    let log = body["Logs"][0].as_str().unwrap_or_default();
    assert!(log.contains("delivered to [webhook]"), "{log}");
    let taken = taken.lock().expect("taken").clone();
    assert_eq!(taken.len(), 1, "delivered once");
    let sent: Value = serde_json::from_slice(&taken[0]).expect("json");
    let title = sent["data"]["title"].as_str().expect("title");
    assert!(
        title.ends_with("…(cut)") && title.len() < 2000,
        "{}",
        title.len()
    );
    assert!(taken[0].len() <= 64 * 1024, "{}", taken[0].len());
}
