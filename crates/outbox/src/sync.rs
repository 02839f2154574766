//! Sync client: pushes pending events to central and pulls versioned lists.
//!
//! Blocking (ureq + rustls); gated runs [`run_sync_loop`] on a dedicated thread with its own
//! [`Outbox`] handle from [`Outbox::attach`].
//!
//! Guarantees:
//! * events go out in per-gate sequence order, in batches (`POST /v1/events`);
//! * an event is marked delivered only when central's answer lists its id in `acked`;
//! * a lost answer means the batch is sent again; central is idempotent by event id, so the
//!   effect is exactly once;
//! * failures back off exponentially (with jitter, capped), and a restart simply resumes with
//!   the oldest pending event, because all state lives in the outbox database;
//! * lists are fetched with the version the gate holds (`?have=V`) and applied atomically.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::OutboxError;
use crate::store::Outbox;
use crate::wire::{
    BatchAck, BoothAck, BoothAckResult, EventBatch, HandOverAck, HandOverBatch, HandOverPage,
    Health, PublishedList, ReceivedHandOver,
};

/// Errors of the sync client.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The central URL is unusable.
    #[error("central URL {url:?}: {detail}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Plain HTTP was asked for a host that is not loopback.
    #[error("plain http:// is only allowed to a loopback host, not {host:?}; configure TLS")]
    PlainHttpNotLoopback {
        /// The host in the URL.
        host: String,
    },
    /// A certificate or key file could not be loaded.
    #[error("TLS file {path}: {detail}")]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// Central could not be reached (connect, TLS handshake, timeout, I/O).
    #[error("central unreachable: {0}")]
    Transport(String),
    /// Central answered with an error status.
    #[error("central answered {status}: {body}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// Body text (truncated).
        body: String,
    },
    /// Central's answer could not be decoded.
    #[error("central answer to {what} unreadable: {detail}")]
    Decode {
        /// Which request.
        what: &'static str,
        /// Decoder message.
        detail: String,
    },
    /// Central served a list under another name.
    #[error("asked for list {asked:?}, central served {served:?}")]
    WrongList {
        /// Requested list.
        asked: String,
        /// List in the answer.
        served: String,
    },
    /// The local outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

/// Certificate files for TLS to central.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM file with the CA certificate(s) central's certificate must chain to.
    pub ca_certs: PathBuf,
    /// PEM client certificate chain of this gate (mutual TLS), with `client_key`.
    pub client_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the client certificate.
    pub client_key: Option<PathBuf>,
}

/// Exponential back-off with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure (before jitter).
    pub initial: Duration,
    /// Upper bound of the delay.
    pub max: Duration,
}

impl Default for Backoff {
    /// 500 ms doubling up to 60 s.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// Delay after `failures` consecutive failures (1 = first): `min(max, initial * 2^(n-1))`
    /// scaled by a random factor in [0.5, 1.0] so gates that failed together spread out.
    pub fn delay(&self, failures: u32, rng: &mut impl Rng) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let ceiling = self.initial.saturating_mul(1u32 << exponent).min(self.max);
        ceiling.mul_f64(rng.random_range(0.5..=1.0))
    }
}

/// Configuration of the sync client and loop.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Central's base URL, e.g. `https://central.example:8443` (`http://` only to loopback).
    pub base_url: String,
    /// TLS files; required for `https://`.
    pub tls: Option<TlsFiles>,
    /// Events per `POST /v1/events`.
    pub batch_size: usize,
    /// Timeout of one request (connect + answer).
    pub request_timeout: Duration,
    /// Back-off after failures.
    pub backoff: Backoff,
    /// How long to sleep when nothing is pending (a [`SyncSignal::notify`] wakes earlier).
    pub idle_interval: Duration,
    /// Lists to pull.
    pub lists: Vec<String>,
    /// How often to pull lists.
    pub list_interval: Duration,
    /// How often to purge delivered events past retention (and to delete sealed hand-over
    /// records past their time to live).
    pub purge_interval: Duration,
    /// Sealed hand-over records per `POST /v1/gates/{gate}/handovers` (each is a few hundred
    /// kilobytes).
    pub handover_batch_size: usize,
}

impl SyncConfig {
    /// Defaults for `base_url`: batches of 200, 10 s timeout, 500 ms..60 s back-off, 5 s idle,
    /// lists every 5 minutes, purge and hand-over expiry hourly, 4 hand-overs per request, no
    /// lists, no TLS.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            tls: None,
            batch_size: 200,
            request_timeout: Duration::from_secs(10),
            backoff: Backoff::default(),
            idle_interval: Duration::from_secs(5),
            lists: Vec::new(),
            list_interval: Duration::from_secs(300),
            purge_interval: Duration::from_secs(3600),
            handover_batch_size: 4,
        }
    }
}

