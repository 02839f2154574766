//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading models or analysing images.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    /// No ONNX Runtime library path was given and `ORT_DYLIB_PATH` is unset.
    #[error(
        "no ONNX Runtime library configured: set `onnxruntime_library` in the face config, pass --ort-lib, \
         or set ORT_DYLIB_PATH (run `cargo xtask setup` to install it under .cache/onnxruntime)"
    )]
    RuntimeLibraryNotConfigured,
    /// The ONNX Runtime library file cannot be read.
    #[error("ONNX Runtime library {path} is not readable: {source} (run `cargo xtask setup`)")]
    RuntimeLibraryUnreadable {
        /// The library path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The ONNX Runtime library file is not the pinned build.
    #[error(
        "ONNX Runtime library {path} has sha256 {actual}, expected {expected} (wrong or corrupt library)"
    )]
    RuntimeLibraryHashMismatch {
        /// The library path.
        path: PathBuf,
        /// The expected hash (lower-case hex).
        expected: String,
        /// The hash of the file found.
        actual: String,
    },
    /// ONNX Runtime was already initialised in this process from another library file.
    #[error("ONNX Runtime already initialised from {existing}, cannot switch to {requested}")]
    RuntimeAlreadyInitialised {
        /// The library in use.
        existing: PathBuf,
        /// The library asked for now.
        requested: PathBuf,
    },
    /// ONNX Runtime refused to load or initialise.
    #[error("ONNX Runtime initialisation from {path} failed: {message}")]
    RuntimeInit {
        /// The library path.
        path: PathBuf,
        /// The message of the runtime.
        message: String,
    },
    /// A model or manifest file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A model manifest is malformed or inconsistent.
    #[error("model manifest {path}: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A model file does not have the hash its manifest states.
    #[error("model file {path} has sha256 {actual}, manifest says {expected}")]
    ModelHashMismatch {
        /// The model file.
        path: PathBuf,
        /// The hash from the manifest.
        expected: String,
        /// The hash of the file.
        actual: String,
    },
    /// ONNX Runtime failed to load or run a model.
    #[error("model {model}: {message}")]
    Inference {
        /// The model file name.
        model: String,
        /// The runtime's message.
        message: String,
    },
    /// A model produced outputs of an unexpected shape.
    #[error("model {model}: unexpected output: {message}")]
    ModelOutput {
        /// The model file name.
        model: String,
        /// What was unexpected.
        message: String,
    },
    /// An image could not be decoded.
    #[error("cannot decode image ({format}): {message}")]
    ImageDecode {
        /// The detected container format.
        format: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// The image is too small or empty.
    #[error("image of {width}x{height} pixels is too small to analyse")]
    ImageTooSmall {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// No face was found in the image.
    #[error("no face found in the image")]
    NoFace,
    /// The configuration is invalid.
    #[error("invalid face configuration: {0}")]
    Config(String),
    /// A calibration table is malformed or does not fit the model.
    #[error("calibration {path}: {message}")]
    Calibration {
        /// The calibration file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An evaluation input (pairs file) is malformed.
    #[error("evaluation input {path} line {line}: {message}")]
    EvalInput {
        /// The pairs file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Result alias of the crate.
pub type Result<T, E = FaceError> = std::result::Result<T, E>;
