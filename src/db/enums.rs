//! The domain's enumerations as text columns: rows hold `ExamTier`, `ItemStatus`, `Role`…,
//! never strings compared by hand. Written as the text of their `as_str` (each variant's name
//! in snake_case, derived by strum: see the test of the stored names below); read back through
//! their `FromStr`, so a stored value the code does not know is an error, not a default.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
use diesel::internal::derives::as_expression::Bound;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Nullable, Text};

use crate::domain::{
    AuthoringChannel, CertificationLevel, EntryKind, ExamTier, ItemStatus, ItemType, Role,
    SourceType, WorkshopKind,
};

macro_rules! text_columns {
    ($($name:ty),+ $(,)?) => {$(
        impl<DB> FromSql<Text, DB> for $name
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                text.parse::<$name>().map_err(|why| {
                    format!("stored {} {text:?} is unknown: {why}", stringify!($name)).into()
                })
            }
        }

        impl<DB> ToSql<Text, DB> for $name
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB> Queryable<Text, DB> for $name
        where
            DB: Backend,
            $name: FromSql<Text, DB>,
        {
            type Row = Self;

            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        impl AsExpression<Text> for $name {
            type Expression = Bound<Text, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<Text> for &'a $name {
            type Expression = Bound<Text, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl AsExpression<Nullable<Text>> for $name {
            type Expression = Bound<Nullable<Text>, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<Nullable<Text>> for &'a $name {
            type Expression = Bound<Nullable<Text>, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }
    )+};
}

text_columns!(
    AuthoringChannel,
    CertificationLevel,
    EntryKind,
    ExamTier,
    ItemStatus,
    ItemType,
    Role,
    SourceType,
    WorkshopKind,
);

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::*;
    use crate::db::DbConn;

    fn connection() -> DbConn {
        DbConn::Sqlite(
            diesel::SqliteConnection::establish(":memory:")
                .unwrap_or_else(|error| panic!("an in-memory SQLite database opens: {error}")),
        )
    }

    #[test]
    fn an_enum_goes_through_the_connection_as_its_text() {
        let mut conn = connection();
        let back: ExamTier = diesel::select(AsExpression::<Text>::as_expression(
            ExamTier::TechnologyCore,
        ))
        .get_result(&mut conn)
        .unwrap_or(ExamTier::Associate);
        assert_eq!(back, ExamTier::TechnologyCore);
        let text: String =
            diesel::select(AsExpression::<Text>::as_expression(Role::ProgramManager))
                .get_result(&mut conn)
                .unwrap_or_default();
        assert_eq!(text, "program_manager");
    }

    /// The names are derived from the variants (strum, snake_case) and stored in rows: a
    /// renamed variant would make every stored row unreadable, so the stored names are
    /// written out here once, as the database holds them, and the refusal quotes them all.
    #[test]
    fn the_stored_names_are_the_ones_rows_already_hold() {
        fn names<T: Copy + Into<&'static str>>(all: &[T]) -> Vec<&'static str> {
            all.iter().map(|v| (*v).into()).collect()
        }
        use crate::domain::recertification::Status;
        /// The names derived, the names stored, and the refusal of an unknown name.
        type Case = (
            Vec<&'static str>,
            &'static [&'static str],
            Result<(), String>,
        );
        let cases: [Case; 9] = [
            (
                names(EntryKind::ALL),
                &["item_award", "workshop_day", "reversal"],
                "x".parse::<EntryKind>().map(drop).map_err(|e| e.0),
            ),
            (
                names(ExamTier::ALL),
                &["associate", "specialist", "technology_core", "ccie_lab"],
                "x".parse::<ExamTier>().map(drop).map_err(|e| e.0),
            ),
            (
                names(ItemType::ALL),
                &["standard", "performance"],
                "x".parse::<ItemType>().map(drop).map_err(|e| e.0),
            ),
            (
                names(AuthoringChannel::ALL),
                &["sme_program", "external_vendor"],
                "x".parse::<AuthoringChannel>().map(drop).map_err(|e| e.0),
            ),
            (
                names(CertificationLevel::ALL),
                &["entry", "associate", "specialist", "professional", "expert"],
                "x".parse::<CertificationLevel>().map(drop).map_err(|e| e.0),
            ),
            (
                names(ItemStatus::ALL),
                &["submitted", "accepted", "rejected", "withdrawn", "revoked"],
                "x".parse::<ItemStatus>().map(drop).map_err(|e| e.0),
            ),
            (
                names(Role::ALL),
                &["sme", "program_manager", "auditor", "admin"],
                "x".parse::<Role>().map(drop).map_err(|e| e.0),
            ),
            (
                names(&[WorkshopKind::Mqc, WorkshopKind::Jta]),
                &["mqc", "jta"],
                "x".parse::<WorkshopKind>().map(drop).map_err(|e| e.0),
            ),
            (
                names(Status::ALL),
                &["met", "due_soon", "open", "expired", "not_applicable"],
                "x".parse::<Status>().map(drop).map_err(|e| e.0),
            ),
        ];
        for (derived, stored, refusal) in cases {
            assert_eq!(derived, stored);
            assert_eq!(
                refusal,
                Err(format!("must be one of: {}", stored.join(", ")))
            );
        }
        assert_eq!(ItemStatus::Withdrawn.to_string(), "withdrawn");
        assert_eq!(Role::ProgramManager.to_string(), "program_manager");
    }

    #[test]
    fn an_unknown_stored_value_is_an_error_not_a_default() {
        let mut conn = connection();
        let read =
            diesel::select(diesel::dsl::sql::<Text>("'grandmaster'")).get_result::<Role>(&mut conn);
        assert!(read.is_err());
    }
}
