//! Packet framing of the R30x / ZFM / AS608 serial protocol.
//!
//! A packet on the wire is
//!
//! ```text
//! EF 01 | address (4, big endian) | packet id (1) | length (2, big endian) | payload | checksum (2)
//! ```
//!
//! where `length` counts the payload plus the two checksum bytes and the checksum is the 16-bit
//! wrapping sum of the packet id, both length bytes and every payload byte.
//!
//! [`FrameDecoder`] is a streaming decoder: it accepts bytes in arbitrary chunks, skips garbage
//! before a start code, rejects frames with an impossible length, unknown packet id or wrong
//! checksum and then resynchronises on the next start code. Its buffer is bounded, so a stream of
//! garbage can never make it allocate without limit, and it never panics on any input.

use thiserror::Error;

/// The two start-code bytes every packet begins with.
pub const START_CODE: [u8; 2] = [0xEF, 0x01];
/// Bytes before the payload: start code (2), address (4), packet id (1), length (2).
pub const HEADER_LEN: usize = 9;
/// Bytes after the payload: the checksum.
pub const CHECKSUM_LEN: usize = 2;
/// Largest payload this implementation accepts: a 256-byte data packet (the biggest packet size
/// the module family can be configured to) plus headroom for acknowledgement payloads.
pub const MAX_PAYLOAD_LEN: usize = 256;
/// Largest complete frame on the wire.
pub const MAX_FRAME_LEN: usize = HEADER_LEN + MAX_PAYLOAD_LEN + CHECKSUM_LEN;
/// Bound on the decoder's internal buffer; bytes beyond it are discarded as garbage.
const DECODER_BUFFER_LIMIT: usize = 4 * MAX_FRAME_LEN;

/// The packet identifier byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// 0x01: a command from the host.
    Command,
    /// 0x02: a data packet; more data packets follow.
    Data,
    /// 0x07: an acknowledgement from the module (first payload byte is the confirmation code).
    Ack,
    /// 0x08: the last data packet of a transfer.
    EndOfData,
}

impl PacketKind {
    /// The byte that identifies this kind on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            PacketKind::Command => 0x01,
            PacketKind::Data => 0x02,
            PacketKind::Ack => 0x07,
            PacketKind::EndOfData => 0x08,
        }
    }

    /// Parse a packet identifier byte.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(PacketKind::Command),
            0x02 => Some(PacketKind::Data),
            0x07 => Some(PacketKind::Ack),
            0x08 => Some(PacketKind::EndOfData),
            _ => None,
        }
    }
}

/// One decoded (or to-be-encoded) packet.
#[derive(Clone, PartialEq, Eq)]
pub struct Packet {
    /// Module address the packet is for / from.
    pub address: u32,
    /// Packet identifier.
    pub kind: PacketKind,
    /// Payload without header and checksum.
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for Packet {
    // Payloads may be templates or images: never print their content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packet")
            .field("address", &format_args!("{:08X}", self.address))
            .field("kind", &self.kind)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// Why a packet could not be encoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The payload does not fit in one packet.
    #[error("payload of {len} bytes exceeds the {MAX_PAYLOAD_LEN}-byte packet limit")]
    PayloadTooLong {
        /// The offending payload length.
        len: usize,
    },
}

/// The checksum of a packet: wrapping 16-bit sum of packet id, length bytes and payload.
pub fn checksum(kind: PacketKind, length_field: u16, payload: &[u8]) -> u16 {
    let [len_hi, len_lo] = length_field.to_be_bytes();
    payload.iter().fold(
        u16::from(kind.to_byte())
            .wrapping_add(u16::from(len_hi))
            .wrapping_add(u16::from(len_lo)),
        |sum, byte| sum.wrapping_add(u16::from(*byte)),
    )
}

impl Packet {
    /// A packet with the given fields.
    pub fn new(address: u32, kind: PacketKind, payload: Vec<u8>) -> Self {
        Packet {
            address,
            kind,
            payload,
        }
    }

