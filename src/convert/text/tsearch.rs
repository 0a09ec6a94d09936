//! tsvector and tsquery text (`tsvector.c`: tsvectorout, `tsquery.c`: tsqueryout).
use super::reader::Reader;
use crate::error::Error;
use std::fmt::Write;

/// tsvector: a lexeme count, then per lexeme its NUL-terminated text, a position count and the
/// positions (low 14 bits the position, high 2 bits the weight). Printed as `'a':1A,2 'b'`.
pub(super) fn tsvector(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let n = r.count()?;
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        push_lexeme(r.cstr()?, out);
        let positions = r.u16()?;
        for j in 0..positions {
            out.push(if j == 0 { ':' } else { ',' });
            let pos = r.u16()?;
            let _ = write!(out, "{}", pos & 0x3fff);
            match pos >> 14 {
                3 => out.push('A'),
                2 => out.push('B'),
                1 => out.push('C'),
                _ => {}
            }
        }
    }
    Ok(())
}

/// A lexeme in single quotes, with `'` and `\` doubled.
fn push_lexeme(lexeme: &str, out: &mut String) {
    out.push('\'');
    for c in lexeme.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

/// Item kinds and operators of the binary tsquery (`ts_type.h`: QI_VAL, QI_OPR, OP_*).
const QI_VAL: u8 = 1;
const QI_OPR: u8 = 2;
const OP_NOT: u8 = 1;
const OP_AND: u8 = 2;
const OP_OR: u8 = 3;
const OP_PHRASE: u8 = 4;

/// One binary tsquery item as sent.
enum Parsed<'a> {
    Operand {
        weight: u8,
        prefix: bool,
        text: &'a str,
    },
    Operator {
        op: u8,
        distance: i16,
    },
}

/// An item linked to its operands (indexes into the item list).
enum Item<'a> {
    Operand {
        weight: u8,
        prefix: bool,
        text: &'a str,
    },
    Not {
        operand: usize,
    },
    Binary {
        op: u8,
        distance: i16,
        left: usize,
        right: usize,
    },
}

/// Binding strength of an operator (`tsearch_op_priority`): NOT > PHRASE > AND > OR.
fn priority(op: u8) -> i32 {
    match op {
        OP_NOT => 4,
        OP_PHRASE => 3,
        OP_AND => 2,
        _ => 1,
    }
}

