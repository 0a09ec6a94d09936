//! The shape of one statement's result, as node-postgres reports it.
use crate::convert::Column;

/// One entry of `fields`.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// OID of the table the column comes from, or 0.
    pub table_id: u32,
    /// Attribute number of the column in that table, or 0.
    pub column_id: i16,
    /// OID of the column's type.
    pub data_type_id: u32,
    /// `typlen` of the type (-1 for variable length).
    pub data_type_size: i16,
    /// Type modifier (`atttypmod`), -1 when none.
    pub data_type_modifier: i32,
}

impl Field {
    /// The field of a prepared statement's result column.
    pub fn of(column: &tokio_postgres::Column) -> Field {
        Field {
            name: column.name().to_owned(),
            table_id: column.table_oid().unwrap_or(0),
            column_id: column.column_id().unwrap_or(0),
            data_type_id: column.type_().oid(),
            data_type_size: crate::convert::type_size(column.type_()),
            data_type_modifier: column.type_modifier(),
        }
    }

    /// The field of a column the simple protocol named, whose type is not known: text.
    pub fn text(name: &str) -> Field {
        Field {
            name: name.to_owned(),
            table_id: 0,
            column_id: 0,
            data_type_id: tokio_postgres::types::Type::TEXT.oid(),
            data_type_size: -1,
            data_type_modifier: -1,
        }
    }
}

/// The result of one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultSet {
    /// The command word of the server's tag (`SELECT`, `INSERT`, …); `None` for an empty query.
    pub command: Option<String>,
    /// Rows returned or affected; `None` for commands whose tag carries no count.
    pub row_count: Option<u64>,
    /// Column metadata.
    pub fields: Vec<Field>,
    /// One column of values per field.
    pub columns: Vec<Column>,
    /// Number of rows.
    pub rows: usize,
}
