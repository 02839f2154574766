//! The loopback HTTP server of the traveller's page (and the officer's view).
//!
//! Routes: `GET /` the page, `GET /screen.css`, `/screen.js`; `GET /events` the display state as
//! server-sent events (one `state` event per change, rendered in the traveller's language);
//! `GET /state` the same state once, as JSON; `POST /language` (`lang=TAG`) the traveller's
//! touch on a language button. `/officer...` is [`super::officer`].
//!
//! Every response forbids loading anything from elsewhere (`Content-Security-Policy:
//! default-src 'self'`), is never cached, and a request whose `Host` is not this loopback
//! address is refused (a page on the open web cannot reach the screen by DNS rebinding).

use super::catalogue::Catalogues;
use super::officer::Officers;
use super::{Count, Hint, Mode, Outcome, ScreenState};
use crate::control::ControlRequest;
use bytes::Bytes;
use fluent_bundle::FluentArgs;
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tracing::info;

const PAGE: &str = include_str!("../../screen/index.html");
const CSS: &str = include_str!("../../screen/screen.css");
const JS: &str = include_str!("../../screen/screen.js");

/// The largest request body read (a language tag, an officer's form).
const MAX_BODY: usize = 4096;
/// A comment line on every event stream this often, so a dead panel is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A response body: a whole one, or an event stream.
pub type Body = Either<Full<Bytes>, EventStream>;

/// A server-sent event stream fed by a task.
pub struct EventStream {
    rx: mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

/// The language a traveller chose by touch, and for which traveller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choice {
    /// The language.
    pub language: Option<String>,
    /// The traveller it was chosen for ([`ScreenState::traveller`]; the next one when chosen
    /// on the idle screen).
    pub for_traveller: u64,
}

/// What the server needs.
pub struct ScreenContext {
    /// The words.
    pub catalogues: Catalogues,
    /// The language buttons, in order.
    pub languages: Vec<String>,
    /// The idle screen's language.
    pub default_language: String,
    /// The state the main loop publishes.
    pub state: watch::Receiver<ScreenState>,
    /// The traveller's touch.
    pub choice: watch::Sender<Choice>,
    /// The officers and their sessions.
    pub officers: Officers,
    /// The main loop's request channel (officer actions, status).
    pub control: mpsc::Sender<ControlRequest>,
    /// The address served (the only `Host` accepted).
    pub listen: SocketAddr,
}

/// The server's shared context.
pub type Shared = Arc<ScreenContext>;

fn idle(state: &ScreenState) -> bool {
    state.mode != Mode::InService || state.prompt == "place-document"
}

/// The language to show `state` in.
pub fn language_for(shared: &ScreenContext, state: &ScreenState, choice: &Choice) -> String {
    if let Some(language) = &choice.language {
        let applies = if idle(state) {
            choice.for_traveller == state.traveller + 1
        } else {
            choice.for_traveller == state.traveller
        };
        if applies && shared.catalogues.has(language) {
            return language.clone();
        }
    }
    if !idle(state)
        && let Some(hint) = &state.language_hint
        && shared.catalogues.has(hint)
    {
        return hint.clone();
    }
    shared.default_language.clone()
}

fn count_text(
    c: &ScreenContext,
    lang: &str,
    id: &str,
    names: (&str, &str),
    count: Count,
) -> String {
    let mut args = FluentArgs::new();
    args.set(names.0, count.n);
    args.set(names.1, count.of);
    c.catalogues.format(lang, id, Some(&args))
}

/// The state in words, as the page receives it.
pub fn render(c: &ScreenContext, state: &ScreenState, lang: &str) -> Value {
    let text = |id: &str| c.catalogues.format(lang, id, None);
    let hints: Vec<Value> = state
        .hints
        .iter()
        .map(|h: &Hint| json!({ "id": h.message_id(), "text": text(h.message_id()) }))
        .collect();
    let languages: Vec<Value> = c
        .languages
        .iter()
        .map(|tag| json!({ "tag": tag, "name": c.catalogues.format(tag, "language-name", None) }))
        .collect();
    let biocart = state.profile == gate_core::GateProfile::BioCart;
    // A closed gate, a gate under maintenance and an open fire exit speak to everyone: the
    // same message in every other language of the screen.
    let also: Vec<Value> = if state.mode == Mode::InService {
        Vec::new()
    } else {
        c.languages
            .iter()
            .filter(|tag| tag.as_str() != lang)
            .map(|tag| json!({ "tag": tag, "text": c.catalogues.format(tag, state.prompt, None) }))
            .collect()
    };
    json!({
        "seq": state.seq,
        "emitted_unix_ms": state.emitted_unix_ms,
        "profile": state.profile.as_str(),
        "mode": state.mode,
        "prompt_id": state.prompt,
        "prompt": text(state.prompt),
        "also": also,
        "hints": hints,
        "step": state.step.map(|s| count_text(c, lang, "step-of", ("step", "steps"), s)),
        "step_n": state.step.map(|s| s.n),
        "attempt": state.attempt.map(|a| count_text(c, lang, "attempt-of", ("attempt", "attempts"), a)),
        "countdown_ms": state.countdown_ms,
        "countdown_label": state.countdown_ms.map(|_| text("officer-coming")),
        "outcome": state.outcome,
        "officer_called": state.outcome == Some(Outcome::Officer) || state.countdown_ms.is_some(),
        "lang": lang,
        "languages": languages,
        "choose_language": text("choose-language"),
        "idle": idle(state),
        "closed_text": text("out-of-service"),
        "biocart": biocart.then(|| json!({
            "welcome": text("biocart-welcome"),
            "notice_title": text("notice-title"),
            "notice_body": text("notice-body"),
            "finger_left": text("finger-left"),
            "finger_right": text("finger-right"),
            "photo": text("photo"),
        })),
    })
}

