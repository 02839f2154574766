//! Fingerprint module SIMULATOR: a test and demo tool, not a sensor.
//!
//! [`SimulatedModule`] is the module's logic without I/O (template library, character
//! buffers, image buffer, password, system parameters) over synthetic fingers
//! ([`synthetic`]). [`ModuleSimulator`] (feature `serial`) serves it on the master side of a
//! real pty pair, so a driver or an outside host library opens the slave path like a USB
//! serial adapter. It can pace its output and input to the configured baud rate (a pty
//! itself transfers at memory speed), add a processing delay per command (a slow module) and
//! inject faults: garbage bytes, a half frame, a dropped packet, a corrupted checksum, and the
//! device vanishing (optionally coming back on the same link path). It can record the bytes
//! on the line for tests that check the framing.
//!
//! The simulated module follows the ZFM-70 / R30x user manuals byte for byte: factory address
//! `FFFFFFFF` and password `00000000` (no VfyPwd needed until the password is changed), and
//! every acknowledgement in its instruction's fixed length, refusals included (a refused Match
//! carries its score; a failed search PageID and score 0).

mod module;
pub mod synthetic;

pub use module::{SimulatedModule, SimulatedModuleConfig, SimulatedModuleStats};
pub use synthetic::SimulatedFinger;

#[cfg(feature = "serial")]
mod runner;
#[cfg(feature = "serial")]
pub use runner::{Fault, ModuleSimulator, SimulatorError, SimulatorOptions, Traffic};