    /// Append the wire form of this packet to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let len = self.payload.len();
        if len > MAX_PAYLOAD_LEN {
            return Err(EncodeError::PayloadTooLong { len });
        }
        // Cannot truncate: len <= 256.
        let length_field = (len + CHECKSUM_LEN) as u16;
        out.reserve(HEADER_LEN + len + CHECKSUM_LEN);
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(&self.address.to_be_bytes());
        out.push(self.kind.to_byte());
        out.extend_from_slice(&length_field.to_be_bytes());
        out.extend_from_slice(&self.payload);
        out.extend_from_slice(&checksum(self.kind, length_field, &self.payload).to_be_bytes());
        Ok(())
    }

    /// The wire form of this packet.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len() + CHECKSUM_LEN);
        self.encode_into(&mut out)?;
        Ok(out)
    }
}

/// Why the decoder threw away a candidate frame (it resynchronises afterwards by itself).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum FrameRejection {
    /// The packet id after a start code is not one of 01/02/07/08.
    #[error("unknown packet id {0:#04x}")]
    UnknownPacketKind(u8),
    /// The length field is below 2 or above the packet limit.
    #[error("impossible length field {0}")]
    BadLength(u16),
    /// The checksum does not match the content.
    #[error("checksum mismatch: frame says {received:#06x}, content sums to {computed:#06x}")]
    ChecksumMismatch {
        /// Checksum carried by the frame.
        received: u16,
        /// Checksum computed over the frame.
        computed: u16,
    },
    /// A candidate frame was abandoned because the rest of it never arrived.
    #[error("incomplete frame abandoned")]
    Truncated,
}

/// Running totals of what the decoder had to throw away (for diagnostics).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DecoderStats {
    /// Bytes skipped while looking for a start code.
    pub garbage_bytes: u64,
    /// Candidate frames rejected (any [`FrameRejection`]).
    pub rejected_frames: u64,
    /// Of those, checksum mismatches.
    pub checksum_errors: u64,
    /// Frames decoded successfully.
    pub packets: u64,
}

