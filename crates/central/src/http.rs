//! The HTTP/JSON API on axum (hyper 1, HTTP/1.1), optionally over rustls with client
//! certificates. [`router`] is the whole application; [`serve`] accepts connections, completes
//! the TLS handshake and hands every request to the router with the connection's [`Peer`] as a
//! request extension.

// Handlers return finished error responses as their `Err`; they are built once per failed
// request, so boxing them would only add an allocation.
#![allow(clippy::result_large_err)]

use crate::now_ms;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Path, RawQuery, Request, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use outbox::wire::{
    ApiError, BatchAck, BoothAck, BoothAckResult, EventPage, HandOverAck, HandOverBatch,
    HandOverPage, Health,
};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::metrics::{CentralMetrics, MeteredStorage};
use crate::storage::{EventQuery, IncomingBatch, Storage, StorageError};

/// One route of the API; the OpenAPI file must list exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path template as written in the OpenAPI file.
    pub path: &'static str,
}

/// Every route the server answers.
pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/v1/events",
    },
    Route {
        method: "GET",
        path: "/v1/events",
    },
    Route {
        method: "GET",
        path: "/v1/lists/{name}",
    },
    Route {
        method: "PUT",
        path: "/v1/lists/{name}",
    },
    Route {
        method: "GET",
        path: "/v1/health",
    },
    Route {
        method: "POST",
        path: "/v1/gates/{gate}/handovers",
    },
    Route {
        method: "GET",
        path: "/v1/booths/{booth}/handovers",
    },
    Route {
        method: "POST",
        path: "/v1/booths/{booth}/handovers/ack",
    },
    Route {
        method: "GET",
        path: "/metrics",
    },
    Route {
        method: "GET",
        path: "/v1/waiting-times",
    },
];

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Most events in one `POST /v1/events`.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// Default and maximum `limit` of `GET /v1/events`.
pub const DEFAULT_QUERY_LIMIT: u32 = 1_000;
/// Largest `limit` of `GET /v1/events`.
pub const MAX_QUERY_LIMIT: u32 = 100_000;
/// Most sealed records in one `POST /v1/gates/{gate}/handovers`.
pub const MAX_HANDOVER_BATCH: usize = 64;
/// Default `limit` of `GET /v1/booths/{booth}/handovers`.
pub const DEFAULT_HANDOVER_LIMIT: u32 = 16;
/// Largest `limit` of `GET /v1/booths/{booth}/handovers`.
pub const MAX_HANDOVER_LIMIT: u32 = 100;

/// What a handler answers: the response, or a finished error response.
type Answer = Result<Response, Response>;

/// `value` as a JSON response with `status`.
pub(crate) fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    let (status, body) = match serde_json::to_vec(value) {
        Ok(body) => (status, body),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"error":"response encoding failed"}"#.to_vec(),
        ),
    };
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

/// The API's error body (`{"error": message}`) with `status`.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(
        status,
        &ApiError {
            error: message.into(),
        },
    )
}

/// The answer to a failed storage call: 409 for a list version conflict, 503 otherwise (the
/// cause is logged, not shown).
pub(crate) fn storage_error(failure: &StorageError) -> Response {
    match failure {
        StorageError::ListVersionConflict { .. } => {
            error(StatusCode::CONFLICT, failure.to_string())
        }
        _ => {
            tracing::error!(error = %failure, "storage failed");
            error(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
        }
    }
}

/// List names, gate ids and booth ids in paths: 1..=64 of `A-Z a-z 0-9 - _ .`.
fn valid_list_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
fn checked_id(id: &str, what: &str) -> Result<String, Response> {
    if valid_list_name(id) {
        Ok(id.to_owned())
    } else {
        Err(error(StatusCode::BAD_REQUEST, format!("invalid {what}")))
    }
}

/// A JSON request body, refused with the API's JSON error body (413 over
/// [`MAX_BODY_BYTES`], 400 for anything that is not the expected JSON).
pub(crate) struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                error(
                    rejection.status(),
                    format!("body: {}", rejection.body_text()),
                )
            })?;
        serde_json::from_slice(&body)
            .map(JsonBody)
            .map_err(|e| error(StatusCode::BAD_REQUEST, format!("JSON: {e}")))
    }
}

