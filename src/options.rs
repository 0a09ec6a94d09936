//! The JS-facing shapes (`#[napi(object)]`) and their conversions to and from the core types.
//! napi types appear only here and in `manager.rs`.
use crate::config;
use crate::convert::Column;
use crate::error::Error;
use crate::params::Param;
use crate::result::{Field, ResultSet};
use napi::bindgen_prelude::{Buffer, Either, Float64Array, Uint32Array};
use napi_derive::napi;

/// Pool options as the JS facade passes them (already type-checked there).
#[napi(object)]
#[derive(Default)]
pub struct PoolOptions {
    /// See `index.d.ts`.
    pub connection_string: Option<String>,
    /// See `index.d.ts`.
    pub host: Option<String>,
    /// See `index.d.ts`.
    pub port: Option<f64>,
    /// See `index.d.ts`.
    pub database: Option<String>,
    /// See `index.d.ts`.
    pub user: Option<String>,
    /// See `index.d.ts`.
    pub password: Option<String>,
    /// See `index.d.ts`.
    pub max: Option<f64>,
    /// See `index.d.ts`.
    pub min: Option<f64>,
    /// See `index.d.ts`.
    pub application_name: Option<String>,
    /// See `index.d.ts`.
    pub connection_timeout_millis: Option<f64>,
    /// See `index.d.ts`.
    pub statement_timeout: Option<f64>,
    /// See `index.d.ts`.
    pub statement_cache: Option<bool>,
    /// See `index.d.ts`.
    pub max_prepared_statements: Option<f64>,
    /// See `index.d.ts`.
    pub leak_detection_threshold: Option<f64>,
    /// OIDs of types the facade parses itself from text (keys of the `types` option).
    pub text_oids: Option<Vec<u32>>,
}

impl From<&PoolOptions> for config::Options {
    fn from(o: &PoolOptions) -> Self {
        config::Options {
            connection_string: o.connection_string.clone(),
            host: o.host.clone(),
            port: o.port,
            database: o.database.clone(),
            user: o.user.clone(),
            password: o.password.clone(),
            max: o.max,
            min: o.min,
            application_name: o.application_name.clone(),
            connection_timeout_millis: o.connection_timeout_millis,
            statement_timeout: o.statement_timeout,
            statement_cache: o.statement_cache,
            max_prepared_statements: o.max_prepared_statements,
            leak_detection_threshold: o.leak_detection_threshold,
        }
    }
}

/// A query value as the facade prepared it: text, a Buffer, or null.
pub type JsValue = Option<Either<String, Buffer>>;

/// Converts prepared JS values into parameters.
pub fn params(values: Vec<JsValue>) -> Vec<Param> {
    values
        .into_iter()
        .map(|v| match v {
            None => Param::Null,
            Some(Either::A(text)) => Param::Text(text),
            Some(Either::B(bytes)) => Param::Binary(bytes.to_vec()),
        })
        .collect()
}

/// One entry of a result's `fields` (the facade adds `format` and node-postgres' names).
#[napi(object)]
pub struct JsField {
    /// Column name.
    pub name: String,
    /// OID of the source table, or 0.
    pub table_id: u32,
    /// Attribute number in the source table, or 0.
    pub column_id: i32,
    /// Type OID.
    pub data_type_id: u32,
    /// `typlen`.
    pub data_type_size: i32,
    /// `atttypmod`.
    pub data_type_modifier: i32,
}

impl From<Field> for JsField {
    fn from(f: Field) -> Self {
        JsField {
            name: f.name,
            table_id: f.table_id,
            column_id: f.column_id.into(),
            data_type_id: f.data_type_id,
            data_type_size: f.data_type_size.into(),
            data_type_modifier: f.data_type_modifier,
        }
    }
}

/// One column's values in bulk (see `convert::Column`).
#[napi(object)]
pub struct JsColumn {
    /// `convert::Kind` as a number.
    pub kind: u32,
    /// One byte per row, 1 for NULL; absent when no row is NULL.
    pub nulls: Option<Buffer>,
    /// Numeric values.
    pub numbers: Option<Float64Array>,
    /// Joined text.
    pub text: Option<String>,
    /// End offsets into `text` or `bytes`.
    pub ends: Option<Uint32Array>,
    /// Raw bytes.
    pub bytes: Option<Buffer>,
}

