//! A statement's binary rows gathered into columns (`convert::ColumnBuilder`), as a query's
//! result and a stream's batch are: with the columns the statement was described with, unless
//! its first row says the tables changed since. A value that fails to decode (or to fit in JS)
//! stops the gathering but not the reading, so the connection stays in step with the server; the
//! first such error is reported at the end, and the values gathered so far are dropped at once:
//! they may be large.
use crate::connection::Conn;
use crate::convert::ColumnBuilder;
use crate::error::{Error, Result};
use crate::result::{Field, ResultSet};
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Row;

/// A column value exactly as the server sent it.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Rows of one statement on their way into columns.
pub struct Gather<'a> {
    conn: &'a Conn,
    /// Types JS parses itself from text (the `types` option).
    text_oids: &'a [u32],
    types: Vec<Type>,
    fields: Vec<Field>,
    builders: Vec<ColumnBuilder>,
    /// Whether the rows' columns are known to be `types` and `fields` (checked on the first row,
    /// or sure from the start for a statement prepared on this connection).
    checked: bool,
    /// Rows gathered since the last `take`.
    rows: usize,
    /// Bytes of those rows' values and length words, as the server sent them.
    bytes: usize,
    error: Option<Error>,
}

impl<'a> Gather<'a> {
    /// Gathers rows of a statement described with `types` and `fields` on `conn`; `checked`
    /// when its rows surely have those columns.
    pub fn new(
        conn: &'a Conn,
        types: Vec<Type>,
        fields: Vec<Field>,
        text_oids: &'a [u32],
        checked: bool,
    ) -> Gather<'a> {
        let builders = builders(&types, text_oids);
        Gather {
            conn,
            text_oids,
            types,
            fields,
            builders,
            checked,
            rows: 0,
            bytes: 0,
            error: None,
        }
    }

    /// Adds a row. Returns whether it showed that the statement's description is out of date
    /// (its columns are not the described ones, and its own are used from now on): every
    /// connection of the pool then describes its statements again, and this one is poisoned
    /// should tokio-postgres have looked a type up outside a describe (`typeinfo`).
    pub fn push(&mut self, row: &Row) -> bool {
        if self.error.is_some() {
            return false;
        }
        let changed = !self.checked && !self.described(row);
        self.rows += 1;
        for (i, builder) in self.builders.iter_mut().enumerate() {
            let pushed = row
                .try_get::<_, Raw<'_>>(i)
                .map_err(Error::from)
                .and_then(|raw| {
                    self.bytes += 4 + raw.0.map_or(0, <[u8]>::len);
                    builder.push(raw.0)
                });
            if let Err(e) = pushed {
                self.error = Some(e);
                self.builders = Vec::new();
                break;
            }
        }
        changed
    }

    /// Compares the first row's columns with the described ones, and takes the row's if they
    /// differ.
    fn described(&mut self, row: &Row) -> bool {
        self.checked = true;
        let columns = row.columns();
        let same = columns.len() == self.types.len()
            && columns
                .iter()
                .zip(self.types.iter().zip(&self.fields))
                .all(|(c, (t, f))| c.type_().oid() == t.oid() && c.name() == f.name);
        if !same {
            let conn = self.conn;
            conn.descriptions_changed();
            if conn.with_types(|t| t.may_have_looked_up(columns.iter().map(|c| c.type_()))) {
                conn.poison();
            }
            self.types = columns.iter().map(|c| c.type_().clone()).collect();
            self.fields = columns.iter().map(Field::of).collect();
            self.builders = builders(&self.types, self.text_oids);
        }
        same
    }

    /// Bytes gathered since the last `take`, unless a value failed (then nothing more is).
    pub fn bytes(&self) -> Option<usize> {
        self.error.is_none().then_some(self.bytes)
    }

    /// The rows gathered so far, as a result without command or count (see `query::EarlyRows`);
    /// the gathering goes on from none.
    pub fn take(&mut self) -> ResultSet {
        let columns = std::mem::replace(&mut self.builders, builders(&self.types, self.text_oids));
        let rows = std::mem::take(&mut self.rows);
        self.bytes = 0;
        ResultSet {
            command: None,
            row_count: None,
            fields: self.fields.clone(),
            columns: columns.into_iter().map(ColumnBuilder::finish).collect(),
            rows,
        }
    }

    /// The rows gathered since the last `take`, as `take` gives them, or the first value's error.
    pub fn finish(mut self) -> Result<ResultSet> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(self.take()),
        }
    }
}

/// A builder per column of `types`.
fn builders(types: &[Type], text_oids: &[u32]) -> Vec<ColumnBuilder> {
    let user = |ty: &Type| text_oids.contains(&ty.oid());
    types
        .iter()
        .map(|ty| ColumnBuilder::new(ty, user(ty)))
        .collect()
}
