//! The tokens of SQL text that matter for splitting it and naming its commands: words,
//! parameter placeholders, parentheses and semicolons, outside quotes and comments.

/// A lexical token that matters for splitting and naming: words and parentheses at their depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    Word(&'a str),
    /// A parameter placeholder, `$1`.
    Param(usize),
    Open,
    Close,
    Semicolon,
    Other,
}

/// Iterates over the tokens of `sql` with their byte offsets, skipping quoted text and comments.
pub struct Lexer<'a> {
    sql: &'a str,
    /// The byte offset the next token starts at or after.
    pub pos: usize,
}

impl<'a> Lexer<'a> {
    /// Lexes `sql` from its start.
    pub fn new(sql: &'a str) -> Self {
        Lexer { sql, pos: 0 }
    }

    /// Skips a quoted section that starts at `self.pos` with `quote`; `backslashes` for E'' strings.
    fn skip_quoted(&mut self, quote: u8, backslashes: bool) {
        let b = self.sql.as_bytes();
        self.pos += 1;
        while self.pos < b.len() {
            let c = b[self.pos];
            if backslashes && c == b'\\' {
                self.pos += 2;
                continue;
            }
            self.pos += 1;
            if c == quote {
                if self.pos < b.len() && b[self.pos] == quote {
                    self.pos += 1;
                } else {
                    return;
                }
            }
        }
    }

    /// Skips a `$tag$ … $tag$` string if one starts at `self.pos`; returns whether it did.
    fn skip_dollar(&mut self) -> bool {
        let rest = &self.sql[self.pos..];
        let body = &rest[1..];
        let tag_len = body
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        if !body[tag_len..].starts_with('$')
            || body[..tag_len].starts_with(|c: char| c.is_ascii_digit())
        {
            return false;
        }
        let delimiter = &rest[..tag_len + 2];
        match rest[delimiter.len()..].find(delimiter) {
            Some(end) => self.pos += delimiter.len() * 2 + end,
            None => self.pos = self.sql.len(),
        }
        true
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = (usize, Token<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.sql.as_bytes();
        while self.pos < b.len() {
            let start = self.pos;
            let c = b[start];
            match c {
                b if b.is_ascii_whitespace() => self.pos += 1,
                b'-' if b.get(start + 1) == Some(&b'-') => {
                    self.pos = self.sql[start..]
                        .find('\n')
                        .map_or(b.len(), |n| start + n + 1);
                }
                b'/' if b.get(start + 1) == Some(&b'*') => {
                    let mut depth = 0usize;
                    while self.pos < b.len() {
                        if b[self.pos..].starts_with(b"/*") {
                            depth += 1;
                            self.pos += 2;
                        } else if b[self.pos..].starts_with(b"*/") {
                            depth -= 1;
                            self.pos += 2;
                            if depth == 0 {
                                break;
                            }
                        } else {
                            self.pos += 1;
                        }
                    }
                }
                b'\'' => {
                    self.skip_quoted(b'\'', false);
                    return Some((start, Token::Other));
                }
                b'"' => {
                    self.skip_quoted(b'"', false);
                    return Some((start, Token::Other));
                }
                b'$' => {
                    let digits = b[start + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                    if digits > 0 {
                        self.pos = start + 1 + digits;
                        let n = self.sql[start + 1..self.pos].parse().unwrap_or(usize::MAX);
                        return Some((start, Token::Param(n)));
                    }
                    if !self.skip_dollar() {
                        self.pos += 1;
                    }
                    return Some((start, Token::Other));
                }
                b'(' => {
                    self.pos += 1;
                    return Some((start, Token::Open));
                }
                b')' => {
                    self.pos += 1;
                    return Some((start, Token::Close));
                }
                b';' => {
                    self.pos += 1;
                    return Some((start, Token::Semicolon));
                }
                c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                    let len = self.sql[start..]
                        .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '$'))
                        .unwrap_or(b.len() - start);
                    self.pos = start + len;
                    // E'…' (and e'…') strings take backslash escapes.
                    if len == 1 && (c == b'E' || c == b'e') && b.get(self.pos) == Some(&b'\'') {
                        self.skip_quoted(b'\'', true);
                        return Some((start, Token::Other));
                    }
                    return Some((start, Token::Word(&self.sql[start..start + len])));
                }
                _ => {
                    let len = self.sql[start..].chars().next().map_or(1, char::len_utf8);
                    self.pos += len;
                    return Some((start, Token::Other));
                }
            }
        }
        None
    }
}