/// Result of one push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushOutcome {
    /// Events sent in the batch.
    pub sent: usize,
    /// Events central acknowledged and that are now marked delivered.
    pub acked: usize,
}

/// Result of one list pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullOutcome {
    /// A newer version was applied.
    Updated {
        /// The version now stored.
        version: u64,
    },
    /// Central has nothing newer; the fetched-at time was refreshed.
    Unchanged,
    /// Central has no such list.
    NotPublished,
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, SyncError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|error| SyncError::TlsFile {
            path: path.to_owned(),
            detail: error.to_string(),
        })?;
    if certs.is_empty() {
        return Err(SyncError::TlsFile {
            path: path.to_owned(),
            detail: "no certificate found".into(),
        });
    }
    Ok(certs)
}

fn tls_config(files: &TlsFiles) -> Result<Arc<rustls::ClientConfig>, SyncError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in load_certs(&files.ca_certs)? {
        roots.add(cert)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match (&files.client_cert, &files.client_key) {
        (Some(cert), Some(key)) => {
            let chain = load_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|error| SyncError::TlsFile {
                path: key.clone(),
                detail: error.to_string(),
            })?;
            builder.with_client_auth_cert(chain, key)?
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(path), None) | (None, Some(path)) => {
            return Err(SyncError::TlsFile {
                path: path.clone(),
                detail: "client certificate and key must be given together".into(),
            });
        }
    };
    Ok(Arc::new(config))
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(address) => address.is_loopback(),
        url::Host::Ipv6(address) => address.is_loopback(),
    }
}

fn map_ureq(error: ureq::Error) -> SyncError {
    match error {
        ureq::Error::Status(status, response) => {
            let mut body = response.into_string().unwrap_or_default();
            body.truncate(500);
            SyncError::Status { status, body }
        }
        ureq::Error::Transport(transport) => SyncError::Transport(transport.to_string()),
    }
}

/// HTTP client for one central.
#[derive(Debug)]
pub struct SyncClient {
    agent: ureq::Agent,
    base: url::Url,
}

impl SyncClient {
    /// Builds a client; refuses `http://` to anything but loopback and `https://` without TLS
    /// files.
    pub fn new(config: &SyncConfig) -> Result<Self, SyncError> {
        let url_error = |detail: &str| SyncError::Url {
            url: config.base_url.clone(),
            detail: detail.to_owned(),
        };
        let base = url::Url::parse(&config.base_url).map_err(|e| url_error(&e.to_string()))?;
        let host = base.host().ok_or_else(|| url_error("no host"))?;
        let mut builder = ureq::AgentBuilder::new()
            .timeout(config.request_timeout)
            .redirects(0);
        match base.scheme() {
            "http" => {
                if !is_loopback(&host) {
                    return Err(SyncError::PlainHttpNotLoopback {
                        host: host.to_string(),
                    });
                }
            }
            "https" => {
                let files = config
                    .tls
                    .as_ref()
                    .ok_or_else(|| url_error("https needs TLS files (CA, client certificate)"))?;
                builder = builder.tls_config(tls_config(files)?);
            }
            other => return Err(url_error(&format!("unsupported scheme {other:?}"))),
        }
        Ok(Self {
            agent: builder.build(),
            base,
        })
    }

    fn url(&self, path: &str) -> Result<url::Url, SyncError> {
        self.base.join(path).map_err(|error| SyncError::Url {
            url: self.base.to_string(),
            detail: error.to_string(),
        })
    }

    /// POSTs `body` as JSON to `url` and decodes the JSON answer (`what` names the call in
    /// errors).
    fn post_json<B: serde::Serialize, A: serde::de::DeserializeOwned>(
        &self,
        url: &url::Url,
        body: &B,
        what: &'static str,
    ) -> Result<A, SyncError> {
        self.agent
            .request_url("POST", url)
            .send_json(body)
            .map_err(map_ureq)
            .and_then(|response| {
                response
                    .into_json::<A>()
                    .map_err(|error| SyncError::Decode {
                        what,
                        detail: error.to_string(),
                    })
            })
    }

