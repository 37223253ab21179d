//! A loopback stand-in for Microsoft Graph's Get user (`GET /v1.0/users/{id | userPrincipalName}`,
//! Learn graph/api/user-get), answering only in its documented shapes: 200 with the user resource
//! of the `$select`ed properties and `@odata.context`; 404 with the error body
//! `{"error": {"code": "Request_ResourceNotFound", "message": …, "innerError": …}}` (Learn
//! graph/errors); 429 with `Retry-After` and code `TooManyRequests` while throttled (Learn
//! graph/throttling); 403 `Authorization_RequestDenied` for the UPNs it is told to refuse. Every
//! request is counted by UPN (path-decoded, as Graph reads it).
//!
//! PIM for Groups' List assignmentScheduleInstances (`GET /v1.0/identityGovernance/
//! privilegedAccess/group/assignmentScheduleInstances`, Learn
//! graph/api/privilegedaccessgroup-list-assignmentscheduleinstances): the `$filter` is required
//! (400 `BadRequest` without a `groupId eq '…'`), `accessId eq 'member'` keeps members, each
//! instance in the response example's shape (`principal` present when `$expand=principal`),
//! one a page with `@odata.nextLink` to the next (`$skiptoken`); 429 with `Retry-After` while
//! throttled, as Get user; 403 `Authorization_RequestDenied` for the groups it is told to refuse.
//!
//! List group transitive members cast to users (`GET /v1.0/groups/{id}/transitiveMembers/
//! microsoft.graph.user`, Learn graph/api/group-list-transitivemembers): each member a
//! `#microsoft.graph.user` with the `$select`ed properties (`id`, `userPrincipalName`), one a
//! page with `@odata.nextLink` to the next (`$skiptoken`); 404 `Request_ResourceNotFound` for a
//! group it does not know; 403 `Authorization_RequestDenied` for the groups whose members it is
//! told to refuse (the app without `GroupMember.Read.All`); for a group told to fail, every time,
//! 429 `TooManyRequests` with or without `Retry-After` (Learn graph/throttling) or 504
//! (Learn graph/errors, "Gateway Timeout", code `generalException`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

#[derive(Default)]
struct Directory {
    /// UPN (lower case) → (object id, UPN as stored).
    users: HashMap<String, (String, String)>,
    /// Requests answered 429 before the next is served.
    throttle: u32,
    /// UPNs (lower case) refused with 403.
    refused: Vec<String>,
    /// Requests per UPN, as received.
    hits: HashMap<String, u32>,
    /// The query strings received.
    queries: Vec<String>,
    /// Each request's method and path, as received (still percent-encoded).
    requests: Vec<(String, String)>,
    /// Group id → its PIM for Groups instances (documented shape, principal expanded).
    groups: HashMap<String, Vec<serde_json::Value>>,
    /// Group ids refused with 403.
    refused_groups: Vec<String>,
    /// Group id → its transitive user members (object id, UPN).
    members: HashMap<String, Vec<(String, String)>>,
    /// Group id → the answer its members list fails with every time: 403 for a refused one.
    member_faults: HashMap<String, Fault>,
    /// Its own base URL (for `@odata.nextLink`).
    base: String,
}

/// The running fake.
pub(crate) struct FakeGraph {
    /// Its base URL (`GRAPH_ENDPOINT`).
    pub(crate) base: String,
    dir: Arc<Mutex<Directory>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let inner = json!({"date": "2026-01-01T00:00:00", "request-id": "0b1e5a3c-0000-4000-8000-000000000001",
        "client-request-id": "0b1e5a3c-0000-4000-8000-000000000002"});
    let body = json!({"error": {"code": code, "message": message, "innerError": inner}});
    (status, Json(body)).into_response()
}

/// A failure a list answers: its status, Graph error code and `Retry-After`.
#[derive(Clone, Copy)]
pub(crate) struct Fault(pub StatusCode, pub &'static str, pub Option<&'static str>);

impl Fault {
    fn answer(self) -> Response {
        let Self(status, code, after) = self;
        if status == StatusCode::FORBIDDEN {
            return refused();
        }
        let mut r = error(status, code, status.canonical_reason().unwrap_or_default());
        if let Some(after) = after {
            r.headers_mut()
                .insert("retry-after", after.parse().expect("header"));
        }
        r
    }
}

