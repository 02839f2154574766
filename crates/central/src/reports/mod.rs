//! The read side for the airport's people: the fleet of gates, their activity, the outbox lag,
//! incidents (door alarms, officer actions, referrals) and the published waiting times.
//!
//! [`ReportStore`] is the API the operator console and the public waiting-time page call; it is
//! a supertrait of [`crate::storage::Storage`], so an `Arc<dyn Storage>` answers it. Every
//! result is a typed, `serde::Serialize` value; every time is Unix milliseconds.
//!
//! # What is maintained at ingest
//!
//! The reports never scan the event table for the console's pages. Summary tables are kept
//! up to date **by the database itself** (triggers created by [`sqlite::prepare`] and
//! [`postgres::prepare`], called once from the storages' `open` / `connect`):
//!
//! | table | one row per | holds |
//! |---|---|---|
//! | `report_gates` | gate | event count, last received / occurred, last outcome, the newest heartbeat's payload |
//! | `report_gate_hours` | gate and UTC hour of `occurred_at` | events, passed, denied, referred, completed, other outcomes, delivery lag sum / max |
//! | `report_deny_reasons` | gate, hour, reason code | denials with that reason |
//! | `report_incidents` | door alarm, officer action or referral | gate, times, code, detail |
//! | `report_handovers` | BioCart hand-over record | the gate's `sealed_at_ms` (kept after the booth's ack erases the sealed bytes) |
//!
//! On PostgreSQL one statement-level trigger per insert statement (a batch is one statement)
//! aggregates the batch's new rows (its transition table) into these tables; on SQLite a
//! row-level trigger does the same per event.
//! The first start with the reports fills the tables from
//! what is already stored, set-based. Two indexes are added: `events (occurred_at)`
//! for `transaction.outcome` rows only (the public page's rolling hour) and `handovers
//! (acked_at_ms)` for acknowledged records.
//!
//! # Definitions
//!
//! * **Outcome classes** (from the `transaction.outcome` record, `gate_core::OutcomeRecord`):
//!   *passed* = `outcome` `passed`; *denied* = `outcome` `denied` (a deny decision; the gate
//!   calls an officer); *referred* = no decision and `outcome` `timed_out` or `aborted`,
//!   except an abort by the officer (`OFFICER_CANCELLED`): the transactions that end with the
//!   officer called without a deny (whole-transaction time-out, device failure, shutdown);
//!   *completed* = a BioCart record handed over; *other* = every other outcome (abandoned, a
//!   pass whose door was not used, an officer's cancel).
//! * **Gate status** ([`GateStatus`]), at `now_ms`: *silent* when its newest heartbeat
//!   (`occurred_at`, the gate's clock) is more than [`SILENT_AFTER_INTERVALS`] of its own
//!   intervals old (or, with no heartbeat ever, its newest event more than that many
//!   [`DEFAULT_HEARTBEAT_S`] intervals old); otherwise *out of service* when its newest
//!   heartbeat says so, *active* when it ended a transaction in the last [`IDLE_AFTER_MS`],
//!   *idle* when it beats but had no traveller in that time, and *unknown* when it sent events
//!   recently but no heartbeat yet.

pub mod postgres;
pub mod public;
pub mod sqlite;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::storage::StorageError;

/// A gate whose newest heartbeat is older than this many of its intervals is silent.
pub const SILENT_AFTER_INTERVALS: i64 = 3;
/// The heartbeat interval assumed for a gate that never sent one (gated's default).
pub const DEFAULT_HEARTBEAT_S: i64 = 60;
/// A beating, in-service gate with no transaction ended within this time is idle.
pub const IDLE_AFTER_MS: i64 = 15 * 60_000;
/// The window of the published waiting times: the last hour.
pub const WAITING_WINDOW_MS: i64 = 60 * 60_000;
/// The short window of the departure throughput: the last quarter of an hour.
pub const THROUGHPUT_SHORT_WINDOW_MS: i64 = 15 * 60_000;
/// One hour, the bucket of the activity tables.
pub const HOUR_MS: i64 = 3_600_000;

/// Where a gate stands (`[gate] site` in its configuration, sent in each heartbeat).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Site {
    /// Airport code, e.g. `HND`.
    pub airport: String,
    /// Terminal, e.g. `T3`.
    pub terminal: String,
    /// Zone within the terminal, e.g. `departures`.
    pub zone: String,
}

impl Site {
    fn from_heartbeat(heartbeat: &serde_json::Value) -> Option<Self> {
        let site = heartbeat.get("site")?;
        let text = |key: &str| site.get(key)?.as_str().map(str::to_owned);
        Some(Self {
            airport: text("airport")?,
            terminal: text("terminal")?,
            zone: text("zone")?,
        })
    }
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.airport, self.terminal, self.zone)
    }
}

