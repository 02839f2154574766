//! Loading the ONNX Runtime shared library (dynamically, checked by hash) and creating sessions.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use sha2::{Digest, Sha256};

use crate::error::{FaceError, Result};

/// The ONNX Runtime version the crate is built against (`ort` feature `api-31`).
pub const ORT_VERSION: &str = "1.31.1";

/// sha256 of `libonnxruntime.so.1.31.1` from the PyPI wheel
/// `onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl`.
pub const ORT_LIB_SHA256_X86_64: &str =
    "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3";
/// sha256 of `libonnxruntime.so.1.31.1` from the PyPI wheel
/// `onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_aarch64.whl`.
pub const ORT_LIB_SHA256_AARCH64: &str =
    "8aa3b76b28c778a2b1dd660d34161adb1d508c9ccd04ff9dc80e26eca5df8467";

/// The pinned library hash for the architecture this binary was built for, if there is one.
pub fn pinned_library_sha256() -> Option<&'static str> {
    if cfg!(target_arch = "x86_64") {
        Some(ORT_LIB_SHA256_X86_64)
    } else if cfg!(target_arch = "aarch64") {
        Some(ORT_LIB_SHA256_AARCH64)
    } else {
        None
    }
}

/// Where the library comes from and which hash it must have.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Explicit library path; when `None`, `ORT_DYLIB_PATH` is used.
    pub library: Option<PathBuf>,
    /// Expected sha256 (hex); when `None`, the pinned hash for this architecture.
    pub expected_sha256: Option<String>,
}

static ENVIRONMENT: OnceLock<(PathBuf, ort::environment::Environment)> = OnceLock::new();
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Resolves the library path from the options or `ORT_DYLIB_PATH`.
pub fn resolve_library_path(options: &RuntimeOptions) -> Result<PathBuf> {
    if let Some(path) = &options.library {
        return Ok(path.clone());
    }
    match std::env::var_os("ORT_DYLIB_PATH") {
        Some(value) if !value.is_empty() => Ok(PathBuf::from(value)),
        _ => Err(FaceError::RuntimeLibraryNotConfigured),
    }
}

/// sha256 of a file as lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let io_error = |source| FaceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer).map_err(io_error)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Loads ONNX Runtime once per process (later calls with the same path are free).
///
/// Checks that the file is readable and has the expected hash *before* handing it to `ort`,
/// which would otherwise panic or load an arbitrary library.
pub fn ensure_runtime(options: &RuntimeOptions) -> Result<&'static ort::environment::Environment> {
    let requested = resolve_library_path(options)?;
    let _guard = INIT_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((existing, environment)) = ENVIRONMENT.get() {
        if same_file(existing, &requested) {
            return Ok(environment);
        }
        return Err(FaceError::RuntimeAlreadyInitialised {
            existing: existing.clone(),
            requested,
        });
    }
    std::fs::File::open(&requested).map_err(|source| FaceError::RuntimeLibraryUnreadable {
        path: requested.clone(),
        source,
    })?;
    let expected = options
        .expected_sha256
        .clone()
        .or_else(|| pinned_library_sha256().map(str::to_owned));
    if let Some(expected) = expected {
        let actual = sha256_file(&requested)?;
        if !actual.eq_ignore_ascii_case(&expected) {
            return Err(FaceError::RuntimeLibraryHashMismatch {
                path: requested,
                expected,
                actual,
            });
        }
    }
    let init_error = |message: String| FaceError::RuntimeInit {
        path: requested.clone(),
        message,
    };
    let environment = ort::init_from(&requested)
        .map_err(|e| init_error(e.to_string()))?
        .with_name("face")
        .build()
        .map_err(|e| init_error(e.to_string()))?;
    let stored = ENVIRONMENT.get_or_init(|| (requested.clone(), environment));
    Ok(&stored.1)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The outputs of one model run, copied out of ONNX Runtime.
