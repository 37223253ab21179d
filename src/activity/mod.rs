//! The Activity log as the workspaces hold it (`AzureActivity`), read once for both the other
//! doors (estate) and authorization's just-in-time evidence: its rows paged through, folded into
//! events, a failure told from a refusal, and the just-in-time requests they carry.

/// An enum each of whose variants has one name (in the rows, the API and the evidence): `as_str`
/// gives it, `parse` reads it back, `ALL` lists the variants in order.
macro_rules! named {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$m])*
        pub enum $name { $($(#[$vm])* $v,)* }

        impl $name {
            /// Every variant, in order.
            pub const ALL: [Self; [$($s),*].len()] = [$(Self::$v),*];

            /// Its name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s,)* }
            }

            /// From its name.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == s)
            }
        }
    };
}
pub(crate) use named;

pub mod events;
pub mod failure;
pub mod jit;
pub mod read;