/// What the fleet page says of a gate (see the module docs, "Gate status").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStatus {
    /// No heartbeat for more than [`SILENT_AFTER_INTERVALS`] intervals.
    Silent,
    /// Beating, and its newest heartbeat says it is out of service.
    OutOfService,
    /// Beating, in service, and a transaction ended within [`IDLE_AFTER_MS`].
    Active,
    /// Beating and in service, but no traveller within [`IDLE_AFTER_MS`].
    Idle,
    /// Heard from recently, but no heartbeat yet (an older gated, or just started).
    Unknown,
}

impl GateStatus {
    /// The status's name as serialised (`silent`, `out_of_service`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            GateStatus::Silent => "silent",
            GateStatus::OutOfService => "out_of_service",
            GateStatus::Active => "active",
            GateStatus::Idle => "idle",
            GateStatus::Unknown => "unknown",
        }
    }
}

/// One device's health from the newest heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceHealth {
    /// Role: `camera`, `chip_reader`, `door`, `fingerprint`, `outbox`.
    pub name: String,
    /// Backend, e.g. `v4l2`, `pcsc`, `simulated`.
    pub backend: String,
    /// `up`, `degraded`, `down` or `absent`.
    pub health: String,
    /// What the technician should know (last error, device path).
    pub detail: String,
}

/// One gate on the fleet page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetGate {
    /// The gate's id.
    pub gate_id: String,
    /// Where it stands (from its newest heartbeat; `None` before one, or without `[gate] site`).
    pub site: Option<Site>,
    /// `face_gate`, `bio_cart` or `fingerprint_gate` (newest heartbeat).
    pub profile: Option<String>,
    /// The derived status.
    pub status: GateStatus,
    /// gated's state in the newest heartbeat: `idle`, `holding`, `stopped` or the step.
    pub state: Option<String>,
    /// In service according to the newest heartbeat.
    pub in_service: Option<bool>,
    /// Why it is out of service (reason codes, e.g. `CAMERA_UNAVAILABLE`).
    pub out_of_service_reasons: Vec<String>,
    /// gated's version.
    pub software_version: Option<String>,
    /// Each device's health.
    pub devices: Vec<DeviceHealth>,
    /// Events waiting in the gate's outbox when it last beat.
    pub outbox_pending: Option<u64>,
    /// Age of the oldest of them.
    pub outbox_oldest_pending_age_ms: Option<i64>,
    /// The gate's own sync lag when it last beat.
    pub sync_lag_ms: Option<i64>,
    /// The gate's last successful sync (gate clock).
    pub sync_last_success_ms: Option<i64>,
    /// Its heartbeat interval (seconds).
    pub heartbeat_interval_s: Option<i64>,
    /// When it last beat (`occurred_at`, gate clock).
    pub last_heartbeat_ms: Option<i64>,
    /// When central last stored one of its events (central clock): "last heard".
    pub last_heard_ms: i64,
    /// Its newest event's `occurred_at` (gate clock).
    pub last_event_ms: i64,
    /// When its newest transaction ended.
    pub last_outcome_ms: Option<i64>,
    /// Events central holds of it.
    pub events: i64,
}

/// The fleet page: every gate central has heard of.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fleet {
    /// The `now` the statuses are computed at.
    pub now_ms: i64,
    /// Gates, ordered by site (gates without one last), then gate id.
    pub gates: Vec<FleetGate>,
}

impl Fleet {
    /// The gates per site (`None`: gates that did not say where they stand), in the order of
    /// [`Fleet::gates`]: by site, gates without one last.
    pub fn by_site(&self) -> impl Iterator<Item = (Option<&Site>, &[FleetGate])> {
        self.gates
            .chunk_by(|a, b| a.site == b.site)
            .map(|gates| (gates[0].site.as_ref(), gates))
    }
}

/// The window (and optional narrowing) of [`ReportStore::activity`] and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityQuery {
    /// From this time (inclusive; rounded down to its hour).
    pub since_ms: i64,
    /// To this time (exclusive).
    pub until_ms: i64,
}

impl ActivityQuery {
    /// The last `hours` hours up to `now_ms` (the current hour included).
    pub fn last_hours(now_ms: i64, hours: i64) -> Self {
        Self {
            since_ms: hour_of(now_ms) - (hours - 1).max(0) * HOUR_MS,
            until_ms: now_ms + 1,
        }
    }
}

/// Counts of one hour (see the module docs, "Outcome classes").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    /// Travellers passed.
    pub passed: i64,
    /// Travellers denied.
    pub denied: i64,
    /// Transactions referred to an officer without a deny.
    pub referred: i64,
    /// BioCart records completed.
    pub completed: i64,
    /// Other outcomes (abandoned, door not used, cancelled by the officer).
    pub other: i64,
}

impl OutcomeCounts {
    fn add(&mut self, other: &OutcomeCounts) {
        self.passed += other.passed;
        self.denied += other.denied;
        self.referred += other.referred;
        self.completed += other.completed;
        self.other += other.other;
    }
}

