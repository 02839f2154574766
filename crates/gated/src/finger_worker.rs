//! The fingerprint module of a real gate (R30x family on a serial line), driven by one
//! dedicated thread: 1:1 verification against an enrolled template for the fingerprint gate,
//! image capture with quality for the BioCart.
//!
//! Templates come from the main loop per verification and are wiped after it; BioCart images
//! go to the main loop as ISO/IEC 19794-4 records ([`FingerSample`]) with the capture's
//! result, and are wiped with the transaction's data. None is logged. Enrolments are looked up
//! in the down-synced list by the outbox writer ([`crate::store`]).

use crate::health::{DeviceRole, HealthReporter, HealthSender};
use crate::roles::{DeviceReport, FingerReader};
use crate::samples::FingerSample;
use crate::store::{Store, StoreJob};
use crate::unix_ms;
use crate::worker::{Inbox, Jobs, Next, Worker, WorkerError, serve};
use devices::fingerprint::iso19794_4::{FingerImageRecord, FingerPosition, ImageEncoding};
use devices::fingerprint::r30x::{
    FACTORY_ADDRESS, FACTORY_BAUD_RATE, FACTORY_PASSWORD, R30xConfig, ReconnectPolicy, SerialR30x,
    SerialSettings,
};
use devices::fingerprint::{Capture, FingerprintError, FingerprintSensor, Template, TemplateSlot};
use gate_core::{DocumentHash, Finger, FingerAttempt, TransactionId};
use gate_protocol::Health;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// How often an idle worker checks that the module answers.
const IDLE_PROBE: Duration = Duration::from_secs(3);
/// How often the sensor is polled for a finger.
const FINGER_POLL: Duration = Duration::from_millis(50);

/// Settings of the fingerprint worker, from `[devices.fingerprint]`.
#[derive(Clone, Debug)]
pub struct FingerWorkerConfig {
    /// Serial port.
    pub port: PathBuf,
    /// Baud rate.
    pub baud: u32,
    /// Module address.
    pub address: u32,
    /// Module password.
    pub password: u32,
    /// How long a traveller has to place the finger, per attempt.
    pub placement_timeout: Duration,
}

enum FingerJob {
    /// Verify the live finger against `template` (fingerprint gate); no template: the
    /// placement fails.
    Verify {
        transaction_id: TransactionId,
        finger: Finger,
        template: Option<zeroize::Zeroizing<Vec<u8>>>,
    },
    /// Capture an image of the finger and rate it (BioCart).
    Capture {
        transaction_id: TransactionId,
        finger: Finger,
    },
}

impl std::fmt::Debug for FingerJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FingerJob::Verify {
                transaction_id,
                finger,
                ..
            } => write!(f, "Verify({transaction_id}, {finger:?}, redacted)"),
            FingerJob::Capture {
                transaction_id,
                finger,
            } => write!(f, "Capture({transaction_id}, {finger:?})"),
        }
    }
}

/// The fingerprint module of a real gate: its worker thread's handle.
#[derive(Debug)]
pub struct FingerWorker {
    jobs: Jobs<FingerJob>,
    store: Store,
}

impl FingerWorker {
    /// Starts the thread; the module is opened lazily and reopened after it vanishes.
    /// Enrolments are looked up by `store`.
    pub fn start(
        config: FingerWorkerConfig,
        reports: mpsc::Sender<DeviceReport>,
        health: HealthSender,
        store: Store,
    ) -> Result<(Self, Worker), WorkerError> {
        let (jobs, worker) = serve("fingerprint", move |inbox| {
            let settings = SerialSettings {
                baud_rate: config.baud,
                ..SerialSettings::new(config.port.clone())
            };
            let module = R30xConfig {
                address: config.address,
                password: config.password,
                ..R30xConfig::default()
            };
            let mut worker = FingerThread {
                sensor: SerialR30x::disconnected(settings, module, ReconnectPolicy::default()),
                config,
                reports,
                health: HealthReporter::new(DeviceRole::Fingerprint, health),
            };
            worker.probe();
            worker.run(&inbox);
        })?;
        Ok((Self { jobs, store }, worker))
    }
}