/// Streaming decoder with resynchronisation; see the module documentation.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    stats: DecoderStats,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed received bytes. The internal buffer is bounded: if the caller pushes more than the
    /// bound without draining, the oldest bytes are dropped and counted as garbage.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() > DECODER_BUFFER_LIMIT {
            let excess = self.buffer.len() - DECODER_BUFFER_LIMIT;
            self.buffer.drain(..excess);
            self.stats.garbage_bytes += excess as u64;
        }
    }

    /// Bytes currently buffered (garbage or part of a frame not complete yet).
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    /// Counters of skipped and rejected input.
    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Forget everything buffered (e.g. before a command is retried).
    pub fn clear(&mut self) {
        self.stats.garbage_bytes += self.buffer.len() as u64;
        self.buffer.clear();
    }

    /// Give up on a partial frame whose remaining bytes never came (a half frame followed by
    /// silence, or by a new frame the length field wrongly swallowed). Drops the first byte
    /// so the next [`FrameDecoder::next_frame`] call rescans for a start code. Returns whether
    /// anything was buffered.
    pub fn abandon_partial(&mut self) -> bool {
        if self.buffer.is_empty() {
            return false;
        }
        self.buffer.drain(..1);
        self.stats.rejected_frames += 1;
        true
    }

    /// Decode the next complete frame from the buffer.
    ///
    /// Returns `None` when more bytes are needed, `Some(Ok(packet))` for a valid frame and
    /// `Some(Err(rejection))` when a candidate frame was thrown away; call again after a
    /// rejection, the decoder has already moved past it.
    pub fn next_frame(&mut self) -> Option<Result<Packet, FrameRejection>> {
        // Find a start code; keep a trailing 0xEF which may be the first half of one.
        let start = self.buffer.windows(2).position(|w| w == START_CODE);
        match start {
            Some(0) => {}
            Some(position) => {
                self.buffer.drain(..position);
                self.stats.garbage_bytes += position as u64;
            }
            None => {
                let keep = usize::from(self.buffer.last() == Some(&START_CODE[0]));
                let drop = self.buffer.len() - keep;
                self.buffer.drain(..drop);
                self.stats.garbage_bytes += drop as u64;
                return None;
            }
        }
        if self.buffer.len() < HEADER_LEN {
            return None;
        }
        let header = &self.buffer[..HEADER_LEN];
        let address = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
        let kind_byte = header[6];
        let length_field = u16::from_be_bytes([header[7], header[8]]);
        let Some(kind) = PacketKind::from_byte(kind_byte) else {
            return Some(Err(
                self.reject(FrameRejection::UnknownPacketKind(kind_byte))
            ));
        };
        let length = usize::from(length_field);
        if !(CHECKSUM_LEN..=MAX_PAYLOAD_LEN + CHECKSUM_LEN).contains(&length) {
            return Some(Err(self.reject(FrameRejection::BadLength(length_field))));
        }
        let total = HEADER_LEN + length;
        if self.buffer.len() < total {
            return None;
        }
        let payload = &self.buffer[HEADER_LEN..total - CHECKSUM_LEN];
        let received = u16::from_be_bytes([self.buffer[total - 2], self.buffer[total - 1]]);
        let computed = checksum(kind, length_field, payload);
        if received != computed {
            self.stats.checksum_errors += 1;
            return Some(Err(
                self.reject(FrameRejection::ChecksumMismatch { received, computed })
            ));
        }
        let packet = Packet {
            address,
            kind,
            payload: payload.to_vec(),
        };
        self.buffer.drain(..total);
        self.stats.packets += 1;
        Some(Ok(packet))
    }

    /// Drop the first byte of the current candidate so scanning resumes after it.
    fn reject(&mut self, rejection: FrameRejection) -> FrameRejection {
        self.buffer.drain(..1);
        self.stats.rejected_frames += 1;
        rejection
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(payload: &[u8]) -> Vec<u8> {
        Packet::new(
            crate::fingerprint::r30x::FACTORY_ADDRESS,
            PacketKind::Ack,
            payload.to_vec(),
        )
        .encode()
        .unwrap()
    }

    fn drain(decoder: &mut FrameDecoder) -> Vec<Result<Packet, FrameRejection>> {
        std::iter::from_fn(|| decoder.next_frame()).collect()
    }

    #[test]
    fn encodes_gen_img_exactly_like_the_datasheet_example() {
        // GenImg: EF01 FFFFFFFF 01 0003 01 0005
        let bytes = Packet::new(
            crate::fingerprint::r30x::FACTORY_ADDRESS,
            PacketKind::Command,
            vec![0x01],
        )
        .encode()
        .unwrap();
        assert_eq!(
            bytes,
            [
                0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x03, 0x01, 0x00, 0x05
            ]
        );
    }

    #[test]
    fn round_trips_every_kind_and_size() {
        for kind in [
            PacketKind::Command,
            PacketKind::Data,
            PacketKind::Ack,
            PacketKind::EndOfData,
        ] {
            for len in [0usize, 1, 2, 31, 128, 256] {
                let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let packet = Packet::new(0x1234_5678, kind, payload);
                let mut decoder = FrameDecoder::new();
                decoder.push(&packet.encode().unwrap());
                assert_eq!(decoder.next_frame(), Some(Ok(packet)));
                assert_eq!(decoder.next_frame(), None);
                assert_eq!(decoder.buffered_len(), 0);
            }
        }
    }

    #[test]
    fn rejects_oversized_payload_on_encode() {
        let packet = Packet::new(
            crate::fingerprint::r30x::FACTORY_ADDRESS,
            PacketKind::Data,
            vec![0; 257],
        );
        assert_eq!(
            packet.encode(),
            Err(EncodeError::PayloadTooLong { len: 257 })
        );
    }

    #[test]
    fn decodes_byte_by_byte() {
        let bytes = ack(&[0x00, 0x01, 0x02]);
        let mut decoder = FrameDecoder::new();
        for (i, byte) in bytes.iter().enumerate() {
            decoder.push(&[*byte]);
            let frame = decoder.next_frame();
            if i + 1 < bytes.len() {
                assert_eq!(frame, None, "byte {i}");
            } else {
                assert_eq!(frame.unwrap().unwrap().payload, vec![0x00, 0x01, 0x02]);
            }
        }
    }

    #[test]
    fn skips_garbage_including_lone_start_bytes() {
        let mut stream = vec![0x00, 0xEF, 0xEF, 0x55, 0xEF];
        stream.extend(ack(&[0x09]));
        let mut decoder = FrameDecoder::new();
        decoder.push(&stream);
        let frames = drain(&mut decoder);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].as_ref().unwrap().payload, vec![0x09]);
        assert_eq!(decoder.stats().garbage_bytes, 5);
    }

    #[test]
    fn rejects_bad_checksum_and_resynchronises_on_the_next_frame() {
        let mut corrupt = ack(&[0x00, 0x42]);
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0x01;
        corrupt.extend(ack(&[0x08]));
        let mut decoder = FrameDecoder::new();
        decoder.push(&corrupt);
        let frames = drain(&mut decoder);
        assert!(matches!(
            frames[0],
            Err(FrameRejection::ChecksumMismatch { .. })
        ));
        assert_eq!(frames.last().unwrap().as_ref().unwrap().payload, vec![0x08]);
        assert_eq!(decoder.stats().checksum_errors, 1);
    }

    #[test]
    fn rejects_unknown_kind_and_impossible_lengths() {
        let mut decoder = FrameDecoder::new();
        decoder.push(&[0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x05, 0x00, 0x03]);
        assert_eq!(
            decoder.next_frame(),
            Some(Err(FrameRejection::UnknownPacketKind(0x05)))
        );
        decoder.clear();
        decoder.push(&[0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0xFF, 0xFF]);
        assert_eq!(
            decoder.next_frame(),
            Some(Err(FrameRejection::BadLength(0xFFFF)))
        );
        decoder.clear();
        decoder.push(&[0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00, 0x01]);
        assert_eq!(
            decoder.next_frame(),
            Some(Err(FrameRejection::BadLength(1)))
        );
    }

    #[test]
    fn half_frame_followed_by_a_full_frame_recovers_after_abandon() {
        // A half frame whose length field claims more bytes than ever come, then a real frame.
        let mut stream = vec![0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x01, 0x00, 0x00];
        stream.extend(ack(&[0x00]));
        let mut decoder = FrameDecoder::new();
        decoder.push(&stream);
        assert_eq!(
            decoder.next_frame(),
            None,
            "waits for the claimed 256 bytes"
        );
        assert!(decoder.abandon_partial());
        let frames = drain(&mut decoder);
        assert_eq!(frames.last().unwrap().as_ref().unwrap().payload, vec![0x00]);
    }

    #[test]
    fn buffer_stays_bounded_under_endless_garbage() {
        let mut decoder = FrameDecoder::new();
        for _ in 0..1000 {
            decoder.push(&[0xEF; 97]);
            while decoder.next_frame().is_some() {}
            assert!(decoder.buffered_len() <= DECODER_BUFFER_LIMIT);
        }
        // Pushing without draining is bounded too.
        for _ in 0..1000 {
            decoder.push(&[0x01; 97]);
        }
        assert!(decoder.buffered_len() <= DECODER_BUFFER_LIMIT);
    }

    #[test]
    fn never_panics_on_pseudo_random_input() {
        // Deterministic xorshift stream mixed with valid frames.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut decoder = FrameDecoder::new();
        let mut good = 0;
        for round in 0..2000 {
            let mut chunk = Vec::new();
            for _ in 0..(round % 40) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.push((state & 0xFF) as u8);
            }
            if round % 10 == 0 {
                chunk.extend(ack(&[0x00, (round % 256) as u8]));
            }
            decoder.push(&chunk);
            while let Some(frame) = decoder.next_frame() {
                if frame.is_ok() {
                    good += 1;
                }
            }
            if round % 10 == 9 {
                decoder.abandon_partial();
            }
        }
        assert!(
            good >= 150,
            "most embedded frames are recovered, got {good}"
        );
    }
}
