//! `SecurityInfos` (ICAO 9303 Part 11, 9.2): the SET OF SecurityInfo found in EF.CardAccess
//! and DG14. PACE, Chip Authentication, Terminal Authentication and Active Authentication
//! infos are recognised; anything else is kept as raw bytes.

use std::fmt;

use crate::tlv::{self, Tlv, TlvError};

/// Errors while decoding SecurityInfos.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityInfoError {
    /// Malformed DER.
    #[error("SecurityInfos: {0}")]
    Tlv(#[from] TlvError),
    /// A structurally wrong element.
    #[error("SecurityInfos: {0}")]
    Structure(&'static str),
}

/// An object identifier kept in its DER value bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ObjectIdentifier(pub Vec<u8>);

impl ObjectIdentifier {
    /// Dotted notation (`0.4.0.127.0.7.2.2.4.2.2`).
    pub fn dotted(&self) -> String {
        let mut arcs: Vec<u64> = Vec::new();
        let mut value: u64 = 0;
        for &b in &self.0 {
            value = (value << 7) | u64::from(b & 0x7F);
            if b & 0x80 == 0 {
                if arcs.is_empty() {
                    let first = (value / 40).min(2);
                    arcs.push(first);
                    arcs.push(value - first * 40);
                } else {
                    arcs.push(value);
                }
                value = 0;
            }
        }
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".")
    }

    /// True if this OID starts with `prefix` (DER value bytes).
    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        self.0.starts_with(prefix)
    }
}

impl fmt::Debug for ObjectIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OID({})", self.dotted())
    }
}

impl fmt::Display for ObjectIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dotted())
    }
}

/// id-PACE: 0.4.0.127.0.7.2.2.4.
pub const ID_PACE: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04];
/// id-CA: 0.4.0.127.0.7.2.2.3.
pub const ID_CA: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03];
/// id-PK (Chip Authentication public key): 0.4.0.127.0.7.2.2.1.
pub const ID_PK: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x01];
/// id-TA: 0.4.0.127.0.7.2.2.2.
pub const ID_TA: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02];
/// id-icao-mrtd-security-aaProtocolObject: 2.23.136.1.1.5.
pub const ID_AA: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x05];

/// PACEInfo: protocol, version and optional standardised domain parameter id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaceInfo {
    /// Protocol OID (id-PACE-ECDH-GM-AES-CBC-CMAC-128 ...).
    pub protocol: ObjectIdentifier,
    /// Version (2 for PACE v2).
    pub version: u64,
    /// Standardised domain parameter id (ICAO 9303 Part 11 table 6), if given.
    pub parameter_id: Option<u64>,
}

/// What a SecurityInfo is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityInfoKind {
    /// PACEInfo.
    Pace(PaceInfo),
    /// PACEDomainParameterInfo (explicit parameters, kept raw).
    PaceDomainParameters,
    /// ChipAuthenticationInfo with version and optional key id.
    ChipAuthentication {
        /// Version.
        version: u64,
        /// Key id.
        key_id: Option<u64>,
    },
    /// ChipAuthenticationPublicKeyInfo (key kept raw).
    ChipAuthenticationPublicKey,
    /// TerminalAuthenticationInfo.
    TerminalAuthentication,
    /// ActiveAuthenticationInfo.
    ActiveAuthentication,
    /// Anything else.
    Other,
}

/// One SecurityInfo with its raw DER encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityInfo {
    /// Protocol OID.
    pub protocol: ObjectIdentifier,
    /// Recognised content.
    pub kind: SecurityInfoKind,
    /// The SEQUENCE encoding.
    pub raw: Vec<u8>,
}