    /// Sends up to `batch_size` pending events in one request and marks the acknowledged
    /// ones delivered. On failure the events stay pending (and the failure is recorded).
    pub fn push_batch(
        &self,
        outbox: &mut Outbox,
        batch_size: usize,
    ) -> Result<PushOutcome, SyncError> {
        let pending = outbox.pending(batch_size)?;
        if pending.is_empty() {
            return Ok(PushOutcome { sent: 0, acked: 0 });
        }
        let ids: Vec<_> = pending.iter().map(|event| event.envelope.id).collect();
        let batch = EventBatch {
            gate_id: outbox.gate_id().to_owned(),
            events: pending.into_iter().map(|event| event.envelope).collect(),
        };
        let answer: Result<BatchAck, _> =
            self.post_json(&self.url("v1/events")?, &batch, "POST /v1/events");
        let ack = match answer {
            Ok(ack) => ack,
            Err(error) => {
                outbox.record_delivery_failure(&ids, &error.to_string())?;
                return Err(error);
            }
        };
        let acked = sent_and_acked(&ids, ack.acked);
        outbox.mark_delivered(&acked)?;
        Ok(PushOutcome {
            sent: ids.len(),
            acked: acked.len(),
        })
    }

    /// Sends up to `batch_size` queued sealed hand-over records to central
    /// (`POST /v1/gates/{gate}/handovers`) and deletes, securely, exactly those central
    /// acknowledges. On failure the records stay queued (and the failure is recorded).
    pub fn push_handovers(
        &self,
        outbox: &mut Outbox,
        batch_size: usize,
    ) -> Result<PushOutcome, SyncError> {
        let pending = outbox.pending_handovers(batch_size)?;
        if pending.is_empty() {
            return Ok(PushOutcome { sent: 0, acked: 0 });
        }
        let ids: Vec<_> = pending.iter().map(|record| record.sealed.id).collect();
        let batch = HandOverBatch {
            handovers: pending.into_iter().map(|record| record.sealed).collect(),
        };
        let mut url = self.url("v1/gates/")?;
        url.path_segments_mut()
            .map_err(|()| SyncError::Url {
                url: self.base.to_string(),
                detail: "cannot be a base".into(),
            })?
            .pop_if_empty()
            .push(outbox.gate_id())
            .push("handovers");
        let answer: Result<HandOverAck, _> =
            self.post_json(&url, &batch, "POST /v1/gates/{gate}/handovers");
        let ack = match answer {
            Ok(ack) => ack,
            Err(error) => {
                outbox.record_handover_failure(&ids, &error.to_string())?;
                return Err(error);
            }
        };
        let acked = sent_and_acked(&ids, ack.acked);
        outbox.delete_handovers(&acked)?;
        Ok(PushOutcome {
            sent: ids.len(),
            acked: acked.len(),
        })
    }

    /// Pushes batches until nothing is pending or a push fails. Returns events acknowledged.
    pub fn drain(&self, outbox: &mut Outbox, batch_size: usize) -> Result<u64, SyncError> {
        let mut total = 0u64;
        loop {
            let outcome = self.push_batch(outbox, batch_size)?;
            total += outcome.acked as u64;
            if outcome.sent == 0 || outcome.acked == 0 {
                return Ok(total);
            }
        }
    }

    /// Fetches list `name` if central has a newer version than the stored one and applies it
    /// atomically; otherwise refreshes the list's fetched-at time.
    pub fn pull_list(&self, outbox: &mut Outbox, name: &str) -> Result<PullOutcome, SyncError> {
        let have = outbox.list_version(name)?;
        let url = self.url(&format!("v1/lists/{name}"))?;
        let mut request = self.agent.request_url("GET", &url);
        if let Some(version) = have {
            request = request.query("have", &version.to_string());
        }
        let response = match request.call() {
            Ok(response) => response,
            Err(ureq::Error::Status(404, _)) => return Ok(PullOutcome::NotPublished),
            Err(error) => return Err(map_ureq(error)),
        };
        if response.status() == 304 {
            outbox.touch_list(name)?;
            return Ok(PullOutcome::Unchanged);
        }
        let list: PublishedList = serde_json::from_reader(BufReader::new(response.into_reader()))
            .map_err(|error| SyncError::Decode {
            what: "GET /v1/lists",
            detail: error.to_string(),
        })?;
        if list.name != name {
            return Err(SyncError::WrongList {
                asked: name.to_owned(),
                served: list.name,
            });
        }
        outbox.replace_list(name, list.version, &list.items)?;
        Ok(if Some(list.version) == have {
            PullOutcome::Unchanged
        } else {
            PullOutcome::Updated {
                version: list.version,
            }
        })
    }

    /// Asks central for its health.
    pub fn health(&self) -> Result<Health, SyncError> {
        self.agent
            .request_url("GET", &self.url("v1/health")?)
            .call()
            .map_err(map_ureq)?
            .into_json()
            .map_err(|error| SyncError::Decode {
                what: "GET /v1/health",
                detail: error.to_string(),
            })
    }
}

