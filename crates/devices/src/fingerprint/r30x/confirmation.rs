//! Confirmation codes: the first payload byte of every acknowledgement packet.
//!
//! `0x00` means success; every other code is a typed [`ConfirmationError`]. The list follows the
//! R30x / ZFM / AS608 user manuals; the codes from `0x1F` up appeared with the R50x generation
//! and are reported by newer modules of the same family. Codes not listed here are kept as
//! [`ConfirmationError::Unrecognised`] with their raw value.

use thiserror::Error;

/// Confirmation byte for success.
pub const CONFIRMATION_OK: u8 = 0x00;

/// A non-success confirmation code returned by the module.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfirmationError {
    /// 0x01: the module failed to receive the packet.
    #[error("module reports an error receiving the packet (0x01)")]
    PacketReceive,
    /// 0x02: no finger on the sensor.
    #[error("no finger on the sensor (0x02)")]
    NoFinger,
    /// 0x03: the module failed to take the finger image.
    #[error("failed to take the finger image (0x03)")]
    ImageCaptureFailed,
    /// 0x06: the image is too disorderly to extract features.
    #[error("image too messy to extract features (0x06)")]
    ImageTooMessy,
    /// 0x07: the image is fine but has too few feature points (finger too small / partial).
    #[error("too few feature points in the image (0x07)")]
    TooFewFeatures,
    /// 0x08: the two character buffers do not match.
    #[error("fingers do not match (0x08)")]
    NoMatch,
    /// 0x09: search found no matching template in the library.
    #[error("no matching template in the library (0x09)")]
    NotFound,
    /// 0x0A: the two character files could not be combined into a template (different fingers).
    #[error("failed to combine the character files (0x0A)")]
    CombineFailed,
    /// 0x0B: the page id is outside the library.
    #[error("page id beyond the template library (0x0B)")]
    PageOutOfRange,
    /// 0x0C: the template read from the library is invalid.
    #[error("error reading the template from the library, or invalid template (0x0C)")]
    InvalidTemplate,
    /// 0x0D: uploading the template to the host failed.
    #[error("error uploading the template (0x0D)")]
    TemplateUploadFailed,
    /// 0x0E: the module cannot receive the following data packets.
    #[error("module cannot receive the following data packets (0x0E)")]
    CannotReceiveData,
    /// 0x0F: uploading the image to the host failed.
    #[error("error uploading the image (0x0F)")]
    ImageUploadFailed,
    /// 0x10: deleting the template failed.
    #[error("failed to delete the template (0x10)")]
    DeleteFailed,
    /// 0x11: clearing the library failed.
    #[error("failed to clear the template library (0x11)")]
    ClearFailed,
    /// 0x13: wrong password.
    #[error("wrong module password (0x13)")]
    WrongPassword,
    /// 0x15: no valid primary image in the image buffer.
    #[error("no valid primary image to generate from (0x15)")]
    InvalidImage,
    /// 0x18: error writing the module's flash.
    #[error("error writing flash (0x18)")]
    FlashWrite,
    /// 0x19: undefined error.
    #[error("undefined module error (0x19)")]
    Undefined,
    /// 0x1A: invalid system parameter (register) number.
    #[error("invalid register number (0x1A)")]
    InvalidRegister,
    /// 0x1B: invalid value for the system parameter (register).
    #[error("incorrect register configuration (0x1B)")]
    InvalidRegisterValue,
    /// 0x1C: wrong notepad page number.
    #[error("wrong notepad page number (0x1C)")]
    WrongNotepadPage,
    /// 0x1D: the module failed to operate its communication port.
    #[error("module failed to operate the communication port (0x1D)")]
    PortOperationFailed,
    /// 0x1F: the template library is full.
    #[error("template library full (0x1F)")]
    LibraryFull,
    /// 0x20: the address in the packet is not the module's address.
    #[error("wrong module address (0x20)")]
    WrongAddress,
    /// 0x21: the password must be verified (VfyPwd) first.
    #[error("password must be verified first (0x21)")]
    PasswordNotVerified,
    /// 0x22: the template (buffer) is empty.
    #[error("template empty (0x22)")]
    TemplateEmpty,
    /// 0x24: the template library is empty.
    #[error("template library empty (0x24)")]
    LibraryEmpty,
    /// 0x26: the module timed out (e.g. waiting for a finger).
    #[error("module-side timeout (0x26)")]
    ModuleTimeout,
    /// 0x27: the fingerprint is already enrolled.
    #[error("fingerprint already enrolled (0x27)")]
    AlreadyEnrolled,
    /// 0x29: sensor hardware error.
    #[error("sensor hardware error (0x29)")]
    SensorHardware,
    /// 0xFC: the module does not support the command.
    #[error("command not supported by the module (0xFC)")]
    UnsupportedCommand,
    /// 0xFD: hardware error.
    #[error("module hardware error (0xFD)")]
    Hardware,
    /// 0xFE: command execution failure.
    #[error("command execution failure (0xFE)")]
    ExecutionFailed,
    /// Any other code.
    #[error("unrecognised confirmation code {0:#04x}")]
    Unrecognised(u8),
}

