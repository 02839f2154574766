//! The face gate's camera and face matcher: one dedicated thread owns the camera and the ONNX
//! sessions, turns capture commands into [`DeviceReport::FaceCompared`] (and BioCart photos
//! into [`DeviceReport::FacePhoto`], the photo in the same message) and reports camera health.
//!
//! Per transaction it holds the chip photo's reference embedding (computed as soon as the chip
//! is read, while the traveller steps up to the camera); it is dropped when the core discards
//! the transaction's data. Frames never leave the thread and are never written anywhere.

use crate::health::{DeviceRole, HealthReporter, HealthSender};
use crate::roles::{DeviceReport, FaceCamera};
use crate::samples::PhotoSample;
use crate::unix_ms;
use crate::worker::{Inbox, Jobs, Next, Worker, WorkerError, serve};
use devices::camera::{Backoff, Camera, CameraError, ReconnectingCamera};
use face::gate::GateOutcome;
use face::{FaceConfig, FaceEngine, Reference, RgbImage};
use gate_core::{FaceAttempt, FaceQualityCheck, FaceQualityShortfall, TransactionId};
use gate_protocol::Health;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

/// How long to wait for one frame of a burst before calling the camera late.
const FRAME_TIMEOUT: Duration = Duration::from_millis(1_500);
/// How often an idle worker checks that the camera still delivers frames.
const IDLE_PROBE: Duration = Duration::from_secs(2);

/// What the worker is asked to do.
enum FaceJob {
    /// The chip photo of `transaction_id` (JPEG, JPEG 2000 or J2K bytes).
    Reference {
        transaction_id: TransactionId,
        photo: zeroize::Zeroizing<Vec<u8>>,
    },
    /// Capture a burst and compare its best frame with the reference.
    Capture {
        transaction_id: TransactionId,
        attempt: u8,
    },
    /// Take the BioCart face photo: the best frame of a burst, cropped to the face.
    Photo { transaction_id: TransactionId },
    /// Forget everything about `transaction_id`.
    Discard { transaction_id: TransactionId },
}

impl std::fmt::Debug for FaceJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaceJob::Reference { transaction_id, .. } => {
                write!(f, "Reference({transaction_id}, redacted)")
            }
            FaceJob::Capture { transaction_id, .. } => write!(f, "Capture({transaction_id})"),
            FaceJob::Photo { transaction_id } => write!(f, "Photo({transaction_id})"),
            FaceJob::Discard { transaction_id } => write!(f, "Discard({transaction_id})"),
        }
    }
}

/// Settings of the face worker, from `[face]` and `[devices.camera]`.
#[derive(Clone, Debug)]
pub struct FaceWorkerConfig {
    /// Models, runtime and thresholds.
    pub engine: FaceConfig,
    /// The camera to open.
    pub camera: devices::camera::CameraConfig,
    /// Frames per capture burst.
    pub burst_frames: usize,
    /// What the thresholds in `engine` were resolved for.
    pub operating_points: OperatingPointsFor,
}

/// The model files the face thresholds were resolved for (sha256 of each main ONNX file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedModels {
    /// The embedder.
    pub embedder_sha256: String,
    /// The attack model, when one is configured.
    pub attack_sha256: Option<String>,
}

/// Whether and for which models the worker's thresholds were resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatingPointsFor {
    /// Face matching with thresholds resolved for these model files.
    Matching(ExpectedModels),
    /// BioCart photos: no decisions, no thresholds.
    PhotosOnly,
    /// The thresholds could not be resolved (the gate refuses travellers).
    Unavailable(String),
}

/// Why the loaded engine must not decide: its files are not the ones the thresholds belong to.
fn threshold_mismatch(engine: &FaceEngine, expected: &ExpectedModels) -> Option<String> {
    let loaded = engine.models();
    if !loaded
        .embedder
        .1
        .eq_ignore_ascii_case(&expected.embedder_sha256)
    {
        return Some(format!(
            "the match threshold was resolved for embedder sha256 {}, but {} (sha256 {}) was loaded",
            expected.embedder_sha256, loaded.embedder.0, loaded.embedder.1
        ));
    }
    let attack_loaded = loaded
        .attack
        .as_ref()
        .map(|(_, sha)| sha.to_ascii_lowercase());
    if attack_loaded
        != expected
            .attack_sha256
            .as_ref()
            .map(|s| s.to_ascii_lowercase())
    {
        return Some(format!(
            "the attack threshold was resolved for attack model sha256 {:?}, but {:?} was loaded",
            expected.attack_sha256, attack_loaded
        ));
    }
    None
}

