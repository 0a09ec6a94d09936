//! Unit tests of the column builders: every kind, nulls, text columns and the size limits.
use super::*;

#[test]
fn numbers_and_nulls() {
    let mut b = ColumnBuilder::new(&Type::INT4, false);
    b.push(Some(&7i32.to_be_bytes())).unwrap();
    b.push(None).unwrap();
    b.push(Some(&(-1i32).to_be_bytes())).unwrap();
    let c = b.finish();
    assert_eq!(c.kind, Kind::Number);
    assert_eq!(c.numbers, [7.0, 0.0, -1.0]);
    assert_eq!(c.nulls, [0, 1, 0]);
}

#[test]
fn float4_is_the_double_nearest_its_shortest_text() {
    let v = number(&Type::FLOAT4, &1.1f32.to_be_bytes()).unwrap();
    assert_eq!(v, 1.1f64);
    assert!(number(&Type::FLOAT4, &f32::NAN.to_be_bytes())
        .unwrap()
        .is_nan());
}

#[test]
fn text_offsets_count_utf16_units() {
    let mut b = ColumnBuilder::new(&Type::TEXT, false);
    b.push(Some("a😀".as_bytes())).unwrap();
    b.push(Some(b"")).unwrap();
    b.push(Some("é".as_bytes())).unwrap();
    let c = b.finish();
    assert_eq!(
        c.parts,
        [Part {
            text: "a😀é".into(),
            rows: 3
        }]
    );
    assert_eq!(c.ends, [3, 3, 4]);
    assert!(c.nulls.is_empty());
}

#[test]
fn json_columns_are_one_array_literal() {
    let mut b = ColumnBuilder::new(&Type::JSONB, false);
    b.push(Some(b"\x01{\"a\": 1}")).unwrap();
    b.push(None).unwrap();
    b.push(Some(b"\x01null")).unwrap();
    let c = b.finish();
    assert_eq!(
        c.parts,
        [Part {
            text: "[{\"a\": 1},null,null]".into(),
            rows: 3
        }]
    );
    assert_eq!(c.nulls, [0, 1, 0]);
}

#[test]
fn long_text_columns_come_in_parts_that_end_between_values() {
    let big = "é".repeat(PART_BYTES / 4); // half a part in bytes
    let mut b = ColumnBuilder::new(&Type::TEXT, false);
    for value in [
        Some(big.as_bytes()),
        Some(b"ab"),
        None,
        Some(big.as_bytes()),
        Some(b"z"),
    ] {
        b.push(value).unwrap();
    }
    let c = b.finish();
    let texts: Vec<_> = c.parts.iter().map(|p| (p.text.len(), p.rows)).collect();
    let half = big.len();
    assert_eq!(texts, [(half + 2, 3), (half + 1, 2)]);
    assert!(c.parts[1].text.starts_with('é'), "a value is never split");
    // Offsets start again in each part; é is one UTF-16 unit.
    let units = PART_BYTES as u32 / 4;
    assert_eq!(c.ends, [units, units + 2, units + 2, units, units + 1]);
    assert_eq!(c.nulls, [0, 0, 1, 0, 0]);
}

#[test]
fn long_json_columns_come_in_parts_that_are_each_an_array() {
    let big = format!("\x01\"{}\"", "x".repeat(PART_BYTES / 2));
    let mut b = ColumnBuilder::new(&Type::JSONB, false);
    for value in [
        Some(big.as_bytes()),
        Some(b"\x011"),
        Some(big.as_bytes()),
        None,
    ] {
        b.push(value).unwrap();
    }
    let c = b.finish();
    let rows: Vec<_> = c.parts.iter().map(|p| p.rows).collect();
    assert_eq!(rows, [2, 2]);
    assert!(c
        .parts
        .iter()
        .all(|p| p.text.starts_with("[\"") && p.text.len() <= PART_BYTES));
    assert!(c.parts[0].text.ends_with("\",1]"));
    assert!(c.parts[1].text.ends_with("\",null]"));
}

#[test]
fn a_value_longer_than_a_js_string_is_refused() {
    let huge = vec![b'x'; MAX_STRING_UNITS + 1];
    let mut b = ColumnBuilder::new(&Type::TEXT, false);
    b.push(Some(b"fine")).unwrap();
    let e = b.push(Some(&huge)).unwrap_err();
    assert_eq!(e.code(), "RESULT_TOO_LARGE");
    assert!(e.to_string().contains("536870889 bytes"), "{e}");
    let mut json = vec![1u8, b'"'];
    json.resize(MAX_STRING_UNITS, b'x');
    json.push(b'"');
    let e = ColumnBuilder::new(&Type::JSONB, false)
        .push(Some(&json))
        .unwrap_err();
    assert_eq!(e.code(), "RESULT_TOO_LARGE");
}

#[test]
fn user_parsers_force_text() {
    assert_eq!(kind_of(&Type::INT4, true), Kind::Parse);
    assert_eq!(kind_of(&Type::INT8, false), Kind::Text);
    assert_eq!(kind_of(&Type::DATE, false), Kind::Parse);
    assert_eq!(kind_of(&Type::NUMERIC, false), Kind::Text);
}