impl From<Column> for JsColumn {
    fn from(c: Column) -> Self {
        let kind = c.kind as u32;
        JsColumn {
            kind,
            nulls: (!c.nulls.is_empty()).then(|| c.nulls.into()),
            numbers: (!c.numbers.is_empty()).then(|| Float64Array::new(c.numbers)),
            text: (!c.text.is_empty()).then_some(c.text),
            ends: (!c.ends.is_empty()).then(|| Uint32Array::new(c.ends)),
            bytes: (!c.bytes.is_empty()).then(|| c.bytes.into()),
        }
    }
}

/// One statement's result.
#[napi(object)]
pub struct JsResult {
    /// Command word of the tag.
    pub command: Option<String>,
    /// Rows returned or affected.
    pub row_count: Option<f64>,
    /// Number of rows in `columns`.
    pub rows: u32,
    /// Field metadata.
    pub fields: Vec<JsField>,
    /// Values, column by column.
    pub columns: Vec<JsColumn>,
}

impl From<ResultSet> for JsResult {
    fn from(r: ResultSet) -> Self {
        JsResult {
            command: r.command,
            row_count: r.row_count.map(|n| n as f64),
            rows: r.rows as u32,
            fields: r.fields.into_iter().map(Into::into).collect(),
            columns: r.columns.into_iter().map(Into::into).collect(),
        }
    }
}

/// An error as data; the facade turns it into a `DatabaseError` with the caller's stack.
#[napi(object)]
#[derive(Default)]
pub struct JsError {
    /// SQLSTATE or a client code.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
    /// Server severity.
    pub severity: Option<String>,
    /// Server detail.
    pub detail: Option<String>,
    /// Server hint.
    pub hint: Option<String>,
    /// Error position in the query.
    pub position: Option<String>,
    /// Position in an internal query.
    pub internal_position: Option<String>,
    /// The internal query.
    pub internal_query: Option<String>,
    /// Context.
    pub r#where: Option<String>,
    /// Schema.
    pub schema: Option<String>,
    /// Table.
    pub table: Option<String>,
    /// Column.
    pub column: Option<String>,
    /// Data type.
    pub data_type: Option<String>,
    /// Constraint.
    pub constraint: Option<String>,
    /// Server source file.
    pub file: Option<String>,
    /// Server source line.
    pub line: Option<String>,
    /// Server routine.
    pub routine: Option<String>,
}

impl From<Error> for JsError {
    fn from(e: Error) -> Self {
        let code = e.code().to_owned();
        let message = e.to_string();
        match e {
            Error::Server(s) => {
                let s = *s;
                JsError {
                    code,
                    message,
                    severity: Some(s.severity),
                    detail: s.detail,
                    hint: s.hint,
                    position: s.position,
                    internal_position: s.internal_position,
                    internal_query: s.internal_query,
                    r#where: s.r#where,
                    schema: s.schema,
                    table: s.table,
                    column: s.column,
                    data_type: s.data_type,
                    constraint: s.constraint,
                    file: s.file,
                    line: s.line,
                    routine: s.routine,
                }
            }
            _ => JsError {
                code,
                message,
                ..Default::default()
            },
        }
    }
}

/// What an async call resolves to: results, or an error as data.
#[napi(object)]
pub struct JsOutcome {
    /// The results, when the call succeeded.
    pub results: Option<Vec<JsResult>>,
    /// The error, when it failed.
    pub error: Option<JsError>,
}

impl From<crate::error::Result<Vec<ResultSet>>> for JsOutcome {
    fn from(r: crate::error::Result<Vec<ResultSet>>) -> Self {
        match r {
            Ok(results) => JsOutcome {
                results: Some(results.into_iter().map(Into::into).collect()),
                error: None,
            },
            Err(e) => JsOutcome {
                results: None,
                error: Some(e.into()),
            },
        }
    }
}
