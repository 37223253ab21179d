//! Queue trigger: poll, invoke with host encoding (§3.6), delete on success, release on failure,
//! move to `<queue>-poison` after `maxDequeueCount` failed dequeues.

use std::sync::Arc;
use std::time::Duration;

use azure_storage_queue::models::{QueueClientReceiveMessagesOptions, ReceivedMessage};
use bastion_recordings::telemetry::redact;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::Queues;
use crate::app_root::{FunctionDef, HostConfig, Trigger};
use crate::backoff::{Backoff, secs};
use crate::envelope::{QueueFacts, decode_wire, queue_envelope, sys};
use crate::invoke::Invoker;

/// How long a dequeued message stays invisible while the handler works (the SDK's default, 10 min).
const LEASE_SECS: i32 = 600;

/// Polls the function's queue until shutdown.
pub(crate) async fn run_queue_trigger(
    f: FunctionDef,
    host: HostConfig,
    queues: Arc<Queues>,
    invoker: Invoker,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let Trigger::Queue {
        queue, connection, ..
    } = &f.trigger
    else {
        return;
    };
    let f = Arc::new(f.clone());
    let mut backoff = Backoff::new(poll);
    loop {
        let received = match queues.ensure(connection, queue).await {
            Ok(client) => {
                let options = QueueClientReceiveMessagesOptions {
                    number_of_messages: Some(i32::try_from(host.batch_size).unwrap_or(16)),
                    visibility_timeout: Some(LEASE_SECS),
                    ..Default::default()
                };
                match client
                    .receive_messages(Some(options))
                    .await
                    .and_then(|r| r.into_model())
                {
                    Ok(list) => {
                        if backoff.answered() {
                            println!("devhost queue={queue}: storage answers again");
                        }
                        list.items.unwrap_or_default()
                    }
                    Err(e) => {
                        let wait = backoff.failed();
                        eprintln!(
                            "devhost queue={queue}: the queue storage of {connection} does not answer ({}); next try in {}",
                            redact(&e.to_string()),
                            secs(wait)
                        );
                        Vec::new()
                    }
                }
            }
            Err(e) => {
                eprintln!("devhost queue={queue}: {e}");
                // A configuration problem will not fix itself quickly: poll it slowly.
                tokio::select! {
                    _ = tokio::time::sleep(poll.max(Duration::from_secs(10))) => continue,
                    _ = shutdown.changed() => return,
                }
            }
        };
        let idle = received.is_empty();
        let tasks: Vec<_> = received
            .into_iter()
            .map(|m| {
                tokio::spawn(process(
                    f.clone(),
                    host.clone(),
                    queues.clone(),
                    invoker.clone(),
                    m,
                ))
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(backoff.wait()) => {}
                _ = shutdown.changed() => return,
            }
        } else if *shutdown.borrow() {
            return;
        }
    }
}

async fn process(
    f: Arc<FunctionDef>,
    host: HostConfig,
    queues: Arc<Queues>,
    invoker: Invoker,
    m: ReceivedMessage,
) {
    let Trigger::Queue {
        name,
        queue,
        connection,
    } = &f.trigger
    else {
        return;
    };
    let (Some(id), Some(pop)) = (m.message_id.clone(), m.pop_receipt.clone()) else {
        eprintln!("devhost queue={queue}: message without id or pop receipt");
        return;
    };
    let wire = m.message_text.clone().unwrap_or_default();
    let dequeue_count = m.dequeue_count.unwrap_or(1);
    let max = i64::from(host.max_dequeue_count);
    let text = match decode_wire(&wire, queues.encoding()) {
        Ok(t) => t,
        Err(e) => return poison(&queues, connection, queue, &id, &pop, wire, &e).await,
    };
    // A message already past the limit (e.g. the handler crashed mid-way) is not invoked again.
    if dequeue_count > max {
        return poison(
            &queues,
            connection,
            queue,
            &id,
            &pop,
            wire,
            "dequeue count exceeded",
        )
        .await;
    }
    let facts = QueueFacts {
        text,
        id: id.clone(),
        pop_receipt: pop.clone(),
        dequeue_count,
        insertion_time: m.insertion_time,
        expiration_time: m.expiration_time,
        next_visible_time: m.time_next_visible,
    };
    let body = queue_envelope(
        name,
        &facts,
        sys(
            &f.name,
            OffsetDateTime::now_utc(),
            &uuid::Uuid::new_v4().to_string(),
        ),
    );
    match invoker.invoke(&f, &body, invoker.default_timeout()).await {
        Ok(_) => {
            if let Ok(client) = queues.client(connection, queue)
                && let Err(e) = client.delete_message(&id, &pop, None).await
            {
                eprintln!(
                    "devhost queue={queue} id={id}: delete failed: {}",
                    redact(&e.to_string())
                );
            }
        }
        Err(e) if dequeue_count >= max => {
            eprintln!(
                "devhost function={} queue={queue} id={id}: failed ({e}), dequeue {dequeue_count} of {max}",
                f.name
            );
            poison(&queues, connection, queue, &id, &pop, wire, &e).await;
        }
        Err(e) => {
            eprintln!(
                "devhost function={} queue={queue} id={id}: failed ({e}), dequeue {dequeue_count} of {max}; released",
                f.name
            );
            let secs = i32::try_from(host.visibility_timeout.as_secs()).unwrap_or(LEASE_SECS);
            if let Ok(client) = queues.client(connection, queue)
                && let Err(e) = client.update_message(&id, &pop, secs, None).await
            {
                eprintln!(
                    "devhost queue={queue} id={id}: release failed: {}",
                    redact(&e.to_string())
                );
            }
        }
    }
}

/// Copies the original wire text to `<queue>-poison`, then deletes the message.
async fn poison(
    queues: &Queues,
    connection: &str,
    queue: &str,
    id: &str,
    pop: &str,
    wire: String,
    why: &str,
) {
    let target = format!("{queue}-poison");
    eprintln!("devhost queue={queue} id={id}: moving to {target}: {why}");
    if let Err(e) = queues.send_wire(connection, &target, wire).await {
        // Keep the original: it will be redelivered and poisoned again later.
        eprintln!("devhost queue={queue} id={id}: poison copy failed: {e}");
        return;
    }
    if let Ok(client) = queues.client(connection, queue)
        && let Err(e) = client.delete_message(id, pop, None).await
    {
        eprintln!(
            "devhost queue={queue} id={id}: delete after poison failed: {}",
            redact(&e.to_string())
        );
    }
}
