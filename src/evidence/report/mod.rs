//! `report.html`: one self-contained page rendered by `maud` (every value escaped), each outside
//! value its own `<bdi>` with its directional controls shown, so no name can reorder the text.

mod authorized;
mod cells;
pub mod charts;
mod lists;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use self::cells::{listed, outside, table};
use super::figures::{Figures, HostFigures};
use super::manifest::Generator;
use super::options::PackOptions;
use crate::dates::format_utc;
use crate::pack::key::{HOW_TO_VERIFY, PackKey};
use crate::telemetry::text::isolate;

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #bbb;padding:.25em .6em;text-align:right}\
th:first-child,td:first-child{text-align:left}caption{text-align:left;font-weight:bold;margin-bottom:.3em}\
td,th{overflow-wrap:normal;word-break:normal;hyphens:manual}table.list{font-size:.8em}table.list td,table.list th{text-align:left}\
.open{border:2px solid #b00;padding:.4em .6em;color:#b00;font-weight:bold}\
figure{margin:1em 0}svg{max-width:100%;height:auto}.note{color:#555}\
thead{display:table-header-group}\
@media print{body{margin:0;font-size:10pt}th,td{padding:.2em .35em}figure,tr{break-inside:avoid}caption{break-after:avoid}h2{break-after:avoid}}";

/// The printed pages: the paper, and on every page the period (marked when it is not over) and
/// "Page n of m". Only text this module makes goes in (dates and fixed words, never an outside
/// value: a CSS string has no escaping by `maud`).
fn page_style(opts: &PackOptions) -> String {
    let period = format!(
        "Evidence pack: {} to {} (exclusive)",
        format_utc(opts.from),
        format_utc(opts.to)
    );
    let open = if opts.period_open() {
        format!("PERIOD NOT YET OVER: made {}", format_utc(opts.now))
    } else {
        String::new()
    };
    format!(
        "@page{{size:{};margin:16mm 12mm 16mm;\
         @top-left{{content:\"{period}\";font-size:8pt;color:#444}}\
         @top-right{{content:\"{open}\";font-size:8pt;font-weight:bold;color:#b00}}\
         @bottom-right{{content:\"Page \" counter(page) \" of \" counter(pages);font-size:8pt;color:#444}}}}",
        opts.paper.css()
    )
}

/// The page for `figures` of the pack `opts` describes, signed by `key`.
pub fn render(f: &Figures, opts: &PackOptions, key: &PackKey) -> String {
    let scope = opts.bastion.as_deref().unwrap_or("all Bastion hosts");
    let g = Generator::this();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Evidence pack " (format_utc(opts.from)) " to " (format_utc(opts.to)) }
                style { (PreEscaped(STYLE)) (PreEscaped(page_style(opts))) }
            }
            body {
                h1 { "Bastion session evidence" }
                @if opts.period_open() {
                    p.open { "This period is not over: the pack was made at " (format_utc(opts.now))
                        ", before the period's end at " (format_utc(opts.to)) ". Its figures and lists can still change." }
                }
                p {
                    "Period " strong { (format_utc(opts.from)) } " (inclusive) to "
                    strong { (format_utc(opts.to)) } " (exclusive), " (outside(scope)) ". Generated "
                    (format_utc(opts.now)) " by " (g.name) " " (g.version) "."
                }
                p.note { "Every figure is counted from the CSV files of this pack, which hold the same rows as the catalogue API for the period. manifest.json lists each file's SHA-256; manifest.sig signs it." }
                p.signer { "Signed by the Ed25519 key " strong { (key.public_fingerprint()) }
                    " (public key, base64: " code { (key.public_base64()) } "): " (HOW_TO_VERIFY) "." }
                h2 { "Sessions and recording coverage" }
                (summary(f))
                (sessions_chart(f))
                (coverage_chart(f))
                h2 { "Reviews" }
                (reviews(f, opts))
                h2 { "Retention" }
                (retention(f))
                h2 { "Integrity" }
                (integrity(f))
                h2 { "Holds and deletions" }
                (holds_deletions(f))
                h2 { "Who accessed which recording" }
                (access(f))
                h2 { "Sessions unrecorded, not reviewed or reviewed late; incidents and follow-ups" }
                (lists::sessions(f))
                h2 { "Segregation of duties" }
                (lists::duties(f))
                h2 { "Chain of custody" }
                (lists::custody(f))
                h2 { "Other ways in" }
                (lists::other_ways(f))
                h2 { "Authorization" }
                (authorized::section(f))
            }
        }
    };
    page.into_string()
}

