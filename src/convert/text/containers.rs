//! Text output of container types from their binary form: arrays (any dimension, with lower
//! bounds), ranges, multiranges, and records (composite types and anonymous `record`).
use crate::error::Error;
use tokio_postgres::types::Type;

/// Renders a binary array whose elements are of type `element`.
pub fn array(element: &Type, raw: &[u8], out: &mut String) -> Result<(), Error> {
    let _ = (element, raw, out);
    Err(Error::Decode(
        "array text output is not implemented yet".into(),
    ))
}

/// Renders a binary range over `element`.
pub fn range(element: &Type, raw: &[u8], out: &mut String) -> Result<(), Error> {
    let _ = (element, raw, out);
    Err(Error::Decode(
        "range text output is not implemented yet".into(),
    ))
}

/// Renders a binary multirange whose members are of the range type `range`.
pub fn multirange(range: &Type, raw: &[u8], out: &mut String) -> Result<(), Error> {
    let _ = (range, raw, out);
    Err(Error::Decode(
        "multirange text output is not implemented yet".into(),
    ))
}

/// Renders a binary record; `fields` gives the declared field types of a composite type (empty
/// for an anonymous record, whose binary form names each field's type OID).
pub fn record(fields: &[Type], raw: &[u8], out: &mut String) -> Result<(), Error> {
    let _ = (fields, raw, out);
    Err(Error::Decode(
        "record text output is not implemented yet".into(),
    ))
}
