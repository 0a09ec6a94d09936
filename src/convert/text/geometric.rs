//! Geometric types' text (`geo_ops.c`); every coordinate prints with the float8 rules.
use super::float::push_float8;
use super::reader::Reader;
use crate::error::Error;

/// point: `(x,y)`.
pub(super) fn point(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    push_point(r, out)
}

/// line `Ax + By + C = 0`: `{A,B,C}`.
pub(super) fn line(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    out.push('{');
    push_floats(r, 3, out)?;
    out.push('}');
    Ok(())
}

/// lseg: `[(x1,y1),(x2,y2)]`.
pub(super) fn lseg(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    out.push('[');
    push_points(r, 2, out)?;
    out.push(']');
    Ok(())
}

/// box: its two corners as stored (upper right first), `(x1,y1),(x2,y2)`.
pub(super) fn boxed(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    push_points(r, 2, out)
}

/// path: a closed flag byte and a point count; `((…))` when closed, `[(…)]` when open.
pub(super) fn path(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let closed = r.u8()? != 0;
    let n = r.count()?;
    out.push(if closed { '(' } else { '[' });
    push_points(r, n, out)?;
    out.push(if closed { ')' } else { ']' });
    Ok(())
}

/// polygon: a point count, then the points: `((x1,y1),…)`.
pub(super) fn polygon(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let n = r.count()?;
    out.push('(');
    push_points(r, n, out)?;
    out.push(')');
    Ok(())
}

/// circle: center and radius, `<(x,y),r>`.
pub(super) fn circle(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    out.push('<');
    push_point(r, out)?;
    out.push(',');
    push_float8(r.f64()?, out);
    out.push('>');
    Ok(())
}

fn push_point(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    out.push('(');
    push_floats(r, 2, out)?;
    out.push(')');
    Ok(())
}

fn push_points(r: &mut Reader, n: usize, out: &mut String) -> Result<(), Error> {
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        push_point(r, out)?;
    }
    Ok(())
}

fn push_floats(r: &mut Reader, n: usize, out: &mut String) -> Result<(), Error> {
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        push_float8(r.f64()?, out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::types::Type;

    type Render = fn(&mut Reader, &mut String) -> Result<(), Error>;

    fn geo(f: Render, head: &[u8], coords: &[f64]) -> String {
        let mut raw = head.to_vec();
        for c in coords {
            raw.extend_from_slice(&c.to_be_bytes());
        }
        let mut s = String::new();
        let mut r = Reader::new(&Type::PATH, &raw);
        f(&mut r, &mut s).unwrap();
        r.finish().unwrap();
        s
    }

    #[test]
    fn shapes() {
        assert_eq!(geo(point, &[], &[1.0, 2.5]), "(1,2.5)");
        assert_eq!(geo(point, &[], &[f64::NAN, -0.0]), "(NaN,-0)");
        assert_eq!(geo(line, &[], &[1.0, 2.0, 3.0]), "{1,2,3}");
        assert_eq!(geo(lseg, &[], &[1.0, 2.0, 3.0, 4.0]), "[(1,2),(3,4)]");
        assert_eq!(geo(boxed, &[], &[3.0, 4.0, 1.0, 2.0]), "(3,4),(1,2)");
        assert_eq!(geo(circle, &[], &[1.0, 2.0, 1e20]), "<(1,2),1e+20>");
        let two = [0, 0, 0, 2];
        assert_eq!(geo(polygon, &two, &[1.0, 2.0, 3.0, 4.0]), "((1,2),(3,4))");
        let closed = [1, 0, 0, 0, 2];
        assert_eq!(geo(path, &closed, &[1.0, 2.0, 3.0, 4.0]), "((1,2),(3,4))");
        let open = [0, 0, 0, 0, 2];
        assert_eq!(geo(path, &open, &[1.0, 2.0, 3.0, 4.0]), "[(1,2),(3,4)]");
    }

    #[test]
    fn short_input_is_an_error() {
        let mut s = String::new();
        let raw = [0, 0, 0, 0, 5, 0, 0];
        assert!(path(&mut Reader::new(&Type::PATH, &raw), &mut s).is_err());
    }
}