/// One gate's (or site's) counts in one UTC hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HourActivity {
    /// Start of the hour.
    pub hour_ms: i64,
    /// Its counts.
    #[serde(flatten)]
    pub counts: OutcomeCounts,
}

/// A reason code and how often it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// Stable reason code, e.g. `FACE_MISMATCH`.
    pub reason: String,
    /// Denials with that reason in the window (a denial may have several reasons).
    pub count: i64,
}

/// One gate's activity in the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateActivity {
    /// The gate.
    pub gate_id: String,
    /// Its site, if known.
    pub site: Option<Site>,
    /// Totals over the window.
    pub totals: OutcomeCounts,
    /// Per hour, only hours with events, ascending.
    pub hours: Vec<HourActivity>,
    /// Deny reasons, most frequent first.
    pub deny_reasons: Vec<ReasonCount>,
}

/// One site's activity in the window (the sum of its gates).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteActivity {
    /// The site (`None`: gates without a known site).
    pub site: Option<Site>,
    /// Totals over the window.
    pub totals: OutcomeCounts,
    /// Per hour, only hours with events, ascending.
    pub hours: Vec<HourActivity>,
    /// Deny reasons, most frequent first.
    pub deny_reasons: Vec<ReasonCount>,
}

/// Decisions per hour and deny reasons, per gate and per site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    /// Start of the window (an hour boundary).
    pub since_ms: i64,
    /// End of the window (exclusive).
    pub until_ms: i64,
    /// Per gate with events in the window, by gate id.
    pub gates: Vec<GateActivity>,
    /// Per site, in site order (gates without a site last).
    pub sites: Vec<SiteActivity>,
}

/// What an [`Incident`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// A `door.alarm` event; `code` is the alarm's reason code (`TAILGATING`, `FORCED_ENTRY`...).
    DoorAlarm,
    /// An `officer.action` event; `code` is the action (`clear_call`, `out_of_service`...).
    OfficerAction,
    /// A transaction referred to an officer without a deny; `code` is its reason codes.
    Referral,
}

impl IncidentKind {
    fn parse(text: &str) -> Result<Self, StorageError> {
        match text {
            "door_alarm" => Ok(Self::DoorAlarm),
            "officer_action" => Ok(Self::OfficerAction),
            "referral" => Ok(Self::Referral),
            other => Err(StorageError::BadRow(format!("incident kind {other:?}"))),
        }
    }

    /// The kind's name as serialised.
    pub const fn as_str(self) -> &'static str {
        match self {
            IncidentKind::DoorAlarm => "door_alarm",
            IncidentKind::OfficerAction => "officer_action",
            IncidentKind::Referral => "referral",
        }
    }
}

/// A door alarm, an officer's action or a referral (nothing of the traveller; not the
/// officer's id either).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// What it is.
    pub kind: IncidentKind,
    /// The gate.
    pub gate_id: String,
    /// Its site, if known.
    pub site: Option<Site>,
    /// When it happened (gate clock).
    pub occurred_at_ms: i64,
    /// When central received it.
    pub received_at_ms: i64,
    /// Reason code(s) or action, see [`IncidentKind`].
    pub code: String,
    /// For an officer action: `via` and the cleared call's reasons; for a referral: the outcome.
    pub detail: Option<String>,
}

/// Filter of [`ReportStore::incidents`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentQuery {
    /// Occurred at or after.
    pub since_ms: i64,
    /// Occurred before.
    pub until_ms: i64,
    /// At most this many, newest first.
    pub limit: u32,
}

/// How many incidents of one kind and code a gate had in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentCount {
    /// What they are.
    pub kind: IncidentKind,
    /// The gate.
    pub gate_id: String,
    /// Its site, if known.
    pub site: Option<Site>,
    /// Door alarm reason code, officer action, or a referral's reason codes.
    pub code: String,
    /// How many in the window.
    pub count: i64,
}

/// Door alarms, officer actions and referrals of a window: the newest, and all of them
/// counted per gate by kind and code (door alarms by reason code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incidents {
    /// The newest incidents (at most the query's `limit`), newest first.
    pub recent: Vec<Incident>,
    /// Every incident of the window counted per gate, kind and code; by gate id, kind, code.
    pub counts: Vec<IncidentCount>,
}

/// How late a gate's events reach central.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateLag {
    /// The gate.
    pub gate_id: String,
    /// Its site, if known.
    pub site: Option<Site>,
    /// Events waiting in its outbox at its newest heartbeat.
    pub outbox_pending: Option<u64>,
    /// Age of the oldest of them at that heartbeat.
    pub outbox_oldest_pending_age_ms: Option<i64>,
    /// The gate's sync lag at that heartbeat.
    pub sync_lag_ms: Option<i64>,
    /// Events of the window (by `occurred_at`) central holds.
    pub events: i64,
    /// Mean of `received_at - occurred_at` over them (negative differences count as 0).
    pub mean_delivery_lag_ms: Option<i64>,
    /// Largest `received_at - occurred_at` among them.
    pub max_delivery_lag_ms: Option<i64>,
}

