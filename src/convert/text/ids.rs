//! System identifiers: tid, xid, cid, xid8, pg_lsn, the reg* OID aliases and snapshots.
use super::reader::Reader;
use crate::error::Error;
use std::fmt::Write;

/// tid: block number and line pointer, `(0,1)`.
pub(super) fn tid(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let block = r.u32()?;
    let offset = r.u16()?;
    let _ = write!(out, "({block},{offset})");
    Ok(())
}

/// xid, cid: an unsigned 32-bit counter.
pub(super) fn u32_text(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let _ = write!(out, "{}", r.u32()?);
    Ok(())
}

/// xid8: an unsigned 64-bit transaction id.
pub(super) fn u64_text(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let _ = write!(out, "{}", r.u64()?);
    Ok(())
}

/// pg_lsn: the high and low 32 bits in uppercase hex, `16/B374D848`.
pub(super) fn pg_lsn(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let lsn = r.u64()?;
    let _ = write!(out, "{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff);
    Ok(())
}

/// txid_snapshot and pg_snapshot: a count of in-progress ids, xmin, xmax and the ids, printed
/// as `xmin:xmax:id,id`.
pub(super) fn snapshot(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let n = r.count()?;
    let _ = write!(out, "{}:{}:", r.u64()?, r.u64()?);
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}", r.u64()?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::types::Type;

    fn text(f: impl Fn(&mut Reader, &mut String) -> Result<(), Error>, raw: &[u8]) -> String {
        let mut s = String::new();
        let mut r = Reader::new(&Type::TID, raw);
        f(&mut r, &mut s).unwrap();
        r.finish().unwrap();
        s
    }

    #[test]
    fn identifiers() {
        assert_eq!(text(tid, &[0, 0, 0, 0, 0, 1]), "(0,1)");
        assert_eq!(
            text(tid, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            "(4294967295,65535)"
        );
        assert_eq!(text(u32_text, &u32::MAX.to_be_bytes()), "4294967295");
        assert_eq!(
            text(u64_text, &u64::MAX.to_be_bytes()),
            "18446744073709551615"
        );
        assert_eq!(
            text(pg_lsn, &0x16_B374_D848u64.to_be_bytes()),
            "16/B374D848"
        );
        assert_eq!(text(pg_lsn, &0u64.to_be_bytes()), "0/0");
    }

    #[test]
    fn snapshots() {
        let mut raw = 2i32.to_be_bytes().to_vec();
        for v in [10u64, 20, 10, 14] {
            raw.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(text(snapshot, &raw), "10:20:10,14");
        let mut empty = 0i32.to_be_bytes().to_vec();
        empty.extend_from_slice(&744u64.to_be_bytes());
        empty.extend_from_slice(&744u64.to_be_bytes());
        assert_eq!(text(snapshot, &empty), "744:744:");
    }
}
