//! What a connection in PgBouncer's transaction mode keeps of tokio-postgres's type lookups.
//!
//! tokio-postgres looks up each type it does not know (an enum, a domain, a composite, an array of
//! them…) with statements it prepares by name the first time, and keeps for the client's life.
//! Behind PgBouncer such a statement exists on the one server connection it was prepared on: on
//! any other the next lookup fails (26000), and left there it can collide with another client's
//! statement of the same name (42P05). So lookups happen only while `pinned` describes a statement
//! inside a transaction, PgBouncer holding one server connection for it, and nothing stays
//! behind: the statements tokio-postgres keeps are prepared there again under their names first,
//! those it prepared meanwhile are found in `pg_prepared_statements`, and all are deallocated
//! before the transaction ends. This module holds what that needs to know, and the SQL of each
//! step.
use std::collections::HashSet;
use tokio_postgres::types::{Kind, Type};

/// The statements prepared since the transaction began that no SQL `PREPARE` made: the describe's
/// own are closed by then, so these are the lookups' new ones.
pub const FIND: &str = "SELECT name, statement FROM pg_catalog.pg_prepared_statements \
                        WHERE NOT from_sql AND prepare_time >= now()";

/// The lookup statements tokio-postgres keeps on one client, and the types it knows.
#[derive(Debug, Default)]
pub struct TypeStatements {
    /// Name and text of each statement tokio-postgres keeps.
    kept: Vec<(String, String)>,
    /// OIDs of the types the client has looked up.
    known: HashSet<u32>,
}

impl TypeStatements {
    /// The SQL that prepares the kept statements again, under their names.
    pub fn prepare(&self) -> String {
        self.kept
            .iter()
            .map(|(name, text)| format!("PREPARE {name} AS {text};"))
            .collect()
    }

    /// The SQL that deallocates every statement prepared since the transaction began that is
    /// either one of the kept ones or made by a protocol-level Parse (the lookups' new ones):
    /// a `DO` block, so that one already gone is skipped rather than failing the rest.
    pub fn deallocate(&self) -> String {
        let names: Vec<&str> = self.kept.iter().map(|(name, _)| name.as_str()).collect();
        format!(
            "DO $pg_rust_pool$ DECLARE n text; BEGIN FOR n IN SELECT name FROM \
             pg_catalog.pg_prepared_statements WHERE prepare_time >= now() AND (NOT from_sql OR \
             name = ANY ('{{{}}}'::text[])) LOOP EXECUTE format('DEALLOCATE %I', n); END LOOP; \
             END $pg_rust_pool$;",
            names.join(",")
        )
    }

    /// Whether any statement is kept.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Whether describing a statement with these parameter and column types may have made
    /// tokio-postgres look one up, and so prepare a new statement.
    pub fn may_have_looked_up<'a>(&self, types: impl IntoIterator<Item = &'a Type>) -> bool {
        types
            .into_iter()
            .any(|ty| Type::from_oid(ty.oid()).is_none() && !self.known.contains(&ty.oid()))
    }

    /// Records the types a describe met (and the types they are made of), and the statements
    /// [`FIND`] found (`name`, `statement`). A name tokio-postgres would not give is ignored:
    /// names go into SQL unquoted.
    pub fn learn<'a>(
        &mut self,
        types: impl IntoIterator<Item = &'a Type>,
        found: impl IntoIterator<Item = (String, String)>,
    ) {
        for ty in types {
            self.know(ty);
        }
        for (name, text) in found {
            let valid = name.len() > 1
                && name.starts_with('s')
                && name[1..].bytes().all(|b| b.is_ascii_digit());
            if valid && !self.kept.iter().any(|(kept, _)| *kept == name) {
                self.kept.push((name, text));
            }
        }
    }

    fn know(&mut self, ty: &Type) {
        if Type::from_oid(ty.oid()).is_some() || !self.known.insert(ty.oid()) {
            return;
        }
        match ty.kind() {
            Kind::Array(inner)
            | Kind::Domain(inner)
            | Kind::Range(inner)
            | Kind::Multirange(inner) => self.know(inner),
            Kind::Composite(fields) => {
                for field in fields {
                    self.know(field.type_());
                }
            }
            _ => {}
        }
    }

    /// Forgets the types known (after the client's type cache was cleared); the kept statements
    /// stay, as tokio-postgres keeps them.
    pub fn forget_types(&mut self) {
        self.known.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enum_type(oid: u32) -> Type {
        Type::new(
            "mood".into(),
            oid,
            Kind::Enum(vec!["sad".into()]),
            "public".into(),
        )
    }

    #[test]
    fn only_types_tokio_postgres_does_not_know_may_be_looked_up() {
        let mut statements = TypeStatements::default();
        assert!(!statements.may_have_looked_up(&[Type::INT4, Type::TEXT_ARRAY]));
        let mood = enum_type(90_001);
        assert!(statements.may_have_looked_up(&[Type::INT4, mood.clone()]));
        statements.learn([&mood], []);
        assert!(!statements.may_have_looked_up(&[mood]));
    }

    #[test]
    fn the_types_a_type_is_made_of_are_known_with_it() {
        let mut statements = TypeStatements::default();
        let mood = enum_type(90_001);
        let moods = Type::new(
            "_mood".into(),
            90_002,
            Kind::Array(mood.clone()),
            "public".into(),
        );
        statements.learn([&moods], []);
        assert!(!statements.may_have_looked_up(&[mood, moods]));
    }

    #[test]
    fn kept_statements_are_prepared_again_and_deallocated() {
        let mut statements = TypeStatements::default();
        assert!(statements.is_empty());
        assert_eq!(statements.prepare(), "");
        statements.learn(
            [],
            [
                ("s7".to_owned(), "SELECT 1 WHERE $1::oid = 0".to_owned()),
                ("s7".to_owned(), "again".to_owned()),
                ("bad; DROP".to_owned(), "SELECT".to_owned()),
                ("s".to_owned(), "SELECT".to_owned()),
                ("s12".to_owned(), "SELECT 2".to_owned()),
            ],
        );
        assert_eq!(
            statements.prepare(),
            "PREPARE s7 AS SELECT 1 WHERE $1::oid = 0;PREPARE s12 AS SELECT 2;"
        );
        let deallocate = statements.deallocate();
        assert!(
            deallocate.contains("name = ANY ('{s7,s12}'::text[])"),
            "{deallocate}"
        );
        assert!(deallocate.starts_with("DO $pg_rust_pool$"), "{deallocate}");
    }
}
