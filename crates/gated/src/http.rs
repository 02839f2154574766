//! The accept loop of gated's small HTTP/1.1 servers (the traveller's screen, the metrics):
//! each admitted connection is served on its own task by one request handler.

use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tracing::warn;

/// Serves connections from `listener` until the task is aborted: a peer `admit` refuses is
/// dropped unanswered; every request of an admitted one goes to `handler`. `name` names the
/// server in the log.
pub async fn serve<H, F, B>(
    listener: TcpListener,
    name: &'static str,
    admit: impl Fn(&SocketAddr) -> bool,
    handler: H,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                warn!(error = %err, server = name, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !admit(&peer) {
            continue;
        }
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let answer = handler(request);
                async move { Ok::<_, std::convert::Infallible>(answer.await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(err) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!(error = %err, server = name, "connection ended");
            }
        });
    }
}
