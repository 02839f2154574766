//! The console's routes and pages. Every route is in [`CONSOLE_ROUTES`] with who may use it;
//! the router is built from that table and one guard enforces it before any handler runs:
//!
//! * pages refuse a request without a live session with a redirect to the login page, and an
//!   operator whose role is too low with 403;
//! * actions (every `POST`) refuse a request without a session with 401, a role too low with
//!   403, a request not sent from a page of this server (`Origin`, `Sec-Fetch-Site` or
//!   `Referer`, see [`auth::same_origin`]) with 403, and a form without the session's CSRF
//!   token with 403.
//!
//! Every response carries the security headers of [`security_headers`].

// Handlers return finished refusal pages as their `Err`; built once per refused request.
#![allow(clippy::result_large_err)]

use crate::now_ms;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Path, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, HOST, LOCATION, ORIGIN, REFERER,
    REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use super::auth::{self, LoginOutcome, SessionToken};
use super::html::{self, Viewer, esc, flash, table, when};
use super::lists::{self, ListError, ListKind};
use super::store::{
    AUDIT_ACCOUNT_CREATED, AUDIT_ACCOUNT_DISABLED, AUDIT_ACCOUNT_ENABLED, AUDIT_ACCOUNT_PASSWORD,
    AUDIT_ACCOUNT_ROLE, Account, AccountChange, AuditEntry, Role,
};
use crate::http::{Api, Peer};
use crate::storage::StorageError;

/// Who may use a console route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the login page).
    Public,
    /// Anyone from a page of this server (the login form: `Origin` checked, no session yet).
    LoginAction,
    /// A page for operators of at least this role.
    Page(Role),
    /// A state-changing action for operators of at least this role (CSRF and origin checked).
    Action(Role),
}

/// One console route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleRoute {
    /// HTTP method.
    pub method: &'static str,
    /// Path template (axum syntax).
    pub path: &'static str,
    /// Who may use it.
    pub access: Access,
}

const fn route(method: &'static str, path: &'static str, access: Access) -> ConsoleRoute {
    ConsoleRoute {
        method,
        path,
        access,
    }
}

/// Every console route. The router is built from this table, so a route cannot be served
/// without an entry saying who may use it.
pub const CONSOLE_ROUTES: &[ConsoleRoute] = &[
    route("GET", "/console", Access::Page(Role::Viewer)),
    route("GET", "/console/login", Access::Public),
    route("POST", "/console/login", Access::LoginAction),
    route("POST", "/console/logout", Access::Action(Role::Viewer)),
    route("GET", "/console/fleet", Access::Page(Role::Viewer)),
    route("GET", "/console/activity", Access::Page(Role::Viewer)),
    route("GET", "/console/incidents", Access::Page(Role::Viewer)),
    route("GET", "/console/outbox", Access::Page(Role::Viewer)),
    route("GET", "/console/lists", Access::Page(Role::Viewer)),
    route("GET", "/console/lists/{name}", Access::Page(Role::Viewer)),
    route(
        "POST",
        "/console/lists/{name}/preview",
        Access::Action(Role::ListPublisher),
    ),
    route(
        "POST",
        "/console/lists/{name}/publish",
        Access::Action(Role::ListPublisher),
    ),
    route("GET", "/console/accounts", Access::Page(Role::Admin)),
    route("POST", "/console/accounts", Access::Action(Role::Admin)),
    route(
        "POST",
        "/console/accounts/{name}",
        Access::Action(Role::Admin),
    ),
    route("GET", "/console/audit", Access::Page(Role::Admin)),
];

/// Largest console form (a pasted list), bytes.
pub const MAX_FORM_BYTES: usize = 30 * 1024 * 1024;
/// Audit entries shown on the audit page.
const AUDIT_PAGE_ENTRIES: u32 = 500;
/// Changes of each kind listed in a preview.
const PREVIEW_LINES: usize = 200;

fn handler(method: &str, path: &str) -> MethodRouter<Api> {
    match (method, path) {
        ("GET", "/console") => get(index),
        ("GET", "/console/login") => get(login_page),
        ("POST", "/console/login") => post(login),
        ("POST", "/console/logout") => post(logout),
        ("GET", "/console/fleet") => get(fleet),
        ("GET", "/console/activity") => get(activity),
        ("GET", "/console/incidents") => get(incidents),
        ("GET", "/console/outbox") => get(outbox),
        ("GET", "/console/lists") => get(lists_index),
        ("GET", "/console/lists/{name}") => get(list_page),
        ("POST", "/console/lists/{name}/preview") => post(list_preview),
        ("POST", "/console/lists/{name}/publish") => post(list_publish),
        ("GET", "/console/accounts") => get(accounts_page),
        ("POST", "/console/accounts") => post(account_create),
        ("POST", "/console/accounts/{name}") => post(account_change),
        ("GET", "/console/audit") => get(audit_page),
        (method, path) => panic!("console route {method} {path} has no handler"),
    }
}

/// The console's routes (state [`Api`]), guarded per [`CONSOLE_ROUTES`], with the security
/// headers on every response. `api` is the state the guard reads sessions from.
pub fn routes(api: Api) -> Router<Api> {
    let mut router = Router::new();
    for entry in CONSOLE_ROUTES {
        router = router.route(entry.path, handler(entry.method, entry.path));
    }
    router
        .route_layer(middleware::from_fn_with_state(api, guard))
        .layer(middleware::map_response(security_headers))
}

