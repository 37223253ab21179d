//! The VM list telling a shared account's VM's Entra ID login, through the real Resource Manager
//! client against a loopback server that loses, cuts off, freezes or times out its answers (the
//! list in the Compute specification's "Virtual Machines - List All" shape,
//! `VirtualMachine_ListAll_MaximumSet_Gen.json`: each VM with its extensions as `resources`, a
//! `nextLink` to the next page). A list read whole after the client's retry tells `present` and
//! `absent`; a list not read whole (504 on every try, a frozen page past the run's deadline, a
//! page cut off) leaves every VM of its subscription `unknown` naming why: never `absent`, and
//! never what a part of the list showed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::shared_store::{Account, Accounts, read_entra};
use crate::arm::ResourceManager;
use crate::arm::client::ArmClient;
use crate::testkit::clock::FixedClock;
use crate::testkit::tables::memory::InMemoryTables;

const SUB: &str = "11111111-2222-3333-4444-555555555555";

fn vm(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/{name}"
    )
}

/// What the server does with one connection's request (in order; the last repeats).
#[derive(Clone)]
pub(super) enum Act {
    /// Reads the request and closes the connection unanswered (the answer lost).
    Lost,
    /// Answers this status and JSON body (`{base}` in it: the server's URL).
    Answer(u16, String),
    /// Announces 200 and the body's length, sends half of it and closes (lost mid-answer).
    Cut(String),
    /// Reads the request and never answers.
    Freeze,
}

/// The request lines a server read, in order.
pub(super) type Seen = Arc<Mutex<Vec<String>>>;

/// Each route's acts, by a text its request lines contain.
type Routes = Arc<Mutex<Vec<(&'static str, VecDeque<Act>)>>>;

/// A loopback server doing `acts`, one a connection (each answer closes its connection); the
/// request lines it read.
async fn serve(acts: Vec<Act>) -> (String, Seen) {
    routed(vec![("", acts)]).await
}

/// A loopback server doing, for each request, the next act of the first route whose text its
/// request line contains (each route's acts in order; the last repeats; no route: closed
/// unanswered); the request lines it read.
pub(super) async fn routed(routes: Vec<(&'static str, Vec<Act>)>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bound");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let routes: Vec<(&'static str, VecDeque<Act>)> =
        (routes.into_iter()).map(|(k, a)| (k, a.into())).collect();
    let (routes, seen): (Routes, Seen) = (Arc::new(Mutex::new(routes)), Arc::default());
    let (at, told) = (base.clone(), Arc::clone(&seen));
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let (routes, told) = (Arc::clone(&routes), Arc::clone(&told));
            tokio::spawn(one(conn, routes, at.clone(), told));
        }
    });
    (base, seen)
}

async fn one(mut conn: TcpStream, routes: Routes, base: String, seen: Seen) {
    let (mut head, mut buf) = (Vec::new(), [0u8; 1024]);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let act = {
        let mut routes = routes.lock().expect("routes");
        let route = (routes.iter_mut()).find(|(key, _)| line.contains(key));
        route.and_then(|(_, q)| {
            if q.len() > 1 {
                q.pop_front()
            } else {
                q.front().cloned()
            }
        })
    };
    seen.lock().expect("seen").push(line);
    let reply = |status: u16, body: &str, len: usize| {
        format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n{body}"
        )
    };
    let sent = match act.unwrap_or(Act::Lost) {
        Act::Lost => String::new(),
        Act::Freeze => std::future::pending().await,
        Act::Answer(status, body) => {
            let body = body.replace("{base}", &base);
            reply(status, &body, body.len())
        }
        Act::Cut(body) => {
            let body = body.replace("{base}", &base);
            reply(200, &body[..body.len() / 2], body.len())
        }
    };
    let _ = conn.write_all(sent.as_bytes()).await;
    let _ = conn.shutdown().await;
}