impl ConfirmationError {
    /// Interpret a confirmation byte: `Ok(())` for success, the typed error otherwise.
    pub fn check(code: u8) -> Result<(), ConfirmationError> {
        match Self::from_byte(code) {
            None => Ok(()),
            Some(error) => Err(error),
        }
    }

    /// The typed error for a confirmation byte, `None` for success (0x00).
    pub fn from_byte(code: u8) -> Option<ConfirmationError> {
        use ConfirmationError::*;
        Some(match code {
            CONFIRMATION_OK => return None,
            0x01 => PacketReceive,
            0x02 => NoFinger,
            0x03 => ImageCaptureFailed,
            0x06 => ImageTooMessy,
            0x07 => TooFewFeatures,
            0x08 => NoMatch,
            0x09 => NotFound,
            0x0A => CombineFailed,
            0x0B => PageOutOfRange,
            0x0C => InvalidTemplate,
            0x0D => TemplateUploadFailed,
            0x0E => CannotReceiveData,
            0x0F => ImageUploadFailed,
            0x10 => DeleteFailed,
            0x11 => ClearFailed,
            0x13 => WrongPassword,
            0x15 => InvalidImage,
            0x18 => FlashWrite,
            0x19 => Undefined,
            0x1A => InvalidRegister,
            0x1B => InvalidRegisterValue,
            0x1C => WrongNotepadPage,
            0x1D => PortOperationFailed,
            0x1F => LibraryFull,
            0x20 => WrongAddress,
            0x21 => PasswordNotVerified,
            0x22 => TemplateEmpty,
            0x24 => LibraryEmpty,
            0x26 => ModuleTimeout,
            0x27 => AlreadyEnrolled,
            0x29 => SensorHardware,
            0xFC => UnsupportedCommand,
            0xFD => Hardware,
            0xFE => ExecutionFailed,
            other => Unrecognised(other),
        })
    }

    /// The confirmation byte on the wire.
    pub fn to_byte(self) -> u8 {
        use ConfirmationError::*;
        match self {
            PacketReceive => 0x01,
            NoFinger => 0x02,
            ImageCaptureFailed => 0x03,
            ImageTooMessy => 0x06,
            TooFewFeatures => 0x07,
            NoMatch => 0x08,
            NotFound => 0x09,
            CombineFailed => 0x0A,
            PageOutOfRange => 0x0B,
            InvalidTemplate => 0x0C,
            TemplateUploadFailed => 0x0D,
            CannotReceiveData => 0x0E,
            ImageUploadFailed => 0x0F,
            DeleteFailed => 0x10,
            ClearFailed => 0x11,
            WrongPassword => 0x13,
            InvalidImage => 0x15,
            FlashWrite => 0x18,
            Undefined => 0x19,
            InvalidRegister => 0x1A,
            InvalidRegisterValue => 0x1B,
            WrongNotepadPage => 0x1C,
            PortOperationFailed => 0x1D,
            LibraryFull => 0x1F,
            WrongAddress => 0x20,
            PasswordNotVerified => 0x21,
            TemplateEmpty => 0x22,
            LibraryEmpty => 0x24,
            ModuleTimeout => 0x26,
            AlreadyEnrolled => 0x27,
            SensorHardware => 0x29,
            UnsupportedCommand => 0xFC,
            Hardware => 0xFD,
            ExecutionFailed => 0xFE,
            Unrecognised(code) => code,
        }
    }

    /// Whether the error is about the finger or the image (ask the traveller to try again)
    /// rather than about the module or the link.
    pub fn is_finger_problem(self) -> bool {
        use ConfirmationError::*;
        matches!(
            self,
            NoFinger | ImageCaptureFailed | ImageTooMessy | TooFewFeatures | InvalidImage
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        assert_eq!(ConfirmationError::check(0), Ok(()));
        for byte in 1..=255u8 {
            let error = ConfirmationError::from_byte(byte).unwrap();
            assert_eq!(error.to_byte(), byte);
        }
    }

    #[test]
    fn known_codes_are_typed() {
        assert_eq!(
            ConfirmationError::from_byte(0x02),
            Some(ConfirmationError::NoFinger)
        );
        assert_eq!(
            ConfirmationError::from_byte(0x09),
            Some(ConfirmationError::NotFound)
        );
        assert_eq!(
            ConfirmationError::from_byte(0x12),
            Some(ConfirmationError::Unrecognised(0x12))
        );
        assert!(ConfirmationError::TooFewFeatures.is_finger_problem());
        assert!(!ConfirmationError::FlashWrite.is_finger_problem());
    }
}
