//! The R30x driver is generic over `Read + Write`: here it talks to the simulated module through
//! an in-memory port (no pty), and sensors are usable as `Box<dyn FingerprintSensor + Send>`.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use devices::fingerprint::r30x::frame::FrameDecoder;
use devices::fingerprint::r30x::{R30x, R30xConfig};
use devices::fingerprint::simulator::{SimulatedFinger, SimulatedModule, SimulatedModuleConfig};
use devices::fingerprint::{Capture, FingerprintSensor, TemplateSlot};

/// A port whose far end is a [`SimulatedModule`], answering synchronously.
struct InMemoryPort {
    module: SimulatedModule,
    decoder: FrameDecoder,
    to_host: VecDeque<u8>,
    /// Drop every answer (a dead line) when set.
    mute: bool,
}

impl Read for InMemoryPort {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.to_host.is_empty() {
            return Err(ErrorKind::TimedOut.into());
        }
        let n = buf.len().min(self.to_host.len());
        for (slot, byte) in buf.iter_mut().zip(self.to_host.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl Write for InMemoryPort {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.decoder.push(buf);
        while let Some(frame) = self.decoder.next_frame() {
            if let Ok(packet) = frame {
                for answer in self.module.handle(&packet) {
                    if !self.mute {
                        self.to_host.extend(answer.encode().unwrap());
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn sensor(mute: bool) -> R30x<InMemoryPort> {
    let mut module = SimulatedModule::new(SimulatedModuleConfig::default());
    module.enroll_synthetic(0, SimulatedFinger::good(1));
    module.place_finger(SimulatedFinger::good(1));
    R30x::new(
        InMemoryPort {
            module,
            decoder: FrameDecoder::new(),
            to_host: VecDeque::new(),
            mute,
        },
        "in-memory",
        R30xConfig {
            response_timeout: Duration::from_millis(100),
            ..R30xConfig::default()
        },
    )
}

#[test]
fn the_driver_works_over_any_read_write_port() {
    let mut driver = sensor(false);
    let parameters = driver.handshake().unwrap();
    assert_eq!(parameters.library_capacity, 1000);
    let mut boxed: Box<dyn FingerprintSensor + Send> = Box::new(driver);
    assert_eq!(boxed.capture().unwrap(), Capture::FingerImaged);
    boxed.extract_template(TemplateSlot::First).unwrap();
    let hit = boxed.search_library(TemplateSlot::First).unwrap().unwrap();
    assert_eq!(hit.page, 0);
    assert_eq!(boxed.template_count().unwrap(), 1);
}

#[test]
fn a_dead_line_is_a_timeout_not_a_hang() {
    let mut driver = sensor(true);
    let error = driver.handshake().unwrap_err();
    assert!(
        matches!(
            error,
            devices::fingerprint::FingerprintError::Timeout {
                command: "VfyPwd",
                ..
            }
        ),
        "{error}"
    );
}