/// The camera and face models of a real gate: its worker thread's handle.
#[derive(Debug)]
pub struct FaceWorker {
    jobs: Jobs<FaceJob>,
}

impl FaceWorker {
    /// Starts the worker: it loads the models and opens the camera on its own thread, and
    /// reports the camera's health (down until both are ready) through `health`.
    pub fn start(
        config: FaceWorkerConfig,
        reports: mpsc::Sender<DeviceReport>,
        health: HealthSender,
    ) -> Result<(Self, Worker), WorkerError> {
        let (jobs, worker) = serve("face", move |inbox| {
            let mut worker = FaceThread::start(config, reports, health);
            worker.run(&inbox);
        })?;
        Ok((Self { jobs }, worker))
    }
}

impl FaceCamera for FaceWorker {
    /// Hands over the chip photo of `transaction_id`; the reference is computed at once.
    fn set_reference(&self, transaction_id: TransactionId, photo: zeroize::Zeroizing<Vec<u8>>) {
        self.jobs.send(FaceJob::Reference {
            transaction_id,
            photo,
        });
    }

    /// Captures a burst for `transaction_id` and reports one [`DeviceReport::FaceCompared`].
    fn capture(&self, transaction_id: TransactionId, attempt: u8) {
        self.jobs.send(FaceJob::Capture {
            transaction_id,
            attempt,
        });
    }

    /// Takes the BioCart face photo of `transaction_id`; reports one
    /// [`DeviceReport::FacePhoto`] carrying the photo.
    fn photo(&self, transaction_id: TransactionId) {
        self.jobs.send(FaceJob::Photo { transaction_id });
    }

    /// Drops the reference and anything else held for `transaction_id`.
    fn discard(&self, transaction_id: TransactionId) {
        self.jobs.send(FaceJob::Discard { transaction_id });
    }
}

/// The reference of the transaction in progress, or why there is none.
enum HeldReference {
    Ready(Reference),
    Unusable,
}

type Opener = Box<dyn FnMut() -> Result<Box<dyn Camera>, CameraError> + Send>;

struct FaceThread {
    engine: Option<FaceEngine>,
    engine_problem: Option<String>,
    camera: ReconnectingCamera<Opener>,
    reports: mpsc::Sender<DeviceReport>,
    health: HealthReporter,
    burst_frames: usize,
    reference: Option<(TransactionId, HeldReference)>,
}

impl FaceThread {
    fn start(
        config: FaceWorkerConfig,
        reports: mpsc::Sender<DeviceReport>,
        health: HealthSender,
    ) -> Self {
        let started = Instant::now();
        let (engine, engine_problem) = match (
            &config.operating_points,
            FaceEngine::load(&config.engine),
        ) {
            (OperatingPointsFor::Unavailable(reason), _) => {
                (None, Some(format!("face thresholds unresolved: {reason}")))
            }
            (_, Err(err)) => {
                error!(error = %err, "face models failed to load: the gate refuses travellers");
                (None, Some(format!("face models failed to load: {err}")))
            }
            (OperatingPointsFor::Matching(expected), Ok(engine)) => {
                match threshold_mismatch(&engine, expected) {
                    Some(problem) => {
                        error!(%problem, "face models do not match the thresholds: the gate refuses travellers");
                        (None, Some(problem))
                    }
                    None => {
                        info!(
                            load_ms = started.elapsed().as_millis() as u64,
                            "face models loaded"
                        );
                        (Some(engine), None)
                    }
                }
            }
            (OperatingPointsFor::PhotosOnly, Ok(engine)) => {
                info!(
                    load_ms = started.elapsed().as_millis() as u64,
                    "face models loaded (photos only)"
                );
                (Some(engine), None)
            }
        };
        let camera_config = config.camera.clone();
        let opener: Opener = Box::new(move || camera_config.open());
        let camera = ReconnectingCamera::new(
            config.camera.device.clone(),
            opener,
            Backoff::new(Duration::from_millis(500), Duration::from_secs(10)),
        );
        let mut worker = Self {
            engine,
            engine_problem,
            camera,
            reports,
            health: HealthReporter::new(DeviceRole::Camera, health),
            burst_frames: config.burst_frames.max(1),
            reference: None,
        };
        worker.probe();
        worker
    }