/// Outbox lag of every gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxLag {
    /// Start of the window (an hour boundary).
    pub since_ms: i64,
    /// End of the window.
    pub until_ms: i64,
    /// Per gate, by gate id (every gate central knows).
    pub gates: Vec<GateLag>,
}

/// Arrival waiting time to inspection of one site (see [`WAITING_TIME_DEFINITION`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ArrivalWait {
    /// Records acknowledged by a booth in the window.
    pub records: u64,
    /// Median wait, whole seconds (rounded down); `None` with no record.
    pub median_s: Option<i64>,
    /// 90th percentile, whole seconds (rounded down); `None` with no record.
    pub p90_s: Option<i64>,
}

/// Departure face-gate throughput of one site (see [`WAITING_TIME_DEFINITION`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DepartureThroughput {
    /// Face gates at the site (by their newest heartbeat).
    pub face_gates: u64,
    /// Travellers passed in the last 60 minutes.
    pub passed_last_hour: u64,
    /// Travellers passed in the last 15 minutes.
    pub passed_last_15_min: u64,
}

/// One site's published figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteWaiting {
    /// The site.
    pub site: Site,
    /// Arrival wait; `None` when the site has no BioCart.
    pub arrival: Option<ArrivalWait>,
    /// Departure throughput; `None` when the site has no face gate.
    pub departure: Option<DepartureThroughput>,
}

/// Answer of `GET /v1/waiting-times`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitingTimes {
    /// When computed (central clock).
    pub generated_at_ms: i64,
    /// The window (60 minutes).
    pub window_ms: i64,
    /// [`WAITING_TIME_DEFINITION`], for whoever reads the JSON.
    pub definition: &'static str,
    /// Per site, in site order (sites with a BioCart or a face gate).
    pub sites: Vec<SiteWaiting>,
}

/// The definition of the published figures, written on the page and in the JSON.
pub const WAITING_TIME_DEFINITION: &str = "Arrival waiting time to inspection: for each BioCart record \
whose inspection booth acknowledged it in the last 60 minutes, the time from the record's creation at the \
BioCart (the gate's sealed_at time, or central's receipt of the record if that is earlier) to the booth's \
acknowledgement, which the booth sends when the traveller reaches the officer. Published per site as the \
median and the 90th percentile (nearest rank: the value at position ceil(p x n) of the n waits sorted \
ascending), in whole seconds rounded down; no figure when no record was acknowledged in the last 60 minutes. \
Departure gate throughput: travellers whose transaction at a face gate of the site ended with a pass in \
the last 60 and the last 15 minutes (the gate's clock). Refreshed every minute.";

/// The raw rows each backend reads; [`ReportStore`] is built on them by [`report_store_impl`].
pub(crate) trait ReportRows {
    /// Every row of `report_gates`.
    fn gate_rows(&self) -> Result<Vec<GateRow>, StorageError>;
    /// Rows of `report_gate_hours` with `since_hour <= hour_ms < until`.
    fn hour_rows(&self, since_hour: i64, until: i64) -> Result<Vec<HourRow>, StorageError>;
    /// `report_deny_reasons` summed per gate and reason over the same hours.
    fn deny_rows(&self, since_hour: i64, until: i64) -> Result<Vec<DenyRow>, StorageError>;
    /// The newest incidents of the query's window.
    fn incident_rows(&self, query: &IncidentQuery) -> Result<Vec<IncidentRow>, StorageError>;
    /// Incidents of the query's window counted per gate, kind and code.
    fn incident_counts(&self, query: &IncidentQuery)
    -> Result<Vec<IncidentCountRow>, StorageError>;
    /// Hand-over records acknowledged in `[since, until]`.
    fn acked_rows(&self, since: i64, until: i64) -> Result<Vec<AckedRecord>, StorageError>;
    /// Face-gate passes per gate in `[since, until]` and in `[split, until]`.
    fn pass_counts(
        &self,
        since: i64,
        split: i64,
        until: i64,
    ) -> Result<Vec<PassCount>, StorageError>;
}

