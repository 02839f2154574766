//! The demo bench's exchange (`[simulation] demo_bench`): gated hands a simulated traveller to
//! the TEST TOOL `demo-bench`, which puts that traveller's passport and face before the gate's
//! real devices. One JSON line each way over the bench's Unix socket: a [`BenchRequest`], then
//! a [`BenchAnswer`] once the passport lies on the reader and the face is before the camera.

use crate::SimulatedTraveller;
use serde::{Deserialize, Serialize};

/// A request to the bench.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchRequest {
    /// Who steps up to the gate.
    pub traveller: SimulatedTraveller,
}

/// The bench's answer.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchAnswer {
    /// What it put in front of the gate, in words (nothing personal).
    Scene(String),
    /// Why it could not (it has no presentation-attack sample, for one).
    Error(String),
}
