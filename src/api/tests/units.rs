//! Pure pieces: principals, client addresses, tokens, settings.

use axum::http::HeaderMap;
use base64::Engine as _;
use serde_json::json;

use crate::api::ApiSettings;
use crate::api::auth::principal::decode as principal;
use crate::api::auth::{AuthMode, client_ip};
use crate::catalogue::query::page::{Cursor, decode, encode};

#[test]
fn principals_decode_roles_of_both_claim_types() {
    let enc =
        |v: serde_json::Value| base64::engine::general_purpose::STANDARD.encode(v.to_string());
    let p = principal(&enc(json!({"claims": [
        {"typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role", "val": "Catalogue.Read"},
        {"typ": "roles", "val": "Catalogue.Hold"},
        {"typ": "name", "val": "Alice"}]})), None).expect("decodes");
    let has = |p: &crate::api::auth::bearer::Identity, r: &str| p.roles.iter().any(|x| x == r);
    assert!(has(&p, "Catalogue.Read") && has(&p, "Catalogue.Hold") && !has(&p, "catalogue.read"));
    assert_eq!(p.name, "Alice");
    let custom = principal(
        &enc(json!({"role_typ": "r", "name_typ": "n",
        "claims": [{"typ": "r", "val": "Catalogue.Read"}, {"typ": "n", "val": "svc"}]})),
        None,
    )
    .expect("decodes");
    assert!(has(&custom, "Catalogue.Read"));
    assert_eq!(custom.name, "svc");
    assert!(principal("%%%", None).is_none());
    assert!(principal(&enc(json!([1, 2])), None).is_none());
}

#[test]
fn client_addresses_are_the_platform_s_never_the_caller_s() {
    for (headers, want) in [
        // The front end's `client-ip` (address:port) wins over anything the caller wrote.
        (
            vec![
                ("x-forwarded-for", "6.6.6.6, 203.0.113.9"),
                ("client-ip", "203.0.113.9:4410"),
            ],
            "203.0.113.9",
        ),
        (vec![("client-ip", "[2001:db8::1]:443")], "2001:db8::1"),
        (vec![("client-ip", "2001:db8::2")], "2001:db8::2"),
        (vec![("client-ip", "198.51.100.1:80")], "198.51.100.1"),
        // A caller's X-Forwarded-For is never believed, first hop or last.
        (vec![("x-forwarded-for", "6.6.6.6")], ""),
        (vec![("x-forwarded-for", "x;=1+1")], ""),
        (vec![("x-forwarded-for", "10.0.0.1, 6.6.6.6")], ""),
        // What is no address is not stored as one.
        (vec![("client-ip", "x;=1+1")], ""),
        (vec![("client-ip", "=1+1:80")], ""),
        (vec![], ""),
    ] {
        let mut h = HeaderMap::new();
        for (k, v) in headers.iter().copied() {
            h.insert(k, v.parse().expect("value"));
        }
        assert_eq!(client_ip(&h), want, "{headers:?}");
    }
}

#[test]
fn tokens_round_trip_and_reject_tampering() {
    let days = vec!["2025-03-01".to_owned(), "2025-03-02".to_owned()];
    let c = Cursor {
        day: "2025-03-02".into(),
        skip: 7,
        after: None,
    };
    let t = encode(&c, "fp");
    assert_eq!(decode(&t, "fp", &days), Ok(c));
    let indexed = Cursor {
        day: "2025-03-01".into(),
        skip: 0,
        after: Some("2025-03-01T10:00:00.000Z~id".into()),
    };
    assert_eq!(decode(&encode(&indexed, "fp"), "fp", &days), Ok(indexed));
    assert!(decode(&t, "other", &days).is_err());
    assert!(decode(&t, "fp", &days[..1]).is_err());
    assert!(decode("", "fp", &days).is_err());
    assert!(decode(&format!("{t}x"), "fp", &days).is_err());
}

