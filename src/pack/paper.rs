//! The paper an evidence pack's report is printed on (`EVIDENCE_PAPER`), read once at start-up.

/// The setting naming the printed report's paper.
pub const PAPER_SETTING: &str = "EVIDENCE_PAPER";

/// The paper the report is printed on (`EVIDENCE_PAPER`: `A4`, the default, or `Letter`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Paper {
    /// ISO A4, 210 × 297 mm.
    #[default]
    A4,
    /// US Letter, 8.5 × 11 in.
    Letter,
}

impl Paper {
    /// Parses the setting's value (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a4" => Some(Self::A4),
            "letter" => Some(Self::Letter),
            _ => None,
        }
    }

    /// Reads `EVIDENCE_PAPER` (unset: A4); a bad value is named with the other bad settings.
    pub fn from_reader(r: &mut crate::setting::Reader<'_>) -> Self {
        match r.get(PAPER_SETTING) {
            None => Self::default(),
            Some(v) => Self::parse(&v).unwrap_or_else(|| {
                r.problem(PAPER_SETTING, "expected A4 or Letter");
                Self::default()
            }),
        }
    }

    /// The CSS `@page` size.
    pub fn css(self) -> &'static str {
        match self {
            Self::A4 => "A4",
            Self::Letter => "letter",
        }
    }
}
