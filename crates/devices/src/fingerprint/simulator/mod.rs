//! Fingerprint module SIMULATOR: a test and demo tool, not a sensor.
//!
//! [`SimulatedModule`] is the module's logic without I/O (template library, character
//! buffers, image buffer, password, system parameters) over synthetic fingers
//! ([`synthetic`]). [`ModuleSimulator`] (feature `serial`) serves it on the master side of a
//! real pty pair, so a driver or an outside host library opens the slave path like a USB
//! serial adapter. It can pace its output and input to the configured baud rate (a pty
//! itself transfers at memory speed), add a processing delay per command (a slow module) and
//! inject faults: garbage bytes, a half frame, a dropped packet, a corrupted checksum, and the
//! device vanishing (optionally coming back on the same link path).

mod module;
pub mod synthetic;

pub use module::{SimulatedModule, SimulatedModuleConfig, SimulatedModuleStats};
pub use synthetic::SimulatedFinger;

#[cfg(feature = "serial")]
mod runner;
#[cfg(feature = "serial")]
pub use runner::{Fault, ModuleSimulator, SimulatorError, SimulatorOptions};
