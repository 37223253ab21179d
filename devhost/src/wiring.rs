//! Start-up and shutdown: builds every part from the app root and settings, runs them until
//! SIGTERM/Ctrl-C (or until the handler fails too often), then stops the handler.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bastion_recordings::azure::connection::StorageConnection;
use bastion_recordings::storage::BlobStore;
use bastion_recordings::storage::azure::AzureBlobStore;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::admin::AdminState;
use crate::app_root::{AppRoot, Trigger};
use crate::eventgrid_watch::{WatchSettings, WatchSpec, Watcher};
use crate::forward::{FrontEnd, router};
use crate::invoke::Invoker;
use crate::process::{HandlerSpec, WorkerState, expand_env, resolve_executable, supervise};
use crate::queues::{Queues, resolve_connection, run_queue_trigger};
use crate::settings::{Settings, is_disabled};
use crate::timers::Timer;

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

fn handler_spec(app: &AppRoot, s: &Settings) -> HandlerSpec {
    let exe = resolve_executable(
        &app.root,
        &expand_env(&app.host.executable, &env),
        s.handler.as_deref(),
    );
    let wd = app.host.working_directory.trim();
    HandlerSpec {
        exe,
        args: app
            .host
            .arguments
            .iter()
            .map(|a| expand_env(a, &env))
            .collect(),
        cwd: if wd.is_empty() {
            app.root.clone()
        } else {
            app.root.join(wd)
        },
        app_root: app.root.clone(),
    }
}

/// Starts timers, queue triggers and watchers; returns the timers for the admin API.
fn start_triggers(
    app: &AppRoot,
    s: &Settings,
    invoker: &Invoker,
    queues: &Arc<Queues>,
    shutdown: &watch::Receiver<bool>,
) -> Result<HashMap<String, Arc<Timer>>, String> {
    let mut timers = HashMap::new();
    // Parts a connection problem keeps from running, by problem: each said once, in one line.
    let mut unrun: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let now = OffsetDateTime::now_utc();
    for f in &app.functions {
        let disabled = is_disabled(&f.name, &env);
        match &f.trigger {
            Trigger::Timer { .. } => match Timer::new(f, now) {
                Ok(t) => {
                    let t = Arc::new(t);
                    timers.insert(t.name().to_owned(), t.clone());
                    if !disabled {
                        tokio::spawn(t.run(invoker.clone(), shutdown.clone()));
                    }
                }
                Err(e) => eprintln!("devhost function={}: {e}; not scheduled", f.name),
            },
            Trigger::Queue {
                queue, connection, ..
            } if !disabled => {
                if let Err(e) = resolve_connection(connection) {
                    unrun
                        .entry(e)
                        .or_default()
                        .push(format!("queue {queue} ({})", f.name));
                    continue;
                }
                tokio::spawn(run_queue_trigger(
                    f.clone(),
                    app.host.clone(),
                    queues.clone(),
                    invoker.clone(),
                    s.queue_poll,
                    shutdown.clone(),
                ));
            }
            _ => {}
        }
    }
    let ws = WatchSettings {
        poll: s.blob_poll,
        retry: s.retry.clone(),
        timeout: s.eventgrid_timeout,
        scope: s.scope.clone(),
    };
    for spec in &s.watch {
        let Some(f) = app
            .function(&spec.function)
            .filter(|f| matches!(f.trigger, Trigger::EventGrid { .. }))
        else {
            eprintln!(
                "devhost: DEVHOST_WATCH names {} but no eventGridTrigger function has that name; skipped",
                spec.function
            );
            continue;
        };
        if is_disabled(&f.name, &env) {
            continue;
        }
        let conn = match resolve_connection(&spec.connection) {
            Ok(c) => c,
            Err(e) if s.watch_explicit => return Err(e),
            Err(e) => {
                let what = format!("watch of {} ({})", spec.container, f.name);
                unrun.entry(e).or_default().push(what);
                continue;
            }
        };
        let store: Arc<dyn BlobStore> =
            Arc::new(AzureBlobStore::new(&conn).map_err(|e| format!("{}: {e}", spec.connection))?);
        let mut endpoint = conn.blob.clone();
        endpoint.set_query(None);
        let w = Watcher {
            // Named in its log lines by the setting that resolved (the fall-back included).
            spec: WatchSpec {
                connection: conn.setting.clone(),
                ..spec.clone()
            },
            store,
            blob_endpoint: endpoint.to_string(),
            function: f.clone(),
        };
        tokio::spawn(w.run(invoker.clone(), ws.clone(), shutdown.clone()));
    }
    // Said once the handler answers: a handler that refuses the same setting says it alone.
    let mut worker = invoker.worker();
    tokio::spawn(async move {
        if worker
            .wait_for(|w| matches!(w, WorkerState::Ready(_)))
            .await
            .is_ok()
        {
            for (e, parts) in unrun {
                eprintln!("devhost: {e}; not running: {}", parts.join(", "));
            }
        }
    });
    Ok(timers)
}

