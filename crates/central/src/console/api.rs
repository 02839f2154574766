//! `PUT /v1/lists/{name}`: list publication for tools, with the same validation as the console
//! and a credential.
//!
//! The credential is HTTP Basic with an operator account whose role may publish
//! (`list_publisher` or `admin`); wrong passwords count towards the same throttle as console
//! logins and are audited. Under mutual TLS the connection also needs a client certificate of
//! the client CA, but a certificate alone (a gate's, say) no longer publishes anything.
//!
//! One exception keeps the demo bench and the tests simple: a central serving plain HTTP
//! accepts a publication without credential from a loopback address, recorded as `anonymous`.
//! Plain HTTP is for loopback and demos only (central warns at start): there, every local
//! process can already post events for any gate, so a credential would not protect more.

use crate::now_ms;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use outbox::wire::PublishList;

use super::auth::{self, PasswordCheck};
use super::lists::{self, ListKind};
use super::store::{AUDIT_LIST_PUBLISHED, AUDIT_LIST_REFUSED, AuditEntry};
// The API's JSON error answers (`{"error": ...}`), as every JSON route gives them.
use crate::http::{Api, Peer, error as refused, storage_error as storage_refusal};

/// The actor recorded for a credential-less publication over plain HTTP from loopback.
pub const ANONYMOUS_LOOPBACK: &str = "anonymous";

fn unauthorized(message: &str) -> Response {
    let mut response = refused(StatusCode::UNAUTHORIZED, message);
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"central lists\", charset=\"UTF-8\""),
    );
    response
}

fn basic_credential(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(AUTHORIZATION)?;
    let parsed = value
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|text| {
            text.split_once(':')
                .map(|(name, password)| (name.to_owned(), password.to_owned()))
        });
    Some(parsed.ok_or(()))
}

/// `PUT /v1/lists/{name}` with a JSON [`PublishList`]: checks the credential (see the module
/// docs), validates the items as list `name`, and publishes them as the given version (which
/// must be above the published one), kept in the version history and audited.
pub async fn put_list(
    State(api): State<Api>,
    Path(name): Path<String>,
    peer: Option<Extension<Peer>>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(kind) = ListKind::named(&name) else {
        return refused(
            StatusCode::BAD_REQUEST,
            format!("no list {name:?}: central publishes denylist, enrolments and trust"),
        );
    };
    let remote = connection.map(|Extension(ConnectInfo(address))| address);
    let address = remote.map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    let plain = matches!(peer.as_deref(), Some(Peer::Unauthenticated));
    let actor = match basic_credential(&headers) {
        Some(Ok((account, password))) => {
            let store = api.storage.clone();
            let from = address.clone();
            let Ok(_hashing) = auth::HASHING.acquire().await else {
                return refused(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
            };
            let checked = tokio::task::spawn_blocking(move || {
                auth::check_password(store.as_ref(), &account, &password, &from, now_ms())
            })
            .await;
            match checked {
                Ok(Ok(PasswordCheck::Accepted(account))) if account.role.may_publish() => {
                    account.name
                }
                Ok(Ok(PasswordCheck::Accepted(account))) => {
                    return refused(
                        StatusCode::FORBIDDEN,
                        format!(
                            "account {:?} is a {}: publishing needs list_publisher or admin",
                            account.name,
                            account.role.as_str()
                        ),
                    );
                }
                Ok(Ok(PasswordCheck::Refused)) => {
                    return unauthorized("wrong account or password");
                }
                Ok(Ok(PasswordCheck::Throttled)) => {
                    return refused(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too many failed logins: try again later",
                    );
                }
                Ok(Err(error)) => return storage_refusal(&error),
                Err(_) => {
                    return refused(StatusCode::INTERNAL_SERVER_ERROR, "credential check failed");
                }
            }
        }
        Some(Err(())) => return unauthorized("malformed Basic credential"),
        None if plain && remote.is_some_and(|a| a.ip().is_loopback()) => {
            ANONYMOUS_LOOPBACK.to_owned()
        }
        None => {
            return unauthorized(
                "publishing a list needs an operator account with the list_publisher role \
                 (HTTP Basic)",
            );
        }
    };
    let publish: PublishList = match serde_json::from_slice(&body) {
        Ok(publish) => publish,
        Err(error) => return refused(StatusCode::BAD_REQUEST, format!("JSON: {error}")),
    };
    let store = api.storage.clone();
    let list = name.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let now = now_ms();
        let mut audit = AuditEntry {
            at_ms: now,
            actor,
            address,
            action: AUDIT_LIST_PUBLISHED.to_owned(),
            target: list.clone(),
            detail: format!(
                "version {} with {} entries (PUT /v1/lists)",
                publish.version,
                publish.items.len()
            ),
        };
        if let Err(error) = lists::validate(kind, &publish.items, now) {
            audit.action = AUDIT_LIST_REFUSED.to_owned();
            audit.detail = format!("version {}: {error}", publish.version);
            audit.detail.truncate(2000);
            store.record_audit(&audit)?;
            return Ok(Err(error));
        }
        store.publish_list_version(&list, &publish, &audit)?;
        Ok(Ok(publish.version))
    })
    .await;
    match outcome {
        Ok(Ok(Ok(version))) => {
            tracing::info!(list = %name, version, "list published");
            (
                StatusCode::OK,
                Json(serde_json::json!({ "name": name, "version": version })),
            )
                .into_response()
        }
        Ok(Ok(Err(invalid))) => refused(StatusCode::BAD_REQUEST, invalid.to_string()),
        Ok(Err(error)) => storage_refusal(&error),
        Err(_) => refused(StatusCode::INTERNAL_SERVER_ERROR, "publication failed"),
    }
}
