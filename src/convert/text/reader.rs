//! A cursor over one binary value: big-endian reads that fail with the type's "malformed" error
//! instead of panicking on short or corrupt input.
use crate::error::Error;
use tokio_postgres::types::Type;

/// Reads the fields of one binary value of type `ty` front to back.
pub(super) struct Reader<'a> {
    ty: &'a Type,
    raw: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(ty: &'a Type, raw: &'a [u8]) -> Self {
        Reader { ty, raw }
    }

    /// The error for a value that does not have the layout its type's send function writes.
    pub(super) fn malformed(&self) -> Error {
        super::malformed(self.ty)
    }

    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.raw.len() {
            return Err(self.malformed());
        }
        let (head, tail) = self.raw.split_at(n);
        self.raw = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let b = self.bytes(N)?;
        Ok(b.try_into().expect("bytes(N) returns N bytes"))
    }

    pub(super) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(super) fn i16(&mut self) -> Result<i16, Error> {
        self.array().map(i16::from_be_bytes)
    }

    pub(super) fn u16(&mut self) -> Result<u16, Error> {
        self.array().map(u16::from_be_bytes)
    }

    pub(super) fn i32(&mut self) -> Result<i32, Error> {
        self.array().map(i32::from_be_bytes)
    }

    pub(super) fn u32(&mut self) -> Result<u32, Error> {
        self.array().map(u32::from_be_bytes)
    }

    pub(super) fn i64(&mut self) -> Result<i64, Error> {
        self.array().map(i64::from_be_bytes)
    }

    pub(super) fn u64(&mut self) -> Result<u64, Error> {
        self.array().map(u64::from_be_bytes)
    }

    pub(super) fn f32(&mut self) -> Result<f32, Error> {
        self.array().map(f32::from_be_bytes)
    }

    pub(super) fn f64(&mut self) -> Result<f64, Error> {
        self.array().map(f64::from_be_bytes)
    }

    /// A count field (`int4`) that must not be negative.
    pub(super) fn count(&mut self) -> Result<usize, Error> {
        usize::try_from(self.i32()?).map_err(|_| self.malformed())
    }

    /// A NUL-terminated UTF-8 string (`pq_sendstring`).
    pub(super) fn cstr(&mut self) -> Result<&'a str, Error> {
        let end = self
            .raw
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| self.malformed())?;
        let s = std::str::from_utf8(&self.raw[..end]).map_err(|_| self.malformed())?;
        self.raw = &self.raw[end + 1..];
        Ok(s)
    }

    /// A length-prefixed value (an `int4` length, then that many bytes); a length of -1 is SQL
    /// NULL.
    pub(super) fn value(&mut self) -> Result<Option<&'a [u8]>, Error> {
        match self.i32()? {
            -1 => Ok(None),
            n => {
                let n = usize::try_from(n).map_err(|_| self.malformed())?;
                self.bytes(n).map(Some)
            }
        }
    }

    /// A length-prefixed UTF-8 text (as `value`).
    pub(super) fn text_value(&mut self) -> Result<Option<&'a str>, Error> {
        match self.value()? {
            None => Ok(None),
            Some(bytes) => std::str::from_utf8(bytes)
                .map(Some)
                .map_err(|_| self.malformed()),
        }
    }

    /// Everything not read yet.
    pub(super) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.raw)
    }

    /// Everything not read yet, as UTF-8 text.
    pub(super) fn rest_str(&mut self) -> Result<&'a str, Error> {
        std::str::from_utf8(self.rest()).map_err(|_| self.malformed())
    }

    /// Checks that the whole value was read: trailing bytes mean we misread its layout.
    pub(super) fn finish(self) -> Result<(), Error> {
        if self.raw.is_empty() {
            Ok(())
        } else {
            Err(self.malformed())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fail_instead_of_panicking() {
        let mut r = Reader::new(&Type::POINT, &[0, 1, 2]);
        assert_eq!(r.u16().unwrap(), 1);
        assert!(r.i16().is_err());
        let mut r = Reader::new(&Type::TSQUERY, b"ab\0c");
        assert_eq!(r.cstr().unwrap(), "ab");
        assert!(r.cstr().is_err());
        let r = Reader::new(&Type::POINT, &[0]);
        assert!(r.finish().is_err());
    }
}
