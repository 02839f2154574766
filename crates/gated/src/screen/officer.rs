//! The officer's view: `/officer` on the screen's server, behind an officer's id and secret.
//!
//! An officer signs in with the id and secret the agency configured (`[[screen.officers]]`,
//! only the secret's SHA-256 on the gate). The session is a random token in an `HttpOnly`,
//! `SameSite=Strict` cookie that lapses after 15 idle minutes; every form carries the
//! session's own token against cross-site requests. The view shows why the gate called an
//! officer (reason codes in plain words), when, the transaction id, the door and the devices;
//! its actions (clear the call, take the gate out of service, put it back) go to the main loop
//! like `gatectl`'s and are recorded in the outbox with the officer's id. No face image,
//! fingerprint or document number is ever shown: the gate's status holds none.

use super::server::{Body, Shared, plain, read_form, respond};
use crate::control::{Actor, ControlRequest};
use gate_config::screen::OfficerCredential;
use gate_protocol::{Request as ControlCall, Response as ControlAnswer, StatusReport};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

const VIEW: &str = include_str!("../../screen/officer.html");
const VIEW_JS: &str = include_str!("../../screen/officer.js");
const COOKIE: &str = "gate_officer";
/// A session lapses after this long without a request.
const SESSION_IDLE: Duration = Duration::from_secs(15 * 60);
/// A refused sign-in is answered after this long (slows guessing).
const REFUSAL_DELAY: Duration = Duration::from_millis(750);
/// How long an action waits for the main loop.
const ACTION_TIMEOUT: Duration = Duration::from_secs(8);

#[derive(Clone, Debug)]
struct Session {
    officer: String,
    csrf: String,
    last_used: Instant,
}

/// The configured officers and the open sessions.
#[derive(Debug)]
pub struct Officers {
    credentials: Vec<(String, [u8; 32])>,
    sessions: Mutex<HashMap<String, Session>>,
}

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Compares two digests in time independent of where they differ.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

