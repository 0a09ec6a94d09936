//! What a server just connected to is (a standby or not, read-only by default or not), for
//! `targetSessionAttrs`: from the settings PostgreSQL 14 and later report at the start of every
//! session, else by asking.
use super::Connection;
use crate::config::topology::{Role, ROLE_QUERY, ROLE_SETTINGS};
use crate::error::{Error, Result};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use tokio_postgres::{Client, SimpleQueryMessage};

/// The role of the server on the other end of `connection`, whose task has not been spawned
/// yet: a server before 14 is asked, with the connection driven here until the answer comes.
pub async fn of(client: &Client, connection: &mut Connection) -> Result<Role> {
    let [standby, read_only] = ROLE_SETTINGS.map(|name| connection.parameter(name));
    if let Some(role) = Role::of(standby, read_only) {
        return Ok(role);
    }
    let mut query = pin!(client.simple_query(ROLE_QUERY));
    let messages = poll_fn(|cx| {
        if let Poll::Ready(answer) = query.as_mut().poll(cx) {
            return Poll::Ready(answer.map_err(Error::from));
        }
        loop {
            match connection.poll_message(cx) {
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e.into())),
                Poll::Ready(None) => {
                    return Poll::Ready(Err(Error::ConnectionClosed(
                        "the server closed the connection while it was asked whether it is a \
                         standby"
                            .into(),
                    )))
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await?;
    messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Role::of(row.get(0), row.get(1)),
            _ => None,
        })
        .ok_or_else(|| Error::Internal("the server did not say whether it is a standby".into()))
}
