//! `GET /api/v1/events`: Server-Sent Events (WHATWG HTML §9.2), one
//! `event: message` with the summary JSON as `data:` per stored message,
//! pushed from the store's change channel.
//!
//! Memory stays bounded for a client that never reads: the body is pulled
//! by hyper only as the socket drains, so unread events wait in the store
//! subscription, which holds at most [`maildir::SUBSCRIPTION_QUEUE`]
//! notices; beyond that it overflows and the stream sends
//! `event: overflow` (the client should re-list) instead of buffering.
//! A comment line every [`KEEPALIVE`] keeps proxies from closing an idle
//! stream and notices a client that went away.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_lite::FutureExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use maildir::{Change, StoreEvent, StoreSubscription};

use super::messages::{Location, summary};
use super::routes::Query;
use super::{ApiResult, Body, blocking};
use crate::shared::Shared;

/// How often an idle stream sends a `:` comment line.
pub const KEEPALIVE: Duration = Duration::from_secs(15);

struct State {
    shared: Arc<Shared>,
    changes: StoreSubscription,
    user: Option<String>,
    shutdown: smol::channel::Receiver<()>,
}

enum Next {
    Event(String, maildir::Notice),
    Overflow,
    KeepAlive,
    End,
}

impl State {
    async fn next(&self) -> Next {
        let event = async {
            match self.changes.recv().await {
                Some(StoreEvent::Change { account, notice }) => Next::Event(account, notice),
                Some(StoreEvent::Overflowed) => Next::Overflow,
                None => Next::End,
            }
        };
        let keepalive = async {
            async_io::Timer::after(KEEPALIVE).await;
            Next::KeepAlive
        };
        let shutdown = async {
            let _ = self.shutdown.recv().await;
            Next::End
        };
        event.or(keepalive).or(shutdown).await
    }

    /// The SSE frame for an appended message, if it concerns this stream.
    async fn frame(&self, account: String, notice: maildir::Notice) -> Option<Bytes> {
        let Change::Appended { uid, .. } = notice.change else {
            return None;
        };
        if let Some(user) = &self.user
            && maildir::Address::parse(user)
                .map(|a| a.key())
                .ok()
                .as_deref()
                != Some(&account)
        {
            return None;
        }
        let store = self.shared.store.clone();
        let s = blocking(move || {
            let info = store.message(&account, &notice.mailbox, uid).ok()??;
            // The notice names the account by its key; the summary by the
            // display form, as the listing does.
            let display = store
                .list_users()
                .ok()?
                .into_iter()
                .find(|u| maildir::Address::parse(u).is_ok_and(|a| a.key() == account))
                .unwrap_or(account);
            let loc = Location {
                account: display,
                mailbox: notice.mailbox,
                uidvalidity: notice.uidvalidity,
                uid,
            };
            summary(&store, &loc, &info).ok()?
        })
        .await?;
        let json = serde_json::to_string(&s).ok()?;
        Some(Bytes::from(format!("event: message\ndata: {json}\n\n")))
    }
}

/// Starts an event stream.
pub async fn stream(shared: &Arc<Shared>, query: &Query) -> ApiResult {
    let state = State {
        shared: shared.clone(),
        changes: shared.store.subscribe_all(),
        user: query.get("user").map(str::to_owned),
        shutdown: shared.pump.shutdown.clone(),
    };
    // The first bytes tell the client the stream is open (EventSource's
    // `open` fires on the headers; a comment makes curl show progress).
    let opening = Bytes::from_static(b": sansmail events\n\n");
    let stream =
        futures_lite::stream::unfold((Some(opening), Some(state)), |(first, state)| async move {
            if let Some(first) = first {
                return Some((Ok(Frame::data(first)), (None, state)));
            }
            let state = state?;
            loop {
                match state.next().await {
                    Next::End => return None,
                    Next::KeepAlive => {
                        let f = Frame::data(Bytes::from_static(b": keep-alive\n\n"));
                        return Some((Ok(f), (None, Some(state))));
                    }
                    Next::Overflow => {
                        let f = Frame::data(Bytes::from_static(b"event: overflow\ndata: {}\n\n"));
                        return Some((Ok(f), (None, Some(state))));
                    }
                    Next::Event(account, notice) => {
                        if let Some(bytes) = state.frame(account, notice).await {
                            return Some((
                                Ok::<_, std::io::Error>(Frame::data(bytes)),
                                (None, Some(state)),
                            ));
                        }
                    }
                }
            }
        });
    let body: Body = StreamBody::new(stream).boxed_unsync();
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(r)
}
