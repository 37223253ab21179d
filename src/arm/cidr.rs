//! Sets of IP addresses (IPv4 and IPv6 apart), built from the prefixes NSG rules, subnets and
//! just-in-time requests name: exact union, intersection and difference over address ranges.

use std::net::IpAddr;

/// Inclusive address ranges, sorted and apart.
type Ranges = Vec<(u128, u128)>;

/// A set of addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddrSet {
    v4: Ranges,
    v6: Ranges,
}

const V4_MAX: u128 = u32::MAX as u128;

fn normal(mut r: Ranges) -> Ranges {
    r.sort_unstable();
    let mut out: Ranges = Vec::with_capacity(r.len());
    for (a, b) in r {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

fn intersect(x: &Ranges, y: &Ranges) -> Ranges {
    let mut out = Vec::new();
    for &(a, b) in x {
        for &(c, d) in y {
            let (lo, hi) = (a.max(c), b.min(d));
            if lo <= hi {
                out.push((lo, hi));
            }
        }
    }
    normal(out)
}

fn subtract(x: &Ranges, y: &Ranges) -> Ranges {
    let mut out = Vec::new();
    for &(a, b) in x {
        let mut pieces = vec![(a, b)];
        for &(c, d) in y {
            let mut next = Vec::new();
            for (p, q) in pieces {
                if d < p || c > q {
                    next.push((p, q));
                    continue;
                }
                if c > p {
                    next.push((p, c - 1));
                }
                if d < q {
                    next.push((d + 1, q));
                }
            }
            pieces = next;
        }
        out.extend(pieces);
    }
    normal(out)
}

impl AddrSet {
    /// Every address, IPv4 and IPv6.
    pub fn all() -> Self {
        Self {
            v4: vec![(0, V4_MAX)],
            v6: vec![(0, u128::MAX)],
        }
    }

    /// The addresses of `text`: an address or a CIDR prefix (host bits ignored, as Azure does);
    /// `None` when it is neither (a service tag, `*`).
    pub fn prefix(text: &str) -> Option<Self> {
        let text = text.trim();
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u32>().ok()?)),
            None => (text, None),
        };
        let ip: IpAddr = addr.parse().ok()?;
        let (value, bits) = match ip {
            IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
            IpAddr::V6(v) => (u128::from(v), 128),
        };
        let len = len.unwrap_or(bits);
        if len > bits {
            return None;
        }
        // The host part's bits: `bits - len` low bits set (none for a full-length prefix).
        let mask = u128::MAX.checked_shr(128 - (bits - len)).unwrap_or(0);
        let range = vec![(value & !mask, value | mask)];
        let (v4, v6) = if ip.is_ipv4() {
            (range, Vec::new())
        } else {
            (Vec::new(), range)
        };
        Some(Self { v4, v6 })
    }

    /// No address.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Both sets' addresses.
    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        self.each(other, |x, y| normal(x.iter().chain(y).copied().collect()))
    }

    /// The addresses in both.
    #[must_use]
    pub fn intersect(&self, other: &Self) -> Self {
        self.each(other, intersect)
    }

    /// This set's addresses not in `other`.
    #[must_use]
    pub fn minus(&self, other: &Self) -> Self {
        self.each(other, subtract)
    }

    /// `op` over the IPv4 ranges of both sets, and over their IPv6 ranges.
    fn each(&self, other: &Self, op: fn(&Ranges, &Ranges) -> Ranges) -> Self {
        Self {
            v4: op(&self.v4, &other.v4),
            v6: op(&self.v6, &other.v6),
        }
    }

    /// The private ranges: RFC 1918 (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`), the shared
    /// space of RFC 6598 (`100.64.0.0/10`, which Azure accepts in a virtual network) and IPv6
    /// unique local addresses (`fc00::/7`): the addresses of virtual networks and of the
    /// networks connected to them, never reached from the Internet.
    pub fn private() -> Self {
        [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "fc00::/7",
        ]
        .iter()
        .filter_map(|p| Self::prefix(p))
        .fold(Self::default(), |a, b| a.union(&b))
    }

    /// True when every address of `self` lies in `other`.
    pub fn within(&self, other: &Self) -> bool {
        self.minus(other).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> AddrSet {
        AddrSet::prefix(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn prefixes_compare_as_address_ranges_not_as_text() {
        let bastion = p("10.0.1.0/26");
        assert!(p("10.0.1.0/27").within(&bastion));
        assert!(p("10.0.1.63").within(&bastion));
        assert!(!p("10.0.1.64").within(&bastion));
        assert!(!p("10.0.1.0/24").within(&bastion));
        // Host bits are ignored, as Azure does.
        assert!(p("10.0.1.5/26").within(&bastion));
        assert!(!p("10.0.10.0/26").within(&bastion), "not a text prefix");
        assert!(p("2001:db8:1::/64").within(&p("2001:db8::/32")));
        assert!(!p("2001:db9::/64").within(&p("2001:db8::/32")));
        assert!(
            !p("10.0.1.0/26").within(&p("2001:db8::/32")),
            "families apart"
        );
        assert!(p("0.0.0.0/0").intersect(&p("::/0")).is_empty());
        for bad in ["Internet", "*", "10.0.0.0/33", "10.0.0/24", "::/129", ""] {
            assert_eq!(AddrSet::prefix(bad), None, "{bad}");
        }
    }

    #[test]
    fn difference_and_union_are_exact() {
        let all = AddrSet::all();
        let rest = all.minus(&p("10.0.1.0/26"));
        assert!(!rest.is_empty());
        assert!(rest.intersect(&p("10.0.1.0/26")).is_empty());
        assert!(rest.union(&p("10.0.1.0/26")) == all);
        let split = p("10.0.0.0/24").minus(&p("10.0.0.128/25"));
        assert_eq!(split, p("10.0.0.0/25"));
        assert!(
            p("10.0.0.0/25")
                .union(&p("10.0.0.128/25"))
                .eq(&p("10.0.0.0/24"))
        );
        assert!(p("0.0.0.0/0").minus(&p("0.0.0.0/0")).is_empty());
        assert!(p("::/0").minus(&p("::/1")).within(&p("8000::/1")));
    }
}
