//! The kinds of the events gated appends to its outbox (the `kind` of each event central
//! receives). Part of the event schema: a kind may be added, never renamed.

/// A traveller transaction ended (payload: `gate_core::OutcomeRecord`).
pub const TRANSACTION_OUTCOME: &str = "transaction.outcome";
/// The door raised an alarm (payload: the turnstile event).
pub const DOOR_ALARM: &str = "door.alarm";
/// A technician released the door in maintenance mode (payload: `{"ms": N}`).
pub const DOOR_MANUAL_RELEASE: &str = "door.manual_release";
/// The gate is alive: site, software version, devices' health, out-of-service reasons,
/// outbox depth and last sync (every `reporting.heartbeat_s`; see `daemon::heartbeat`).
pub const GATE_HEARTBEAT: &str = "gate.heartbeat";
/// Travellers and time per traveller over one reporting period.
pub const GATE_THROUGHPUT: &str = "gate.throughput";
/// A BioCart record was queued for the inspection booth (payload: ids, never the record).
pub const BIOCART_RECORD: &str = "biocart.record";
/// An officer (or technician) acted on the gate: cleared a call, took it out of service or
/// put it back (payload: `action`, `by`, `via`, and for a cleared call its transaction and
/// reason codes; nothing personal).
pub const OFFICER_ACTION: &str = "officer.action";