/// A 403 as Graph refuses an app without the permission.
fn refused() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

/// A 429 with `Retry-After` while the fake is told to throttle.
fn throttled(d: &mut Directory) -> Option<Response> {
    if d.throttle == 0 {
        return None;
    }
    d.throttle -= 1;
    Some(Fault(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", Some("1")).answer())
}

async fn user(
    State(dir): State<Arc<Mutex<Directory>>>,
    Path(upn): Path<String>,
    RawQuery(query): RawQuery,
    uri: axum::http::Uri,
) -> Response {
    let mut d = dir.lock().expect("lock");
    d.requests.push(("GET".to_owned(), uri.path().to_owned()));
    *d.hits.entry(upn.clone()).or_default() += 1;
    d.queries.push(query.unwrap_or_default());
    if let Some(r) = throttled(&mut d) {
        return r;
    }
    let key = upn.to_lowercase();
    if d.refused.contains(&key) {
        return refused();
    }
    match d.users.get(&key) {
        Some((id, stored)) => Json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName)/$entity",
            "id": id, "userPrincipalName": stored,
        }))
        .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("Resource '{upn}' does not exist or one of its queried reference-property objects are not present."),
        ),
    }
}

/// A PIM for Groups instance as Learn's List assignmentScheduleInstances example gives it, with
/// the `principal` a `$expand=principal` adds (a user `directoryObject`).
pub(crate) fn membership(
    group: &str,
    (principal, upn): (&str, &str),
    activated: bool,
    (start, end): (&str, Option<&str>),
) -> serde_json::Value {
    json!({"id": format!("{group}_member_{principal}"), "principalId": principal,
        "startDateTime": start, "endDateTime": end,
        "assignmentType": if activated { "Activated" } else { "Assigned" }, "accessId": "member",
        "groupId": group, "memberType": "Direct",
        "assignmentScheduleId": format!("{group}_member_{principal}"),
        "principal": {"@odata.type": "#microsoft.graph.user", "id": principal, "userPrincipalName": upn}})
}

/// The query string's `name` value, percent-decoded.
fn param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Counts a list request (its path and query) and answers 429 while throttled.
fn received(d: &mut Directory, uri: &axum::http::Uri, query: &str) -> Option<Response> {
    d.requests.push(("GET".to_owned(), uri.path().to_owned()));
    d.queries.push(query.to_owned());
    throttled(d)
}

async fn group_instances(
    State(dir): State<Arc<Mutex<Directory>>>,
    RawQuery(query): RawQuery,
    uri: axum::http::Uri,
) -> Response {
    let query = query.unwrap_or_default();
    let mut d = dir.lock().expect("lock");
    if let Some(r) = received(&mut d, &uri, &query) {
        return r;
    }
    let filter = param(&query, "$filter").unwrap_or_default();
    let Some(group) = filter
        .split_once("groupId eq '")
        .and_then(|(_, g)| g.split_once('\''))
        .map(|(g, _)| g.to_owned())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The filter on groupId or principalId is required.",
        );
    };
    if d.refused_groups.contains(&group) {
        return refused();
    }
    let members_only = filter.contains("accessId eq 'member'");
    let expand = param(&query, "$expand").is_some_and(|e| e == "principal");
    let all: Vec<serde_json::Value> = (d.groups.get(&group).cloned().unwrap_or_default())
        .into_iter()
        .filter(|i| !members_only || i["accessId"] == "member")
        .map(|mut i| {
            if !expand && let Some(o) = i.as_object_mut() {
                o.remove("principal");
            }
            i
        })
        .collect();
    let at: usize = param(&query, "$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut page = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identityGovernance/privilegedAccess/group/assignmentScheduleInstances",
        "value": all.get(at).cloned().into_iter().collect::<Vec<_>>(),
    });
    if at + 1 < all.len() {
        let host = d.base.clone();
        let mut next = url::Url::parse(&format!("{host}{}", uri.path())).expect("url");
        next.query_pairs_mut()
            .append_pair("$filter", &filter)
            .append_pair("$expand", "principal")
            .append_pair("$skiptoken", &(at + 1).to_string());
        page["@odata.nextLink"] = json!(next.to_string());
    }
    Json(page).into_response()
}

