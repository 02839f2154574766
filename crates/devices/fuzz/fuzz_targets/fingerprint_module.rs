//! The simulated module (which the gatectl simulator exposes to anything that opens its pty)
//! on arbitrary packet sequences: must never panic.
#![no_main]

use devices::fingerprint::r30x::FACTORY_ADDRESS;
use devices::fingerprint::r30x::frame::{Packet, PacketKind};
use devices::fingerprint::simulator::{SimulatedFinger, SimulatedModule, SimulatedModuleConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut module = SimulatedModule::new(SimulatedModuleConfig {
        library_capacity: 64,
        ..SimulatedModuleConfig::default()
    });
    module.enroll_synthetic(1, SimulatedFinger::good(1));
    module.place_finger(SimulatedFinger::good(1));
    let mut rest = data;
    while let Some((&header, tail)) = rest.split_first() {
        let len = usize::from(header >> 2).min(tail.len());
        let kind = match header & 0b11 {
            0 | 1 => PacketKind::Command,
            2 => PacketKind::Data,
            _ => PacketKind::EndOfData,
        };
        let (payload, next) = tail.split_at(len);
        for response in module.handle(&Packet::new(FACTORY_ADDRESS, kind, payload.to_vec())) {
            assert!(response.encode().is_ok());
        }
        rest = next;
    }
});
