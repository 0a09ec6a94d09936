//! Describing statements on a connection behind PgBouncer in transaction mode (`pgbouncer`).
//!
//! There a query runs as the unnamed statement (Parse, Bind, Describe, Execute and Sync in one
//! message), which lives and dies on whichever server connection PgBouncer gives it. What that
//! run does not tell is the shape of the result (the columns of an empty one, each column's type
//! as tokio-postgres knows it), so each SQL text is described once per connection, here: prepared
//! by name and closed again inside a transaction block, during which PgBouncer keeps one server
//! connection for this client, so that the statement, and the type lookups tokio-postgres makes
//! for it (see `typeinfo`), never meet another server connection:
//!
//! - outside a transaction block, one of its own: `BEGIN` and a savepoint go out with the
//!   statement's Parse in one write, the statement is closed, and `ROLLBACK` ends the block;
//! - inside the caller's block, which PgBouncer holds for its length anyway, the statement is
//!   prepared and closed there, under a savepoint only when one is needed (to clean up after a
//!   failure, or to find out whether there is a block at all);
//! - in either, the lookup statements tokio-postgres keeps are prepared again first under their
//!   names, and every statement prepared meanwhile is deallocated before the block ends.
//!
//! When something other than the statement itself fails half way, the connection is poisoned: it
//! refuses every later query and is closed, not rolled back, when it comes back, and PgBouncer
//! then closes the server connection, and with it whatever was left prepared there.
use crate::connection::Conn;
use crate::error::{Error, Result};
use crate::statements::Shape;
use crate::typeinfo;
use futures_util::future::{join, maybe_done};
use futures_util::poll;
use std::pin::pin;
use tokio_postgres::types::Type;
use tokio_postgres::{SimpleQueryMessage, Statement};

/// Where the connection stands with respect to a transaction block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// Surely outside one.
    Outside,
    /// Surely inside one (perhaps aborted).
    Inside,
    /// Not known: a savepoint tells.
    Unknown,
}

/// The savepoint a describe sets inside a block.
const SAVEPOINT: &str = "pg_rust_pool_describe";

/// SQLSTATE of a savepoint outside a transaction block.
const NO_BLOCK: &str = "25P01";
/// SQLSTATE of a statement in an aborted transaction block.
const ABORTED: &str = "25P02";
/// SQLSTATE of a statement name already in use on the server connection.
const NAME_TAKEN: &str = "42P05";
/// How many more names a describe tries when one is taken: a client that leaks named statements
/// through PgBouncer leaves a run of them, and each process using tokio-postgres counts from `s0`.
const RENAMES: usize = 3;

fn code(e: &tokio_postgres::Error) -> Option<&str> {
    e.code().map(|c| c.code())
}

