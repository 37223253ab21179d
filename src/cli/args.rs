//! The flags the subcommands share: the catalogue's row filters named as the API's query
//! parameters, the range of times, and the arguments of `sweep`, `catalogue` and `verify`.

use std::collections::HashMap;

use clap::Args;

/// `sweep`: deleting needs an explicit `--execute`, so a bare `sweep` typed to "have a look"
/// deletes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[group(required = true, multiple = false)]
pub struct SweepArgs {
    /// Report what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete what has expired.
    #[arg(long)]
    pub execute: bool,
}

/// A range of times, as the API's `from` and `to`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args, serde::Serialize)]
pub struct Range {
    /// Start of the range: a date (`2025-03-01`) or an RFC 3339 time.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the range: a date (inclusive) or an RFC 3339 time (exclusive).
    #[arg(long)]
    pub to: Option<String>,
}

/// The row filters, named as the API's query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args, serde::Serialize)]
pub struct Filters {
    /// Which times.
    #[command(flatten)]
    #[serde(flatten)]
    pub range: Range,
    /// User name or e-mail.
    #[arg(long)]
    pub user: Option<String>,
    /// Client IP.
    #[arg(long)]
    pub ip: Option<String>,
    /// Target VM name or resource id.
    #[arg(long)]
    pub vm: Option<String>,
    /// Protocol (`ssh`, `rdp`).
    #[arg(long)]
    pub protocol: Option<String>,
    /// Row status.
    #[arg(long)]
    pub status: Option<String>,
    /// Retention class.
    #[arg(long)]
    pub class: Option<String>,
    /// Join confidence.
    #[arg(long)]
    pub confidence: Option<String>,
    /// Bastion host name (the session's host, or the host its recording container is tied to).
    #[arg(long)]
    pub bastion: Option<String>,
    /// Recording storage account name.
    #[arg(long)]
    pub account: Option<String>,
}

/// The flags that were given, as API query parameters named as their fields (a flag not given
/// serialises as null and is left out).
pub fn params(args: &impl serde::Serialize) -> HashMap<String, String> {
    let Ok(serde_json::Value::Object(m)) = serde_json::to_value(args) else {
        return HashMap::new();
    };
    (m.into_iter())
        .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
        .collect()
}

/// `catalogue query|export`: the API's query parameters, but `out`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args, serde::Serialize)]
pub struct CatalogueArgs {
    /// Which rows.
    #[command(flatten)]
    #[serde(flatten)]
    pub filters: Filters,
    /// Rows per page (as the API's `limit`).
    #[arg(long)]
    pub limit: Option<String>,
    /// Continue from a previous page's continuation.
    #[arg(long)]
    pub continuation: Option<String>,
    /// `json` (lines) or `csv`.
    #[arg(long)]
    pub format: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(long)]
    #[serde(skip)]
    pub out: Option<String>,
}

/// `verify`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct VerifyArgs {
    /// Which rows.
    #[command(flatten)]
    pub filters: Filters,
    /// Check about 1 in N rows (salted by the run) instead of all.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub sample: Option<u32>,
}