    fn run(&mut self, jobs: &Inbox<FaceJob>) {
        loop {
            match jobs.next(IDLE_PROBE) {
                Next::Stop => return,
                Next::Job(FaceJob::Reference {
                    transaction_id,
                    photo,
                }) => self.set_reference(transaction_id, &photo),
                Next::Job(FaceJob::Capture {
                    transaction_id,
                    attempt,
                }) => {
                    let started = Instant::now();
                    let outcome = self.capture(transaction_id);
                    info!(
                        transaction_id = %transaction_id,
                        attempt,
                        outcome = outcome_name(&outcome),
                        ms = started.elapsed().as_millis() as u64,
                        "face burst compared"
                    );
                    let _ = self.reports.blocking_send(DeviceReport::FaceCompared {
                        transaction_id,
                        attempt: outcome,
                    });
                }
                Next::Job(FaceJob::Photo { transaction_id }) => {
                    let photo = self.photo();
                    let quality = photo.as_ref().map(|photo| photo.quality);
                    info!(quality, "face photo taken");
                    // The photo travels with its result: it is with the main loop before
                    // the core hears of it and asks for the hand-over.
                    let _ = self.reports.blocking_send(DeviceReport::FacePhoto {
                        transaction_id,
                        quality,
                        photo,
                    });
                }
                Next::Job(FaceJob::Discard { transaction_id }) => {
                    if self
                        .reference
                        .as_ref()
                        .is_some_and(|(id, _)| *id == transaction_id)
                    {
                        self.reference = None;
                    }
                }
                Next::Idle => self.probe(),
            }
        }
    }

    fn set_reference(&mut self, transaction_id: TransactionId, photo: &[u8]) {
        let Some(engine) = &self.engine else {
            self.reference = Some((transaction_id, HeldReference::Unusable));
            return;
        };
        let held = match engine.reference_from_chip_photo(photo) {
            Ok(reference) => HeldReference::Ready(reference),
            Err(err) => {
                warn!(error = %err, "chip photo unusable as a face reference");
                HeldReference::Unusable
            }
        };
        self.reference = Some((transaction_id, held));
    }

