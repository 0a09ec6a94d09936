//! libpq's TLS parameters taken out of a connection string, which tokio-postgres would refuse.

/// Takes the parameters named in `names` (the TLS ones of [`super::URL_PARAMETERS`], and others
/// tokio-postgres does not know) out of a connection string, in either form, and returns the
/// rest with them. Values are percent-decoded (URL) or unquoted (key=value).
pub(in crate::config) fn take_url_parameters(
    text: &str,
    names: &[&str],
) -> (String, Vec<(String, String)>) {
    let mut taken = Vec::new();
    if text.contains("://") {
        let Some((head, query)) = text.split_once('?') else {
            return (text.to_owned(), taken);
        };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if names.contains(&key) {
                taken.push((key.to_owned(), percent_decode(value)));
            } else {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() {
            head.to_owned()
        } else {
            format!("{head}?{}", kept.join("&"))
        };
        return (rest, taken);
    }
    // key=value pairs: a value is a run of non-space characters or a quoted string with
    // backslash escapes, as libpq parses them.
    let mut rest = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            rest.push(c);
            chars.next();
            continue;
        }
        let mut key = String::new();
        while let Some(&(_, c)) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek().is_some_and(|(_, c)| *c == '=') {
            chars.next();
            while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek().is_some_and(|(_, c)| *c == '\'') {
                chars.next();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, c)| c)),
                        '\'' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    if c == '\\' {
                        chars.next();
                        value.extend(chars.next().map(|(_, c)| c));
                    } else {
                        value.push(c);
                        chars.next();
                    }
                }
            }
        }
        let end = chars.peek().map_or(text.len(), |&(i, _)| i);
        if names.contains(&key.as_str()) {
            taken.push((key, value));
        } else {
            rest.push_str(&text[start..end]);
        }
    }
    (rest, taken)
}

/// `%XX` sequences decoded; anything else kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
