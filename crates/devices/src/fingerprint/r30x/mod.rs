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

/// The module address as it leaves the factory, `FFFFFFFF` (ZFM-70 user manual §4.6). Modules
/// answer only packets carrying their own address.
pub const FACTORY_ADDRESS: u32 = 0xFFFF_FFFF;

/// The module password as it leaves the factory, `00000000` (ZFM-70 user manual §4.5; R503
/// manual): while it is unchanged the module works without VfyPwd and refuses VfyPwd with any
/// other value (confirmation 13H, wrong password).
pub const FACTORY_PASSWORD: u32 = 0x0000_0000;

/// The serial speed as it leaves the factory, 57600 baud (N = 6, ZFM-70 user manual §3.1.2,
/// §4.3.1).
pub const FACTORY_BAUD_RATE: u32 = 57_600;
pub use confirmation::ConfirmationError;
pub use driver::{R30x, R30xConfig, TEMPLATE_LEN};
#[cfg(feature = "serial")]
pub use serial::{ReconnectPolicy, SerialR30x, SerialSettings};