/// Implements [`ReportStore`] for a type implementing [`ReportRows`].
macro_rules! report_store_impl {
    ($type:ty) => {
        impl $crate::reports::ReportStore for $type {
            fn fleet(&self, now_ms: i64) -> Result<$crate::reports::Fleet, StorageError> {
                use $crate::reports::ReportRows as _;
                Ok($crate::reports::fleet_from(self.gate_rows()?, now_ms))
            }

            fn activity(
                &self,
                query: &$crate::reports::ActivityQuery,
            ) -> Result<$crate::reports::Activity, StorageError> {
                use $crate::reports::ReportRows as _;
                let since = $crate::reports::hour_of(query.since_ms);
                let fleet = $crate::reports::fleet_from(self.gate_rows()?, query.until_ms);
                let hours = self.hour_rows(since, query.until_ms)?;
                let denies = self.deny_rows(since, query.until_ms)?;
                Ok($crate::reports::activity_from(
                    query, &fleet, &hours, &denies,
                ))
            }

            fn incidents(
                &self,
                query: &$crate::reports::IncidentQuery,
            ) -> Result<$crate::reports::Incidents, StorageError> {
                use $crate::reports::ReportRows as _;
                let fleet = $crate::reports::fleet_from(self.gate_rows()?, query.until_ms);
                $crate::reports::incidents_from(
                    &fleet,
                    self.incident_rows(query)?,
                    self.incident_counts(query)?,
                )
            }

            fn outbox_lag(
                &self,
                query: &$crate::reports::ActivityQuery,
            ) -> Result<$crate::reports::OutboxLag, StorageError> {
                use $crate::reports::ReportRows as _;
                let since = $crate::reports::hour_of(query.since_ms);
                let fleet = $crate::reports::fleet_from(self.gate_rows()?, query.until_ms);
                let hours = self.hour_rows(since, query.until_ms)?;
                Ok($crate::reports::outbox_lag_from(query, &fleet, &hours))
            }

            fn waiting_times(
                &self,
                now_ms: i64,
            ) -> Result<$crate::reports::WaitingTimes, StorageError> {
                use $crate::reports::ReportRows as _;
                let fleet = $crate::reports::fleet_from(self.gate_rows()?, now_ms);
                let since = now_ms - $crate::reports::WAITING_WINDOW_MS;
                let acked = self.acked_rows(since, now_ms)?;
                let split = now_ms - $crate::reports::THROUGHPUT_SHORT_WINDOW_MS;
                let passes = self.pass_counts(since, split, now_ms)?;
                Ok($crate::reports::waiting_from(
                    now_ms, &fleet, &acked, &passes,
                ))
            }
        }
    };
}
pub(crate) use report_store_impl;

/// The read side's queries, for the console and the public page (see the module docs).
pub trait ReportStore: Send + Sync {
    /// Every gate central has heard of, with its status at `now_ms`.
    fn fleet(&self, now_ms: i64) -> Result<Fleet, StorageError>;
    /// Decisions per hour and deny reasons per gate and per site in the query's window.
    fn activity(&self, query: &ActivityQuery) -> Result<Activity, StorageError>;
    /// The newest door alarms, officer actions and referrals.
    fn incidents(&self, query: &IncidentQuery) -> Result<Incidents, StorageError>;
    /// Per gate: the outbox as of its newest heartbeat and the delivery lag in the window.
    fn outbox_lag(&self, query: &ActivityQuery) -> Result<OutboxLag, StorageError>;
    /// The published waiting times at `now_ms` (see [`WAITING_TIME_DEFINITION`]).
    fn waiting_times(&self, now_ms: i64) -> Result<WaitingTimes, StorageError>;
}

// ------------------------------------------------------------ shared by both backends

/// The start of the UTC hour holding `ms`.
pub fn hour_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// A row of `report_gates`.
#[derive(Debug, Clone)]
pub(crate) struct GateRow {
    pub gate_id: String,
    pub events: i64,
    pub last_received_ms: i64,
    pub last_occurred_ms: i64,
    pub last_outcome_ms: Option<i64>,
    pub heartbeat: Option<serde_json::Value>,
    pub heartbeat_occurred_ms: Option<i64>,
}

/// A row of `report_gate_hours`.
#[derive(Debug, Clone)]
pub(crate) struct HourRow {
    pub gate_id: String,
    pub hour_ms: i64,
    pub events: i64,
    pub counts: OutcomeCounts,
    pub lag_sum_ms: i64,
    pub lag_max_ms: i64,
}

/// A row of `report_deny_reasons` summed over the window.
#[derive(Debug, Clone)]
pub(crate) struct DenyRow {
    pub gate_id: String,
    pub reason: String,
    pub count: i64,
}

/// A row of `report_incidents`.
#[derive(Debug, Clone)]
pub(crate) struct IncidentRow {
    pub kind: String,
    pub gate_id: String,
    pub occurred_at_ms: i64,
    pub received_at_ms: i64,
    pub code: String,
    pub detail: Option<String>,
}

/// Incidents of a window counted per gate, kind and code.
#[derive(Debug, Clone)]
pub(crate) struct IncidentCountRow {
    pub kind: String,
    pub gate_id: String,
    pub code: String,
    pub count: i64,
}

/// An acknowledged hand-over record.
#[derive(Debug, Clone)]
pub(crate) struct AckedRecord {
    pub gate_id: String,
    pub sealed_at_ms: Option<i64>,
    pub received_at_ms: i64,
    pub acked_at_ms: i64,
}

