//! String maps (metadata, tags, settings, query parameters) that tests write as pairs.

/// The owned map of `pairs`.
pub fn owned<C: FromIterator<(String, String)>>(pairs: &[(&str, &str)]) -> C {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