/// Decodes a DER INTEGER value as unsigned (up to 8 bytes).
pub fn der_uint(tlv: &Tlv<'_>) -> Result<u64, SecurityInfoError> {
    if tlv.tag != 0x02 || tlv.value.is_empty() || tlv.value.len() > 9 {
        return Err(SecurityInfoError::Structure("expected a small INTEGER"));
    }
    let value = tlv.value;
    let value = if value.len() == 9 && value[0] == 0 {
        &value[1..]
    } else {
        value
    };
    if value.len() > 8 {
        return Err(SecurityInfoError::Structure("INTEGER too large"));
    }
    Ok(value.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

fn parse_info(seq: &Tlv<'_>) -> Result<SecurityInfo, SecurityInfoError> {
    if seq.tag != 0x30 {
        return Err(SecurityInfoError::Structure(
            "SecurityInfo is not a SEQUENCE",
        ));
    }
    let children = seq.children()?;
    let oid = children
        .first()
        .filter(|t| t.tag == 0x06)
        .ok_or(SecurityInfoError::Structure(
            "SecurityInfo without protocol OID",
        ))?;
    let protocol = ObjectIdentifier(oid.value.to_vec());
    let int_at = |i: usize| {
        children
            .get(i)
            .filter(|t| t.tag == 0x02)
            .map(der_uint)
            .transpose()
    };
    let kind = if protocol.starts_with(ID_PACE) && protocol.0.len() == ID_PACE.len() + 2 {
        SecurityInfoKind::Pace(PaceInfo {
            protocol: protocol.clone(),
            version: int_at(1)?.ok_or(SecurityInfoError::Structure("PACEInfo without version"))?,
            parameter_id: int_at(2)?,
        })
    } else if protocol.starts_with(ID_PACE) {
        SecurityInfoKind::PaceDomainParameters
    } else if protocol.starts_with(ID_CA) {
        SecurityInfoKind::ChipAuthentication {
            version: int_at(1)?.unwrap_or(0),
            key_id: int_at(2)?,
        }
    } else if protocol.starts_with(ID_PK) {
        SecurityInfoKind::ChipAuthenticationPublicKey
    } else if protocol.starts_with(ID_TA) {
        SecurityInfoKind::TerminalAuthentication
    } else if protocol.0 == ID_AA {
        SecurityInfoKind::ActiveAuthentication
    } else {
        SecurityInfoKind::Other
    };
    Ok(SecurityInfo {
        protocol,
        kind,
        raw: seq.raw.to_vec(),
    })
}

/// Decodes `SecurityInfos ::= SET OF SecurityInfo` (the content of EF.CardAccess, and of the
/// DG14 wrapper).
pub fn parse_security_infos(der: &[u8]) -> Result<Vec<SecurityInfo>, SecurityInfoError> {
    let (set, _) = tlv::parse_one(der)?;
    let set = set.expect_tag(0x31)?;
    set.children()?.iter().map(parse_info).collect()
}

/// The PACEInfos among SecurityInfos.
pub fn pace_infos(infos: &[SecurityInfo]) -> Vec<PaceInfo> {
    infos
        .iter()
        .filter_map(|i| match &i.kind {
            SecurityInfoKind::Pace(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_appendix_g_card_access() {
        let der = hex::decode("31143012060A04007F0007020204020202010202010D").unwrap();
        let infos = parse_security_infos(&der).unwrap();
        assert_eq!(infos.len(), 1);
        assert_eq!(infos[0].protocol.dotted(), "0.4.0.127.0.7.2.2.4.2.2");
        let pace = pace_infos(&infos);
        assert_eq!(pace[0].version, 2);
        assert_eq!(pace[0].parameter_id, Some(13));
    }

    #[test]
    fn keeps_unknown_and_rejects_malformed() {
        // ActiveAuthenticationInfo + unknown OID.
        let der = hex::decode("3118300B06066781080101050201013009060453454354020101").unwrap();
        let infos = parse_security_infos(&der).unwrap();
        assert_eq!(infos[0].kind, SecurityInfoKind::ActiveAuthentication);
        assert_eq!(infos[1].kind, SecurityInfoKind::Other);
        assert!(parse_security_infos(&[0x31, 0x02, 0x02, 0x00]).is_err());
        assert!(parse_security_infos(&[0x30, 0x00]).is_err());
        assert!(parse_security_infos(&[]).is_err());
    }
}