    /// Grabs a burst; the engine assesses every frame, picks the best acceptable one and
    /// embeds, compares and attack-scores only that one.
    fn capture(&mut self, transaction_id: TransactionId) -> FaceAttempt {
        let has_reference = matches!(
            &self.reference,
            Some((id, HeldReference::Ready(_))) if *id == transaction_id
        );
        if !has_reference || self.engine.is_none() {
            return FaceAttempt::ReferenceUnusable;
        }
        let (Some(engine), Some((_, HeldReference::Ready(reference)))) =
            (&self.engine, &self.reference)
        else {
            return FaceAttempt::ReferenceUnusable;
        };
        // Each frame is assessed as it arrives, so the work overlaps the capture; only the
        // best acceptable frame is embedded and attack-scored at the end.
        let mut verifier = match face::BurstVerifier::new(engine, reference) {
            Ok(verifier) => verifier,
            Err(err) => {
                warn!(error = %err, "burst verification failed");
                return FaceAttempt::NoFace;
            }
        };
        let mut camera_problem = None;
        for _ in 0..self.burst_frames {
            match self.camera.next_frame(FRAME_TIMEOUT) {
                Ok(frame) => {
                    if let Some(image) = RgbImage::from_raw(frame.width, frame.height, frame.data)
                        && let Err(err) = verifier.push(&image)
                    {
                        warn!(error = %err, "frame assessment failed");
                    }
                }
                Err(err) => {
                    let lost = err.is_device_lost() || matches!(err, CameraError::Down { .. });
                    camera_problem = Some(err.to_string());
                    if lost {
                        break;
                    }
                }
            }
        }
        if verifier.frames() == 0 {
            let problem = camera_problem.unwrap_or_else(|| "no frame in the burst".into());
            self.health.report(Health::Down, problem);
            return FaceAttempt::NoFace;
        }
        let verification = match verifier.finish() {
            Ok(verification) => verification,
            Err(err) => {
                warn!(error = %err, "burst verification failed");
                return FaceAttempt::NoFace;
            }
        };
        self.report_camera_up();
        let quality = verification
            .chosen_quality
            .as_ref()
            .map_or(0, |q| quality_percent(q.score));
        match verification.outcome {
            GateOutcome::Match {
                score,
                attack_score,
                ..
            }
            | GateOutcome::NoMatch {
                score,
                attack_score,
                ..
            } => FaceAttempt::Compared {
                score,
                attack_score: attack_score.unwrap_or(0.0),
                quality,
            },
            // The engine's attack threshold is the policy's: the core denies with
            // PRESENTATION_ATTACK on this score.
            GateOutcome::AttackSuspected {
                attack_score,
                score,
                ..
            } => FaceAttempt::Compared {
                score,
                attack_score,
                quality,
            },
            GateOutcome::NoFace => FaceAttempt::NoFace,
            GateOutcome::MultipleFaces => FaceAttempt::MultipleFaces,
            GateOutcome::FaceTooSmall {
                inter_eye_px,
                min_inter_eye_px,
            } => {
                let shortfalls = vec![FaceQualityShortfall {
                    check: FaceQualityCheck::TooSmall,
                    measured: inter_eye_px,
                    limit: min_inter_eye_px,
                }];
                refused_capture(&verification.best_refused_quality, shortfalls)
            }
            GateOutcome::PoorQuality { shortfalls, .. } => refused_capture(
                &verification.best_refused_quality,
                shortfalls.iter().map(core_shortfall).collect(),
            ),
            GateOutcome::ReferenceNoFace => FaceAttempt::ReferenceUnusable,
        }
    }

