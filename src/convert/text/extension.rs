//! Text output of common extension types. An extension type has no fixed OID, so it is known by
//! its name; these are the ones whose binary form is stable and documented in their send function.
use super::reader::Reader;
use crate::error::Error;
use tokio_postgres::types::Type;

/// Renders `ty` if it is an extension type we know; `None` otherwise.
pub fn render(ty: &Type, r: &mut Reader, out: &mut String) -> Option<Result<(), Error>> {
    match ty.name() {
        // citext_send sends the text itself.
        "citext" => Some(r.rest_str().map(|s| out.push_str(s))),
        "hstore" => Some(hstore(r, out)),
        _ => None,
    }
}

/// hstore_send: an i32 pair count, then each key and value as an i32 length (-1 for a NULL
/// value) and its bytes. hstore_out prints `"k"=>"v", "k2"=>NULL` with `"` and `\` escaped.
fn hstore(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let pairs = r.count()?;
    for i in 0..pairs {
        if i > 0 {
            out.push_str(", ");
        }
        let key = r.text_value()?.ok_or_else(|| r.malformed())?;
        quoted(key, out);
        out.push_str("=>");
        match r.text_value()? {
            None => out.push_str("NULL"),
            Some(value) => quoted(value, out),
        }
    }
    Ok(())
}

fn quoted(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hstore_text(raw: &[u8]) -> String {
        let ty = Type::new(
            "hstore".into(),
            99_999,
            tokio_postgres::types::Kind::Simple,
            "public".into(),
        );
        let mut r = Reader::new(&ty, raw);
        let mut out = String::new();
        render(&ty, &mut r, &mut out).unwrap().unwrap();
        r.finish().unwrap();
        out
    }

    #[test]
    fn hstore_pairs_are_quoted_and_escaped() {
        let mut raw = 2i32.to_be_bytes().to_vec();
        for (k, v) in [("a", Some("1")), ("b\"", None)] {
            raw.extend((k.len() as i32).to_be_bytes());
            raw.extend(k.as_bytes());
            match v {
                Some(v) => {
                    raw.extend((v.len() as i32).to_be_bytes());
                    raw.extend(v.as_bytes());
                }
                None => raw.extend((-1i32).to_be_bytes()),
            }
        }
        assert_eq!(hstore_text(&raw), r#""a"=>"1", "b\""=>NULL"#);
        assert_eq!(hstore_text(&0i32.to_be_bytes()), "");
    }
}
