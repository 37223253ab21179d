//! URL pieces of the Table REST API: entity paths, query strings, continuation tokens.
//!
//! Only key *values* are percent-encoded (after doubling single quotes): encoding the parentheses,
//! quotes or comma of `table(PartitionKey='…',RowKey='…')` makes Azurite answer 500.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) use crate::azure::sas::encode_value as enc;

/// `table(PartitionKey='pk',RowKey='rk')` with the values quoted and encoded.
pub(crate) fn entity_path(table: &str, pk: &str, rk: &str) -> String {
    let key = |s: &str| enc(&s.replace('\'', "''"));
    format!("{table}(PartitionKey='{}',RowKey='{}')", key(pk), key(rk))
}

/// Packs the service's two continuation headers into one opaque, URL-safe token.
pub(crate) fn pack_continuation(next_pk: Option<&str>, next_rk: Option<&str>) -> Option<String> {
    let pk = next_pk.filter(|s| !s.is_empty())?;
    Some(URL_SAFE_NO_PAD.encode(format!("{pk}\n{}", next_rk.unwrap_or_default())))
}

/// Reverses [`pack_continuation`]; `None` for a token we did not produce.
pub(crate) fn unpack_continuation(token: &str) -> Option<(String, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let (pk, rk) = text.split_once('\n')?;
    (!pk.is_empty()).then(|| (pk.to_owned(), rk.to_owned()))
}

/// Query parameters of one page of a query (`$filter`, `$top`, continuation).
pub(crate) fn query_params(
    filter: Option<&str>,
    top: Option<u32>,
    next: Option<&(String, String)>,
) -> Vec<String> {
    let mut q = Vec::new();
    if let Some(f) = filter {
        q.push(format!("$filter={}", enc(f)));
    }
    if let Some(t) = top {
        q.push(format!("$top={}", t.clamp(1, 1000)));
    }
    if let Some((pk, rk)) = next {
        q.push(format!("NextPartitionKey={}", enc(pk)));
        if !rk.is_empty() {
            q.push(format!("NextRowKey={}", enc(rk)));
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_key_values_are_encoded_and_quotes_doubled() {
        assert_eq!(
            entity_path("t", "a b", "o'brien"),
            "t(PartitionKey='a%20b',RowKey='o%27%27brien')"
        );
        assert_eq!(
            entity_path("t", "ü", "x-_.~"),
            "t(PartitionKey='%C3%BC',RowKey='x-_.~')"
        );
    }

    #[test]
    fn continuations_round_trip_and_reject_garbage() {
        let t = pack_continuation(Some("1!8!cGs-"), Some("1!4!cms-")).expect("token");
        assert_eq!(
            unpack_continuation(&t),
            Some(("1!8!cGs-".into(), "1!4!cms-".into()))
        );
        let t = pack_continuation(Some("pk"), None).expect("token");
        assert_eq!(unpack_continuation(&t), Some(("pk".into(), String::new())));
        assert_eq!(pack_continuation(None, Some("x")), None);
        assert_eq!(unpack_continuation("not base64 !"), None);
    }

    #[test]
    fn query_parameters_are_encoded() {
        let q = query_params(
            Some("PartitionKey eq 'a'"),
            Some(5000),
            Some(&("p".into(), String::new())),
        );
        assert_eq!(
            q,
            [
                "$filter=PartitionKey%20eq%20%27a%27",
                "$top=1000",
                "NextPartitionKey=p"
            ]
        );
    }
}