impl Officers {
    /// The officers of `[[screen.officers]]` (hashes already validated by the config).
    pub fn new(credentials: &[OfficerCredential]) -> Self {
        let credentials = credentials
            .iter()
            .filter_map(|c| {
                let bytes = hex::decode(&c.secret_sha256).ok()?;
                Some((c.id.clone(), <[u8; 32]>::try_from(bytes).ok()?))
            })
            .collect();
        Self {
            credentials,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// The officer whose id and secret these are.
    fn verify(&self, id: &str, secret: &str) -> Option<String> {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let mut found = None;
        // Every credential is compared, so the time does not tell which ids exist.
        for (officer, expected) in &self.credentials {
            if same_digest(&digest, expected) && officer == id {
                found = Some(officer.clone());
            }
        }
        found
    }

    fn open(&self, officer: String) -> (String, Session) {
        let token = random_token();
        let session = Session {
            officer,
            csrf: random_token(),
            last_used: Instant::now(),
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| s.last_used.elapsed() < SESSION_IDLE);
        sessions.insert(token.clone(), session.clone());
        (token, session)
    }

    fn session(&self, request: &Request<Incoming>) -> Option<(String, Session)> {
        let token = request
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .map(|(_, value)| value.to_owned())?;
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let session = sessions.get_mut(&token)?;
        if session.last_used.elapsed() >= SESSION_IDLE {
            sessions.remove(&token);
            return None;
        }
        session.last_used = Instant::now();
        Some((token, session.clone()))
    }

    fn close(&self, token: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.remove(token);
    }
}

fn redirect(to: &str, cookie: Option<String>) -> Response<Body> {
    let mut response = plain(StatusCode::SEE_OTHER, "");
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn officer_language(shared: &Shared, request: &Request<Incoming>) -> String {
    request
        .uri()
        .query()
        .map(super::server::parse_form)
        .and_then(|query| query.get("lang").map(str::to_owned))
        .filter(|l| shared.catalogues.has(l))
        .unwrap_or_else(|| shared.default_language.clone())
}

/// `?lang=TAG` for links back to the view (tags are letters, digits and `-` only).
fn url_lang(lang: &str) -> String {
    if lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        format!("?lang={lang}")
    } else {
        String::new()
    }
}

fn login_page(shared: &Shared, lang: &str, refused: bool) -> String {
    let t = |id: &str| html_escape(&shared.catalogues.format(lang, id, None));
    let refusal = if refused {
        format!(
            "<p class=\"refused\" role=\"alert\">{}</p>",
            t("officer-refused")
        )
    } else {
        String::new()
    };
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <link rel=\"stylesheet\" href=\"/screen.css\"></head><body class=\"officer\"><main>\
         <h1>{title}</h1>{refusal}<form method=\"post\" action=\"/officer/login{query}\">\
         <label>{id}<input name=\"id\" autocomplete=\"username\" required></label>\
         <label>{secret}<input name=\"secret\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">{sign_in}</button></form></main></body></html>",
        lang = html_escape(lang),
        query = url_lang(lang),
        title = t("officer-title"),
        id = t("officer-id"),
        secret = t("officer-secret"),
        sign_in = t("officer-sign-in"),
    )
}

async fn ask(shared: &Shared, request: ControlCall, actor: Actor) -> Result<ControlAnswer, String> {
    let (reply, answer) = oneshot::channel();
    let call = ControlRequest {
        request,
        id: 1,
        reply,
        actor,
    };
    shared
        .control
        .send(call)
        .await
        .map_err(|_| "the gate is stopping".to_owned())?;
    let envelope = tokio::time::timeout(ACTION_TIMEOUT, answer)
        .await
        .map_err(|_| "the gate did not answer in time".to_owned())?
        .map_err(|_| "the gate did not answer".to_owned())?;
    match (envelope.result, envelope.error) {
        (Some(response), _) => Ok(response),
        (None, Some(error)) => Err(error.message),
        (None, None) => Err("empty answer".to_owned()),
    }
}

/// The officer's view of a status, in `lang`.
pub fn view_of(
    shared: &Shared,
    status: &StatusReport,
    lang: &str,
    officer: &str,
) -> serde_json::Value {
    let t = |id: &str| shared.catalogues.format(lang, id, None);
    let reason = |code: &gate_core::ReasonCode| json!({ "code": code.as_str(), "text": t(&format!("reason-{}", code.as_str())) });
    let holding = status.state == "holding";
    let call = status
        .last_outcome
        .as_ref()
        .filter(|_| holding)
        .map(|last| {
            json!({
                "transaction_id": last.transaction_id,
                "ended_at_unix_ms": last.ended_at_unix_ms,
                "reasons": last.reasons.iter().map(reason).collect::<Vec<_>>(),
            })
        });
    let labels: serde_json::Map<String, serde_json::Value> = [
        "officer-title",
        "officer-called-because",
        "officer-no-call",
        "officer-when",
        "officer-transaction",
        "officer-door",
        "officer-door-locked",
        "officer-door-unlocked",
        "officer-devices",
        "officer-state",
        "officer-in-service",
        "officer-out-of-service",
        "officer-clear",
        "officer-take-out",
        "officer-put-back",
        "officer-sign-out",
        "officer-done",
    ]
    .iter()
    .map(|id| ((*id).to_owned(), json!(t(id))))
    .collect();
    let mut args = fluent_bundle::FluentArgs::new();
    args.set("officer", officer.to_owned());
    json!({
        "gate_id": status.gate_id,
        "officer": officer,
        "signed_in_as": shared.catalogues.format(lang, "officer-signed-in-as", Some(&args)),
        "state": status.state,
        "in_service": status.conditions.is_empty(),
        "maintenance": status.conditions.contains(&gate_core::Condition::Maintenance),
        "out_of_service_reasons": status.out_of_service_reasons.iter().map(reason).collect::<Vec<_>>(),
        "call": call,
        "transaction_id": status.transaction_id,
        "door_unlocked": status.door_unlocked,
        "door": status.door,
        "devices": status.devices.iter().map(|d| json!({
            "name": d.name, "backend": d.backend, "health": d.health, "detail": d.detail,
        })).collect::<Vec<_>>(),
        "labels": labels,
        "lang": lang,
    })
}

/// Serves `/officer` and below.
pub async fn route(shared: Shared, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let lang = officer_language(&shared, &request);
    let session = shared.officers.session(&request);
    match (request.method().clone(), path.as_str(), session) {
        (Method::GET, "/officer", None) => respond(
            StatusCode::OK,
            "text/html; charset=utf-8",
            login_page(&shared, &lang, false),
        ),
        (Method::GET, "/officer", Some((_, session))) => respond(
            StatusCode::OK,
            "text/html; charset=utf-8",
            VIEW.replace("{{CSRF}}", &session.csrf)
                .replace("{{LANG}}", &html_escape(&lang)),
        ),
        (Method::GET, "/officer/officer.js", _) => {
            respond(StatusCode::OK, "text/javascript; charset=utf-8", VIEW_JS)
        }
        (Method::POST, "/officer/login", _) => {
            let form = match read_form(request).await {
                Ok(form) => form,
                Err(response) => return response,
            };
            match shared
                .officers
                .verify(form.field("id"), form.field("secret"))
            {
                Some(officer) => {
                    tracing::info!(officer = %officer, "officer signed in to the officer view");
                    let (token, _) = shared.officers.open(officer);
                    let cookie = format!(
                        "{COOKIE}={token}; Path=/officer; HttpOnly; SameSite=Strict; Max-Age={}",
                        SESSION_IDLE.as_secs()
                    );
                    redirect(&format!("/officer{}", url_lang(&lang)), Some(cookie))
                }
                None => {
                    tracing::warn!("officer view: sign-in refused");
                    tokio::time::sleep(REFUSAL_DELAY).await;
                    respond(
                        StatusCode::UNAUTHORIZED,
                        "text/html; charset=utf-8",
                        login_page(&shared, &lang, true),
                    )
                }
            }
        }
        (_, _, None) => plain(StatusCode::UNAUTHORIZED, "sign in at /officer first"),
        (Method::POST, "/officer/logout", Some((token, _))) => {
            shared.officers.close(&token);
            redirect(
                "/officer",
                Some(format!(
                    "{COOKIE}=; Path=/officer; HttpOnly; SameSite=Strict; Max-Age=0"
                )),
            )
        }
        (Method::GET, "/officer/state", Some((_, session))) => {
            let actor = Actor::Officer {
                id: session.officer.clone(),
            };
            match ask(&shared, ControlCall::Status, actor).await {
                Ok(ControlAnswer::Status(status)) => respond(
                    StatusCode::OK,
                    "application/json",
                    view_of(&shared, &status, &lang, &session.officer).to_string(),
                ),
                Ok(_) => plain(StatusCode::BAD_GATEWAY, "unexpected answer"),
                Err(message) => plain(StatusCode::SERVICE_UNAVAILABLE, &message),
            }
        }
        (Method::POST, "/officer/action", Some((_, session))) => {
            let form = match read_form(request).await {
                Ok(form) => form,
                Err(response) => return response,
            };
            if form.field("csrf") != session.csrf {
                return plain(StatusCode::FORBIDDEN, "the form is not from this session");
            }
            let call = match form.field("action") {
                "clear_call" => ControlCall::OfficerReset,
                "out_of_service" => ControlCall::SetMaintenance { on: true },
                "back_in_service" => ControlCall::SetMaintenance { on: false },
                _ => return plain(StatusCode::BAD_REQUEST, "unknown action"),
            };
            let actor = Actor::Officer {
                id: session.officer.clone(),
            };
            match ask(&shared, call, actor).await {
                Ok(_) => respond(
                    StatusCode::OK,
                    "application/json",
                    json!({ "ok": true }).to_string(),
                ),
                Err(message) => respond(
                    StatusCode::CONFLICT,
                    "application/json",
                    json!({ "ok": false, "message": message }).to_string(),
                ),
            }
        }
        _ => plain(StatusCode::NOT_FOUND, "not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_id_with_the_right_secret_signs_in() {
        let hash = hex::encode(Sha256::digest(b"correct horse"));
        let officers = Officers::new(&[
            OfficerCredential {
                id: "NRT-1".into(),
                secret_sha256: hash.clone(),
            },
            OfficerCredential {
                id: "NRT-2".into(),
                secret_sha256: hex::encode(Sha256::digest(b"other")),
            },
        ]);
        assert_eq!(
            officers.verify("NRT-1", "correct horse").as_deref(),
            Some("NRT-1")
        );
        assert_eq!(officers.verify("NRT-2", "correct horse"), None);
        assert_eq!(officers.verify("NRT-1", "correct hors"), None);
        assert_eq!(officers.verify("", ""), None);
    }

    #[test]
    fn text_is_escaped_for_html() {
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