/// Adds the console's security headers: CSP without any external source, no framing, no
/// referrer, no caching, no content sniffing.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(html::content_security_policy()) {
        headers.insert(CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The client of a console request: its address and whether it came over TLS.
#[derive(Debug, Clone)]
pub struct Client {
    /// The peer's IP address (`unknown` when the server did not record it).
    pub address: String,
    /// Whether the connection is TLS (cookies get `Secure`).
    pub tls: bool,
}

/// The logged-in operator of a request (set by the guard).
#[derive(Debug, Clone)]
pub struct Operator {
    /// The account.
    pub account: Account,
    /// The session token (from the cookie).
    pub token: SessionToken,
}

impl Operator {
    fn csrf(&self) -> String {
        self.token.csrf_token()
    }
}

/// The fields of a submitted form (set by the guard for actions).
#[derive(Debug, Clone, Default)]
pub struct FormFields(pub HashMap<String, String>);

impl FormFields {
    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

fn client_of(request: &Request) -> Client {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string());
    let tls = matches!(
        request.extensions().get::<Peer>(),
        Some(Peer::Certified { .. })
    );
    Client { address, tls }
}

fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

fn refusal(status: StatusCode, message: &str) -> Response {
    html_response(
        status,
        html::page(
            status.canonical_reason().unwrap_or("Refused"),
            "",
            None,
            &format!(
                "{}<p><a href=\"/console/login\">Log in</a></p>",
                flash("error", message)
            ),
        ),
    )
}

fn storage_failed(error: &StorageError) -> Response {
    tracing::error!(%error, "console: storage failed");
    refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        "The database did not answer; try again.",
    )
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(storage_failed(&error)),
        Err(error) => {
            tracing::error!(%error, "console task failed");
            Err(refusal(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &axum::http::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn from_this_server(headers: &HeaderMap, tls: bool) -> bool {
    auth::same_origin(
        header(headers, &ORIGIN),
        headers
            .get("sec-fetch-site")
            .and_then(|value| value.to_str().ok()),
        header(headers, &REFERER),
        header(headers, &HOST).unwrap_or(""),
        tls,
    )
}

async fn read_form(request: Request) -> Result<(Request, FormFields), Response> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| refusal(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."))?;
    let fields = url::form_urlencoded::parse(&bytes).into_owned().collect();
    Ok((
        Request::from_parts(parts, Body::empty()),
        FormFields(fields),
    ))
}

/// Enforces [`CONSOLE_ROUTES`] for the matched route (a route missing from the table is 404).
async fn guard(State(api): State<Api>, request: Request, next: Next) -> Response {
    let method = match request.method().as_str() {
        "HEAD" => "GET",
        other => other,
    };
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let Some(entry) = CONSOLE_ROUTES
        .iter()
        .find(|entry| entry.method == method && Some(entry.path) == matched.as_deref())
    else {
        return refusal(StatusCode::NOT_FOUND, "No such page.");
    };
    let client = client_of(&request);
    let (needed, is_page) = match entry.access {
        Access::Public => {
            let mut request = request;
            request.extensions_mut().insert(client);
            return next.run(request).await;
        }
        Access::LoginAction => {
            if !from_this_server(request.headers(), client.tls) {
                return refusal(
                    StatusCode::FORBIDDEN,
                    "Refused: the form was not sent from this server's page.",
                );
            }
            let (mut request, form) = match read_form(request).await {
                Ok(read) => read,
                Err(response) => return response,
            };
            request.extensions_mut().insert(client);
            request.extensions_mut().insert(form);
            return next.run(request).await;
        }
        Access::Page(role) => (role, true),
        Access::Action(role) => (role, false),
    };
    let token = header(request.headers(), &COOKIE).and_then(auth::token_from_cookies);
    let session = match token {
        Some(token) => {
            let store = api.storage.clone();
            let looked_up = token.clone();
            match blocking(move || auth::session_account(store.as_ref(), &looked_up, now_ms()))
                .await
            {
                Ok(session) => session.map(|(_, account)| Operator { account, token }),
                Err(response) => return response,
            }
        }
        None => None,
    };
    let Some(operator) = session else {
        return if is_page {
            see_other("/console/login")
        } else {
            refusal(StatusCode::UNAUTHORIZED, "Log in first.")
        };
    };
    if operator.account.role < needed {
        return refusal(
            StatusCode::FORBIDDEN,
            &format!(
                "Your role ({}) may not do this; it needs {}.",
                operator.account.role.as_str(),
                needed.as_str()
            ),
        );
    }
    let mut request = request;
    if !is_page {
        if !from_this_server(request.headers(), client.tls) {
            return refusal(
                StatusCode::FORBIDDEN,
                "Refused: the form was not sent from this server's page.",
            );
        }
        let (read, form) = match read_form(request).await {
            Ok(read) => read,
            Err(response) => return response,
        };
        if !operator.token.csrf_matches(form.get("csrf")) {
            tracing::warn!(account = %operator.account.name, route = entry.path, "console: form without a valid CSRF token refused");
            return refusal(
                StatusCode::FORBIDDEN,
                "Refused: the form's CSRF token is missing or wrong. Reload the page.",
            );
        }
        request = read;
        request.extensions_mut().insert(form);
    }
    request.extensions_mut().insert(client);
    request.extensions_mut().insert(operator);
    next.run(request).await
}

fn viewer(operator: &Operator) -> (String, Role, String) {
    (
        operator.account.name.clone(),
        operator.account.role,
        operator.csrf(),
    )
}

fn render(operator: &Operator, title: &str, current: &str, body: &str) -> Response {
    let (name, role, csrf) = viewer(operator);
    html_response(
        StatusCode::OK,
        html::page(
            title,
            current,
            Some(&Viewer {
                name: &name,
                role,
                csrf: &csrf,
            }),
            body,
        ),
    )
}

fn render_status(
    status: StatusCode,
    operator: &Operator,
    title: &str,
    current: &str,
    body: &str,
) -> Response {
    let mut response = render(operator, title, current, body);
    *response.status_mut() = status;
    response
}

fn query_value(uri: &axum::http::Uri, key: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn csrf_field(operator: &Operator) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&operator.csrf())
    )
}

// ------------------------------------------------------------------ login

async fn index() -> Response {
    see_other("/console/fleet")
}

fn login_form(message: &str) -> String {
    html::page(
        "Log in",
        "",
        None,
        &format!(
            "<div class=\"login\">{message}<form method=\"post\" action=\"/console/login\">\
             <label for=\"name\">Account</label>\
             <input type=\"text\" id=\"name\" name=\"name\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label>\
             <input type=\"password\" id=\"password\" name=\"password\" \
             autocomplete=\"current-password\" required>\
             <p><button type=\"submit\">Log in</button></p></form>\
             <p class=\"note\">Accounts are made on the central host with \
             <code>central accounts add</code>.</p></div>"
        ),
    )
}

async fn login_page() -> Response {
    html_response(StatusCode::OK, login_form(""))
}

async fn login(
    State(api): State<Api>,
    Extension(client): Extension<Client>,
    Extension(form): Extension<FormFields>,
) -> Response {
    let name = form.get("name").to_owned();
    let password = form.get("password").to_owned();
    let address = client.address.clone();
    let store = api.storage.clone();
    let Ok(_hashing) = auth::HASHING.acquire().await else {
        return refusal(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let outcome =
        match blocking(move || auth::log_in(store.as_ref(), &name, &password, &address, now_ms()))
            .await
        {
            Ok(outcome) => outcome,
            Err(response) => return response,
        };
    match outcome {
        LoginOutcome::LoggedIn(account, token) => {
            tracing::info!(account = %account.name, address = %client.address, "console login");
            let mut response = see_other("/console/fleet");
            if let Ok(cookie) = HeaderValue::from_str(&auth::session_cookie(&token, client.tls)) {
                response.headers_mut().insert(SET_COOKIE, cookie);
            }
            response
        }
        LoginOutcome::Refused => html_response(
            StatusCode::UNAUTHORIZED,
            login_form(&flash("error", "Wrong account or password.")),
        ),
        LoginOutcome::Throttled => html_response(
            StatusCode::TOO_MANY_REQUESTS,
            login_form(&flash(
                "error",
                &format!(
                    "Too many failed logins: wait {} minutes.",
                    auth::LOGIN_WINDOW_MS / 60_000
                ),
            )),
        ),
    }
}

async fn logout(
    State(api): State<Api>,
    Extension(client): Extension<Client>,
    Extension(operator): Extension<Operator>,
) -> Response {
    let store = api.storage.clone();
    let address = client.address.clone();
    if let Err(response) = blocking(move || {
        auth::log_out(
            store.as_ref(),
            &operator.token,
            &operator.account.name,
            &address,
            now_ms(),
        )
    })
    .await
    {
        return response;
    }
    let mut response = see_other("/console/login");
    if let Ok(cookie) = HeaderValue::from_str(&auth::cleared_cookie(client.tls)) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

// ------------------------------------------------------------------ reports

fn site_name(site: Option<&crate::reports::Site>) -> String {
    site.map_or_else(|| "No site configured".to_owned(), ToString::to_string)
}

fn optional<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| esc(&v.to_string()))
}

fn optional_duration(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".to_owned(), |ms| esc(&html::duration(ms)))
}

async fn fleet(State(api): State<Api>, Extension(operator): Extension<Operator>) -> Response {
    let store = api.storage.clone();
    let now = now_ms();
    let fleet = match blocking(move || store.fleet(now)).await {
        Ok(fleet) => fleet,
        Err(response) => return response,
    };
    let mut body = format!(
        "<p class=\"note\">{} gate{}. <em>Silent</em>: no heartbeat for {} heartbeat intervals \
         (down or cut off). <em>Idle</em>: beating and in service, no traveller for {} min. \
         <em>Out of service</em>: beating, but the gate says why it is closed.</p>",
        fleet.gates.len(),
        if fleet.gates.len() == 1 { "" } else { "s" },
        crate::reports::SILENT_AFTER_INTERVALS,
        crate::reports::IDLE_AFTER_MS / 60_000
    );
    for (site, gates) in fleet.by_site() {
        let rows: Vec<Vec<String>> = gates
            .iter()
            .map(|gate| {
                let status = gate.status.as_str();
                let unhealthy: Vec<String> = gate
                    .devices
                    .iter()
                    .filter(|device| device.health != "ok")
                    .map(|device| format!("{}: {}", device.name, device.health))
                    .collect();
                vec![
                    esc(&gate.gate_id),
                    format!(
                        "<span class=\"status s-{}\">{}</span>",
                        esc(status),
                        esc(&status.replace('_', " "))
                    ),
                    optional(gate.state.as_deref()),
                    when(gate.last_heard_ms, fleet.now_ms),
                    if gate.out_of_service_reasons.is_empty() {
                        "—".to_owned()
                    } else {
                        esc(&gate.out_of_service_reasons.join(", "))
                    },
                    if unhealthy.is_empty() {
                        "all ok".to_owned()
                    } else {
                        esc(&unhealthy.join(", "))
                    },
                    optional(gate.software_version.as_deref()),
                    optional(gate.outbox_pending),
                ]
            })
            .collect();
        let _ = write!(
            body,
            "<h2>{}</h2>{}",
            esc(&site_name(site)),
            table(
                &format!("Gates at {}", site_name(site)),
                &[
                    "Gate",
                    "Status",
                    "State",
                    "Last heard",
                    "Out-of-service reasons",
                    "Devices",
                    "Software",
                    "Outbox pending#",
                ],
                &rows,
            )
        );
    }
    if fleet.gates.is_empty() {
        body.push_str("<p>No gate has been heard of yet.</p>");
    }
    render(&operator, "Fleet", "/console/fleet", &body)
}

fn counts_row(label: String, counts: &crate::reports::OutcomeCounts) -> Vec<String> {
    vec![
        label,
        counts.passed.to_string(),
        counts.denied.to_string(),
        counts.referred.to_string(),
        counts.completed.to_string(),
        counts.other.to_string(),
    ]
}

const COUNT_HEADERS: [&str; 5] = ["Passed#", "Denied#", "Referred#", "Completed#", "Other#"];

fn with_counts(first: &str) -> Vec<&str> {
    let mut headers = vec![first];
    headers.extend(COUNT_HEADERS);
    headers
}

fn reasons_table(caption: &str, reasons: &[crate::reports::ReasonCount]) -> String {
    table(
        caption,
        &["Deny reason", "Count#"],
        &reasons
            .iter()
            .map(|reason| vec![esc(&reason.reason), reason.count.to_string()])
            .collect::<Vec<_>>(),
    )
}

const REPORT_HOURS: i64 = 24;

async fn activity(State(api): State<Api>, Extension(operator): Extension<Operator>) -> Response {
    let store = api.storage.clone();
    let now = now_ms();
    let query = crate::reports::ActivityQuery::last_hours(now, REPORT_HOURS);
    let activity = match blocking(move || store.activity(&query)).await {
        Ok(activity) => activity,
        Err(response) => return response,
    };
    let mut body = format!(
        "<p class=\"note\">Decisions in the last {REPORT_HOURS} hours, per hour (UTC), per site \
         and per gate.</p><h2>Sites</h2>"
    );
    for site in &activity.sites {
        let name = site_name(site.site.as_ref());
        let mut rows: Vec<Vec<String>> = site
            .hours
            .iter()
            .map(|hour| counts_row(esc(&super::cli::utc(hour.hour_ms)[..16]), &hour.counts))
            .collect();
        rows.push(counts_row(
            "<strong>Total</strong>".to_owned(),
            &site.totals,
        ));
        let _ = write!(
            body,
            "<h3>{}</h3>{}{}",
            esc(&name),
            table(
                &format!("Decisions per hour at {name}"),
                &with_counts("Hour (UTC)"),
                &rows
            ),
            reasons_table(&format!("Deny reasons at {name}"), &site.deny_reasons)
        );
    }
    body.push_str("<h2>Gates</h2>");
    let gate_rows: Vec<Vec<String>> = activity
        .gates
        .iter()
        .map(|gate| {
            let mut row = counts_row(esc(&gate.gate_id), &gate.totals);
            row.insert(1, esc(&site_name(gate.site.as_ref())));
            row.push(esc(&gate
                .deny_reasons
                .iter()
                .map(|reason| format!("{} × {}", reason.reason, reason.count))
                .collect::<Vec<_>>()
                .join(", ")));
            row
        })
        .collect();
    let mut headers = with_counts("Gate");
    headers.insert(1, "Site");
    headers.push("Deny reasons");
    body.push_str(&table(
        &format!("Decisions per gate, last {REPORT_HOURS} hours"),
        &headers,
        &gate_rows,
    ));
    render(&operator, "Activity", "/console/activity", &body)
}

async fn incidents(State(api): State<Api>, Extension(operator): Extension<Operator>) -> Response {
    let store = api.storage.clone();
    let now = now_ms();
    let query = crate::reports::IncidentQuery {
        since_ms: now - REPORT_HOURS * crate::reports::HOUR_MS,
        until_ms: now,
        limit: 500,
    };
    let incidents = match blocking(move || store.incidents(&query)).await {
        Ok(incidents) => incidents,
        Err(response) => return response,
    };
    let mut body = format!(
        "<p class=\"note\">Officer referrals, door alarms and officer actions of the last \
         {REPORT_HOURS} hours, newest first.</p>"
    );
    for (kind, title) in [
        (crate::reports::IncidentKind::Referral, "Officer referrals"),
        (crate::reports::IncidentKind::DoorAlarm, "Door alarms"),
        (
            crate::reports::IncidentKind::OfficerAction,
            "Officer actions",
        ),
    ] {
        let rows: Vec<Vec<String>> = incidents
            .recent
            .iter()
            .filter(|incident| incident.kind == kind)
            .map(|incident| {
                vec![
                    when(incident.occurred_at_ms, now),
                    esc(&incident.gate_id),
                    esc(&site_name(incident.site.as_ref())),
                    esc(&incident.code),
                    optional(incident.detail.as_deref()),
                ]
            })
            .collect();
        let _ = write!(
            body,
            "<h2>{title}</h2>{}",
            table(title, &["When", "Gate", "Site", "Code", "Detail"], &rows)
        );
    }
    render(&operator, "Referrals & alarms", "/console/incidents", &body)
}

async fn outbox(State(api): State<Api>, Extension(operator): Extension<Operator>) -> Response {
    let store = api.storage.clone();
    let now = now_ms();
    let query = crate::reports::ActivityQuery::last_hours(now, REPORT_HOURS);
    let lag = match blocking(move || store.outbox_lag(&query)).await {
        Ok(lag) => lag,
        Err(response) => return response,
    };
    let rows: Vec<Vec<String>> = lag
        .gates
        .iter()
        .map(|gate| {
            vec![
                esc(&gate.gate_id),
                esc(&site_name(gate.site.as_ref())),
                optional(gate.outbox_pending),
                optional_duration(gate.outbox_oldest_pending_age_ms),
                optional_duration(gate.sync_lag_ms),
                gate.events.to_string(),
                optional_duration(gate.mean_delivery_lag_ms),
                optional_duration(gate.max_delivery_lag_ms),
            ]
        })
        .collect();
    let body = format!(
        "<p class=\"note\">Pending events and the oldest one's age as of each gate's newest \
         heartbeat; delivery lag (received by central minus occurred at the gate) of the events \
         of the last {REPORT_HOURS} hours.</p>{}",
        table(
            "Outbox lag per gate",
            &[
                "Gate",
                "Site",
                "Pending#",
                "Oldest pending#",
                "Sync lag#",
                "Events#",
                "Mean delivery lag#",
                "Max delivery lag#",
            ],
            &rows,
        )
    );
    render(&operator, "Outbox lag", "/console/outbox", &body)
}

// ------------------------------------------------------------------ lists

async fn lists_index(State(api): State<Api>, Extension(operator): Extension<Operator>) -> Response {
    let store = api.storage.clone();
    let rows = match blocking(move || {
        ListKind::ALL
            .iter()
            .map(|kind| {
                let history = store.list_history(kind.name())?;
                Ok((*kind, store.list_version(kind.name())?, history))
            })
            .collect::<Result<Vec<_>, StorageError>>()
    })
    .await
    {
        Ok(rows) => rows,
        Err(response) => return response,
    };
    let now = now_ms();
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(kind, version, history)| {
            let newest = history.first();
            vec![
                format!("<a href=\"/console/lists/{0}\">{0}</a>", esc(kind.name())),
                optional(*version),
                optional(newest.map(|v| v.item_count)),
                optional(newest.map(|v| v.published_by.as_str())),
                newest.map_or_else(|| "—".to_owned(), |v| when(v.published_at_ms, now)),
                history.len().to_string(),
            ]
        })
        .collect();
    let body = format!(
        "<p class=\"note\">The lists gates pull. Open one for its versions{}.</p>{}",
        if operator.account.role.may_publish() {
            " and to publish a new version"
        } else {
            ""
        },
        table(
            "Published lists",
            &[
                "List",
                "Version#",
                "Entries#",
                "Published by",
                "When",
                "Versions kept#",
            ],
            &table_rows,
        )
    );
    render(&operator, "Lists", "/console/lists", &body)
}

fn publish_form(operator: &Operator, kind: ListKind, text: &str) -> String {
    let example = match kind {
        ListKind::Denylist => "[\"<64 hex digits>\", ...]",
        ListKind::Enrolments => {
            "[{\"document_hash\": \"<64 hex>\", \"fingers\": [{\"finger\": \"right_index\", \"template\": \"<hex>\"}]}]"
        }
        ListKind::Trust => {
            "[{\"kind\": \"csca\", \"der\": \"<base64>\"}, {\"kind\": \"crl\", \"der\": \"<base64>\"}]"
        }
    };
    format!(
        "<h2>Publish a new version</h2><form method=\"post\" action=\"/console/lists/{name}/preview\">\
         {csrf}<label for=\"items\">Entries (JSON: the whole new list)</label>\
         <p class=\"note\" id=\"items-help\">Format: <code>{example}</code>. The list is checked \
         and compared with the published version before anything is published.</p>\
         <textarea id=\"items\" name=\"items\" aria-describedby=\"items-help\" required>{text}</textarea>\
         <p><button type=\"submit\">Preview</button></p></form>",
        name = esc(kind.name()),
        csrf = csrf_field(operator),
        example = esc(example),
        text = esc(text),
    )
}

fn list_kind(name: &str) -> Result<ListKind, Response> {
    ListKind::named(name).ok_or_else(|| refusal(StatusCode::NOT_FOUND, "No such list."))
}

async fn list_page(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Path(name): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    let kind = match list_kind(&name) {
        Ok(kind) => kind,
        Err(response) => return response,
    };
    let store = api.storage.clone();
    let history = match blocking(move || store.list_history(kind.name())).await {
        Ok(history) => history,
        Err(response) => return response,
    };
    let now = now_ms();
    let mut body = String::new();
    if let Some(version) = query_value(&uri, "published").and_then(|v| v.parse::<u64>().ok()) {
        body.push_str(&flash("ok", &format!("Published version {version}.")));
    }
    let rows: Vec<Vec<String>> = history
        .iter()
        .map(|version| {
            vec![
                version.version.to_string(),
                version.item_count.to_string(),
                esc(&version.published_by),
                when(version.published_at_ms, now),
            ]
        })
        .collect();
    body.push_str(&table(
        &format!("Versions of {}", kind.name()),
        &["Version#", "Entries#", "Published by", "When"],
        &rows,
    ));
    if operator.account.role.may_publish() {
        body.push_str(&publish_form(&operator, kind, ""));
    } else {
        body.push_str("<p class=\"note\">Your role may view lists but not publish them.</p>");
    }
    render(
        &operator,
        &format!("List {}", kind.name()),
        "/console/lists",
        &body,
    )
}

fn list_problem(error: &ListError) -> (StatusCode, String) {
    match error {
        ListError::Storage(StorageError::ListVersionConflict { current, .. }) => (
            StatusCode::CONFLICT,
            format!("The list changed since the preview (now version {current}): preview again."),
        ),
        ListError::Storage(error) => {
            tracing::error!(%error, "console: storage failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The database did not answer; try again.".to_owned(),
            )
        }
        other => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Not published: {other}"),
        ),
    }
}

async fn list_preview(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Extension(form): Extension<FormFields>,
    Path(name): Path<String>,
) -> Response {
    let kind = match list_kind(&name) {
        Ok(kind) => kind,
        Err(response) => return response,
    };
    let text = form.get("items").to_owned();
    let store = api.storage.clone();
    let checked = text.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        lists::prepare(store.as_ref(), kind.name(), checked.as_bytes(), now_ms())
    })
    .await;
    let title = format!("Publish {}: preview", kind.name());
    let prepared = match prepared {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(error)) => {
            let (status, message) = list_problem(&error);
            let body = format!(
                "{}{}",
                flash("error", &message),
                publish_form(&operator, kind, &text)
            );
            return render_status(status, &operator, &title, "/console/lists", &body);
        }
        Err(_) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    };
    let diff = &prepared.diff;
    let mut changes = String::from("<ul class=\"diff\">");
    for (class, mark, entries) in [
        ("add", "+ added", &diff.added),
        ("del", "− removed", &diff.removed),
        ("chg", "~ changed", &diff.changed),
    ] {
        for entry in entries.iter().take(PREVIEW_LINES) {
            let _ = write!(changes, "<li class=\"{class}\">{mark}: {}</li>", esc(entry));
        }
        if entries.len() > PREVIEW_LINES {
            let _ = write!(
                changes,
                "<li class=\"{class}\">… and {} more {}</li>",
                entries.len() - PREVIEW_LINES,
                &mark[2..]
            );
        }
    }
    changes.push_str("</ul>");
    let body = format!(
        "<p>{summary}</p>\
         {table}{changes}\
         <form method=\"post\" action=\"/console/lists/{name}/publish\">{csrf}\
         <input type=\"hidden\" name=\"items\" value=\"{items}\">\
         <input type=\"hidden\" name=\"base\" value=\"{base}\">\
         <p><button type=\"submit\">Publish version {next}</button> \
         <a href=\"/console/lists/{name}\">Cancel</a></p></form>",
        summary = esc(&diff.summary()),
        table = table(
            "What publishing changes",
            &[
                "Added#",
                "Removed#",
                "Changed#",
                "Unchanged#",
                "Entries after#"
            ],
            &[vec![
                diff.added.len().to_string(),
                diff.removed.len().to_string(),
                diff.changed.len().to_string(),
                diff.unchanged.to_string(),
                diff.total.to_string(),
            ]],
        ),
        name = esc(kind.name()),
        csrf = csrf_field(&operator),
        items = esc(&text),
        base = diff
            .current_version
            .map_or_else(|| "none".to_owned(), |v| v.to_string()),
        next = diff.next_version,
    );
    render(&operator, &title, "/console/lists", &body)
}