pub(crate) struct ModelOutputs {
    outputs: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl ModelOutputs {
    /// Every output as (name, shape, data), in the session's output order.
    pub(crate) fn all(&self) -> &[(String, Vec<usize>, Vec<f32>)] {
        &self.outputs
    }

    /// The first output whose last dimension is `channels`.
    pub(crate) fn find_by_last_dim(&self, channels: usize) -> Option<(&[usize], &[f32])> {
        self.outputs
            .iter()
            .find(|(_, shape, _)| shape.last() == Some(&channels))
            .map(|(_, shape, data)| (shape.as_slice(), data.as_slice()))
    }

    /// Shape and data of the named output.
    pub(crate) fn get(&self, model: &str, name: &str) -> Result<(&[usize], &[f32])> {
        self.outputs
            .iter()
            .find(|(output_name, _, _)| output_name == name)
            .map(|(_, shape, data)| (shape.as_slice(), data.as_slice()))
            .ok_or_else(|| FaceError::ModelOutput {
                model: model.to_owned(),
                message: format!("no output named {name:?}"),
            })
    }
}

/// One ONNX model with its session, created once and reused.
pub(crate) struct OnnxModel {
    session: Mutex<Session>,
    /// File name (for errors).
    pub(crate) name: String,
    /// Name of the (single) input tensor.
    pub(crate) input_name: String,
    /// Total time spent inside `Session::run`, nanoseconds (for overhead measurements).
    inference_nanos: std::sync::atomic::AtomicU64,
}

impl OnnxModel {
    /// Creates a session for the model file, with `threads` intra-op threads.
    pub(crate) fn load(
        environment: &ort::environment::Environment,
        path: &Path,
        input_name: Option<&str>,
        threads: usize,
    ) -> Result<Self> {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let inference_error = |message: String| FaceError::Inference {
            model: name.clone(),
            message,
        };
        let session = Session::builder(environment)
            .map_err(|e| inference_error(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| inference_error(e.to_string()))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| inference_error(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| inference_error(e.to_string()))?
            .commit_from_file(path)
            .map_err(|e| inference_error(e.to_string()))?;
        let declared: Vec<String> = session
            .inputs()
            .iter()
            .map(|i| i.name().to_owned())
            .collect();
        let input_name = match input_name {
            Some(wanted) if declared.iter().any(|d| d == wanted) => wanted.to_owned(),
            Some(wanted) => {
                return Err(inference_error(format!(
                    "manifest names input {wanted:?}, model declares {declared:?}"
                )));
            }
            None => declared
                .first()
                .cloned()
                .ok_or_else(|| inference_error("model declares no input".into()))?,
        };
        Ok(Self {
            session: Mutex::new(session),
            name,
            input_name,
            inference_nanos: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Total time spent inside ONNX Runtime's `run` so far, nanoseconds.
    pub(crate) fn inference_nanos(&self) -> u64 {
        self.inference_nanos
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs the model on one input tensor (row-major `shape`) and copies out every f32 output.
    pub(crate) fn run(&self, shape: &[usize], data: Vec<f32>) -> Result<ModelOutputs> {
        let inference_error = |message: String| FaceError::Inference {
            model: self.name.clone(),
            message,
        };
        let tensor = Tensor::from_array((shape.to_vec(), data))
            .map_err(|e| inference_error(e.to_string()))?;
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let started = std::time::Instant::now();
        let outputs = session
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .map_err(|e| inference_error(e.to_string()))?;
        let elapsed = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.inference_nanos
            .fetch_add(elapsed, std::sync::atomic::Ordering::Relaxed);
        let mut copied = Vec::with_capacity(outputs.len());
        for (output_name, value) in &outputs {
            let (output_shape, output_data) = value
                .try_extract_tensor::<f32>()
                .map_err(|e| inference_error(e.to_string()))?;
            let dims = output_shape
                .iter()
                .map(|&d| usize::try_from(d).unwrap_or(0))
                .collect();
            copied.push((output_name.to_owned(), dims, output_data.to_vec()));
        }
        Ok(ModelOutputs { outputs: copied })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_library_is_a_clear_error_not_a_panic() {
        let options = RuntimeOptions {
            library: Some(PathBuf::from("/nonexistent/libonnxruntime.so")),
            expected_sha256: None,
        };
        let error = ensure_runtime(&options)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("not readable"), "{error}");
        assert!(error.contains("cargo xtask setup"), "{error}");
    }

    #[test]
    fn wrong_library_is_rejected_by_hash() {
        let dir = std::env::temp_dir().join(format!("face-ort-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("libonnxruntime.so");
        std::fs::write(&fake, b"not a library").unwrap();
        let options = RuntimeOptions {
            library: Some(fake.clone()),
            expected_sha256: Some(ORT_LIB_SHA256_X86_64.into()),
        };
        let error = ensure_runtime(&options)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("expected"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
