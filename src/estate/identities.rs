//! What the estate check records of who each host records as (`recordingidentities`, owned by
//! [`crate::catalogue::identity`]): each host's identity as read, into its history for the
//! container it records into; each host read that no longer records into a container leaves it
//! ([`closed`]), and once a period each watched container's writes waiting for a check are judged
//! again, one listing query per container whatever number of hosts write there ([`rejudged`]).

use time::OffsetDateTime;

use super::findings::HostFacts;
use crate::ports::Ports;

/// The hosts no longer recording into a container leave its identities (`read`: the hosts read
/// whose identity, if they record into a watched container, is recorded by this check; a host
/// whose read or whose identity's write failed keeps its rows open; only the rows of `read` and of
/// hosts no longer in `hosts` close, so one host's unit, given every configured host and itself as
/// `read`, closes its own rows alone) ([`crate::catalogue::identity::close_absent`]). Errors are
/// logged: the next check retries.
pub(super) async fn closed(
    ports: &Ports,
    hosts: &[String],
    read: &std::collections::BTreeSet<String>,
    now: OffsetDateTime,
) {
    let tables = ports.tables.as_ref();
    let configured = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
    let closed = crate::catalogue::identity::close_absent(tables, &configured, read, now).await;
    if let Err(e) = closed {
        tracing::warn!(error = %e, "hosts no longer recording here not recorded; the next check retries");
    }
}

/// Each watched container's writes whose verdict a check could change judged again, once per
/// container whatever number of hosts write there ([`crate::catalogue::rejudge`]), by the
/// identities recorded so far (a write whose host's identity at its time is not read yet stays
/// waiting for the next pass). Errors are logged: the next check retries.
pub(super) async fn rejudged(ports: &Ports, now: OffsetDateTime) {
    let tables = ports.tables.as_ref();
    let repo = ports.catalogue();
    let mut containers: Vec<(String, String)> = ports
        .sources
        .recordings()
        .iter()
        .map(|s| (s.account().to_owned(), s.container.clone()))
        .collect();
    containers.sort_by_key(|(a, c)| crate::catalogue::identity::partition(a, c));
    containers.dedup_by_key(|(a, c)| crate::catalogue::identity::partition(a, c));
    for (account, container) in &containers {
        let c = (account.as_str(), container.as_str());
        match crate::catalogue::rejudge::container(tables, &repo, c, now).await {
            Ok(r) if r.vouched + r.suspect + r.unobserved > 0 => tracing::info!(
                vouched = r.vouched,
                suspect = r.suspect,
                unobserved = r.unobserved,
                waiting = r.waiting,
                "writes whose verdict waited for the estate check judged again"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "writes waiting for the estate check not judged again; the next check retries")
            }
        }
    }
}

/// Records who `source`'s host records as, for the writer check (`recordingidentities`): its
/// identity's object id, or none known when its answer names no recording target or identity,
/// into the host's history for the container. A host whose answer names another container as its
/// target records nothing here (its rows elsewhere are closed by its check, [`closed`]); a failed
/// read of the host keeps the last row; a failed write is logged (the next check writes it
/// again). False when the write failed: the check then leaves every row of the host open, as for
/// a failed read ([`closed`]), so no run is closed over a time the host may still have recorded
/// here.
pub(super) async fn remember(
    ports: &Ports,
    facts: &HostFacts,
    (host, source): (&str, &crate::sources::Source),
    targeted: bool,
    principal: Option<&str>,
    now: OffsetDateTime,
) -> bool {
    let Some(Ok(h)) = &facts.host else {
        return true;
    };
    let config = h.properties.session_recording_configuration.as_ref();
    if !targeted && config.and_then(|c| c.target()).is_some() {
        return true;
    }
    let container = (source.account(), source.container.as_str());
    let tables = ports.tables.as_ref();
    let written = crate::catalogue::identity::record(tables, container, host, principal, now).await;
    if let Err(e) = &written {
        tracing::warn!(error = %e, "the host's recording identity not recorded; its rows stay open");
    }
    written.is_ok()
}