async fn list_publish(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Extension(client): Extension<Client>,
    Extension(form): Extension<FormFields>,
    Path(name): Path<String>,
) -> Response {
    let kind = match list_kind(&name) {
        Ok(kind) => kind,
        Err(response) => return response,
    };
    let text = form.get("items").to_owned();
    let base = form.get("base").to_owned();
    let store = api.storage.clone();
    let actor = operator.account.name.clone();
    let address = client.address.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let now = now_ms();
        let prepared = lists::prepare(store.as_ref(), kind.name(), text.as_bytes(), now)?;
        let previewed = (base != "none").then(|| base.parse::<u64>().ok()).flatten();
        if prepared.diff.current_version != previewed {
            return Err(ListError::Storage(StorageError::ListVersionConflict {
                name: kind.name().to_owned(),
                offered: prepared.diff.next_version,
                current: prepared.diff.current_version.unwrap_or(0),
            }));
        }
        lists::publish(store.as_ref(), kind.name(), prepared, &actor, &address, now)
    })
    .await;
    match outcome {
        Ok(Ok(version)) => {
            tracing::info!(list = kind.name(), version, account = %operator.account.name, "list published from the console");
            see_other(&format!(
                "/console/lists/{}?published={version}",
                kind.name()
            ))
        }
        Ok(Err(error)) => {
            let (status, message) = list_problem(&error);
            let body = format!(
                "{}<p><a href=\"/console/lists/{}\">Back to the list</a></p>",
                flash("error", &message),
                esc(kind.name())
            );
            render_status(status, &operator, "Not published", "/console/lists", &body)
        }
        Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

// ------------------------------------------------------------------ accounts and audit

/// Hashes a new password on a blocking thread, when one of [`auth::HASHING`]'s permits is free.
async fn hash_in_turn(
    password: String,
) -> Result<Result<String, auth::PasswordError>, tokio::task::JoinError> {
    let _permit = auth::HASHING.acquire().await;
    tokio::task::spawn_blocking(move || auth::hash_password(&password)).await
}

const ROLES: [Role; 3] = [Role::Viewer, Role::ListPublisher, Role::Admin];

fn role_select(id: &str, selected: Role) -> String {
    let mut html = format!("<select id=\"{id}\" name=\"role\">");
    for role in ROLES {
        let _ = write!(
            html,
            "<option value=\"{0}\"{1}>{0}</option>",
            role.as_str(),
            if role == selected { " selected" } else { "" }
        );
    }
    html.push_str("</select>");
    html
}

const ACCOUNT_MESSAGES: &[(&str, &str)] = &[
    ("created", "Account created."),
    ("role", "Role changed; the account's sessions were ended."),
    ("disabled", "Account disabled; its sessions were ended."),
    ("enabled", "Account enabled."),
    (
        "password",
        "Password set; the account's sessions were ended.",
    ),
];

fn accounts_body(operator: &Operator, accounts: &[Account], message: &str, now: i64) -> String {
    let csrf = csrf_field(operator);
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .enumerate()
        .map(|(index, account)| {
            let name = esc(&account.name);
            let own = account.name == operator.account.name;
            let actions = if own {
                "<span class=\"muted\">your account: change it from the command line or another admin</span>".to_owned()
            } else {
                format!(
                    "<form class=\"inline\" method=\"post\" action=\"/console/accounts/{name}\">{csrf}\
                     <input type=\"hidden\" name=\"action\" value=\"role\">\
                     <label class=\"inline\" for=\"role-{index}\">Role of {name}</label>{select} \
                     <button type=\"submit\" class=\"secondary\">Change role</button></form> \
                     <form class=\"inline\" method=\"post\" action=\"/console/accounts/{name}\">{csrf}\
                     <input type=\"hidden\" name=\"action\" value=\"{toggle}\">\
                     <button type=\"submit\" class=\"secondary\">{toggle_label}</button></form> \
                     <form class=\"inline\" method=\"post\" action=\"/console/accounts/{name}\">{csrf}\
                     <input type=\"hidden\" name=\"action\" value=\"password\">\
                     <label class=\"inline\" for=\"password-{index}\">New password for {name}</label> \
                     <input type=\"password\" id=\"password-{index}\" name=\"password\" \
                     autocomplete=\"new-password\" required> \
                     <button type=\"submit\" class=\"secondary\">Set password</button></form>",
                    select = role_select(&format!("role-{index}"), account.role),
                    toggle = if account.disabled { "enable" } else { "disable" },
                    toggle_label = if account.disabled {
                        format!("Enable {name}")
                    } else {
                        format!("Disable {name}")
                    },
                )
            };
            vec![
                name.clone(),
                esc(account.role.as_str()),
                if account.disabled {
                    "disabled".to_owned()
                } else {
                    "active".to_owned()
                },
                when(account.created_at_ms, now),
                when(account.changed_at_ms, now),
                actions,
            ]
        })
        .collect();
    format!(
        "{message}{}<h2>New account</h2>\
         <form method=\"post\" action=\"/console/accounts\">{csrf}\
         <label for=\"new-name\">Account name</label>\
         <input type=\"text\" id=\"new-name\" name=\"name\" required pattern=\"[A-Za-z0-9._-]{{1,64}}\">\
         <label for=\"new-role\">Role</label>{}\
         <label for=\"new-password\">Password (at least {} characters)</label>\
         <input type=\"password\" id=\"new-password\" name=\"password\" autocomplete=\"new-password\" required>\
         <p><button type=\"submit\">Create account</button></p></form>\
         <p class=\"note\">Passwords are set here or with <code>central accounts passwd</code> on \
         the central host.</p>",
        table(
            "Operator accounts",
            &["Account", "Role", "State", "Created", "Changed", "Actions"],
            &rows
        ),
        role_select("new-role", Role::Viewer),
        auth::MIN_PASSWORD_CHARS,
    )
}

async fn accounts_page(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    uri: axum::http::Uri,
) -> Response {
    let store = api.storage.clone();
    let accounts = match blocking(move || store.accounts()).await {
        Ok(accounts) => accounts,
        Err(response) => return response,
    };
    let message = query_value(&uri, "done")
        .and_then(|done| ACCOUNT_MESSAGES.iter().find(|(code, _)| *code == done))
        .map(|(_, text)| flash("ok", text))
        .unwrap_or_default();
    let body = accounts_body(&operator, &accounts, &message, now_ms());
    render(&operator, "Accounts", "/console/accounts", &body)
}

async fn accounts_error(
    api: &Api,
    operator: &Operator,
    status: StatusCode,
    message: &str,
) -> Response {
    let store = api.storage.clone();
    let accounts = match blocking(move || store.accounts()).await {
        Ok(accounts) => accounts,
        Err(response) => return response,
    };
    let body = accounts_body(operator, &accounts, &flash("error", message), now_ms());
    render_status(status, operator, "Accounts", "/console/accounts", &body)
}

fn admin_audit(
    operator: &Operator,
    client: &Client,
    action: &str,
    target: &str,
    detail: String,
) -> AuditEntry {
    AuditEntry {
        at_ms: now_ms(),
        actor: operator.account.name.clone(),
        address: client.address.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail,
    }
}

async fn account_create(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Extension(client): Extension<Client>,
    Extension(form): Extension<FormFields>,
) -> Response {
    let name = form.get("name").to_owned();
    let Some(role) = Role::parse(form.get("role")) else {
        return accounts_error(
            &api,
            &operator,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unknown role.",
        )
        .await;
    };
    if !auth::valid_account_name(&name) {
        return accounts_error(
            &api,
            &operator,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Account names are 1 to 64 of a-z A-Z 0-9 - _ .",
        )
        .await;
    }
    let password = form.get("password").to_owned();
    let hash = match hash_in_turn(password).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(error)) => {
            return accounts_error(
                &api,
                &operator,
                StatusCode::UNPROCESSABLE_ENTITY,
                &error.to_string(),
            )
            .await;
        }
        Err(_) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    };
    let audit = admin_audit(
        &operator,
        &client,
        AUDIT_ACCOUNT_CREATED,
        &name,
        role.as_str().to_owned(),
    );
    let now = audit.at_ms;
    let account = Account {
        name,
        role,
        password_hash: hash,
        disabled: false,
        created_at_ms: now,
        changed_at_ms: now,
    };
    let store = api.storage.clone();
    match blocking(move || store.create_account(&account, &audit)).await {
        Ok(true) => see_other("/console/accounts?done=created"),
        Ok(false) => {
            accounts_error(
                &api,
                &operator,
                StatusCode::CONFLICT,
                "That account exists.",
            )
            .await
        }
        Err(response) => response,
    }
}

