//! Face detection, alignment, embedding, quality and presentation-attack scoring on ONNX Runtime.
//!
//! The hot path of a face e-gate: frame -> detection with five landmarks -> best face (and a
//! second face close behind it) -> five-point similarity alignment -> embedding -> normalised
//! score -> decision at a calibrated threshold. Chip photos (JPEG, JP2, J2K) take the same path.
//! Models are described by TOML manifests (see [`manifest`]); ONNX Runtime is loaded
//! dynamically from a path checked by sha256 (see [`runtime`]).

pub mod align;
pub mod attack;
pub mod calibration;
pub mod detect;
pub mod embed;
pub mod engine;
pub mod error;
pub mod eval;
pub mod evalset;
pub mod gate;
pub mod imaging;
pub mod manifest;
pub mod quality;
pub mod runtime;
pub mod shape;

pub use detect::Detection;
pub use embed::Embedding;
pub use engine::{
    AnalysedFace, AssessedFace, FaceConfig, FaceEngine, FrameAnalysis, FrameAssessment,
    MatchResult, Reference,
};
pub use error::{FaceError, Result};
pub use gate::{BurstVerification, BurstVerifier, FrameStatus, GateOutcome};
pub use image;
pub use image::RgbImage;
pub use imaging::decode_image;
pub use quality::{FaceQuality, QualityThresholds, pick_best_frame};
