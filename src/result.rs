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