/// The two pages: vm-a with the monitoring agent only, then (through `nextLink`) vm-b with
/// Entra's SSH login.
fn pages() -> (String, String) {
    let ext = |v: &str, name: &str, publisher: &str| {
        json!({"id": format!("{}/extensions/{name}", vm(v)), "name": name, "location": "eastus",
            "type": "Microsoft.Compute/virtualMachines/extensions",
            "properties": {"publisher": publisher, "type": name, "typeHandlerVersion": "1.0",
                "provisioningState": "Succeeded"}})
    };
    let entry = |v: &str, x: serde_json::Value| {
        json!({"id": vm(v), "name": v, "type": "Microsoft.Compute/virtualMachines",
            "location": "eastus", "properties": {"vmId": format!("id-{v}")}, "resources": [x]})
    };
    let next = format!(
        "{{base}}/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01&$skiptoken=2"
    );
    let first = json!({"value": [entry("vm-a", ext("vm-a", "AzureMonitorLinuxAgent", "Microsoft.Azure.Monitor"))],
        "nextLink": next});
    let second = json!({"value": [entry("vm-b", ext("vm-b", "AADSSHLoginForLinux", "Microsoft.Azure.ActiveDirectory"))]});
    (first.to_string(), second.to_string())
}

/// Reads the VMs' Entra ID login through a client bounded by `deadline`: each VM's `entra`, and
/// how long the read took.
async fn told(acts: Vec<Act>, deadline: Duration) -> (Vec<String>, Duration, Vec<String>) {
    let (base, seen) = serve(acts).await;
    let arm: Arc<dyn ResourceManager> =
        Arc::new(ArmClient::loopback(&base, Duration::from_secs(2)));
    let arm = crate::arm::bounded(&arm, Instant::now() + deadline);
    let now = datetime!(2026-11-29 12:00 UTC);
    let (tables, clock) = (InMemoryTables::new(), FixedClock::new(now));
    let due = [vm("vm-a"), vm("vm-b")];
    let mut accounts: Accounts = (due.iter())
        .map(|v| ((v.clone(), "root".to_owned()), Account::default()))
        .collect();
    let started = Instant::now();
    read_entra((arm.as_ref(), &tables, &clock), &mut accounts, &due, now).await;
    let took = started.elapsed();
    let entra = accounts.values().map(|a| a.entra.clone()).collect();
    let seen = seen.lock().expect("seen").clone();
    (entra, took, seen)
}

#[tokio::test]
async fn a_vm_list_not_read_whole_leaves_its_vms_unknown_never_absent() {
    let (first, second) = pages();
    let ok = |b: &str| Act::Answer(200, b.to_owned());
    let timeout = json!({"error": {"code": "GatewayTimeout", "message": "The gateway did not receive a response from 'Microsoft.Compute' within the specified time period."}});
    let gateway = Act::Answer(504, timeout.to_string());
    // Retried within the run: the whole list tells each VM.
    for (what, acts) in [
        ("an answer lost", vec![Act::Lost, ok(&first), ok(&second)]),
        ("a 504", vec![gateway.clone(), ok(&first), ok(&second)]),
        (
            "the next page's 504",
            vec![ok(&first), gateway.clone(), ok(&second)],
        ),
    ] {
        let (entra, _, seen) = told(acts, Duration::from_secs(20)).await;
        assert_eq!(entra, ["absent", "present"], "{what}: {seen:?}");
        assert_eq!(seen.len(), 3, "{what}: retried once: {seen:?}");
    }
    // Not read whole by the run's deadline (3 s): unknown, never absent, never half a list.
    let deadline = Duration::from_secs(3);
    for (what, acts, why) in [
        ("504 on every try", vec![gateway], "GatewayTimeout"),
        ("a frozen list", vec![Act::Freeze], ""),
        ("a frozen next page", vec![ok(&first), Act::Freeze], ""),
        (
            "the next page cut off",
            vec![ok(&first), Act::Cut(second)],
            "",
        ),
        ("every answer lost", vec![Act::Lost], ""),
    ] {
        let (entra, took, seen) = told(acts, deadline).await;
        for e in &entra {
            assert!(
                e.starts_with("unknown: ") && e.contains(why),
                "{what}: {e} ({seen:?})"
            );
        }
        assert_eq!(
            entra[0], entra[1],
            "{what}: one list, one answer: {entra:?}"
        );
        assert!(
            took < deadline + Duration::from_secs(2),
            "{what}: took {took:?}"
        );
    }
}