/// Passes at one gate by its record's profile.
#[derive(Debug, Clone)]
pub(crate) struct PassCount {
    pub gate_id: String,
    pub last_hour: i64,
    pub last_15_min: i64,
}

fn number(value: &serde_json::Value, pointer: &str) -> Option<i64> {
    value.pointer(pointer).and_then(serde_json::Value::as_i64)
}

fn text(value: &serde_json::Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

pub(crate) fn fleet_gate(row: GateRow, now_ms: i64) -> FleetGate {
    let heartbeat = row.heartbeat.as_ref();
    let field = |pointer: &str| heartbeat.and_then(|beat| number(beat, pointer));
    let interval_s = field("/interval_s").filter(|s| *s > 0);
    let in_service = heartbeat.and_then(|beat| beat.get("in_service")?.as_bool());
    let status = match row.heartbeat_occurred_ms {
        Some(beat_ms) => {
            let interval_ms = interval_s.unwrap_or(DEFAULT_HEARTBEAT_S) * 1_000;
            if now_ms - beat_ms > SILENT_AFTER_INTERVALS * interval_ms {
                GateStatus::Silent
            } else if in_service == Some(false) {
                GateStatus::OutOfService
            } else if row
                .last_outcome_ms
                .is_some_and(|ended| now_ms - ended <= IDLE_AFTER_MS)
            {
                GateStatus::Active
            } else {
                GateStatus::Idle
            }
        }
        None if now_ms - row.last_occurred_ms
            > SILENT_AFTER_INTERVALS * DEFAULT_HEARTBEAT_S * 1_000 =>
        {
            GateStatus::Silent
        }
        None => GateStatus::Unknown,
    };
    let strings = |key: &str| -> Vec<String> {
        heartbeat
            .and_then(|beat| beat.get(key)?.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let devices = heartbeat
        .and_then(|beat| beat.get("devices")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|device| DeviceHealth {
            name: text(device, "/name").unwrap_or_default(),
            backend: text(device, "/backend").unwrap_or_default(),
            health: text(device, "/health").unwrap_or_default(),
            detail: text(device, "/detail").unwrap_or_default(),
        })
        .collect();
    FleetGate {
        site: heartbeat.and_then(Site::from_heartbeat),
        profile: heartbeat.and_then(|beat| text(beat, "/profile")),
        status,
        state: heartbeat.and_then(|beat| text(beat, "/state")),
        in_service,
        out_of_service_reasons: strings("out_of_service_reasons"),
        software_version: heartbeat.and_then(|beat| text(beat, "/software_version")),
        devices,
        outbox_pending: field("/outbox/pending").and_then(|n| u64::try_from(n).ok()),
        outbox_oldest_pending_age_ms: field("/outbox/oldest_pending_age_ms"),
        sync_lag_ms: field("/sync/lag_ms"),
        sync_last_success_ms: field("/sync/last_success_ms"),
        heartbeat_interval_s: interval_s,
        last_heartbeat_ms: row.heartbeat_occurred_ms,
        last_heard_ms: row.last_received_ms,
        last_event_ms: row.last_occurred_ms,
        last_outcome_ms: row.last_outcome_ms,
        events: row.events,
        gate_id: row.gate_id,
    }
}

pub(crate) fn fleet_from(rows: Vec<GateRow>, now_ms: i64) -> Fleet {
    let mut gates: Vec<FleetGate> = rows.into_iter().map(|r| fleet_gate(r, now_ms)).collect();
    gates.sort_by(|a, b| {
        (a.site.is_none(), &a.site, &a.gate_id).cmp(&(b.site.is_none(), &b.site, &b.gate_id))
    });
    Fleet { now_ms, gates }
}

fn sites_of(fleet: &Fleet) -> HashMap<&str, Option<Site>> {
    fleet
        .gates
        .iter()
        .map(|g| (g.gate_id.as_str(), g.site.clone()))
        .collect()
}

fn reasons_sorted(reasons: HashMap<String, i64>) -> Vec<ReasonCount> {
    let mut list: Vec<ReasonCount> = reasons
        .into_iter()
        .map(|(reason, count)| ReasonCount { reason, count })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    list
}

fn hours_sorted(hours: BTreeMap<i64, OutcomeCounts>) -> Vec<HourActivity> {
    hours
        .into_iter()
        .map(|(hour_ms, counts)| HourActivity { hour_ms, counts })
        .collect()
}

pub(crate) fn activity_from(
    query: &ActivityQuery,
    fleet: &Fleet,
    hours: &[HourRow],
    denies: &[DenyRow],
) -> Activity {
    let sites = sites_of(fleet);
    let site_of = |gate: &str| sites.get(gate).cloned().flatten();
    type Sums = (
        OutcomeCounts,
        BTreeMap<i64, OutcomeCounts>,
        HashMap<String, i64>,
    );
    let mut per_gate: BTreeMap<String, Sums> = BTreeMap::new();
    let mut per_site: BTreeMap<(bool, Option<Site>), Sums> = BTreeMap::new();
    for row in hours {
        let site = site_of(&row.gate_id);
        for sums in [
            per_gate.entry(row.gate_id.clone()).or_default(),
            per_site.entry((site.is_none(), site)).or_default(),
        ] {
            sums.0.add(&row.counts);
            sums.1.entry(row.hour_ms).or_default().add(&row.counts);
        }
    }
    for row in denies {
        let site = site_of(&row.gate_id);
        for sums in [
            per_gate.entry(row.gate_id.clone()).or_default(),
            per_site.entry((site.is_none(), site)).or_default(),
        ] {
            *sums.2.entry(row.reason.clone()).or_default() += row.count;
        }
    }
    Activity {
        since_ms: hour_of(query.since_ms),
        until_ms: query.until_ms,
        gates: per_gate
            .into_iter()
            .map(|(gate_id, (totals, hours, reasons))| GateActivity {
                site: site_of(&gate_id),
                gate_id,
                totals,
                hours: hours_sorted(hours),
                deny_reasons: reasons_sorted(reasons),
            })
            .collect(),
        sites: per_site
            .into_iter()
            .map(|((_, site), (totals, hours, reasons))| SiteActivity {
                site,
                totals,
                hours: hours_sorted(hours),
                deny_reasons: reasons_sorted(reasons),
            })
            .collect(),
    }
}

pub(crate) fn incidents_from(
    fleet: &Fleet,
    rows: Vec<IncidentRow>,
    count_rows: Vec<IncidentCountRow>,
) -> Result<Incidents, StorageError> {
    let sites = sites_of(fleet);
    let recent = rows
        .into_iter()
        .map(|row| {
            Ok(Incident {
                kind: IncidentKind::parse(&row.kind)?,
                site: sites.get(row.gate_id.as_str()).cloned().flatten(),
                gate_id: row.gate_id,
                occurred_at_ms: row.occurred_at_ms,
                received_at_ms: row.received_at_ms,
                code: row.code,
                detail: row.detail,
            })
        })
        .collect::<Result<_, StorageError>>()?;
    let mut counts = count_rows
        .into_iter()
        .map(|row| {
            Ok(IncidentCount {
                kind: IncidentKind::parse(&row.kind)?,
                site: sites.get(row.gate_id.as_str()).cloned().flatten(),
                gate_id: row.gate_id,
                code: row.code,
                count: row.count,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    counts.sort_by(|a, b| {
        (&a.gate_id, a.kind.as_str(), &a.code).cmp(&(&b.gate_id, b.kind.as_str(), &b.code))
    });
    Ok(Incidents { recent, counts })
}

pub(crate) fn outbox_lag_from(
    query: &ActivityQuery,
    fleet: &Fleet,
    hours: &[HourRow],
) -> OutboxLag {
    let mut sums: HashMap<&str, (i64, i64, i64)> = HashMap::new();
    for row in hours {
        let entry = sums.entry(row.gate_id.as_str()).or_default();
        entry.0 += row.events;
        entry.1 += row.lag_sum_ms;
        entry.2 = entry.2.max(row.lag_max_ms);
    }
    let mut gates: Vec<GateLag> = fleet
        .gates
        .iter()
        .map(|gate| {
            let (events, lag_sum, lag_max) =
                sums.get(gate.gate_id.as_str()).copied().unwrap_or_default();
            GateLag {
                gate_id: gate.gate_id.clone(),
                site: gate.site.clone(),
                outbox_pending: gate.outbox_pending,
                outbox_oldest_pending_age_ms: gate.outbox_oldest_pending_age_ms,
                sync_lag_ms: gate.sync_lag_ms,
                events,
                mean_delivery_lag_ms: (events > 0).then(|| lag_sum / events),
                max_delivery_lag_ms: (events > 0).then_some(lag_max),
            }
        })
        .collect();
    gates.sort_by(|a, b| a.gate_id.cmp(&b.gate_id));
    OutboxLag {
        since_ms: hour_of(query.since_ms),
        until_ms: query.until_ms,
        gates,
    }
}

/// The nearest-rank percentile `p` (0 < p <= 1) of ascending `sorted`: the value at 1-based
/// position ceil(p x n).
pub fn nearest_rank(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    // ceil(p * n) computed on integers for p given in hundredths, to avoid float surprises.
    let hundredths = (p * 100.0).round() as usize;
    let rank = (hundredths * n).div_ceil(100).clamp(1, n);
    sorted.get(rank - 1).copied()
}

pub(crate) fn waiting_from(
    now_ms: i64,
    fleet: &Fleet,
    acked: &[AckedRecord],
    passes: &[PassCount],
) -> WaitingTimes {
    let sites = sites_of(fleet);
    let mut per_site: BTreeMap<Site, (Option<Vec<i64>>, Option<DepartureThroughput>)> =
        BTreeMap::new();
    for gate in &fleet.gates {
        let Some(site) = gate.site.clone() else {
            continue;
        };
        match gate.profile.as_deref() {
            Some("bio_cart") => {
                per_site
                    .entry(site)
                    .or_default()
                    .0
                    .get_or_insert_with(Vec::new);
            }
            Some("face_gate") => {
                per_site
                    .entry(site)
                    .or_default()
                    .1
                    .get_or_insert(DepartureThroughput {
                        face_gates: 0,
                        passed_last_hour: 0,
                        passed_last_15_min: 0,
                    })
                    .face_gates += 1;
            }
            _ => {}
        }
    }
    for record in acked {
        let Some(Some(site)) = sites.get(record.gate_id.as_str()) else {
            continue;
        };
        let created = record
            .sealed_at_ms
            .unwrap_or(record.received_at_ms)
            .min(record.received_at_ms);
        let wait_s = (record.acked_at_ms - created).max(0) / 1_000;
        per_site
            .entry(site.clone())
            .or_default()
            .0
            .get_or_insert_with(Vec::new)
            .push(wait_s);
    }
    let face_gates: HashMap<&str, &Site> = fleet
        .gates
        .iter()
        .filter(|g| g.profile.as_deref() == Some("face_gate"))
        .filter_map(|g| Some((g.gate_id.as_str(), g.site.as_ref()?)))
        .collect();
    for count in passes {
        let Some(site) = face_gates.get(count.gate_id.as_str()) else {
            continue;
        };
        if let Some(departure) = per_site.get_mut(*site).and_then(|s| s.1.as_mut()) {
            departure.passed_last_hour += u64::try_from(count.last_hour).unwrap_or(0);
            departure.passed_last_15_min += u64::try_from(count.last_15_min).unwrap_or(0);
        }
    }
    WaitingTimes {
        generated_at_ms: now_ms,
        window_ms: WAITING_WINDOW_MS,
        definition: WAITING_TIME_DEFINITION,
        sites: per_site
            .into_iter()
            .map(|(site, (waits, departure))| SiteWaiting {
                site,
                arrival: waits.map(|mut waits| {
                    waits.sort_unstable();
                    ArrivalWait {
                        records: waits.len() as u64,
                        median_s: nearest_rank(&waits, 0.5),
                        p90_s: nearest_rank(&waits, 0.9),
                    }
                }),
                departure,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_takes_the_value_at_ceil_p_n() {
        assert_eq!(nearest_rank(&[], 0.5), None);
        assert_eq!(nearest_rank(&[7], 0.9), Some(7));
        // n = 4: median rank ceil(2.0) = 2, p90 rank ceil(3.6) = 4.
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 0.5), Some(2));
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 0.9), Some(4));
        // n = 10: p90 rank ceil(9.0) = 9.
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 0.9), Some(9));
        assert_eq!(nearest_rank(&ten, 0.5), Some(5));
    }

    fn row(beat: Option<serde_json::Value>, beat_ms: Option<i64>, outcome: Option<i64>) -> GateRow {
        GateRow {
            gate_id: "G".into(),
            events: 1,
            last_received_ms: 0,
            last_occurred_ms: beat_ms.unwrap_or(0),
            last_outcome_ms: outcome,
            heartbeat_occurred_ms: beat.as_ref().and(beat_ms),
            heartbeat: beat,
        }
    }

    #[test]
    fn a_silent_gate_is_told_from_an_idle_one() {
        let beat = serde_json::json!({"interval_s": 10, "in_service": true});
        let now = 1_000_000;
        // Three intervals (30 s) old: still beating; no outcome: idle.
        let idle = fleet_gate(row(Some(beat.clone()), Some(now - 30_000), None), now);
        assert_eq!(idle.status, GateStatus::Idle);
        let silent = fleet_gate(row(Some(beat.clone()), Some(now - 30_001), None), now);
        assert_eq!(silent.status, GateStatus::Silent);
        let active = fleet_gate(row(Some(beat), Some(now), Some(now - IDLE_AFTER_MS)), now);
        assert_eq!(active.status, GateStatus::Active);
        let out = serde_json::json!({"interval_s": 10, "in_service": false,
            "out_of_service_reasons": ["CAMERA_UNAVAILABLE"]});
        let out = fleet_gate(row(Some(out), Some(now), None), now);
        assert_eq!(out.status, GateStatus::OutOfService);
        assert_eq!(out.out_of_service_reasons, vec!["CAMERA_UNAVAILABLE"]);
        assert_eq!(
            fleet_gate(row(None, Some(now), None), now).status,
            GateStatus::Unknown
        );
        assert_eq!(
            fleet_gate(row(None, Some(now - 180_001), None), now).status,
            GateStatus::Silent
        );
    }
}