impl FingerReader for FingerWorker {
    fn lookup_enrolment(&self, transaction_id: TransactionId, hash: DocumentHash) {
        self.store.send(StoreJob::Enrolment {
            transaction_id,
            hash,
        });
    }

    /// Verifies the live `finger` of `transaction_id` against its enrolled `template`.
    fn verify(
        &self,
        transaction_id: TransactionId,
        finger: Finger,
        template: Option<zeroize::Zeroizing<Vec<u8>>>,
    ) {
        self.jobs.send(FingerJob::Verify {
            transaction_id,
            finger,
            template,
        });
    }

    /// Captures `finger` of `transaction_id` (BioCart).
    fn capture(&self, transaction_id: TransactionId, finger: Finger) {
        self.jobs.send(FingerJob::Capture {
            transaction_id,
            finger,
        });
    }

    /// The module holds nothing of a transaction between jobs.
    fn discard(&self, _transaction_id: TransactionId) {}
}

struct FingerThread {
    config: FingerWorkerConfig,
    sensor: SerialR30x,
    reports: mpsc::Sender<DeviceReport>,
    health: HealthReporter,
}

impl FingerThread {
    fn run(&mut self, jobs: &Inbox<FingerJob>) {
        loop {
            match jobs.next(IDLE_PROBE) {
                Next::Stop => return,
                Next::Idle => self.probe(),
                Next::Job(FingerJob::Verify {
                    transaction_id,
                    finger,
                    template: None,
                }) => {
                    // The core only asks for enrolled fingers; answer as a failed placement.
                    warn!(?finger, "no enrolled template for this finger");
                    self.send(transaction_id, finger, FingerAttempt::NoFinger, None);
                }
                Next::Job(FingerJob::Verify {
                    transaction_id,
                    finger,
                    template: Some(template),
                }) => {
                    let started = Instant::now();
                    let attempt = self.verify(&template);
                    info!(
                        ?finger,
                        result = attempt_name(&attempt),
                        ms = started.elapsed().as_millis() as u64,
                        "finger verified"
                    );
                    self.send(transaction_id, finger, attempt, None);
                }
                Next::Job(FingerJob::Capture {
                    transaction_id,
                    finger,
                }) => {
                    let (attempt, sample) = self.capture(finger);
                    info!(?finger, result = attempt_name(&attempt), "finger captured");
                    self.send(transaction_id, finger, attempt, sample);
                }
            }
        }
    }

    /// The result and the captured image record travel in one message.
    fn send(
        &self,
        transaction_id: TransactionId,
        finger: Finger,
        attempt: FingerAttempt,
        sample: Option<FingerSample>,
    ) {
        let _ = self.reports.blocking_send(DeviceReport::Finger {
            transaction_id,
            finger,
            attempt,
            sample,
        });
    }

    /// Waits for the finger; `None` when a device fault was reported instead.
    fn wait_for_finger(&mut self) -> Result<bool, ()> {
        match self
            .sensor
            .wait_for_finger(self.config.placement_timeout, FINGER_POLL)
        {
            Ok(Capture::FingerImaged) => {
                self.health.report(Health::Up, self.up_detail());
                Ok(true)
            }
            Ok(Capture::NoFinger) => Ok(false),
            Err(err) => {
                self.fault(&err);
                Err(())
            }
        }
    }

