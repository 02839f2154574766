//! One call for the gate: passive authentication, then Chip Authentication and Active
//! Authentication as the policy asks, each failure mapped to one reason code.

use super::active::{self, ActiveAuthError, ActiveAuthReport};
use super::chip::{self, ChipAuthError, ChipAuthReport};
use super::passive::{
    self, PassiveAuthError, PassiveAuthInput, PassiveAuthPolicy, PassiveAuthReport, verify_passive,
};
use super::trust::TrustStore;
use crate::apdu::CardTransport;
use crate::mrz::Mrz;
use crate::reader::{AccessProtocol, ChipAuthentication, ChipDocument, ChipReader};

/// When a clone-detection protocol must run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Requirement {
    /// Never run it.
    Never,
    /// Run it when the chip offers it (DG14 with Chip Authentication / DG15 read and
    /// covered by the SOD); a failure refuses the document, absence does not.
    #[default]
    IfAvailable,
    /// The document is refused when the chip does not offer it.
    Required,
}

/// Which checks the gate requires.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthenticityPolicy {
    /// Passive authentication settings (always run).
    pub passive: PassiveAuthPolicy,
    /// Chip Authentication (DG14, or PACE-CAM during access).
    pub chip_authentication: Requirement,
    /// Active Authentication (DG15).
    pub active_authentication: Requirement,
}

/// How the chip proved it is genuine (not a copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloneCheck {
    /// Chip Authentication Mapping during PACE (EF.CardSecurity key).
    PaceCam,
    /// Chip Authentication with the DG14 key.
    ChipAuthentication(ChipAuthReport),
}

/// Everything that was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticityReport {
    /// Passive authentication.
    pub passive: PassiveAuthReport,
    /// Chip Authentication, if run.
    pub chip_authentication: Option<CloneCheck>,
    /// Active Authentication, if run.
    pub active_authentication: Option<ActiveAuthReport>,
}

/// Why a document is not authentic (or could not be shown to be).
#[derive(Debug, thiserror::Error)]
pub enum AuthenticityError {
    /// Passive authentication failed.
    #[error(transparent)]
    Passive(#[from] PassiveAuthError),
    /// EF.CardSecurity (the PACE-CAM chip key) failed passive authentication.
    #[error("EF.CardSecurity: {0}")]
    CardSecurity(PassiveAuthError),
    /// Chip Authentication failed.
    #[error(transparent)]
    ChipAuthentication(#[from] ChipAuthError),
    /// Active Authentication failed.
    #[error(transparent)]
    ActiveAuthentication(#[from] ActiveAuthError),
    /// The policy requires Chip Authentication and the chip does not offer it.
    #[error("Chip Authentication required but the chip does not offer it")]
    ChipAuthenticationUnavailable,
    /// The policy requires Active Authentication and the chip has no DG15.
    #[error("Active Authentication required but the chip has no DG15")]
    ActiveAuthenticationUnavailable,
    /// EF.SOD lists DG14 or DG15 (the chip supports Chip or Active Authentication) but the
    /// data group was not read: EF.COM is not signed, so a copied chip could hide the data
    /// group to skip the clone check.
    #[error("DG{0} is listed in EF.SOD but was not read")]
    SignedDataGroupNotRead(u8),
}

impl AuthenticityError {
    /// The stable reason code of this failure.
    pub fn reason_code(&self) -> &'static str {
        match self {
            AuthenticityError::Passive(e) | AuthenticityError::CardSecurity(e) => e.reason_code(),
            AuthenticityError::ChipAuthentication(e) => e.reason_code(),
            AuthenticityError::ActiveAuthentication(e) => e.reason_code(),
            AuthenticityError::ChipAuthenticationUnavailable => "CA_UNAVAILABLE",
            AuthenticityError::ActiveAuthenticationUnavailable => "AA_UNAVAILABLE",
            AuthenticityError::SignedDataGroupNotRead(_) => "DG_NOT_READ",
        }
    }
}

/// Verifies a document just read by `reader` (whose secure messaging session is still
/// open): passive authentication against `trust` at `time` (Unix seconds), then Chip
/// Authentication and Active Authentication per `policy`.
///
/// A DG14 or DG15 that EF.SOD lists must have been read (`DG_NOT_READ` otherwise) unless
/// the policy never runs the protocol.
///
/// Chip Authentication counts as done when PACE-CAM verified the chip during access (and
/// EF.CardSecurity, which holds the chip key, passes steps 1-4 of passive authentication);
/// otherwise it runs with DG14 when read. Active Authentication runs with DG15 when read.
pub fn authenticate_document<T: CardTransport>(
    reader: &mut ChipReader<T>,
    document: &ChipDocument,
    optical_mrz: Option<&Mrz>,
    trust: &TrustStore,
    policy: &AuthenticityPolicy,
    time: i64,
) -> Result<AuthenticityReport, AuthenticityError> {
    let input = PassiveAuthInput::from_chip(document, optical_mrz, time);
    let passive = verify_passive(&input, trust, &policy.passive)?;
    // What the signed SOD says the chip has cannot be hidden by editing EF.COM.
    let signed_but_unread =
        |n: u8| passive.data_groups_in_sod.contains(&n) && document.data_group(n).is_none();

    let chip_authentication = match policy.chip_authentication {
        Requirement::Never => None,
        requirement => {
            let pace_cam = matches!(
                document.access,
                AccessProtocol::Pace {
                    chip_authentication: ChipAuthentication::Verified,
                    ..
                }
            );
            let params = match document.data_group(14) {
                Some(dg14) => chip::parameters_from_dg14(dg14)?,
                None => None,
            };
            if !pace_cam && signed_but_unread(14) {
                return Err(AuthenticityError::SignedDataGroupNotRead(14));
            }
            match (pace_cam, params) {
                (true, _) => {
                    // The CAM key came from EF.CardSecurity: it must be signed like EF.SOD.
                    let card_security = document
                        .card_security
                        .as_deref()
                        .ok_or(AuthenticityError::ChipAuthenticationUnavailable)?;
                    passive::verify_card_security(card_security, trust, &policy.passive, time)
                        .map_err(AuthenticityError::CardSecurity)?;
                    Some(CloneCheck::PaceCam)
                }
                (false, Some(params)) => Some(CloneCheck::ChipAuthentication(
                    chip::run_chip_authentication(reader, &params, &document.com)?,
                )),
                (false, None) if requirement == Requirement::Required => {
                    return Err(AuthenticityError::ChipAuthenticationUnavailable);
                }
                (false, None) => None,
            }
        }
    };

    if policy.active_authentication != Requirement::Never && signed_but_unread(15) {
        return Err(AuthenticityError::SignedDataGroupNotRead(15));
    }
    let active_authentication = match (policy.active_authentication, document.data_group(15)) {
        (Requirement::Never, _) => None,
        (_, Some(dg15)) => Some(active::run_active_authentication(
            reader,
            dg15,
            document.data_group(14),
        )?),
        (Requirement::Required, None) => {
            return Err(AuthenticityError::ActiveAuthenticationUnavailable);
        }
        (Requirement::IfAvailable, None) => None,
    };

    Ok(AuthenticityReport {
        passive,
        chip_authentication,
        active_authentication,
    })
}