/// Runs blocking storage work off the async workers; a failure becomes its error response.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(storage_error(&e)),
        Err(join) => {
            tracing::error!(error = %join, "storage task failed");
            Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage task failed",
            ))
        }
    }
}

fn validate_batch(batch: &IncomingBatch) -> Result<(), String> {
    if batch.gate_id.is_empty() {
        return Err("gate_id is empty".into());
    }
    if batch.events.len() > MAX_BATCH_EVENTS {
        return Err(format!("more than {MAX_BATCH_EVENTS} events in one batch"));
    }
    let mut previous: Option<u64> = None;
    for event in &batch.events {
        if event.gate_id != batch.gate_id {
            return Err(format!(
                "event {} belongs to gate {:?}, batch to {:?}",
                event.id, event.gate_id, batch.gate_id
            ));
        }
        if previous.is_some_and(|p| event.sequence <= p) {
            return Err(format!(
                "event {} sequence {} is not above the previous one in the batch",
                event.id, event.sequence
            ));
        }
        previous = Some(event.sequence);
    }
    Ok(())
}
fn parse_query(query: Option<&str>) -> Result<EventQuery, String> {
    let mut parsed = EventQuery {
        limit: DEFAULT_QUERY_LIMIT,
        ..EventQuery::default()
    };
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let number = |what: &str| -> Result<i64, String> {
            value
                .parse()
                .map_err(|_| format!("{what}: not an integer: {value:?}"))
        };
        match key.as_ref() {
            "gate" => parsed.gate = Some(value.clone().into_owned()),
            "since" => parsed.since_ms = Some(number("since")?),
            "until" => parsed.until_ms = Some(number("until")?),
            "after_sequence" => {
                parsed.after_sequence = Some(
                    u64::try_from(number("after_sequence")?)
                        .map_err(|_| "after_sequence is negative".to_owned())?,
                );
            }
            "limit" => {
                let limit = u32::try_from(number("limit")?).map_err(|_| "limit out of range")?;
                if limit == 0 || limit > MAX_QUERY_LIMIT {
                    return Err(format!("limit must be 1..={MAX_QUERY_LIMIT}"));
                }
                parsed.limit = limit;
            }
            other => return Err(format!("unknown query parameter {other:?}")),
        }
    }
    Ok(parsed)
}
fn have_version(query: Option<&str>) -> Result<Option<u64>, String> {
    let mut have = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key != "have" {
            return Err(format!("unknown query parameter {key:?}"));
        }
        have = Some(
            value
                .parse()
                .map_err(|_| format!("have: not a version: {value:?}"))?,
        );
    }
    Ok(have)
}

/// Who is on the other end of a connection./// Who is on the other end of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// Plain HTTP (loopback and demos): no identity is known or checked.
    Unauthenticated,
    /// Mutual TLS: the ids the client certificate names as subject-alternative-name URIs.
    Certified {
        /// Gate ids (`urn:gate:ID`).
        gates: Arc<[String]>,
        /// Inspection booth ids (`urn:booth:ID`).
        booths: Arc<[String]>,
    },
}

impl Peer {
    /// Whether this peer may post events and hand-over records for `gate_id`.
    pub fn may_post_for(&self, gate_id: &str) -> bool {
        match self {
            Peer::Unauthenticated => true,
            Peer::Certified { gates, .. } => gates.iter().any(|id| id == gate_id),
        }
    }

    /// Whether this peer may fetch and acknowledge the hand-over records of `booth_id`.
    pub fn may_act_as_booth(&self, booth_id: &str) -> bool {
        match self {
            Peer::Unauthenticated => true,
            Peer::Certified { booths, .. } => booths.iter().any(|id| id == booth_id),
        }
    }
}

/// What the handlers work on: the storage (timed into the metrics) and the metrics.
#[derive(Clone)]
pub struct Api {
    /// The storage, wrapped in [`MeteredStorage`].
    pub storage: Arc<dyn Storage>,
    /// The metrics `GET /metrics` shows.
    pub metrics: Arc<CentralMetrics>,
}