fn security_headers(response: &mut Response<Body>) {
    let headers = response.headers_mut();
    let csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
               connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; \
               base-uri 'none'";
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A whole response.
pub fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(body.into())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    security_headers(&mut response);
    response
}

/// A plain-text error response.
pub fn plain(status: StatusCode, text: &str) -> Response<Body> {
    respond(status, "text/plain; charset=utf-8", text.to_owned())
}

/// Reads a small form body (`application/x-www-form-urlencoded`) into pairs.
pub async fn read_form(request: Request<Incoming>) -> Result<Form, Response<Body>> {
    let body = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| plain(StatusCode::PAYLOAD_TOO_LARGE, "request too large"))?
        .to_bytes();
    let text =
        std::str::from_utf8(&body).map_err(|_| plain(StatusCode::BAD_REQUEST, "not UTF-8"))?;
    Ok(parse_form(text))
}

/// `a=1&b=x%20y` into pairs (`+` is a space).
pub fn parse_form(text: &str) -> Form {
    Form(
        text.split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect(),
    )
}

/// A decoded form (or query string): its fields in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// The first value of field `name`, if the form has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of field `name`, or `""`.
    pub fn field(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (byte, None) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn host_allowed(shared: &ScreenContext, request: &Request<Incoming>) -> bool {
    let Some(host) = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let port = shared.listen.port();
    [
        format!("{}", shared.listen),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ]
    .iter()
    .any(|allowed| allowed.eq_ignore_ascii_case(host))
}

fn current(shared: &ScreenContext) -> (ScreenState, String) {
    let state = shared.state.borrow().clone();
    let choice = shared.choice.borrow().clone();
    let lang = language_for(shared, &state, &choice);
    (state, lang)
}

async fn events(shared: Shared) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    let mut state_rx = shared.state.clone();
    let mut choice_rx = shared.choice.subscribe();
    tokio::spawn(async move {
        let mut last_sent: Option<(u64, String)> = None;
        loop {
            let (state, lang) = current(&shared);
            if last_sent.as_ref() != Some(&(state.seq, lang.clone())) {
                let payload = render(&shared, &state, &lang);
                let chunk = format!("event: state\ndata: {payload}\n\n");
                if tx.send(Bytes::from(chunk)).await.is_err() {
                    return;
                }
                last_sent = Some((state.seq, lang));
            }
            tokio::select! {
                changed = state_rx.changed() => if changed.is_err() { return },
                changed = choice_rx.changed() => if changed.is_err() { return },
                () = tokio::time::sleep(KEEP_ALIVE) => {
                    if tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut response = Response::new(Either::Right(EventStream { rx }));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    security_headers(&mut response);
    response
}

async fn choose_language(shared: Shared, request: Request<Incoming>) -> Response<Body> {
    let form = match read_form(request).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let Some(lang) = form.get("lang").map(str::to_owned) else {
        return plain(StatusCode::BAD_REQUEST, "lang missing");
    };
    if !shared.languages.contains(&lang) {
        return plain(StatusCode::BAD_REQUEST, "no such language");
    }
    let state = shared.state.borrow().clone();
    let for_traveller = if idle(&state) {
        state.traveller + 1
    } else {
        state.traveller
    };
    shared.choice.send_replace(Choice {
        language: Some(lang),
        for_traveller,
    });
    let mut response = plain(StatusCode::NO_CONTENT, "");
    *response.body_mut() = Either::Left(Full::new(Bytes::new()));
    response
}

async fn route(shared: Shared, request: Request<Incoming>) -> Response<Body> {
    if !host_allowed(&shared, &request) {
        return plain(StatusCode::MISDIRECTED_REQUEST, "wrong host");
    }
    let path = request.uri().path().to_owned();
    match (request.method(), path.as_str()) {
        (&Method::GET, "/") => respond(StatusCode::OK, "text/html; charset=utf-8", PAGE),
        (&Method::GET, "/screen.css") => respond(StatusCode::OK, "text/css; charset=utf-8", CSS),
        (&Method::GET, "/screen.js") => {
            respond(StatusCode::OK, "text/javascript; charset=utf-8", JS)
        }
        (&Method::GET, "/events") => events(shared).await,
        (&Method::GET, "/state") => {
            let (state, lang) = current(&shared);
            respond(
                StatusCode::OK,
                "application/json",
                render(&shared, &state, &lang).to_string(),
            )
        }
        (&Method::POST, "/language") => choose_language(shared, request).await,
        (_, p) if p == "/officer" || p.starts_with("/officer/") => {
            super::officer::route(shared, request).await
        }
        (&Method::GET, "/favicon.ico") => plain(StatusCode::NO_CONTENT, ""),
        _ => plain(StatusCode::NOT_FOUND, "not found"),
    }
}

/// Binds the screen's address (before the loop starts, so a port in use stops gated with a
/// clear error).
pub async fn bind(listen: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(listen).await
}

/// Serves connections from loopback until the task is aborted.
pub async fn serve(listener: TcpListener, shared: Shared) {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "traveller's screen: http://{addr}/ (officer view: /officer)");
    }
    crate::http::serve(
        listener,
        "screen",
        |peer| peer.ip().is_loopback(),
        move |request| route(shared.clone(), request),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_percent_and_plus() {
        assert_eq!(
            parse_form("lang=zh-Hant&x=a%20b+c&bad=%zz&end=%").0,
            vec![
                ("lang".into(), "zh-Hant".into()),
                ("x".into(), "a b c".into()),
                ("bad".into(), "%zz".into()),
                ("end".into(), "%".into()),
            ]
        );
    }
}