#[test]
fn settings_are_parsed_strictly() {
    let s = |k: &str, v: &str| crate::setting::read_pairs(&[(k, v)], ApiSettings::from_reader);
    assert_eq!(s("", "").0, ApiSettings::default());
    assert!(matches!(
        ApiSettings::default().auth,
        AuthMode::Unconfigured(_)
    ));
    assert_eq!(s("CATALOGUE_AUTH", " Platform ").0.auth, AuthMode::Platform);
    // An unusable CATALOGUE_AUTH must not stop start-up: it is no problem of the reader.
    let (bad, errors) = s("CATALOGUE_AUTH", "yes");
    assert!(errors.is_empty(), "{errors:?}");
    assert!(matches!(bad.auth, AuthMode::Unconfigured(_)));
    assert_eq!(s("CATALOGUE_MAX_RANGE_DAYS", "7").0.max_range_days, 7);
    for (k, v) in [
        ("CATALOGUE_MAX_RANGE_DAYS", "0"),
        ("CATALOGUE_MAX_RANGE_DAYS", "9999"),
        ("CATALOGUE_LINK_MINUTES", "61"),
        ("CATALOGUE_DOWNLOAD_LINKS", "on"),
    ] {
        let errors = s(k, v).1;
        assert!(
            errors.len() == 1 && errors[0].starts_with(k) && !errors[0].contains(v),
            "{k}={v}: {errors:?}"
        );
    }
}

#[test]
fn json_and_csv_show_the_same_bastion_host_for_an_empty_or_absent_one() {
    use crate::catalogue::query::shape::Shape as _;
    use crate::catalogue::recording::{Confidence, Joined, Match, Recording, SessionView};
    let at = Recording::columns()
        .iter()
        .position(|n| *n == "bastionHost")
        .expect("column");
    let t = time::macros::datetime!(2025-03-01 10:00 UTC);
    for own in [None, Some(""), Some("bas-own")] {
        let mut r = crate::testkit::audit::recording_row("r", t);
        r.source_bastion = "bas-source".into();
        r.joined = own.map(|host| Joined {
            m: Match {
                confidence: Confidence::Exact,
                tunnels: vec!["t".into()],
            },
            session: Some(SessionView {
                tunnel_id: "t".into(),
                bastion_host: host.into(),
                ..SessionView::default()
            }),
        });
        let want = own.filter(|h| !h.is_empty()).unwrap_or("bas-source");
        assert_eq!(r.json(None)["bastionHost"], want, "{own:?}");
        assert_eq!(r.csv_cells(None)[at], want, "{own:?}");
    }
}

/// An estate finding's CSV line: its fields in column order, an open one's `resolvedAt` empty, a
/// value from Resource Manager defused and quoted like every list's.
#[test]
fn an_estate_findings_csv_line_keeps_its_columns_and_defuses_its_evidence() {
    use crate::catalogue::query::shape::Shape as _;
    use crate::estate::store::Row;
    let row = Row {
        host: "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/bastionHosts/b1"
            .into(),
        host_name: "b1".into(),
        finding: "recording-off".into(),
        severity: "high".into(),
        status: "open".into(),
        first_seen: "2026-11-25T12:00:00.000Z".into(),
        last_seen: "2026-11-25T12:15:00.000Z".into(),
        resolved_at: None,
        evidence: "=HYPERLINK(\"x\"), seen".into(),
        earlier: Vec::new(),
    };
    assert_eq!(
        Row::csv_header(),
        "host,hostName,finding,severity,status,firstSeen,lastSeen,resolvedAt,evidence\r\n"
    );
    assert_eq!(
        row.csv_line(None),
        format!(
            "{},b1,recording-off,high,open,2026-11-25T12:00:00.000Z,2026-11-25T12:15:00.000Z,,\
             \"'=HYPERLINK(\"\"x\"\"), seen\"\r\n",
            row.host
        )
    );
}