async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} },
            Err(_) => ctrl_c.await.unwrap_or(()),
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}

/// A port that cannot be taken, named with the setting that chose it.
fn bind_error(port: u16, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        format!(
            "port {port} (DEVHOST_PORT) is already in use by another process; set DEVHOST_PORT to a free port, or 0 for any"
        )
    } else {
        format!("port {port} (DEVHOST_PORT) cannot be listened on: {e}")
    }
}

/// Runs devhost until a signal, or until the handler has failed too often.
pub(crate) async fn run(s: Settings) -> Result<(), String> {
    let app = Arc::new(AppRoot::load(&s.app_root)?);
    // Malformed, it stops the handler and every trigger and watch that reads it: said once, here.
    StorageConnection::resolve("AzureWebJobsStorage", &env).map_err(|e| e.join("; "))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", s.port))
        .await
        .map_err(|e| bind_error(s.port, &e))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // First stdout line: tests and scripts read the address from it.
    println!("devhost listening addr={addr}");
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (state_tx, state_rx) = watch::channel(WorkerState::Starting);
    let mut supervisor = tokio::spawn(supervise(
        handler_spec(&app, &s),
        state_tx,
        shutdown_rx.clone(),
    ));
    let queues = Arc::new(Queues::new(app.host.message_encoding));
    let invoker = Invoker::new(state_rx, queues.clone(), app.host.function_timeout);
    let timers = start_triggers(&app, &s, &invoker, &queues, &shutdown_rx)?;
    let forwarding = app.host.forwarding && app.functions.iter().any(|f| f.is_http_in_and_out());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let admin = Arc::new(AdminState {
        app: app.clone(),
        invoker,
        timers,
        queues,
    });
    let app_router = router(
        FrontEnd {
            admin,
            client,
            forwarding,
        },
        &app.host.route_prefix,
    );
    let mut stop = shutdown_rx.clone();
    let server = axum::serve(listener, app_router).with_graceful_shutdown(async move {
        let _ = stop.wait_for(|v| *v).await;
    });
    let mut server = tokio::spawn(async move { server.await });
    let outcome = tokio::select! {
        _ = signal() => Ok(()),
        r = &mut supervisor => {
            let _ = shutdown_tx.send(true);
            return r.map_err(|e| e.to_string()).and_then(|r| r);
        }
        r = &mut server => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("HTTP server: {e}")),
            Err(e) => Err(e.to_string()),
        },
    };
    println!("devhost stopping");
    let _ = shutdown_tx.send(true);
    match tokio::time::timeout(Duration::from_secs(10), supervisor).await {
        Ok(Ok(Err(e))) => eprintln!("devhost: {e}"),
        Ok(_) => {}
        Err(_) => eprintln!("devhost: handler did not stop within 10 s"),
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    outcome
}
