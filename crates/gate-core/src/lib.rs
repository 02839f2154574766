//! Sans-IO core of the gate controller.
//!
//! The traveller transaction of each gate profile (face gate, BioCart, fingerprint gate) is a
//! state machine, [`Gate`], fed with [`Event`]s stamped with the time ([`Now`]) and returning the
//! [`Command`]s the daemon must execute. It holds the decision [`Policy`] and the stable
//! [`ReasonCode`]s, and produces the [`OutcomeRecord`] of every transaction.
//!
//! Nothing here touches a clock, a file or a device: time is a value, so every timeout is tested
//! by passing a later [`Now`].
//!
//! ```
//! use gate_core::{Event, Gate, GateProfile, Now, TransactionId, Command};
//! # let policy = gate_core::examples::example_policy();
//! let mut gate = Gate::new(GateProfile::FaceGate, policy);
//! let commands = gate.handle(Now::new(0, 0), Event::DocumentPresented {
//!     transaction_id: TransactionId(1),
//! });
//! assert!(commands.contains(&Command::ReadChip { transaction_id: TransactionId(1) }));
//! ```

pub mod document;
pub mod event;
pub mod examples;
pub mod machine;
pub mod policy;
pub mod reason;
pub mod record;
pub mod time;
pub mod turnstile;

pub use document::{Authenticity, ChipReadResult, ChipReadTimings, DocumentFacts, DocumentHash};
pub use event::{
    Command, Condition, DoorAlarm, Event, FaceAttempt, FaceQualityCheck, FaceQualityShortfall,
    Finger, FingerAttempt, Lights, Prompt, TransactionId,
};
pub use machine::{Counters, Gate, Snapshot, Step};
pub use policy::{DocumentPolicy, GateProfile, NationalityRule, Policy, PolicyProblem};
pub use reason::ReasonCode;
pub use record::{Decision, OpenTransaction, Outcome, OutcomeRecord, Timings};
pub use time::{Date, Now};
pub use turnstile::{
    Turnstile, TurnstileCommand, TurnstileConfig, TurnstileEvent, TurnstileInput, TurnstileState,
};
