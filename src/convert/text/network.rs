//! inet, cidr, macaddr and macaddr8 text (`network.c`, `inet_net_ntop.c`, `mac.c`, `mac8.c`).
use super::reader::Reader;
use crate::error::Error;
use std::fmt::Write;

/// Address families of the binary form (`PGSQL_AF_INET`, `PGSQL_AF_INET6`).
const AF_INET: u8 = 2;
const AF_INET6: u8 = 3;

/// inet and cidr: family, netmask bits, is-cidr flag, address length, address. The address is
/// printed in full; inet adds `/bits` unless the mask covers the whole address, cidr always.
pub(super) fn inet(r: &mut Reader, cidr: bool, out: &mut String) -> Result<(), Error> {
    let family = r.u8()?;
    let bits = r.u8()?;
    let _is_cidr = r.u8()?;
    let len = usize::from(r.u8()?);
    let address = r.bytes(len)?;
    let max_bits = match (family, len) {
        (AF_INET, 4) => {
            let _ = write!(
                out,
                "{}.{}.{}.{}",
                address[0], address[1], address[2], address[3]
            );
            32
        }
        (AF_INET6, 16) => {
            push_ipv6(address, out);
            128
        }
        _ => return Err(r.malformed()),
    };
    if bits > max_bits {
        return Err(r.malformed());
    }
    if cidr || bits != max_bits {
        let _ = write!(out, "/{bits}");
    }
    Ok(())
}

/// An IPv6 address as PostgreSQL's `inet_net_ntop_ipv6` prints it: lowercase hex words, the
/// first longest run of two or more zero words as `::`, and the last 32 bits in dotted decimal
/// for IPv4-compatible (`::1.2.3.4`) and IPv4-mapped (`::ffff:1.2.3.4`) addresses.
fn push_ipv6(address: &[u8], out: &mut String) {
    let words: Vec<u16> = address
        .chunks(2)
        .map(|w| u16::from_be_bytes([w[0], w[1]]))
        .collect();
    // (start, length) of the first longest run of zero words.
    let mut best = (0, 0);
    let mut i = 0;
    while i < 8 {
        if words[i] == 0 {
            let start = i;
            while i < 8 && words[i] == 0 {
                i += 1;
            }
            if i - start > best.1 {
                best = (start, i - start);
            }
        } else {
            i += 1;
        }
    }
    let run = if best.1 >= 2 { Some(best) } else { None };
    let mut i = 0;
    while i < 8 {
        if let Some((start, len)) = run {
            if i == start {
                out.push(':');
                i += len;
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        let embeds_ipv4 = i == 6
            && match run {
                Some((0, 6)) => true,
                Some((0, 5)) => words[5] == 0xffff,
                _ => false,
            };
        if embeds_ipv4 {
            let _ = write!(
                out,
                "{}.{}.{}.{}",
                address[12], address[13], address[14], address[15]
            );
            return;
        }
        let _ = write!(out, "{:x}", words[i]);
        i += 1;
    }
    if let Some((start, len)) = run {
        if start + len == 8 {
            out.push(':');
        }
    }
}

/// macaddr: six bytes as `08:00:2b:01:02:03`.
pub(super) fn macaddr(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    push_mac(r.bytes(6)?, out);
    Ok(())
}

/// macaddr8: eight bytes as `08:00:2b:01:02:03:04:05`.
pub(super) fn macaddr8(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    push_mac(r.bytes(8)?, out);
    Ok(())
}

fn push_mac(bytes: &[u8], out: &mut String) {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::types::Type;

    fn net(cidr: bool, family: u8, bits: u8, address: &[u8]) -> String {
        let mut raw = vec![family, bits, u8::from(cidr), address.len() as u8];
        raw.extend_from_slice(address);
        let mut s = String::new();
        let mut r = Reader::new(&Type::INET, &raw);
        inet(&mut r, cidr, &mut s).unwrap();
        r.finish().unwrap();
        s
    }

    fn v6(words: [u16; 8]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn ipv4_masks() {
        assert_eq!(net(false, AF_INET, 32, &[10, 1, 2, 3]), "10.1.2.3");
        assert_eq!(net(false, AF_INET, 24, &[1, 2, 3, 4]), "1.2.3.4/24");
        assert_eq!(net(true, AF_INET, 32, &[10, 1, 2, 3]), "10.1.2.3/32");
        assert_eq!(net(true, AF_INET, 8, &[10, 0, 0, 0]), "10.0.0.0/8");
        assert_eq!(net(true, AF_INET, 0, &[0, 0, 0, 0]), "0.0.0.0/0");
    }

    #[test]
    fn ipv6_compression_and_embedded_ipv4() {
        assert_eq!(
            net(false, AF_INET6, 128, &v6([0, 0, 0, 0, 0, 0, 0, 1])),
            "::1"
        );
        assert_eq!(
            net(false, AF_INET6, 128, &v6([0, 0, 0, 0, 0, 0, 0, 2])),
            "::2"
        );
        assert_eq!(net(false, AF_INET6, 128, &v6([0; 8])), "::");
        assert_eq!(net(true, AF_INET6, 0, &v6([0; 8])), "::/0");
        let mapped = v6([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
        assert_eq!(net(false, AF_INET6, 128, &mapped), "::ffff:1.2.3.4");
        let compat = v6([0, 0, 0, 0, 0, 0, 0x0102, 0x0304]);
        assert_eq!(net(false, AF_INET6, 128, &compat), "::1.2.3.4");
        let doc = v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]);
        assert_eq!(net(true, AF_INET6, 32, &doc), "2001:db8::/32");
        let two_runs = v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]);
        assert_eq!(net(false, AF_INET6, 128, &two_runs), "2001:db8::1:0:0:1");
        let later_longer = v6([1, 0, 0, 2, 0, 0, 0, 3]);
        assert_eq!(net(false, AF_INET6, 128, &later_longer), "1:0:0:2::3");
        let single = v6([1, 0, 2, 3, 4, 5, 6, 7]);
        assert_eq!(net(false, AF_INET6, 128, &single), "1:0:2:3:4:5:6:7");
        let link = v6([0xfe80, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(net(false, AF_INET6, 64, &link), "fe80::1/64");
    }

    #[test]
    fn rejects_bad_families_and_masks() {
        let mut s = String::new();
        let bad = [9, 32, 0, 4, 1, 2, 3, 4];
        assert!(inet(&mut Reader::new(&Type::INET, &bad), false, &mut s).is_err());
        let wide = [AF_INET, 33, 0, 4, 1, 2, 3, 4];
        assert!(inet(&mut Reader::new(&Type::INET, &wide), false, &mut s).is_err());
    }

    #[test]
    fn mac_addresses() {
        let mut s = String::new();
        macaddr(
            &mut Reader::new(&Type::MACADDR, &[8, 0, 0x2b, 1, 2, 3]),
            &mut s,
        )
        .unwrap();
        assert_eq!(s, "08:00:2b:01:02:03");
        s.clear();
        let raw = [8, 0, 0x2b, 1, 2, 3, 4, 0xff];
        macaddr8(&mut Reader::new(&Type::MACADDR8, &raw), &mut s).unwrap();
        assert_eq!(s, "08:00:2b:01:02:03:04:ff");
    }
}