async fn transitive_members(
    State(dir): State<Arc<Mutex<Directory>>>,
    Path(group): Path<String>,
    RawQuery(query): RawQuery,
    uri: axum::http::Uri,
) -> Response {
    let query = query.unwrap_or_default();
    let mut d = dir.lock().expect("lock");
    if let Some(r) = received(&mut d, &uri, &query) {
        return r;
    }
    if let Some(fault) = d.member_faults.get(&group) {
        return fault.answer();
    }
    let Some(all) = d.members.get(&group).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{group}' does not exist or one of its queried reference-property objects are not present."
            ),
        );
    };
    let select = param(&query, "$select").unwrap_or_default();
    let at: usize = param(&query, "$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let value: Vec<serde_json::Value> = (all.get(at).into_iter())
        .map(|(id, upn)| {
            let mut u = json!({"@odata.type": "#microsoft.graph.user", "id": id});
            if select.is_empty() || select.contains("userPrincipalName") {
                u["userPrincipalName"] = json!(upn);
            }
            u
        })
        .collect();
    let mut page = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#users({select})"),
        "value": value,
    });
    if at + 1 < all.len() {
        let mut next = url::Url::parse(&format!("{}{}", d.base, uri.path())).expect("url");
        next.query_pairs_mut()
            .append_pair("$select", &select)
            .append_pair("$skiptoken", &(at + 1).to_string());
        page["@odata.nextLink"] = json!(next.to_string());
    }
    Json(page).into_response()
}

impl FakeGraph {
    /// Serves `users` (UPN, object id) on a free loopback port, throttling the first `throttle`
    /// requests and refusing `refused` UPNs.
    pub(crate) async fn start(users: &[(&str, &str)], throttle: u32, refused: &[&str]) -> Self {
        let dir = Arc::new(Mutex::new(Directory {
            users: users
                .iter()
                .map(|(upn, id)| (upn.to_lowercase(), ((*id).to_owned(), (*upn).to_owned())))
                .collect(),
            throttle,
            refused: refused.iter().map(|u| u.to_lowercase()).collect(),
            ..Directory::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        dir.lock().expect("lock").base = base.clone();
        let app = Router::new()
            .route("/v1.0/users/{upn}", get(user))
            .route(
                "/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleInstances",
                get(group_instances),
            )
            .route(
                "/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user",
                get(transitive_members),
            )
            .with_state(dir.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve graph");
        });
        Self { base, dir, task }
    }

    /// Requests received for `upn`.
    pub(crate) fn hits(&self, upn: &str) -> u32 {
        let d = self.dir.lock().expect("lock");
        d.hits.get(upn).copied().unwrap_or_default()
    }

    /// Every request received: (method, path).
    pub(crate) fn requests(&self) -> Vec<(String, String)> {
        self.dir.lock().expect("lock").requests.clone()
    }

    /// Serves `instances` as `group`'s PIM for Groups instances, or refuses the group (403).
    pub(crate) fn group(&self, group: &str, instances: Vec<serde_json::Value>, refused: bool) {
        let mut d = self.dir.lock().expect("lock");
        d.groups.insert(group.to_owned(), instances);
        if refused {
            d.refused_groups.push(group.to_owned());
        }
    }

    /// Serves `members` (object id, UPN) as `group`'s transitive user members, or refuses them
    /// (403).
    pub(crate) fn members(&self, group: &str, members: &[(&str, &str)], refused: bool) {
        let mut d = self.dir.lock().expect("lock");
        let list = (members.iter()).map(|(i, u)| ((*i).to_owned(), (*u).to_owned()));
        d.members.insert(group.to_owned(), list.collect());
        if refused {
            let fault = Fault(StatusCode::FORBIDDEN, "Authorization_RequestDenied", None);
            d.member_faults.insert(group.to_owned(), fault);
        }
    }

    /// Fails every read of `group`'s members with `fault`.
    pub(crate) fn members_fail(&self, group: &str, fault: Fault) {
        let mut d = self.dir.lock().expect("lock");
        d.member_faults.insert(group.to_owned(), fault);
    }

    /// Every query string received.
    pub(crate) fn queries(&self) -> Vec<String> {
        self.dir.lock().expect("lock").queries.clone()
    }
}
