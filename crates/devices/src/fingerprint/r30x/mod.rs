//! The R30x / ZFM / AS608 fingerprint module family (EF01 packet protocol).
//!
//! * [`frame`]: packet encoding and the resynchronising streaming decoder.
//! * [`command`]: every instruction and its parameters, system parameters.
//! * [`confirmation`]: typed confirmation codes.
//! * [`R30x`]: the driver over any `Read + Write` port, implementing
//!   [`FingerprintSensor`](super::FingerprintSensor).
//! * [`SerialR30x`] (feature `serial`): the driver on a real serial device, opened by path at
//!   57600 baud by default, reopened with back-off after the device vanishes.

pub mod command;
pub mod confirmation;
mod driver;
pub mod frame;
#[cfg(feature = "serial")]
mod serial;

pub use command::{CharBuffer, Command, PacketSize, SystemParameter, SystemParameters};
pub use confirmation::ConfirmationError;
pub use driver::{R30x, R30xConfig, TEMPLATE_LEN};
#[cfg(feature = "serial")]
pub use serial::{ReconnectPolicy, SerialR30x, SerialSettings};