/// The inspection booth's side of the hand-over API: fetch the sealed records addressed to
/// one booth and acknowledge them (after which central erases them). With mutual TLS the
/// client certificate must name the booth as `urn:booth:BOOTH_ID`. Opening the records is
/// [`crate::handover::open`] with the booth's private key.
#[derive(Debug)]
pub struct BoothClient {
    client: SyncClient,
    booth_id: String,
}

impl BoothClient {
    /// A client for booth `booth_id` of the central in `config` (same URL and TLS rules as
    /// the gate's [`SyncClient`]).
    pub fn new(config: &SyncConfig, booth_id: impl Into<String>) -> Result<Self, SyncError> {
        Ok(Self {
            client: SyncClient::new(config)?,
            booth_id: booth_id.into(),
        })
    }

    fn url(&self, tail: &[&str]) -> Result<url::Url, SyncError> {
        let mut url = self.client.url("v1/booths/")?;
        url.path_segments_mut()
            .map_err(|()| SyncError::Url {
                url: self.client.base.to_string(),
                detail: "cannot be a base".into(),
            })?
            .pop_if_empty()
            .push(&self.booth_id)
            .extend(tail);
        Ok(url)
    }

    /// Up to `limit` records not yet acknowledged, oldest first.
    pub fn fetch(&self, limit: u32) -> Result<Vec<ReceivedHandOver>, SyncError> {
        let page: HandOverPage = self
            .client
            .agent
            .request_url("GET", &self.url(&["handovers"])?)
            .query("limit", &limit.to_string())
            .call()
            .map_err(map_ureq)?
            .into_json()
            .map_err(|error| SyncError::Decode {
                what: "GET /v1/booths/{booth}/handovers",
                detail: error.to_string(),
            })?;
        Ok(page.handovers)
    }

    /// Acknowledges records the booth has stored; returns how many were newly acknowledged.
    pub fn acknowledge(&self, ids: &[uuid::Uuid]) -> Result<u64, SyncError> {
        let answer: BoothAckResult = self
            .client
            .agent
            .request_url("POST", &self.url(&["handovers", "ack"])?)
            .send_json(&BoothAck { ids: ids.to_vec() })
            .map_err(map_ureq)?
            .into_json()
            .map_err(|error| SyncError::Decode {
                what: "POST /v1/booths/{booth}/handovers/ack",
                detail: error.to_string(),
            })?;
        Ok(answer.acknowledged)
    }
}

#[derive(Debug, Default)]
struct SignalState {
    notified: bool,
    stopped: bool,
}

/// Wakes or stops a running [`run_sync_loop`] from another thread. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct SyncSignal(Arc<(Mutex<SignalState>, Condvar)>);

impl SyncSignal {
    /// A fresh signal.
    pub fn new() -> Self {
        Self::default()
    }