impl Api {
    /// The API over `storage`, with fresh metrics whose per-gate figures start from what
    /// the database holds.
    pub async fn new(storage: Arc<dyn Storage>) -> Self {
        let metrics = Arc::new(CentralMetrics::new(storage.backend()));
        let storage: Arc<dyn Storage> = Arc::new(MeteredStorage::new(storage, metrics.clone()));
        let reading = storage.clone();
        match tokio::task::spawn_blocking(move || reading.gate_heads()).await {
            Ok(Ok(heads)) => metrics.seed(&heads),
            Ok(Err(error)) => {
                tracing::warn!(%error, "per-gate metrics start empty: gate heads unreadable")
            }
            Err(error) => tracing::warn!(%error, "per-gate metrics start empty"),
        }
        Self { storage, metrics }
    }
}

/// The whole application: the JSON API of [`ROUTES`], `GET /metrics` and the public waiting page
/// (`GET /waiting`, [`crate::reports::public`]). Every request must
/// carry the connection's [`Peer`] as an extension ([`serve`] adds it); a request without one
/// is refused with 500, never served as unauthenticated.
pub fn router(api: Api) -> Router {
    let routes = Router::new()
        .route("/v1/events", post(post_events).get(get_events))
        .route(
            "/v1/lists/{name}",
            get(get_list).put(crate::console::api::put_list),
        )
        .route("/v1/health", get(health))
        .route("/v1/gates/{gate}/handovers", post(post_handovers))
        .route("/v1/booths/{booth}/handovers", get(get_handovers))
        .route("/v1/booths/{booth}/handovers/ack", post(ack_handovers))
        .route("/metrics", get(metrics))
        .merge(crate::reports::public::routes())
        .merge(crate::console::routes(api.clone()));
    finish(routes, api, MAX_BODY_BYTES)
}

/// What every listener's application shares: the API's JSON 404 and 405 answers, the body
/// limit and the request metrics.
fn finish(routes: Router<Api>, api: Api, body_limit: usize) -> Router {
    routes
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(api.clone(), observe))
        .with_state(api)
}

/// Counts every request in the metrics under its route template (`unmatched` for none).
async fn observe(State(api): State<Api>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| route_label(path.as_str()));
    let response = next.run(request).await;
    api.metrics.observe_request(
        template,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The `route` label of a matched route template. Templates are the router's finite set, so
/// each is interned once for the life of the process.
fn route_label(template: &str) -> &'static str {
    static LABELS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut labels = LABELS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(label) = labels.iter().find(|label| **label == template) {
        return label;
    }
    let label: &'static str = Box::leak(template.to_owned().into_boxed_str());
    labels.push(label);
    label
}

/// `GET /metrics`: the metrics in the format the `Accept` header asks for.
async fn metrics(State(api): State<Api>, headers: HeaderMap) -> Response {
    let accept = headers.get(ACCEPT).and_then(|value| value.to_str().ok());
    let (content_type, text) = api.metrics.exposition(accept, now_ms());
    (
        [(CONTENT_TYPE, HeaderValue::from_static(content_type))],
        text,
    )
        .into_response()
}

async fn post_events(
    State(api): State<Api>,
    Extension(peer): Extension<Peer>,
    JsonBody(batch): JsonBody<IncomingBatch>,
) -> Answer {
    validate_batch(&batch).map_err(|message| error(StatusCode::BAD_REQUEST, message))?;
    if !peer.may_post_for(&batch.gate_id) {
        tracing::warn!(gate = %batch.gate_id, ?peer, "batch refused: certificate names other gates");
        return Err(error(
            StatusCode::FORBIDDEN,
            format!(
                "the client certificate does not speak for gate {:?}",
                batch.gate_id
            ),
        ));
    }
    let acked = batch.events.iter().map(|e| e.id).collect();
    let gate = batch.gate_id.clone();
    let count = batch.events.len();
    let storage = api.storage;
    let outcome = blocking(move || storage.ingest_incoming(&batch.events, now_ms())).await?;
    tracing::debug!(gate = %gate, count, stored = outcome.stored, duplicates = outcome.duplicates, "ingested batch");
    Ok(json_response(
        StatusCode::OK,
        &BatchAck {
            acked,
            stored: outcome.stored,
            duplicates: outcome.duplicates,
        },
    ))
}

