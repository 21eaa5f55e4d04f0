//! Serving the direct protocol (`dbcreds_proto::direct`) on one
//! connection: Get requests, one at a time, answered by the same path as
//! gRPC's Get ([`Service::get_direct`]), with a [`WORKING`] frame every
//! [`WORKING_EVERY`] while an answer takes time (a source's fetch, the
//! keyring), so the client can tell a busy agent from a stopped one.

use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use dbcreds::proto::direct::{
    self, GET, HEAD, OK, REFUSED, Refusal, USE_GRPC, WORKING, WORKING_EVERY,
};
use dbcreds::proto::{MAX_REQUEST_BYTES, v1};
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use crate::service::Service;
use crate::transport::PeerStream;

/// Serves `conn` until the client hangs up, sends what this protocol does
/// not know, or `stopping` turns true (between requests: one under way is
/// answered).
pub async fn serve<S>(
    mut conn: PeerStream<S>,
    service: Arc<Service>,
    mut stopping: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let peer = conn.peer().clone();
    let mut inbox = Vec::with_capacity(READ_AHEAD);
    let mut reply = Vec::new();
    loop {
        let request = tokio::select! {
            biased;
            _ = stopping.wait_for(|s| *s) => return,
            r = read_request(&mut conn, &mut inbox) => r,
        };
        let Some(request) = request else {
            return;
        };
        let answer = pin!(service.get_direct(&peer, request));
        let Some(answer) = answer_or_working(answer, &mut conn).await else {
            return;
        };
        encode(answer, &mut reply);
        if conn.write_all(&reply).await.is_err() || conn.flush().await.is_err() {
            return;
        }
        // The reply carried a password: no copy stays in this buffer (the
        // allocator wipes what is freed, not what is kept for reuse).
        zeroize::Zeroize::zeroize(&mut reply);
    }
}

/// What one read asks the socket for: a few requests' worth.
const READ_AHEAD: usize = 4096;

/// The next request, or `None` at end of file or on a frame this protocol
/// does not take (an unknown kind, too long, not a `GetRequest`). Reads
/// into `inbox`, which keeps what came after the request: one read a
/// request, not one for the head and one for the body.
async fn read_request<S: AsyncRead + Unpin>(
    conn: &mut PeerStream<S>,
    inbox: &mut Vec<u8>,
) -> Option<v1::GetRequest> {
    loop {
        if inbox.len() >= HEAD {
            let mut head = [0u8; HEAD];
            head.copy_from_slice(&inbox[..HEAD]);
            let (kind, len) = direct::parse_head(&head);
            if kind != GET || len > MAX_REQUEST_BYTES {
                tracing::debug!(kind, len, "closed a direct connection: not a Get request");
                return None;
            }
            if inbox.len() >= HEAD + len {
                let request = v1::GetRequest::decode(&inbox[HEAD..HEAD + len]).ok();
                inbox.drain(..HEAD + len);
                return request;
            }
        }
        inbox.reserve(READ_AHEAD);
        if conn.read_buf(inbox).await.ok()? == 0 {
            return None;
        }
    }
}

/// Awaits `answer`, writing a [`WORKING`] frame every [`WORKING_EVERY`]
/// it takes; `None` when the client went away meanwhile. Most answers are
/// ready at the first poll, and cost no timer.
async fn answer_or_working<S, F>(
    mut answer: std::pin::Pin<&mut F>,
    conn: &mut PeerStream<S>,
) -> Option<F::Output>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Future,
{
    let first = std::future::poll_fn(|cx| Poll::Ready(answer.as_mut().poll(cx))).await;
    if let Poll::Ready(out) = first {
        return Some(out);
    }
    let working = direct::head(WORKING, 0)?;
    loop {
        tokio::select! {
            out = answer.as_mut() => return Some(out),
            () = tokio::time::sleep(WORKING_EVERY) => {
                conn.write_all(&working).await.ok()?;
                conn.flush().await.ok()?;
            }
        }
    }
}

/// The frame that answers: the reply, the refusal, or "use gRPC".
fn encode(answer: Result<Option<v1::GetResponse>, tonic::Status>, out: &mut Vec<u8>) {
    out.clear();
    let (kind, payload) = match answer {
        Ok(Some(reply)) => {
            let reply = dbcreds::proto::Wiped(reply);
            (OK, reply.encode_to_vec())
        }
        Ok(None) => (USE_GRPC, Vec::new()),
        Err(status) => (REFUSED, refusal(&status).encode()),
    };
    // Replies are bounded far below u32::MAX (a Get carries one environment).
    if let Some(head) = direct::head(kind, payload.len()) {
        out.extend_from_slice(&head);
        out.extend_from_slice(&payload);
    }
}

fn refusal(status: &tonic::Status) -> Refusal {
    Refusal {
        code: status.code() as i32,
        reason: status
            .metadata()
            .get(dbcreds::error::REASON_KEY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        message: status.message().to_owned(),
    }
}