    fn update(&self, change: impl FnOnce(&mut SignalState)) {
        let (lock, condvar) = &*self.0;
        let mut state = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut state);
        condvar.notify_all();
    }

    /// New events were appended: push now instead of after the idle interval.
    pub fn notify(&self) {
        self.update(|state| state.notified = true);
    }

    /// Ends the loop at its next check (within one request timeout).
    pub fn stop(&self) {
        self.update(|state| state.stopped = true);
    }

    /// Whether [`SyncSignal::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        let (lock, _) = &*self.0;
        lock.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .stopped
    }

    /// Waits up to `timeout` for a notify or stop; returns true when stopped.
    fn wait(&self, timeout: Duration) -> bool {
        let (lock, condvar) = &*self.0;
        let deadline = Instant::now() + timeout;
        let mut state = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while !state.notified && !state.stopped {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = condvar
                .wait_timeout(state, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        state.notified = false;
        state.stopped
    }
}

/// Runs the sync loop until `signal` is stopped: pull due lists, push pending events batch
/// by batch, back off after failures (a `gatectl outbox retry` cuts the back-off short),
/// purge delivered events past retention. Errors are logged and recorded in the outbox,
/// never fatal.
pub fn run_sync_loop(
    client: &SyncClient,
    config: &SyncConfig,
    outbox: &mut Outbox,
    signal: &SyncSignal,
) {
    let mut rng = rand::rng();
    let mut failures: u32 = 0;
    let mut next_list_pull = Instant::now();
    let mut next_purge = Instant::now();
    let mut seen_retry = outbox.retry_requested_ms().ok().flatten();
    while !signal.is_stopped() {
        let mut failed = false;
        if Instant::now() >= next_list_pull {
            let mut lists_ok = true;
            let mut unpublished = false;
            for name in &config.lists {
                match client.pull_list(outbox, name) {
                    Ok(PullOutcome::NotPublished) => unpublished = true,
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(list = %name, %error, "list pull failed");
                        if let Err(record) = outbox.record_sync_failure(&error.to_string()) {
                            tracing::error!(error = %record, "could not record sync failure");
                        }
                        lists_ok = false;
                    }
                }
            }
            if lists_ok {
                // A list central has not published yet is asked for again at the idle pace:
                // the gate refuses travellers until it has one.
                let interval = if unpublished {
                    config.idle_interval.min(config.list_interval)
                } else {
                    config.list_interval
                };
                next_list_pull = Instant::now() + interval;
            } else {
                failed = true;
            }
        }
        if Instant::now() >= next_purge {
            match outbox.purge_delivered() {
                Ok(purged) if purged > 0 => tracing::info!(purged, "purged delivered events"),
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "purge of delivered events failed"),
            }
            if let Err(error) = outbox.expire_handovers() {
                tracing::error!(%error, "expiry of sealed hand-over records failed");
            }
            next_purge = Instant::now() + config.purge_interval;
        }
        let mut more_pending = false;
        // Events are pushed even when a list pull failed: they do not depend on each other.
        match client.push_batch(outbox, config.batch_size) {
            Ok(outcome) => {
                more_pending = outcome.sent == config.batch_size && outcome.acked > 0;
                if outcome.sent > outcome.acked {
                    tracing::warn!(
                        sent = outcome.sent,
                        acked = outcome.acked,
                        "central acknowledged part of a batch"
                    );
                }
            }
            Err(error) => {
                tracing::warn!(%error, "event push failed");
                failed = true;
            }
        }
        // Sealed hand-over records have their own table and endpoint; a failure here does
        // not hold events back, nor the other way round.
        match client.push_handovers(outbox, config.handover_batch_size.max(1)) {
            Ok(outcome) => {
                more_pending |= outcome.sent == config.handover_batch_size && outcome.acked > 0;
            }
            Err(error) => {
                tracing::warn!(%error, "hand-over push failed");
                failed = true;
            }
        }
        if failed {
            failures = failures.saturating_add(1);
            let delay = config.backoff.delay(failures, &mut rng);
            let deadline = Instant::now() + delay;
            // Wait in slices so a technician's retry request (another process) is noticed.
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                if signal.wait((deadline - now).min(Duration::from_secs(1))) {
                    return;
                }
                let retry = outbox.retry_requested_ms().ok().flatten();
                if retry != seen_retry {
                    seen_retry = retry;
                    failures = 0;
                    next_list_pull = Instant::now();
                    break;
                }
            }
        } else {
            failures = 0;
            if !more_pending && signal.wait(config.idle_interval) {
                return;
            }
        }
    }
}

/// The ids central acknowledged among those sent (an acknowledgement of anything else is
/// ignored).
fn sent_and_acked(sent: &[uuid::Uuid], acked: Vec<uuid::Uuid>) -> Vec<uuid::Uuid> {
    let sent: std::collections::HashSet<_> = sent.iter().collect();
    acked.into_iter().filter(|id| sent.contains(id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_grows_exponentially_within_jitter_and_caps() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for failures in 1..40u32 {
            let ceiling = Duration::from_millis(100)
                .saturating_mul(1u32 << failures.saturating_sub(1).min(30))
                .min(Duration::from_secs(2));
            let delay = backoff.delay(failures, &mut rng);
            assert!(delay <= ceiling, "{failures}: {delay:?} > {ceiling:?}");
            assert!(
                delay >= ceiling / 2,
                "{failures}: {delay:?} < half of {ceiling:?}"
            );
        }
    }

    #[test]
    fn plain_http_is_refused_for_a_remote_host() {
        let error = SyncClient::new(&SyncConfig::new("http://central.example:8080")).unwrap_err();
        assert!(
            matches!(error, SyncError::PlainHttpNotLoopback { .. }),
            "{error}"
        );
        assert!(SyncClient::new(&SyncConfig::new("http://127.0.0.1:9")).is_ok());
        assert!(SyncClient::new(&SyncConfig::new("http://localhost:9")).is_ok());
        assert!(SyncClient::new(&SyncConfig::new("http://[::1]:9")).is_ok());
    }

    #[test]
    fn https_without_tls_files_is_refused() {
        let error = SyncClient::new(&SyncConfig::new("https://central.example")).unwrap_err();
        assert!(matches!(error, SyncError::Url { .. }), "{error}");
    }
}
