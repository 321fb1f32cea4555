//! Pure rules of the product: no HTTP, no database.
//!
//! Everything here is parsed from untrusted input once, at the boundary, and carries its
//! guarantee in its type afterwards ("parse, don't validate").

/// Defines a closed set of names parsed from the outside world and stored as text: each
/// variant's name in snake_case (strum derives the names, `Display` and the variant list
/// `ALL`), parsed by [`parse_name`] and serialized as that name. The names are stored in the
/// database, so a rename is a migration (`db/enums.rs` pins them).
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        // The schema derive only documents the names for the OpenAPI description.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, utoipa::ToSchema,
            strum::VariantArray, strum::IntoStaticStr, strum::Display,
        )]
        #[schema(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = <$name as strum::VariantArray>::VARIANTS;

            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::Invalid;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::domain::parse_name(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

pub mod balance;
pub mod chain;
pub mod credits;
pub mod day;
mod email;
pub mod entry;
mod id;
pub mod item_status;
mod password;
pub mod recertification;
mod reference;
pub mod review_age;
mod role;
pub mod source;
mod text;
pub mod workshop;

pub use credits::{AuthoringChannel, CertificationLevel, Credits, ExamTier, ItemType};
pub use day::parse_day;
pub use email::{Email, skeleton as email_skeleton};
pub use entry::EntryKind;
pub use id::parse_id;
pub use item_status::{ItemAction, ItemStatus};
pub use password::{NewPassword, PasswordRule};
pub use reference::{ExternalRef, reference_key};
pub use role::Role;
pub use source::{Source, SourceType};
pub use text::{DisplayName, bounded_text, code, is_invisible_or_bidi};
pub use workshop::WorkshopKind;

/// Why a value from the outside world was refused; becomes one entry of a 422 body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Parses one of the names of a closed set (an enum deriving strum's `VariantArray` and
/// `IntoStaticStr`, its names in snake_case), or says which names there are: "must be one of:
/// a, b", in the variants' order, as the API's refusals quote them.
pub(crate) fn parse_name<T>(s: &str) -> Result<T, Invalid>
where
    T: strum::VariantArray + Copy + Into<&'static str>,
{
    T::VARIANTS
        .iter()
        .copied()
        .find(|variant| Into::<&'static str>::into(*variant) == s)
        .ok_or_else(|| {
            let names: Vec<&'static str> = T::VARIANTS.iter().map(|v| (*v).into()).collect();
            Invalid::new(format!("must be one of: {}", names.join(", ")))
        })
}