    /// The best frame of a burst, cropped around the face and encoded as JPEG, with its
    /// quality; `None` when no frame shows a face.
    fn photo(&mut self) -> Option<PhotoSample> {
        let frames = match self.grab_burst() {
            Ok(frames) => frames,
            Err(problem) => {
                self.health.report(Health::Down, problem);
                return None;
            }
        };
        self.report_camera_up();
        let engine = self.engine.as_ref()?;
        // Detection, alignment and quality only: a photo needs no embedding.
        let analyses: Vec<Option<face::engine::FrameAssessment>> = frames
            .iter()
            .map(|frame| engine.assess_frame(frame).ok())
            .collect();
        let best = face::pick_best_frame(analyses.iter().map(|analysis| {
            analysis
                .as_ref()
                .filter(|a| a.second_face.is_none())
                .and_then(|a| a.best.as_ref())
                .map(|face| &face.quality)
        }))?;
        let face = analyses[best].as_ref()?.best.as_ref()?;
        let quality = quality_percent(face.quality.score);
        let frame = &frames[best];
        // ICAO-style head-and-shoulders crop: the face box widened 1.8x, 4:5 aspect.
        let b = &face.detection.bbox;
        let (cx, cy) = ((b.x1 + b.x2) / 2.0, (b.y1 + b.y2) / 2.0);
        let width = ((b.x2 - b.x1) * 1.8).max(32.0);
        let height = width * 1.25;
        let x = (cx - width / 2.0).max(0.0) as u32;
        let y = (cy - height / 2.0).max(0.0) as u32;
        let w = (width as u32).min(frame.width().saturating_sub(x)).max(1);
        let h = (height as u32).min(frame.height().saturating_sub(y)).max(1);
        let crop = face::image::imageops::crop_imm(frame, x, y, w, h).to_image();
        let mut jpeg = Vec::new();
        if let Err(err) = face::image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&crop)
        {
            warn!(error = %err, "face photo not encoded");
            return None;
        }
        Some(PhotoSample {
            quality,
            jpeg: zeroize::Zeroizing::new(jpeg),
            captured_at_ms: unix_ms(),
        })
    }

    /// Captures one burst of frames; `Err` when the camera delivered nothing.
    fn grab_burst(&mut self) -> Result<Vec<RgbImage>, String> {
        let mut frames = Vec::with_capacity(self.burst_frames);
        let mut camera_problem = None;
        for _ in 0..self.burst_frames {
            match self.camera.next_frame(FRAME_TIMEOUT) {
                Ok(frame) => {
                    if let Some(image) = RgbImage::from_raw(frame.width, frame.height, frame.data) {
                        frames.push(image);
                    }
                }
                Err(err) => {
                    let lost = err.is_device_lost() || matches!(err, CameraError::Down { .. });
                    camera_problem = Some(err.to_string());
                    if lost {
                        break;
                    }
                }
            }
        }
        match camera_problem {
            Some(problem) if frames.is_empty() => Err(problem),
            _ if frames.is_empty() => Err("no frame in the burst".into()),
            _ => Ok(frames),
        }
    }

    /// Checks the camera between travellers so an unplugged camera takes the gate out of
    /// service before the next traveller arrives.
    fn probe(&mut self) {
        if let Some(problem) = &self.engine_problem {
            let problem = problem.clone();
            self.health.report(Health::Down, problem);
            return;
        }
        match self.camera.next_frame(FRAME_TIMEOUT) {
            Ok(_) => self.report_camera_up(),
            Err(err) => self.health.report(Health::Down, err.to_string()),
        }
    }

    fn report_camera_up(&mut self) {
        let info = self.camera.info();
        let detail = format!(
            "{} {} {}x{} @ {:.0} fps",
            info.backend, info.driver, info.width, info.height, info.fps
        );
        self.health.report(Health::Up, detail);
    }
}

/// A capture refused for quality: the best face's quality and what it missed, logged as numbers.
fn refused_capture(
    best: &Option<face::FaceQuality>,
    shortfalls: Vec<FaceQualityShortfall>,
) -> FaceAttempt {
    let quality = best.as_ref().map_or(0, |q| quality_percent(q.score));
    for shortfall in &shortfalls {
        info!(
            check = ?shortfall.check,
            measured = shortfall.measured,
            limit = shortfall.limit,
            "face capture missed a quality limit"
        );
    }
    FaceAttempt::QualityTooLow {
        quality,
        shortfalls,
    }
}

/// The engine's shortfall in the core's terms.
fn core_shortfall(shortfall: &face::quality::QualityShortfall) -> FaceQualityShortfall {
    use face::quality::QualityIssue;
    FaceQualityShortfall {
        check: match shortfall.issue {
            QualityIssue::TooSmall => FaceQualityCheck::TooSmall,
            QualityIssue::Turned => FaceQualityCheck::Turned,
            QualityIssue::Tilted => FaceQualityCheck::Tilted,
            QualityIssue::Pitched => FaceQualityCheck::Pitched,
            QualityIssue::Blurred => FaceQualityCheck::Blurred,
            QualityIssue::TooDark => FaceQualityCheck::TooDark,
            QualityIssue::TooBright => FaceQualityCheck::TooBright,
            QualityIssue::Clipped => FaceQualityCheck::Clipped,
        },
        measured: shortfall.measured,
        limit: shortfall.limit,
    }
}

/// Maps the engine's 0..1 quality score to the core's 0..=100 scale.
fn quality_percent(score: f32) -> u8 {
    (score.clamp(0.0, 1.0) * 100.0).round() as u8
}

fn outcome_name(attempt: &FaceAttempt) -> &'static str {
    match attempt {
        FaceAttempt::Compared { .. } => "compared",
        FaceAttempt::NoFace => "no_face",
        FaceAttempt::QualityTooLow { .. } => "quality_too_low",
        FaceAttempt::MultipleFaces => "multiple_faces",
        FaceAttempt::ReferenceUnusable => "reference_unusable",
    }
}
