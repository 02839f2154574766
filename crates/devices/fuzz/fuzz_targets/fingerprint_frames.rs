//! R30x serial frames: the streaming decoder and the command parser on arbitrary bytes, fed in
//! chunks whose sizes come from the input. Must never panic and must keep its buffer bounded.
#![no_main]

use devices::fingerprint::r30x::Command;
use devices::fingerprint::r30x::frame::{FrameDecoder, MAX_FRAME_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunking, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunking % 64) + 1;
    let mut decoder = FrameDecoder::new();
    for (index, piece) in bytes.chunks(chunk).enumerate() {
        decoder.push(piece);
        while let Some(frame) = decoder.next_frame() {
            if let Ok(packet) = frame {
                let _ = Command::parse(&packet.payload);
                let encoded = packet.encode().expect("decoded packets re-encode");
                let mut again = FrameDecoder::new();
                again.push(&encoded);
                assert_eq!(again.next_frame(), Some(Ok(packet)));
            }
        }
        assert!(decoder.buffered_len() <= 4 * MAX_FRAME_LEN);
        if index % 7 == 6 {
            decoder.abandon_partial();
        }
    }
    let _ = Command::parse(bytes);
});