/// Describes each of `texts` on `conn`, where the connection stands as `block` says: the shape
/// of each, or the error preparing it gave. With `keep_block`, a text that fails inside the
/// caller's block does not abort it (a string of statements that already ran is being
/// described); without, it aborts it as running the statement would. `Err` when the describe
/// itself could not be done (the connection is then poisoned, or broken).
pub async fn describe(
    conn: &Conn,
    texts: &[&str],
    block: Block,
    keep_block: bool,
) -> Result<Vec<Result<Shape>>> {
    let Some((first, rest)) = texts.split_first() else {
        return Ok(Vec::new());
    };
    let client = conn.client();
    let (inside, probed) = match block {
        Block::Outside => (false, false),
        Block::Inside => (true, false),
        Block::Unknown => match client
            .batch_execute(&format!("SAVEPOINT {SAVEPOINT}"))
            .await
        {
            Ok(()) => (true, true),
            Err(e) if code(&e) == Some(NO_BLOCK) => (false, false),
            Err(e) if code(&e) == Some(ABORTED) => (true, false),
            Err(e) => return Err(e.into()),
        },
    };
    let (kept, any_kept) = conn.with_types(|t| (t.prepare(), !t.is_empty()));
    // A savepoint lets the block go on after a text fails, so that what was prepared can still be
    // deallocated; without kept statements, one text in the caller's block needs none.
    let guarded = probed || !inside || any_kept || keep_block || !rest.is_empty();
    let mut set_up = String::new();
    if !inside {
        set_up.push_str("BEGIN;");
    }
    if guarded && !probed {
        set_up.push_str(&format!("SAVEPOINT {SAVEPOINT};"));
    }
    set_up.push_str(&kept);

    let mut shapes = Vec::with_capacity(texts.len());
    let mut met: Vec<Type> = Vec::new();
    let (set_up, prepared) = if set_up.is_empty() {
        (Ok(()), client.prepare(first).await)
    } else {
        // The set-up is written first, the Parse right behind it: one round trip.
        let mut set_up = pin!(maybe_done(client.batch_execute(&set_up)));
        let _ = poll!(set_up.as_mut());
        let ((), prepared) = join(set_up.as_mut(), client.prepare(first)).await;
        let set_up = set_up.take_output().expect("joined futures are done");
        (set_up, prepared)
    };
    if let Err(e) = set_up {
        if inside && code(&e) == Some(ABORTED) {
            // An aborted block: only COMMIT and ROLLBACK parse there, and they look nothing up.
            shapes.push(prepared.map(|s| shape(&s, &mut met)).map_err(Error::from));
            for text in rest {
                let prepared = client.prepare(text).await;
                shapes.push(prepared.map(|s| shape(&s, &mut met)).map_err(Error::from));
            }
            return Ok(shapes);
        }
        conn.poison();
        return Err(e.into());
    }
    let mut failed = false;
    let mut prepared = Some(prepared);
    for text in texts {
        let mut outcome = match prepared.take() {
            Some(first) => first,
            None => client.prepare(text).await,
        };
        let mut renamed = 0;
        loop {
            let e = match outcome {
                Ok(statement) => {
                    shapes.push(Ok(shape(&statement, &mut met)));
                    break;
                }
                Err(e) if !guarded => {
                    // One text in the caller's block, which its failure aborted as running it
                    // would: nothing was prepared that needs deallocating.
                    return Ok(vec![Err(e.into())]);
                }
                Err(e) => e,
            };
            let back = format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}");
            if let Err(e) = client.batch_execute(&back).await {
                conn.poison();
                return Err(e.into());
            }
            if code(&e) == Some(NAME_TAKEN) && renamed < RENAMES {
                // Another client left a statement of that name on this server connection; the
                // next statement tokio-postgres prepares has another name.
                renamed += 1;
                outcome = client.prepare(text).await;
                continue;
            }
            failed = true;
            shapes.push(Err(e.into()));
            break;
        }
    }
    end(conn, inside, guarded, any_kept, &met).await?;
    if failed && inside && guarded && !keep_block {
        // The savepoint kept the caller's block going; the statement's failure aborts it, as
        // running the statement would have: preparing it again fails the same way.
        if let Ok(statement) = client.prepare(first).await {
            drop(statement);
        }
    }
    Ok(shapes)
}

/// A prepared statement's shape; its types are added to `met`. The statement is closed on the
/// server as it drops here, in the block that holds the server connection.
fn shape(statement: &Statement, met: &mut Vec<Type>) -> Shape {
    met.extend(statement.params().iter().cloned());
    met.extend(statement.columns().iter().map(|c| c.type_().clone()));
    Shape::of(statement)
}

/// Ends a describe: finds the lookup statements tokio-postgres prepared if it may have, then
/// deallocates every one prepared in the block, then ends the block or releases the savepoint;
/// all in one round trip.
async fn end(conn: &Conn, inside: bool, guarded: bool, any_kept: bool, met: &[Type]) -> Result<()> {
    let (look, deallocate) = conn.with_types(|t| (t.may_have_looked_up(met), t.deallocate()));
    let mut sql = String::new();
    if look {
        sql.push_str(typeinfo::FIND);
        sql.push(';');
    }
    if look || any_kept {
        sql.push_str(&deallocate);
    }
    if !inside {
        sql.push_str("ROLLBACK");
    } else if guarded {
        sql.push_str(&format!("RELEASE SAVEPOINT {SAVEPOINT}"));
    }
    if sql.is_empty() {
        return Ok(());
    }
    let messages = match conn.client().simple_query(&sql).await {
        Ok(messages) => messages,
        Err(e) => {
            conn.poison();
            return Err(e.into());
        }
    };
    if look {
        let found = messages.iter().filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some((row.get(0)?.to_owned(), row.get(1)?.to_owned())),
            _ => None,
        });
        let found: Vec<(String, String)> = found.collect();
        conn.with_types(|t| t.learn(met, found));
    }
    Ok(())
}