    fn verify(&mut self, template: &[u8]) -> FingerAttempt {
        match self.wait_for_finger() {
            Ok(true) => {}
            Ok(false) | Err(()) => return FingerAttempt::NoFinger,
        }
        // An R30x module rates an image only pass / fail, at feature extraction (uploading the
        // image to rate it on the host takes ~6 s at 57600 baud): an extracted template counts
        // as quality 100, a refused image ("too few features", "image too messy") as 0.
        let result = (|| {
            if let Err(err) = self.sensor.extract_template(TemplateSlot::First) {
                if err.is_finger_problem() {
                    return Ok(FingerAttempt::Verified {
                        quality: 0,
                        score: 0,
                        matched: false,
                    });
                }
                return Err(err);
            }
            let quality = 100;
            self.sensor.download_template(
                TemplateSlot::Second,
                &Template::from_bytes(template.to_vec()),
            )?;
            // The module's verdict at its security level, and its score either way.
            let outcome = self.sensor.compare_slots()?;
            Ok(FingerAttempt::Verified {
                quality,
                score: outcome.score,
                matched: outcome.matched,
            })
        })();
        result.unwrap_or_else(|err| {
            self.fault(&err);
            FingerAttempt::NoFinger
        })
    }

    fn capture(&mut self, finger: Finger) -> (FingerAttempt, Option<FingerSample>) {
        match self.wait_for_finger() {
            Ok(true) => {}
            Ok(false) | Err(()) => return (FingerAttempt::NoFinger, None),
        }
        match self.sensor.upload_image() {
            Ok(image) => {
                let quality = image.quality().score;
                let position = match finger {
                    Finger::LeftIndex => FingerPosition::LEFT_INDEX,
                    Finger::RightIndex => FingerPosition::RIGHT_INDEX,
                };
                let record = FingerImageRecord::from_finger_image(
                    &image,
                    position,
                    quality,
                    ImageEncoding::Png,
                )
                .and_then(|record| record.encode());
                let sample = match record {
                    Ok(record) => Some(FingerSample {
                        quality,
                        record: zeroize::Zeroizing::new(record),
                        captured_at_ms: unix_ms(),
                    }),
                    Err(err) => {
                        warn!(error = %err, "finger image record not encoded");
                        None
                    }
                };
                (FingerAttempt::Captured { quality }, sample)
            }
            Err(err) => {
                self.fault(&err);
                (FingerAttempt::NoFinger, None)
            }
        }
    }

    fn probe(&mut self) {
        match self.sensor.info() {
            Ok(_) => self.health.report(Health::Up, self.up_detail()),
            Err(err) => self.fault(&err),
        }
    }

    fn up_detail(&self) -> String {
        format!(
            "R30x on {} at {} baud",
            self.config.port.display(),
            self.config.baud
        )
    }

    /// Logs a fault; while the module is not connected (it vanished, or the last attempt to
    /// open it and handshake failed) it is down, with the cause in plain words.
    fn fault(&mut self, err: &FingerprintError) {
        warn!(error = %err, "fingerprint module fault");
        if !self.sensor.is_connected() {
            self.health
                .report(Health::Down, unavailable_detail(&self.config, err));
        }
    }
}

/// Why the module cannot be used, in the words a technician acts on (no retry timings, so the
/// detail stays the same while the cause does).
fn unavailable_detail(config: &FingerWorkerConfig, err: &FingerprintError) -> String {
    let port = config.port.display();
    let cause = err.cause();
    if err.is_wrong_password() {
        format!(
            "wrong password: the module on {port} refused the configured password; set devices.fingerprint.password to the module's own (a module from the factory has {FACTORY_PASSWORD:08X} and needs none set)"
        )
    } else if err.is_no_answer() {
        format!(
            "no valid answer from the module on {port} at {} baud: check devices.fingerprint.baud (factory {FACTORY_BAUD_RATE}), devices.fingerprint.address (factory {FACTORY_ADDRESS:08X}) and the wiring (module TX to adapter RX, RX to TX, power)",
            config.baud
        )
    } else if let FingerprintError::InUse { holder, .. } = cause {
        format!(
            "{port} is in use by {}: stop it to give gated the module",
            holder.as_deref().unwrap_or("another program")
        )
    } else {
        cause.to_string()
    }
}

fn attempt_name(attempt: &FingerAttempt) -> &'static str {
    match attempt {
        FingerAttempt::Captured { .. } => "captured",
        FingerAttempt::Verified { .. } => "verified",
        FingerAttempt::NoFinger => "no_finger",
    }
}