async fn get_events(State(api): State<Api>, RawQuery(query): RawQuery) -> Answer {
    let query =
        parse_query(query.as_deref()).map_err(|message| error(StatusCode::BAD_REQUEST, message))?;
    let storage = api.storage;
    let events = blocking(move || storage.events(&query)).await?;
    Ok(json_response(StatusCode::OK, &EventPage { events }))
}

async fn get_list(
    State(api): State<Api>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let name = checked_id(&name, "list name")?;
    let have = have_version(query.as_deref())
        .map_err(|message| error(StatusCode::BAD_REQUEST, message))?;
    let storage = api.storage;
    let list = blocking(move || {
        let Some(version) = storage.list_version(&name)? else {
            return Ok(Err(StatusCode::NOT_FOUND));
        };
        if have.is_some_and(|have| have >= version) {
            return Ok(Err(StatusCode::NOT_MODIFIED));
        }
        Ok(storage.list(&name)?.ok_or(StatusCode::NOT_FOUND))
    })
    .await?;
    match list {
        Ok(list) => Ok(json_response(StatusCode::OK, &list)),
        Err(StatusCode::NOT_MODIFIED) => Ok(StatusCode::NOT_MODIFIED.into_response()),
        Err(status) => Err(error(status, "no such list")),
    }
}

fn validate_handovers(gate: &str, batch: &HandOverBatch) -> Result<(), String> {
    if batch.handovers.len() > MAX_HANDOVER_BATCH {
        return Err(format!(
            "more than {MAX_HANDOVER_BATCH} hand-over records in one batch"
        ));
    }
    for record in &batch.handovers {
        if record.gate_id != gate {
            return Err(format!(
                "hand-over {} belongs to gate {:?}, the path names {gate:?}",
                record.id, record.gate_id
            ));
        }
        if !valid_list_name(&record.booth_id) {
            return Err(format!("hand-over {}: invalid booth id", record.id));
        }
        if record.transaction_id.is_empty() || record.ciphertext.is_empty() {
            return Err(format!(
                "hand-over {}: empty transaction id or ciphertext",
                record.id
            ));
        }
    }
    Ok(())
}

async fn post_handovers(
    State(api): State<Api>,
    Extension(peer): Extension<Peer>,
    Path(gate): Path<String>,
    JsonBody(batch): JsonBody<HandOverBatch>,
) -> Answer {
    // The body is read (by the extractor) before the refusal, so the client sees the 403
    // instead of a reset connection in the middle of its upload.
    let gate = checked_id(&gate, "gate id")?;
    if !peer.may_post_for(&gate) {
        tracing::warn!(%gate, ?peer, "hand-over refused: certificate names other gates");
        return Err(error(
            StatusCode::FORBIDDEN,
            format!("the client certificate does not speak for gate {gate:?}"),
        ));
    }
    validate_handovers(&gate, &batch).map_err(|message| error(StatusCode::BAD_REQUEST, message))?;
    let acked = batch.handovers.iter().map(|record| record.id).collect();
    let count = batch.handovers.len();
    let storage = api.storage;
    let outcome = blocking(move || storage.store_handovers(&batch.handovers, now_ms())).await?;
    tracing::info!(%gate, count, stored = outcome.stored, duplicates = outcome.duplicates, "stored sealed hand-over records");
    Ok(json_response(
        StatusCode::OK,
        &HandOverAck {
            acked,
            stored: outcome.stored,
            duplicates: outcome.duplicates,
        },
    ))
}

