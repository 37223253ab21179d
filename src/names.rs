//! Enums whose variants each have one name, written once: the rows, the API and the evidence
//! spell a variant the same way.

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