fn rows(f: &Figures) -> impl Iterator<Item = (&str, &HostFigures)> {
    f.hosts
        .iter()
        .map(|(h, v)| (h.as_str(), v))
        .chain(std::iter::once(("Total", &f.total)))
}

fn summary(f: &Figures) -> Markup {
    html! {
        (table(None, html! { "Per Bastion host" }, &["Host", "Sessions", "Recorded", "Exact", "Probable", "Replaced", "Unrecorded", "Coverage %",
                "Failed logins", "Bursts", "Reviewed", "Reviewed on time", "Overdue", "Recordings"], html! {
            @for (host, h) in rows(f) {
                @let t = &h.tally;
                tr { td { (outside(host)) } td { (t.sessions) } td { (t.recorded) } td { (t.recorded_exact) } td { (t.recorded_probable) } td { (t.recording_replaced) } td { (t.unrecorded) }
                     td { (format!("{:.1}", h.coverage_percent)) } td { (t.failed_logins) }
                     td { (h.failed_login_bursts) } td { (t.reviewed) } td { (t.reviewed_on_time) } td { (h.overdue) } td { (h.recordings) } }
            }
        }))
        p.note { "Sessions are recorded, unrecorded or failed logins, one of the three: a failed login is never counted unrecorded. Coverage: recorded sessions among those that got past the login (recorded and unrecorded). Recorded sessions are exact (a recording names the session's tunnel id) or probable (matched by time alone: the one session whose window holds the recording's creation, nearest start, written by the host's recording identity); replaced: recorded, and the recording was then overwritten outside the product. A review is due the review deadline after the session's end (its start while open); reviewed on time: first reviewed (the session or one of its recordings) by then; overdue: queued for review, unreviewed and past due when the pack was made. A burst: a login.failed.burst detection as the detector raised it (bursts.csv): failed logins by one user, or from one client IP, to one VM reaching the detection threshold within one window; one burst can be detected per user and per client IP." }
    }
}

fn svg(s: String) -> Markup {
    html! { figure { (PreEscaped(s)) } }
}

fn sessions_chart(f: &Figures) -> Markup {
    let days: Vec<String> = f.total.per_day.keys().cloned().collect();
    let mut series: Vec<(String, Vec<u64>)> = f
        .hosts
        .iter()
        .map(|(h, v)| {
            (
                isolate(h),
                days.iter()
                    .map(|d| v.per_day.get(d).copied().unwrap_or(0))
                    .collect(),
            )
        })
        .collect();
    series.push((
        "total".to_owned(),
        days.iter().map(|d| f.total.per_day[d]).collect(),
    ));
    svg(charts::lines("Sessions per day", &days, &series))
}

fn coverage_chart(f: &Figures) -> Markup {
    let (labels, values): (Vec<String>, Vec<f64>) = rows(f)
        .map(|(h, v)| (isolate(h), v.coverage_percent))
        .unzip();
    svg(charts::bars(
        "Recorded coverage (%)",
        "% recorded",
        &labels,
        &values,
        Some(100.0),
    ))
}

#[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
fn reviews(f: &Figures, opts: &PackOptions) -> Markup {
    let deadline = opts.review_deadline.whole_hours();
    let (labels, values): (Vec<String>, Vec<f64>) = f
        .review_latency
        .iter()
        .map(|(b, n)| {
            (
                if *b >= 48 {
                    "48h+".to_owned()
                } else {
                    format!("{b}-{}h", b + 4)
                },
                *n as f64,
            )
        })
        .unzip();
    html! {
        (table(None, html! { "Reviews made" }, &["Verdict", "Reviews"], html! {
            @for (v, n) in &f.verdicts { tr { td { (outside(v)) } td { (n) } } }
            tr { td { "All" } td { (f.reviews) } }
        }))
        p { (f.total.tally.reviewed) " of " (f.total.tally.sessions) " sessions reviewed; "
            (f.total.reviewed_independently) " independently (reviewer and user two people by Entra object id; the others unverified-identity); "
            (f.total.tally.reviewed_on_time) " by their due time (the " (deadline) "-hour deadline after the session's end); "
            (f.total.overdue) " queued and overdue." }
        @if !labels.is_empty() {
            (svg(charts::bars("Time from session start to first review", "sessions", &labels, &values, None)))
        }
    }
}