async fn account_change(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Extension(client): Extension<Client>,
    Extension(form): Extension<FormFields>,
    Path(name): Path<String>,
) -> Response {
    if name == operator.account.name {
        return accounts_error(
            &api,
            &operator,
            StatusCode::FORBIDDEN,
            "You cannot change your own account here (so no admin locks themselves out).",
        )
        .await;
    }
    let (change, action, detail, done) = match form.get("action") {
        "role" => match Role::parse(form.get("role")) {
            Some(role) => (
                AccountChange::Role(role),
                AUDIT_ACCOUNT_ROLE,
                role.as_str().to_owned(),
                "role",
            ),
            None => {
                return accounts_error(
                    &api,
                    &operator,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Unknown role.",
                )
                .await;
            }
        },
        "disable" => (
            AccountChange::Disabled(true),
            AUDIT_ACCOUNT_DISABLED,
            String::new(),
            "disabled",
        ),
        "enable" => (
            AccountChange::Disabled(false),
            AUDIT_ACCOUNT_ENABLED,
            String::new(),
            "enabled",
        ),
        "password" => {
            let password = form.get("password").to_owned();
            match hash_in_turn(password).await {
                Ok(Ok(hash)) => (
                    AccountChange::Password(hash),
                    AUDIT_ACCOUNT_PASSWORD,
                    String::new(),
                    "password",
                ),
                Ok(Err(error)) => {
                    return accounts_error(
                        &api,
                        &operator,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &error.to_string(),
                    )
                    .await;
                }
                Err(_) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
            }
        }
        _ => {
            return accounts_error(
                &api,
                &operator,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unknown action.",
            )
            .await;
        }
    };
    let audit = admin_audit(&operator, &client, action, &name, detail);
    let store = api.storage.clone();
    match blocking(move || store.update_account(&name, &change, &audit)).await {
        Ok(true) => see_other(&format!("/console/accounts?done={done}")),
        Ok(false) => {
            accounts_error(&api, &operator, StatusCode::NOT_FOUND, "No such account.").await
        }
        Err(response) => response,
    }
}

async fn audit_page(State(api): State<Api>, Extension(operator): Extension<Operator>) -> Response {
    let store = api.storage.clone();
    let entries = match blocking(move || store.audit_trail(AUDIT_PAGE_ENTRIES)).await {
        Ok(entries) => entries,
        Err(response) => return response,
    };
    let now = now_ms();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|entry| {
            vec![
                when(entry.at_ms, now),
                esc(&entry.actor),
                esc(&entry.address),
                esc(&entry.action),
                esc(&entry.target),
                esc(&entry.detail),
            ]
        })
        .collect();
    let body = format!(
        "<p class=\"note\">Every login, failed login, logout, list publication and account \
         change, newest first (the last {AUDIT_PAGE_ENTRIES}).</p>{}",
        table(
            "Audit trail",
            &["When", "Who", "From", "What", "On", "Detail"],
            &rows
        )
    );
    render(&operator, "Audit trail", "/console/audit", &body)
}
