//! The HTTP/JSON API (hyper 1, HTTP/1.1), optionally over rustls with client certificates.

// Handlers return finished error responses as their `Err`; they are built once per failed
// request, so boxing them would only add an allocation.
#![allow(clippy::result_large_err)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use outbox::wire::{
    ApiError, BatchAck, BoothAck, BoothAckResult, EventBatch, EventPage, HandOverAck,
    HandOverBatch, HandOverPage, Health, PublishList,
};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::metrics::{CentralMetrics, MeteredStorage};
use crate::storage::{EventQuery, Storage, StorageError};

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

type Body = Full<Bytes>;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn json_response(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    let (status, body) = match serde_json::to_vec(value) {
        Ok(body) => (status, body),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"error":"response encoding failed"}"#.to_vec(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    json_response(
        status,
        &ApiError {
            error: message.into(),
        },
    )
}

fn storage_error(failure: &StorageError) -> Response<Body> {
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

enum Endpoint {
    PostEvents,
    GetEvents,
    GetList(String),
    PutList(String),
    Health,
    PostHandOvers(String),
    GetHandOvers(String),
    AckHandOvers(String),
    Metrics,
}

impl Endpoint {
    /// The route template, as in [`ROUTES`] (the `route` label of the metrics).
    fn template(&self) -> &'static str {
        match self {
            Endpoint::PostEvents | Endpoint::GetEvents => "/v1/events",
            Endpoint::GetList(_) | Endpoint::PutList(_) => "/v1/lists/{name}",
            Endpoint::Health => "/v1/health",
            Endpoint::PostHandOvers(_) => "/v1/gates/{gate}/handovers",
            Endpoint::GetHandOvers(_) => "/v1/booths/{booth}/handovers",
            Endpoint::AckHandOvers(_) => "/v1/booths/{booth}/handovers/ack",
            Endpoint::Metrics => "/metrics",
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

fn route(method: &Method, path: &str) -> Result<Endpoint, Response<Body>> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let endpoint = match (method, segments.as_slice()) {
        (&Method::POST, ["v1", "events"]) => Endpoint::PostEvents,
        (&Method::GET, ["v1", "events"]) => Endpoint::GetEvents,
        (&Method::GET, ["v1", "health"]) => Endpoint::Health,
        (&Method::GET, ["metrics"]) => Endpoint::Metrics,
        (&Method::GET, ["v1", "lists", name]) | (&Method::PUT, ["v1", "lists", name]) => {
            if !valid_list_name(name) {
                return Err(error(StatusCode::BAD_REQUEST, "invalid list name"));
            }
            if method == Method::GET {
                Endpoint::GetList((*name).to_owned())
            } else {
                Endpoint::PutList((*name).to_owned())
            }
        }
        (&Method::POST, ["v1", "gates", gate, "handovers"]) => {
            Endpoint::PostHandOvers(checked_id(gate, "gate id")?)
        }
        (&Method::GET, ["v1", "booths", booth, "handovers"]) => {
            Endpoint::GetHandOvers(checked_id(booth, "booth id")?)
        }
        (&Method::POST, ["v1", "booths", booth, "handovers", "ack"]) => {
            Endpoint::AckHandOvers(checked_id(booth, "booth id")?)
        }
        (
            _,
            ["v1", "events"]
            | ["v1", "health"]
            | ["v1", "lists", _]
            | ["v1", "gates", _, "handovers"]
            | ["v1", "booths", _, "handovers"]
            | ["v1", "booths", _, "handovers", "ack"]
            | ["metrics"],
        ) => {
            return Err(error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"));
        }
        _ => return Err(error(StatusCode::NOT_FOUND, "no such route")),
    };
    Ok(endpoint)
}

fn checked_id(id: &str, what: &str) -> Result<String, Response<Body>> {
    if valid_list_name(id) {
        Ok(id.to_owned())
    } else {
        Err(error(StatusCode::BAD_REQUEST, format!("invalid {what}")))
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(
    request: Request<Incoming>,
) -> Result<T, Response<Body>> {
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| error(StatusCode::PAYLOAD_TOO_LARGE, format!("body: {e}")))?
        .to_bytes();
    serde_json::from_slice(&body).map_err(|e| error(StatusCode::BAD_REQUEST, format!("JSON: {e}")))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, Response<Body>> {
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

fn validate_batch(batch: &EventBatch) -> Result<(), String> {
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

/// Who is on the other end of a connection.
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

/// `GET /metrics`: the metrics in the format the `Accept` header asks for.
fn metrics(request: &Request<Incoming>, metrics: &CentralMetrics) -> Response<Body> {
    let accept = request
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    let (content_type, text) = metrics.exposition(accept, now_ms());
    let mut response = Response::new(Full::new(Bytes::from(text)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Answers one request from `peer`, and counts it in the metrics.
pub async fn handle(request: Request<Incoming>, api: &Api, peer: &Peer) -> Response<Body> {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let (template, response) = match route(request.method(), request.uri().path()) {
        Ok(endpoint) => (
            endpoint.template(),
            answer(endpoint, request, api, peer).await,
        ),
        Err(response) => ("unmatched", response),
    };
    api.metrics.observe_request(
        template,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

async fn answer(
    endpoint: Endpoint,
    request: Request<Incoming>,
    api: &Api,
    peer: &Peer,
) -> Response<Body> {
    let storage = api.storage.clone();
    let outcome = match endpoint {
        Endpoint::PostEvents => post_events(request, storage, peer).await,
        Endpoint::GetEvents => get_events(&request, storage).await,
        Endpoint::GetList(name) => get_list(&request, name, storage).await,
        Endpoint::PutList(name) => put_list(request, name, storage).await,
        Endpoint::Health => Ok(health(storage).await),
        Endpoint::PostHandOvers(gate) => post_handovers(request, gate, storage, peer).await,
        Endpoint::GetHandOvers(booth) => get_handovers(&request, booth, storage, peer).await,
        Endpoint::AckHandOvers(booth) => ack_handovers(request, booth, storage, peer).await,
        Endpoint::Metrics => Ok(metrics(&request, &api.metrics)),
    };
    outcome.unwrap_or_else(|response| response)
}

async fn post_events(
    request: Request<Incoming>,
    storage: Arc<dyn Storage>,
    peer: &Peer,
) -> Result<Response<Body>, Response<Body>> {
    let batch: EventBatch = read_json(request).await?;
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
    let outcome = blocking(move || storage.ingest(&batch.events, now_ms())).await?;
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

async fn get_events(
    request: &Request<Incoming>,
    storage: Arc<dyn Storage>,
) -> Result<Response<Body>, Response<Body>> {
    let query = parse_query(request.uri().query())
        .map_err(|message| error(StatusCode::BAD_REQUEST, message))?;
    let events = blocking(move || storage.events(&query)).await?;
    Ok(json_response(StatusCode::OK, &EventPage { events }))
}

async fn get_list(
    request: &Request<Incoming>,
    name: String,
    storage: Arc<dyn Storage>,
) -> Result<Response<Body>, Response<Body>> {
    let have = have_version(request.uri().query())
        .map_err(|message| error(StatusCode::BAD_REQUEST, message))?;
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
        Err(StatusCode::NOT_MODIFIED) => {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            Ok(response)
        }
        Err(status) => Err(error(status, "no such list")),
    }
}

async fn put_list(
    request: Request<Incoming>,
    name: String,
    storage: Arc<dyn Storage>,
) -> Result<Response<Body>, Response<Body>> {
    let publish: PublishList = read_json(request).await?;
    let version = publish.version;
    let stored_name = name.clone();
    blocking(move || storage.publish_list(&stored_name, &publish, now_ms())).await?;
    tracing::info!(list = %name, version, "list published");
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "name": name, "version": version }),
    ))
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
    request: Request<Incoming>,
    gate: String,
    storage: Arc<dyn Storage>,
    peer: &Peer,
) -> Result<Response<Body>, Response<Body>> {
    // The body is read before the refusal so the client sees the 403 instead of a reset
    // connection in the middle of its upload.
    let batch: HandOverBatch = read_json(request).await?;
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

fn booth_refused(booth: &str, peer: &Peer) -> Response<Body> {
    tracing::warn!(%booth, ?peer, "booth request refused: certificate names other booths");
    error(
        StatusCode::FORBIDDEN,
        format!("the client certificate does not speak for booth {booth:?}"),
    )
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
    request: &Request<Incoming>,
    booth: String,
    storage: Arc<dyn Storage>,
    peer: &Peer,
) -> Result<Response<Body>, Response<Body>> {
    if !peer.may_act_as_booth(&booth) {
        return Err(booth_refused(&booth, peer));
    }
    let limit = handover_limit(request.uri().query())
        .map_err(|message| error(StatusCode::BAD_REQUEST, message))?;
    let handovers = blocking(move || storage.booth_handovers(&booth, limit)).await?;
    Ok(json_response(StatusCode::OK, &HandOverPage { handovers }))
}

async fn ack_handovers(
    request: Request<Incoming>,
    booth: String,
    storage: Arc<dyn Storage>,
    peer: &Peer,
) -> Result<Response<Body>, Response<Body>> {
    let ack: BoothAck = read_json(request).await?;
    if !peer.may_act_as_booth(&booth) {
        return Err(booth_refused(&booth, peer));
    }
    let log_booth = booth.clone();
    let acknowledged = blocking(move || storage.ack_handovers(&booth, &ack.ids, now_ms())).await?;
    tracing::info!(booth = %log_booth, acknowledged, "booth acknowledged hand-over records");
    Ok(json_response(
        StatusCode::OK,
        &BoothAckResult { acknowledged },
    ))
}

async fn health(storage: Arc<dyn Storage>) -> Response<Body> {
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

async fn serve_connection<IO>(io: IO, api: Api, peer: Peer)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let api = api.clone();
        let peer = peer.clone();
        async move { Ok::<_, Infallible>(handle(request, &api, &peer).await) }
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
    let api = Api::new(storage).await;
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let api = api.clone();
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
                        serve_connection(stream, api, peer).await
                    }
                    Err(error) => tracing::warn!(%peer, %error, "TLS handshake failed"),
                },
                None => serve_connection(stream, api, Peer::Unauthenticated).await,
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

    #[test]
    fn routes_table_matches_router() {
        for route_entry in ROUTES {
            let method = Method::from_bytes(route_entry.method.as_bytes()).unwrap();
            let path = route_entry
                .path
                .replace("{name}", "denylist")
                .replace("{gate}", "gate-1")
                .replace("{booth}", "booth-1");
            assert!(route(&method, &path).is_ok(), "{route_entry:?} not routed");
        }
        assert!(route(&Method::DELETE, "/v1/events").is_err());
        assert!(route(&Method::GET, "/v1/nothing").is_err());
        assert!(route(&Method::GET, "/v1/lists/bad%2Fname").is_err());
    }

    #[test]
    fn batches_must_be_one_gate_in_ascending_order() {
        let event = |gate: &str, sequence| outbox::wire::EventEnvelope {
            id: uuid::Uuid::now_v7(),
            gate_id: gate.into(),
            sequence,
            schema_version: 1,
            kind: "k".into(),
            occurred_at_ms: 0,
            payload: serde_json::Value::Null,
        };
        let ok = EventBatch {
            gate_id: "g".into(),
            events: vec![event("g", 1), event("g", 5)],
        };
        assert!(validate_batch(&ok).is_ok(), "gaps are accepted");
        let mixed = EventBatch {
            gate_id: "g".into(),
            events: vec![event("g", 1), event("h", 2)],
        };
        assert!(validate_batch(&mixed).is_err());
        let unordered = EventBatch {
            gate_id: "g".into(),
            events: vec![event("g", 2), event("g", 2)],
        };
        assert!(validate_batch(&unordered).is_err());
    }
}
