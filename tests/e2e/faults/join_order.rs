//! The join's derivation of sessions' recorded state under faults: answers lost after the table
//! service committed a `sessionwindows` or catalogue write, and throttling (429 + `Retry-After`),
//! while a recording moves from the sessions it was matched to by time to its own session, on two
//! instances. The final state is the same as without faults, with one alert per unrecorded session.

use super::proxy::{Fault, Proxy, Rule, Service};
use crate::audit_logs::order::{BASE, Case, Faults, scenario};
use crate::harness;

const CASE: Case = Case {
    with_c: true,
    open: true,
    ..BASE
};

#[tokio::test]
async fn lost_answers_to_the_joins_writes_leave_no_stale_mark() {
    let Some(cs) = harness::azurite() else { return };
    let proxy = Proxy::start(&cs).await;
    let arm = || {
        for (path, times) in [("sessionwindows", 8), ("recordings", 2)] {
            proxy.add(
                Rule::new(Fault::DropAnswer)
                    .service(Service::Table)
                    .path(path)
                    .times(times),
            );
        }
    };
    let faults = Faults {
        connection: &proxy.connection,
        arm: &arm,
    };
    scenario(CASE, true, Some(&faults)).await;
    assert!(proxy.fired(Fault::DropAnswer) > 0, "the faults were met");
}

#[tokio::test]
async fn throttled_join_writes_end_in_the_same_state() {
    let Some(cs) = harness::azurite() else { return };
    let proxy = Proxy::start(&cs).await;
    let arm = || {
        proxy.add(
            Rule::new(Fault::Status(429, 1))
                .service(Service::Table)
                .path("sessionwindows")
                .times(4),
        );
    };
    let faults = Faults {
        connection: &proxy.connection,
        arm: &arm,
    };
    scenario(CASE, false, Some(&faults)).await;
    assert!(
        proxy.fired(Fault::Status(429, 1)) > 0,
        "the faults were met"
    );
}