#[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
fn retention(f: &Figures) -> Markup {
    let (labels, values): (Vec<String>, Vec<f64>) = f
        .total
        .by_class
        .iter()
        .map(|(c, n)| (c.clone(), *n as f64))
        .unzip();
    html! {
        (table(None, html! { "Recordings per retention class" }, &["Class", "Recordings", "Due within 30 days of the period's end"], html! {
            @for (c, n) in &f.total.by_class {
                tr { td { (outside(c)) } td { (n) } td { (f.total.due_by_class.get(c).copied().unwrap_or(0)) } }
            }
        }))
        @if !labels.is_empty() { (svg(charts::bars("Recordings per retention class", "recordings", &labels, &values, None))) }
        (table(None, html! { "Recordings per status" }, &["Status", "Recordings"], html! {
            @for (s, n) in &f.total.by_status { tr { td { (outside(s)) } td { (n) } } }
        }))
    }
}

/// Results of the weekly verification, in the order the report shows them.
const VERIFICATIONS: &[&str] = &[
    "intact", "tampered", "missing", "expired", "unhashed", "error", "never",
];

fn integrity(f: &Figures) -> Markup {
    html! {
        (table(None, html! { "Recorded digests (integrity.csv)" }, &["Host", "Hashed", "Not hashed yet", "Length mismatch"], html! {
            @for (host, h) in rows(f) {
                tr { td { (outside(host)) } @for k in ["hashed", "unhashed", "length-mismatch"] {
                    td { (h.integrity.get(k).copied().unwrap_or(0)) } } }
            }
        }))
        (table(None, html! { "Latest verification by the weekly re-hash (integrity.csv: lastVerifiedAt, verification)" },
            &[&["Host"], VERIFICATIONS].concat(), html! {
            @for (host, h) in rows(f) {
                tr { td { (outside(host)) } @for k in VERIFICATIONS {
                    td { (h.verified.get(*k).copied().unwrap_or(0)) } } }
            }
        }))
        p.note { "A recording's SHA-256 is taken when it is catalogued; the weekly verification re-hashes a sample and raises recording.tampered or recording.missing. \"never\" is a recording no run has sampled yet." }
    }
}

fn holds_deletions(f: &Figures) -> Markup {
    html! {
        p { (f.holds) " holds listed in holds.csv, " (f.holds_active) " active; "
            (f.total.held) " recordings of the period under legal hold." }
        (table(None, html! { "Deletions in the period, with tombstones (deletions.csv)" }, &["Retention class", "Deleted"], html! {
            @for (c, n) in &f.deletions { tr { td { (outside(c)) } td { (n) } } }
            tr { td { "All" } td { (f.deletions.values().sum::<u64>()) } }
        }))
    }
}

fn access(f: &Figures) -> Markup {
    html! {
        (table(None, html! { "Reads per principal" }, &["Principal", "Reads"], html! {
            @for (w, n) in &f.accesses_by_who { tr { td { (outside(w)) } td { (n) } } }
        }))
        @if !f.list_queries.is_empty() {
            (table(Some("list"), html! { "List queries per principal and day (each in accessaudit.csv)" }, &["Day", "Principal", "Queries"], html! {
                @for ((who, day, list), n) in &f.list_queries {
                    tr { td { (day) } td { (outside(who)) } td { (outside(who)) " listed " (outside(list)) " " (n) @if *n == 1 { " time" } @else { " times" } } }
                }
            }))
        }
        (listed(html! { "Reads and other accesses, one by one (first " (f.access_list.len()) "; all " (f.accesses) " in accessaudit.csv, with each recording's id)" },
            &["At", "Principal", "Action", "Recording", "Host", "Person"], &f.access_list))
    }
}