/// The booth in the path, if `peer` may act as it.
fn booth_of(booth: &str, peer: &Peer) -> Result<String, Response> {
    let booth = checked_id(booth, "booth id")?;
    if peer.may_act_as_booth(&booth) {
        return Ok(booth);
    }
    tracing::warn!(%booth, ?peer, "booth request refused: certificate names other booths");
    Err(error(
        StatusCode::FORBIDDEN,
        format!("the client certificate does not speak for booth {booth:?}"),
    ))
}

fn handover_limit(query: Option<&str>) -> Result<u32, String> {
    let mut limit = DEFAULT_HANDOVER_LIMIT;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key != "limit" {
            return Err(format!("unknown query parameter {key:?}"));
        }
        limit = value
            .parse()
            .ok()
            .filter(|limit| (1..=MAX_HANDOVER_LIMIT).contains(limit))
            .ok_or_else(|| format!("limit must be 1..={MAX_HANDOVER_LIMIT}"))?;
    }
    Ok(limit)
}

async fn get_handovers(
    State(api): State<Api>,
    Extension(peer): Extension<Peer>,
    Path(booth): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let booth = booth_of(&booth, &peer)?;
    let limit = handover_limit(query.as_deref())
        .map_err(|message| error(StatusCode::BAD_REQUEST, message))?;
    let storage = api.storage;
    let handovers = blocking(move || storage.booth_handovers(&booth, limit)).await?;
    Ok(json_response(StatusCode::OK, &HandOverPage { handovers }))
}

async fn ack_handovers(
    State(api): State<Api>,
    Extension(peer): Extension<Peer>,
    Path(booth): Path<String>,
    JsonBody(ack): JsonBody<BoothAck>,
) -> Answer {
    let booth = booth_of(&booth, &peer)?;
    let log_booth = booth.clone();
    let storage = api.storage;
    let acknowledged = blocking(move || storage.ack_handovers(&booth, &ack.ids, now_ms())).await?;
    tracing::info!(booth = %log_booth, acknowledged, "booth acknowledged hand-over records");
    Ok(json_response(
        StatusCode::OK,
        &BoothAckResult { acknowledged },
    ))
}

async fn health(State(api): State<Api>) -> Response {
    let storage = api.storage;
    let backend = storage.backend().to_owned();
    match blocking(move || storage.health()).await {
        Ok(()) => json_response(
            StatusCode::OK,
            &Health {
                status: "ok".into(),
                storage: backend,
            },
        ),
        Err(_) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &Health {
                status: "storage unavailable".into(),
                storage: backend,
            },
        ),
    }
}

