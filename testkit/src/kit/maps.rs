//! String maps (metadata, tags, settings, query parameters) that tests write as pairs.

use std::collections::HashMap;

/// The owned map of `pairs`.
pub fn owned<C: FromIterator<(String, String)>>(pairs: &[(&str, &str)]) -> C {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A settings lookup over `pairs`, as `Config::from_lookup` and connection resolution read one.
pub fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = owned(pairs);
    move |k| map.get(k).cloned()
}
