//! Query parameters, sent the way node-postgres sends them: every value as text that the server
//! parses with the parameter type it inferred, a `Buffer` as raw binary bytes, `null` as NULL.
//! One type serves every server type, user enums and domains included.
use bytes::BytesMut;
use std::error::Error as StdError;
use tokio_postgres::types::{Format, IsNull, ToSql, Type};

/// The most parameters one statement can have: the protocol counts them in an `Int16`.
pub const MAX_PARAMETERS: usize = 65_535;

/// One query parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// SQL NULL (`null` or `undefined` in JS).
    Null,
    /// A value in PostgreSQL's text form; the server parses it as the inferred type.
    Text(String),
    /// Raw bytes in the binary form of the inferred type (`bytea`: the bytes themselves).
    Binary(Vec<u8>),
}

impl ToSql for Param {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Param::Null => return Ok(IsNull::Yes),
            Param::Text(s) => out.extend_from_slice(s.as_bytes()),
            Param::Binary(b) => out.extend_from_slice(b),
        }
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        match self {
            Param::Binary(_) => Format::Binary,
            Param::Null | Param::Text(_) => Format::Text,
        }
    }

    tokio_postgres::types::to_sql_checked!();
}

/// Checks what can be checked before a round trip: the number of parameters.
pub fn check_count(params: &[Param]) -> crate::error::Result<()> {
    if params.len() > MAX_PARAMETERS {
        return Err(crate::error::Error::argument(format!(
            "a query can have at most {MAX_PARAMETERS} values (got {}): split the statement, or \
             pass the values as one array parameter (for example `= ANY($1)` or `unnest($1)`)",
            params.len()
        )));
    }
    Ok(())
}

/// Checks that `params` holds one value for each of a statement's `expected` parameters.
pub fn check_given(expected: usize, params: &[Param]) -> crate::error::Result<()> {
    if params.len() != expected {
        return Err(crate::error::Error::argument(format!(
            "the query has {expected} parameter{} but {} value{} given: pass one value for each \
             $n placeholder",
            if expected == 1 { "" } else { "s" },
            params.len(),
            if params.len() == 1 { " was" } else { "s were" },
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_are_sent_as_text_and_buffers_as_binary() {
        assert!(matches!(
            Param::Text("1".into()).encode_format(&Type::INT4),
            Format::Text
        ));
        assert!(matches!(
            Param::Binary(vec![1]).encode_format(&Type::BYTEA),
            Format::Binary
        ));
        let mut out = BytesMut::new();
        assert!(matches!(
            Param::Null.to_sql(&Type::TEXT, &mut out),
            Ok(IsNull::Yes)
        ));
        Param::Text("héllo".into())
            .to_sql(&Type::TEXT, &mut out)
            .unwrap();
        assert_eq!(&out[..], "héllo".as_bytes());
    }

    #[test]
    fn too_many_parameters_is_an_argument_error() {
        let many = vec![Param::Null; MAX_PARAMETERS + 1];
        let err = check_count(&many).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert!(err.to_string().contains("65535"));
        assert!(check_count(&many[..MAX_PARAMETERS]).is_ok());
    }
}
