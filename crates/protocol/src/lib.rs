//! Versioned JSON messages of the `gated` control socket, shared by `gated` and `gatectl`.
//!
//! The socket carries one JSON object per line in each direction. Every message names the
//! protocol [`VERSION`]; a daemon answers a request of another major version with
//! [`ErrorCode::UnsupportedVersion`] instead of guessing. Fields are only ever added (with
//! `#[serde(default)]`), never renamed, so `gatectl status --json` stays stable for scripts.
//!
//! ```
//! use gate_protocol::{Request, RequestEnvelope};
//! let line = RequestEnvelope::new(7, Request::Status).to_line().unwrap();
//! assert_eq!(line, "{\"version\":1,\"id\":7,\"request\":{\"type\":\"status\"}}\n");
//! ```

use gate_core::{
    Condition, Counters, GateProfile, Lights, Outcome, Prompt, ReasonCode, TransactionId,
};
use serde::{Deserialize, Serialize};

pub mod demo_bench;

/// The protocol version spoken by this build.
pub const VERSION: u32 = 1;

/// Upper bound for one message line, in bytes; longer lines are refused.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// What a client can ask.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// The gate's status.
    Status,
    /// An officer cleared a deny or cancelled the transaction in progress.
    OfficerReset,
    /// Take the gate out of service (or back in).
    SetMaintenance {
        /// True to take the gate out of service.
        on: bool,
    },
    /// Drive a simulated traveller through the gate: through the simulated devices, or through
    /// the demo bench in front of a gate with real devices (`[simulation] demo_bench`).
    Simulate {
        /// The traveller.
        traveller: SimulatedTraveller,
    },
    /// Technician test: release the door lock for `ms` milliseconds, then lock it again.
    /// Refused unless the gate is in maintenance mode with no transaction in progress.
    DoorPulse {
        /// How long the lock stays released (100..=10000).
        ms: u32,
    },
    /// Lock the door now (ends a pulse; never unlocks anything).
    DoorLock,
}

/// A request with its envelope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    /// Protocol version of the sender.
    pub version: u32,
    /// Client-chosen id echoed in the response.
    pub id: u64,
    /// The request.
    pub request: Request,
}

impl RequestEnvelope {
    /// A request of this build's version.
    pub fn new(id: u64, request: Request) -> Self {
        Self {
            version: VERSION,
            id,
            request,
        }
    }

    /// The message as one line of JSON, newline included.
    pub fn to_line(&self) -> Result<String, ProtocolError> {
        to_line(self)
    }
}

/// A response with its envelope: exactly one of `result` and `error` is present.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseEnvelope {
    /// Protocol version of the daemon.
    pub version: u32,
    /// The id of the request answered.
    pub id: u64,
    /// The answer, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Response>,
    /// The error, on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

impl ResponseEnvelope {
    /// A successful answer to request `id`.
    pub fn ok(id: u64, result: Response) -> Self {
        Self {
            version: VERSION,
            id,
            result: Some(result),
            error: None,
        }
    }

    /// A failed answer to request `id`.
    pub fn error(id: u64, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            version: VERSION,
            id,
            result: None,
            error: Some(ErrorBody {
                code,
                message: message.into(),
            }),
        }
    }

    /// The message as one line of JSON, newline included.
    pub fn to_line(&self) -> Result<String, ProtocolError> {
        to_line(self)
    }
}

/// Successful answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::Status`].
    Status(Box<StatusReport>),
    /// The request was carried out.
    Done,
    /// A simulated traveller was queued; the transaction id is that of its document.
    SimulationStarted {
        /// The transaction the traveller's document opened, if the gate accepted it.
        transaction_id: Option<TransactionId>,
    },
    /// A gate on real devices in front of a demo bench (a TEST TOOL, `[simulation] demo_bench`)
    /// handed the traveller to the bench, which laid the passport on the reader and put the
    /// face before the camera; the transaction starts when the gate reads the document.
    DemoTravellerSent {
        /// What the bench put in front of the gate, in words (nothing personal).
        scene: String,
    },
}

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
}

