//! ARM resource-id parsing for session fields (subscription, resource group, VM, Bastion host).

/// The path segment following `name` (case-insensitive) in an ARM resource id.
pub fn arm_segment<'a>(id: &'a str, name: &str) -> Option<&'a str> {
    let (b, n) = (id.as_bytes(), name.as_bytes());
    let end_of = |from: usize| memchr::memchr(b'/', &b[from..]).map_or(b.len(), |i| from + i);
    let mut start = 0;
    while start <= b.len() {
        let end = end_of(start);
        if end - start == n.len() && b[start..end].eq_ignore_ascii_case(n) {
            let from = (end + 1).min(b.len());
            return id.get(from..end_of(from)).filter(|s| !s.is_empty());
        }
        start = end + 1;
    }
    None
}