async fn serve_connection<IO>(io: IO, app: Router, peer: Peer, remote: std::net::SocketAddr)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(peer.clone());
            // The client's address, for the console's audit trail and login throttle.
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(remote));
            app.clone().oneshot(request)
        });
    if let Err(error) = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await
    {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// Serves the API on `listener` until `shutdown` completes. With `tls`, every connection
/// must complete a TLS handshake (with the client-certificate policy of the acceptor's
/// config). On shutdown, open connections are dropped: clients retry, and ingest is
/// idempotent, so a cut request is harmless. `GET /metrics` is served on the same listener
/// (under TLS, to clients with a certificate of the client CA).
pub async fn serve(
    listener: TcpListener,
    storage: Arc<dyn Storage>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_app(listener, router(Api::new(storage).await), tls, shutdown).await
}

/// The public side alone, for a listener travellers' screens and the airport's web site may
/// reach without a client certificate: `GET /waiting`, `GET /v1/waiting-times` and
/// `GET /v1/health`; everything else is 404 there (no events, lists, console or metrics).
pub fn public_router(api: Api) -> Router {
    let routes = Router::new()
        .route("/v1/health", get(health))
        .merge(crate::reports::public::routes());
    // Nothing public takes a body.
    finish(routes, api, 64 * 1024)
}

/// Serves `app` ([`router`] or [`public_router`]) on `listener` until `shutdown` completes, as
/// [`serve`] does: with `tls`, every connection completes a TLS handshake and its client
/// certificate's ids become the requests' [`Peer`]; without, every request is
/// [`Peer::Unauthenticated`].
pub async fn serve_app(
    listener: TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let app = app.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => {
                        let leaf = stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|chain| chain.first());
                        let gates: Vec<String> = leaf.map(crate::tls::gate_ids).unwrap_or_default();
                        let booths: Vec<String> =
                            leaf.map(crate::tls::booth_ids).unwrap_or_default();
                        let peer = Peer::Certified {
                            gates: gates.into(),
                            booths: booths.into(),
                        };
                        serve_connection(stream, app, peer, remote).await
                    }
                    Err(error) => tracing::warn!(peer = %remote, %error, "TLS handshake failed"),
                },
                None => serve_connection(stream, app, Peer::Unauthenticated, remote).await,
            }
        });
    }
    connections.abort_all();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_parsed_and_checked() {
        let query =
            parse_query(Some("gate=g%201&since=5&until=9&after_sequence=3&limit=7")).unwrap();
        assert_eq!(query.gate.as_deref(), Some("g 1"));
        assert_eq!(
            (
                query.since_ms,
                query.until_ms,
                query.after_sequence,
                query.limit
            ),
            (Some(5), Some(9), Some(3), 7)
        );
        assert_eq!(parse_query(None).unwrap().limit, DEFAULT_QUERY_LIMIT);
        assert!(parse_query(Some("limit=0")).is_err());
        assert!(parse_query(Some("bogus=1")).is_err());
        assert!(parse_query(Some("since=x")).is_err());
        assert_eq!(have_version(Some("have=4")).unwrap(), Some(4));
    }

    /// Every route of [`ROUTES`] reaches a handler (neither 404 nor 405), and what is not in
    /// the table does not.
    #[tokio::test]
    async fn routes_table_matches_router() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::SqliteStorage::open(dir.path().join("c.sqlite")).unwrap();
        let app = router(Api::new(Arc::new(storage)).await);
        let status = |method: &str, path: &str| {
            let request = axum::http::Request::builder()
                .method(method)
                .uri(path)
                .extension(Peer::Unauthenticated)
                .body(axum::body::Body::empty())
                .unwrap();
            let app = app.clone();
            async move { app.oneshot(request).await.unwrap().status() }
        };
        for route_entry in ROUTES {
            let path = route_entry
                .path
                .replace("{name}", "denylist")
                .replace("{gate}", "gate-1")
                .replace("{booth}", "booth-1");
            let answered = status(route_entry.method, &path).await;
            assert!(
                answered != StatusCode::NOT_FOUND && answered != StatusCode::METHOD_NOT_ALLOWED
                    || path.starts_with("/v1/lists/") && answered == StatusCode::NOT_FOUND,
                "{route_entry:?} not routed: {answered}"
            );
        }
        assert_eq!(
            status("DELETE", "/v1/events").await,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(status("GET", "/v1/nothing").await, StatusCode::NOT_FOUND);
        assert_eq!(
            status("GET", "/v1/lists/bad%2Fname").await,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn batches_must_be_one_gate_in_ascending_order() {
        let batch = |gate: &str, events: &[(&str, u64)]| -> IncomingBatch {
            let events: Vec<String> = events
                .iter()
                .map(|(event_gate, sequence)| {
                    format!(
                        r#"{{"id":"{}","gate_id":"{event_gate}","sequence":{sequence},"schema_version":1,"kind":"k","occurred_at_ms":0,"payload":null}}"#,
                        uuid::Uuid::now_v7()
                    )
                })
                .collect();
            serde_json::from_str(&format!(
                r#"{{"gate_id":"{gate}","events":[{}]}}"#,
                events.join(",")
            ))
            .unwrap()
        };
        assert!(
            validate_batch(&batch("g", &[("g", 1), ("g", 5)])).is_ok(),
            "gaps are accepted"
        );
        assert!(validate_batch(&batch("g", &[("g", 1), ("h", 2)])).is_err());
        assert!(validate_batch(&batch("g", &[("g", 2), ("g", 2)])).is_err());
        // The wire type's unknown-field rule holds for the batch as central reads it.
        assert!(
            serde_json::from_str::<IncomingBatch>(r#"{"gate_id":"g","events":[],"x":1}"#).is_err()
        );
    }
}