/// tsquery: an item count, then the items in prefix order, each binary operator followed by
/// its right operand and then its left. Printed as PostgreSQL's `infix` prints it: operands
/// quoted with `:*` and weights, `( … )` around an operand that binds looser than its operator
/// and around a phrase on the right of a phrase. Rendered without recursion, so a deeply nested
/// query cannot overflow the stack.
pub(super) fn tsquery(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let n = r.count()?;
    if n == 0 {
        return Ok(());
    }
    let mut parsed = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        parsed.push(match r.u8()? {
            QI_VAL => {
                let weight = r.u8()?;
                let prefix = r.u8()? != 0;
                Parsed::Operand {
                    weight,
                    prefix,
                    text: r.cstr()?,
                }
            }
            QI_OPR => match r.u8()? {
                OP_PHRASE => Parsed::Operator {
                    op: OP_PHRASE,
                    distance: r.i16()?,
                },
                op @ (OP_NOT | OP_AND | OP_OR) => Parsed::Operator { op, distance: 0 },
                _ => return Err(r.malformed()),
            },
            _ => return Err(r.malformed()),
        });
    }
    // Link each operator to its operands: scanning backwards, the subtrees after an operator
    // are on the stack, its right operand (which comes first) on top.
    let mut items = Vec::with_capacity(parsed.len());
    let mut stack = Vec::new();
    for (i, p) in parsed.into_iter().enumerate().rev() {
        let mut pop = || stack.pop().ok_or_else(|| r.malformed());
        items.push(match p {
            Parsed::Operand {
                weight,
                prefix,
                text,
            } => Item::Operand {
                weight,
                prefix,
                text,
            },
            Parsed::Operator { op: OP_NOT, .. } => Item::Not { operand: pop()? },
            Parsed::Operator { op, distance } => {
                let right = pop()?;
                let left = pop()?;
                Item::Binary {
                    op,
                    distance,
                    left,
                    right,
                }
            }
        });
        stack.push(i);
    }
    if stack.len() != 1 {
        return Err(r.malformed());
    }
    items.reverse();

    enum Task {
        Node {
            index: usize,
            parent: i32,
            right_of_phrase: bool,
        },
        Text(&'static str),
        Operator {
            op: u8,
            distance: i16,
        },
    }
    let mut tasks = vec![Task::Node {
        index: 0,
        parent: -1,
        right_of_phrase: false,
    }];
    while let Some(task) = tasks.pop() {
        match task {
            Task::Text(s) => out.push_str(s),
            Task::Operator { op, distance } => match op {
                OP_AND => out.push_str(" & "),
                OP_OR => out.push_str(" | "),
                _ if distance == 1 => out.push_str(" <-> "),
                _ => {
                    let _ = write!(out, " <{distance}> ");
                }
            },
            Task::Node {
                index,
                parent,
                right_of_phrase,
            } => match items[index] {
                Item::Operand {
                    weight,
                    prefix,
                    text,
                } => {
                    push_lexeme(text, out);
                    if weight != 0 || prefix {
                        out.push(':');
                        if prefix {
                            out.push('*');
                        }
                        for (bit, name) in [(8, 'A'), (4, 'B'), (2, 'C'), (1, 'D')] {
                            if weight & bit != 0 {
                                out.push(name);
                            }
                        }
                    }
                }
                Item::Not { operand } => {
                    let own = priority(OP_NOT);
                    let parens = own < parent;
                    if parens {
                        out.push_str("( ");
                        tasks.push(Task::Text(" )"));
                    }
                    out.push('!');
                    tasks.push(Task::Node {
                        index: operand,
                        parent: own,
                        right_of_phrase: false,
                    });
                }
                Item::Binary {
                    op,
                    distance,
                    left,
                    right,
                } => {
                    let own = priority(op);
                    if own < parent || (op == OP_PHRASE && right_of_phrase) {
                        out.push_str("( ");
                        tasks.push(Task::Text(" )"));
                    }
                    let phrase = op == OP_PHRASE;
                    tasks.push(Task::Node {
                        index: right,
                        parent: own,
                        right_of_phrase: phrase,
                    });
                    tasks.push(Task::Operator { op, distance });
                    tasks.push(Task::Node {
                        index: left,
                        parent: own,
                        right_of_phrase: false,
                    });
                }
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::types::Type;

    fn vector(entries: &[(&str, &[u16])]) -> String {
        let mut raw = (entries.len() as i32).to_be_bytes().to_vec();
        for (lexeme, positions) in entries {
            raw.extend_from_slice(lexeme.as_bytes());
            raw.push(0);
            raw.extend_from_slice(&(positions.len() as u16).to_be_bytes());
            for p in *positions {
                raw.extend_from_slice(&p.to_be_bytes());
            }
        }
        let mut s = String::new();
        let mut r = Reader::new(&Type::TS_VECTOR, &raw);
        tsvector(&mut r, &mut s).unwrap();
        r.finish().unwrap();
        s
    }

    #[test]
    fn tsvector_positions_weights_and_quotes() {
        let a: &[u16] = &[1 | 3 << 14, 2];
        let cd: &[u16] = &[3 | 2 << 14];
        let x: &[u16] = &[4 | 1 << 14];
        assert_eq!(
            vector(&[("a", a), ("b", &[]), ("c'd", cd), ("c\\x", x)]),
            r"'a':1A,2 'b' 'c''d':3B 'c\\x':4C"
        );
        assert_eq!(vector(&[]), "");
    }

    enum Q<'a> {
        V(&'a str, u8, bool),
        Op(u8),
        Phrase(i16),
    }

    fn query(items: &[Q]) -> String {
        let mut raw = (items.len() as i32).to_be_bytes().to_vec();
        for item in items {
            match item {
                Q::V(text, weight, prefix) => {
                    raw.extend_from_slice(&[QI_VAL, *weight, u8::from(*prefix)]);
                    raw.extend_from_slice(text.as_bytes());
                    raw.push(0);
                }
                Q::Op(op) => raw.extend_from_slice(&[QI_OPR, *op]),
                Q::Phrase(d) => {
                    raw.extend_from_slice(&[QI_OPR, OP_PHRASE]);
                    raw.extend_from_slice(&d.to_be_bytes());
                }
            }
        }
        let mut s = String::new();
        let mut r = Reader::new(&Type::TSQUERY, &raw);
        tsquery(&mut r, &mut s).unwrap();
        r.finish().unwrap();
        s
    }

    fn v(text: &str) -> Q<'_> {
        Q::V(text, 0, false)
    }

    #[test]
    fn tsquery_operators_and_parentheses() {
        use Q::*;
        // Prefix order: operator, right operand, left operand.
        // !a & (b | c) <-> d:*AB
        let q = [
            Op(OP_AND),
            Phrase(1),
            V("d", 12, true),
            Op(OP_OR),
            v("c"),
            v("b"),
            Op(OP_NOT),
            v("a"),
        ];
        assert_eq!(query(&q), "!'a' & ( 'b' | 'c' ) <-> 'd':*AB");
        // a <-> (b <-> c) keeps its parentheses; (a <-> b) <-> c needs none.
        let right = [Phrase(1), Phrase(1), v("c"), v("b"), v("a")];
        assert_eq!(query(&right), "'a' <-> ( 'b' <-> 'c' )");
        let left = [Phrase(1), v("c"), Phrase(1), v("b"), v("a")];
        assert_eq!(query(&left), "'a' <-> 'b' <-> 'c'");
        assert_eq!(query(&[Phrase(2), v("b"), v("a")]), "'a' <2> 'b'");
        assert_eq!(
            query(&[Op(OP_NOT), Op(OP_AND), v("b"), v("a")]),
            "!( 'a' & 'b' )"
        );
        assert_eq!(query(&[Op(OP_NOT), Op(OP_NOT), v("a")]), "!!'a'");
        let or_and = [Op(OP_OR), Op(OP_AND), v("c"), v("b"), v("a")];
        assert_eq!(query(&or_and), "'a' | 'b' & 'c'");
        let and_or = [Op(OP_AND), v("c"), Op(OP_OR), v("b"), v("a")];
        assert_eq!(query(&and_or), "( 'a' | 'b' ) & 'c'");
        assert_eq!(query(&[Q::V("a", 0, true)]), "'a':*");
        assert_eq!(query(&[Q::V("it's", 1, false)]), "'it''s':D");
        assert_eq!(query(&[]), "");
    }

    #[test]
    fn deep_queries_do_not_recurse() {
        let mut items = Vec::new();
        for _ in 0..100_000 {
            items.push(Q::Op(OP_AND));
            items.push(v("b"));
        }
        items.push(v("a"));
        let s = query(&items);
        assert!(s.starts_with("'a' & 'b' & 'b'"));
    }

    #[test]
    fn malformed_trees_are_errors() {
        let raw = [0, 0, 0, 1, QI_OPR, OP_AND];
        assert!(tsquery(&mut Reader::new(&Type::TSQUERY, &raw), &mut String::new()).is_err());
        let two_roots = [0, 0, 0, 2, QI_VAL, 0, 0, b'a', 0, QI_VAL, 0, 0, b'b', 0];
        assert!(tsquery(
            &mut Reader::new(&Type::TSQUERY, &two_roots),
            &mut String::new()
        )
        .is_err());
    }
}