/// Machine-readable error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request line was not valid JSON of this protocol.
    BadRequest,
    /// The request's version is not spoken here.
    UnsupportedVersion,
    /// The peer may not ask this.
    PermissionDenied,
    /// The request makes no sense in the gate's current state or configuration.
    NotAvailable,
    /// The daemon failed to carry it out.
    Internal,
}

/// Health of one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Working.
    Up,
    /// Working with problems (retries, slow answers).
    Degraded,
    /// Not working; the gate refuses travellers that need it.
    Down,
    /// Not configured for this profile.
    Absent,
}

/// One device in the status report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceStatus {
    /// Role: `camera`, `chip_reader`, `door`, `fingerprint`, `outbox`.
    pub name: String,
    /// Backend in use, e.g. `v4l2`, `pcsc`, `gpio-cdev`, or `simulated`.
    pub backend: String,
    /// Health.
    pub health: Health,
    /// What the technician should know (last error, device path).
    pub detail: String,
}

/// The most recent transaction's outcome (no personal data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastOutcome {
    /// The transaction.
    pub transaction_id: TransactionId,
    /// How it ended.
    pub outcome: Outcome,
    /// Why, when not a pass.
    pub reasons: Vec<ReasonCode>,
    /// When it ended, Unix milliseconds.
    pub ended_at_unix_ms: i64,
}

/// Everything `gatectl status` shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The gate's id from its configuration.
    pub gate_id: String,
    /// The gate profile.
    pub profile: GateProfile,
    /// gated's version.
    pub version: String,
    /// Seconds since gated started.
    pub uptime_s: u64,
    /// `idle`, `holding`, `stopped` or the current step.
    pub state: String,
    /// The transaction in progress.
    pub transaction_id: Option<TransactionId>,
    /// Conditions keeping the gate out of service.
    pub conditions: Vec<Condition>,
    /// Their reason codes.
    pub out_of_service_reasons: Vec<ReasonCode>,
    /// Whether the door lock is released now.
    pub door_unlocked: bool,
    /// The signal lights.
    pub lights: Lights,
    /// What the traveller's display shows.
    pub display: Prompt,
    /// Per-device health.
    pub devices: Vec<DeviceStatus>,
    /// Running totals since start.
    pub counters: Counters,
    /// The last finished transaction.
    pub last_outcome: Option<LastOutcome>,
    /// Events waiting to be delivered to central.
    pub outbox_pending: u64,
    /// The door's lines as gated last saw and drove them.
    #[serde(default)]
    pub door: DoorLines,
}

/// The door's outputs and inputs by name (`lock_release`, `green_light`, `exit_beam`...),
/// `true` meaning active (lock released, light on, beam interrupted, alarm on).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorLines {
    /// Outputs as last driven.
    pub outputs: std::collections::BTreeMap<String, bool>,
    /// Inputs as last read.
    pub inputs: std::collections::BTreeMap<String, bool>,
}

/// A simulated traveller: what the simulated devices will report for them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedTraveller {
    /// What the chip reader will find.
    #[serde(default)]
    pub document: SimulatedDocument,
    /// Face similarity of each capture attempt, in order (the last repeats).
    #[serde(default = "default_face_scores")]
    pub face_scores: Vec<f32>,
    /// Presentation-attack score of every capture.
    #[serde(default)]
    pub attack_score: f32,
    /// Fingers enrolled at central (fingerprint gate).
    #[serde(default)]
    pub enrolled: bool,
    /// Finger quality of each placement, in order (the last repeats).
    #[serde(default = "default_finger_qualities")]
    pub finger_qualities: Vec<u8>,
    /// Fingerprint match score of each verification, in order (the last repeats).
    #[serde(default = "default_finger_scores")]
    pub finger_scores: Vec<u16>,
    /// Whether the traveller walks through once the door opens.
    #[serde(default = "default_true")]
    pub walks_through: bool,
    /// Whether the traveller cancels after this many steps (BioCart abandon).
    #[serde(default)]
    pub cancel_after_steps: Option<u8>,
    /// The document's nationality (ICAO three-letter code); the specimen's when absent.
    #[serde(default)]
    pub nationality: Option<String>,
    /// The quality limit the best face misses on each capture attempt, in order; the attempts
    /// after these are compared with `face_scores`.
    #[serde(default)]
    pub face_quality_problems: Vec<gate_core::FaceQualityCheck>,
}

fn default_face_scores() -> Vec<f32> {
    vec![0.72]
}
fn default_finger_qualities() -> Vec<u8> {
    vec![80]
}
fn default_finger_scores() -> Vec<u16> {
    vec![160]
}
fn default_true() -> bool {
    true
}

impl Default for SimulatedTraveller {
    fn default() -> Self {
        Self {
            document: SimulatedDocument::default(),
            face_scores: default_face_scores(),
            attack_score: 0.0,
            enrolled: false,
            finger_qualities: default_finger_qualities(),
            finger_scores: default_finger_scores(),
            walks_through: true,
            cancel_after_steps: None,
            nationality: None,
            face_quality_problems: Vec::new(),
        }
    }
}

/// The simulated document's condition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimulatedDocument {
    /// A genuine, valid passport.
    #[default]
    Genuine,
    /// Valid but expired.
    Expired,
    /// On the denylist.
    Denylisted,
    /// Fails passive authentication.
    Forged,
    /// The chip does not answer.
    Unreadable,
    /// The chip does not answer the first read (the passport moved); read again, it is genuine.
    UnreadableOnce,
}

/// Errors reading or writing protocol lines.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// Not JSON of this protocol.
    #[error("malformed message: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Longer than [`MAX_LINE_BYTES`].
    #[error("message longer than {MAX_LINE_BYTES} bytes")]
    TooLong,
}

fn to_line<T: Serialize>(message: &T) -> Result<String, ProtocolError> {
    let mut line = serde_json::to_string(message)?;
    line.push('\n');
    Ok(line)
}

/// Parses one request line. The version is checked by the caller, so that a request from a
/// newer client can still be answered with [`ErrorCode::UnsupportedVersion`].
pub fn parse_request(line: &str) -> Result<RequestEnvelope, ProtocolError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(ProtocolError::TooLong);
    }
    Ok(serde_json::from_str(line)?)
}

/// Parses one response line.
pub fn parse_response(line: &str) -> Result<ResponseEnvelope, ProtocolError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(ProtocolError::TooLong);
    }
    Ok(serde_json::from_str(line)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip() {
        let envelope = RequestEnvelope::new(
            3,
            Request::Simulate {
                traveller: SimulatedTraveller::default(),
            },
        );
        let line = envelope.to_line().unwrap();
        assert!(line.ends_with('\n'));
        assert_eq!(parse_request(line.trim_end()).unwrap(), envelope);
    }

    #[test]
    fn traveller_defaults_fill_missing_fields() {
        let line = r#"{"version":1,"id":1,"request":{"type":"simulate","traveller":{"document":"expired"}}}"#;
        let envelope = parse_request(line).unwrap();
        let Request::Simulate { traveller } = envelope.request else {
            panic!("wrong request");
        };
        assert_eq!(traveller.document, SimulatedDocument::Expired);
        assert_eq!(traveller.face_scores, [0.72]);
    }

    #[test]
    fn error_response_has_no_result() {
        let line = ResponseEnvelope::error(9, ErrorCode::PermissionDenied, "no")
            .to_line()
            .unwrap();
        assert_eq!(
            line,
            "{\"version\":1,\"id\":9,\"error\":{\"code\":\"permission_denied\",\"message\":\"no\"}}\n"
        );
    }

    #[test]
    fn rejects_overlong_and_garbage_lines() {
        assert!(matches!(
            parse_request(&"x".repeat(MAX_LINE_BYTES + 1)),
            Err(ProtocolError::TooLong)
        ));
        assert!(parse_request("{\"version\":1").is_err());
        assert!(
            parse_request("{\"version\":1,\"id\":1,\"request\":{\"type\":\"reboot\"}}").is_err()
        );
    }
}
