//! Project tasks, run as `cargo xtask TASK`:
//!
//! - `setup`: installs what the gate and its tests need, idempotently (Debian packages, the
//!   pinned ONNX Runtime library from PyPI verified by hash, public-domain test photos, Python
//!   host libraries used to cross-check our protocol simulators).
//! - `gate`: runs the face gate end to end on the real engine before the demo bench (virtual
//!   ePassport through pcscd, ONNX face match, central); `gate --simulated`: every device a
//!   simulator.
//! - `test`: setup, then formatting, lints and the whole test suite (what `.ci/run` calls).
//!
//! Everything it downloads comes from the package registries (Debian, PyPI, npm) and lands in
//! `.cache/` inside the repository (ignored by git).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod package;
mod tools;

/// The ONNX Runtime release the face crate is built against (`ort` api-31).
const ORT_VERSION: &str = "1.31.1";
/// sha256 of the PyPI wheels the library is taken from.
const ORT_WHEELS: &[(&str, &str, &str)] = &[
    (
        "x86_64",
        "manylinux_2_28_x86_64",
        "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f",
    ),
    (
        "aarch64",
        "manylinux_2_28_aarch64",
        "da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3",
    ),
];

/// Debian packages: build dependencies of the -sys crates and the test services.
const APT_PACKAGES: &[&str] = &[
    "build-essential",
    "curl",
    "sqlite3",
    "pkg-config",
    "libudev-dev",
    "libclang-dev",
    "clang",
    "libpcsclite-dev",
    "pcscd",
    "vsmartcard-vpcd",
    // the chip tests: JPEG 2000 photos (opj_compress), a private pcscd (unshare), certificates
    "libopenjp2-tools",
    "util-linux",
    "openssl",
    "postgresql",
    "python3-pip",
    "unzip",
    "systemd",
    // the qemu VM test on real kernel drivers (vivid, gpio-sim)
    "qemu-system-x86",
    "linux-source-6.1",
    "bc",
    "flex",
    "bison",
    "libelf-dev",
    "libssl-dev",
    "cpio",
    "busybox-static",
    "xz-utils",
    // the traveller's screen: tested in a real browser; CJK fonts for the kiosk and the tests
    "chromium",
    "chromium-driver",
    "fonts-noto-cjk",
    // metrics: `promtool check metrics`, and a real Prometheus scraping gated and central
    "prometheus",
    // the kiosk unit (systemd/gate-screen.service) is verified against the real binaries
    "cage",
    // the package test: a booted Debian 12 container (cargo xtask package-test)
    "debootstrap",
    "systemd-container",
];

/// axe-core (accessibility rules run inside the screen's page by its browser tests), from the
/// npm registry: version and sha256 of the tarball (its registry sha512 integrity is
/// FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==).
const AXE_CORE: (&str, &str) = (
    "4.14.1",
    "e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745",
);

/// Python packages used by tests as outside implementations of our protocols.
const PIP_PACKAGES: &[&str] = &["pyfingerprint==1.5", "pyserial"];

type Result<T> = std::result::Result<T, String>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cache() -> PathBuf {
    root().join(".cache")
}

/// Path of the ONNX Runtime library after setup.
fn ort_library() -> PathBuf {
    cache()
        .join("onnxruntime")
        .join(ORT_VERSION)
        .join(format!("libonnxruntime.so.{ORT_VERSION}"))
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: $ {cmd:?}");
    let status = cmd
        .status()
        .map_err(|err| format!("cannot run {cmd:?}: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

fn sha256(path: &Path) -> Result<String> {
    output(Command::new("sha256sum").arg(path))
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .ok_or_else(|| format!("cannot hash {}", path.display()))
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

fn apt_install() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|pkg| {
            !output(Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]))
                .is_some_and(|status| status.contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        eprintln!("xtask: Debian packages present");
        return Ok(());
    }
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut cmd = Command::new(all[0]);
        cmd.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update", "-qq"]))?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(missing.iter().copied());
    run(&mut apt(&args))
}

/// The pinned ONNX Runtime wheel for `arch` (`x86_64` or `aarch64`) from PyPI, downloaded once
/// into .cache/downloads and refused unless its sha256 is the pinned one; with that sha256.
fn onnxruntime_wheel(arch: &str) -> Result<(PathBuf, &'static str)> {
    let Some((_, platform, wheel_sha)) = ORT_WHEELS.iter().find(|(a, _, _)| *a == arch) else {
        return Err(format!("no pinned ONNX Runtime wheel for {arch}"));
    };
    let download = cache().join("downloads");
    fs::create_dir_all(&download).map_err(|e| e.to_string())?;
    let wheel = download.join(format!(
        "onnxruntime-{ORT_VERSION}-cp311-cp311-{platform}.whl"
    ));
    if !wheel.exists() || sha256(&wheel)? != *wheel_sha {
        run(Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--platform",
                platform,
                "--python-version",
                "3.11",
                &format!("onnxruntime=={ORT_VERSION}"),
                "-d",
            ])
            .arg(&download))?;
    }
    let got = sha256(&wheel)?;
    if got != *wheel_sha {
        return Err(format!(
            "{} has sha256 {got}, expected {wheel_sha}: refusing to use it",
            wheel.display()
        ));
    }
    Ok((wheel, wheel_sha))
}

/// Extracts the ONNX Runtime library from `wheel` into `dir`.
fn unpack_onnxruntime(wheel: &Path, dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    run(Command::new("unzip")
        .args(["-o", "-j", "-q"])
        .arg(wheel)
        .arg(format!("onnxruntime/capi/libonnxruntime.so.{ORT_VERSION}"))
        .arg("-d")
        .arg(dir))
}

fn install_onnxruntime() -> Result<()> {
    let library = ort_library();
    let marker = library.with_extension("wheel-sha256");
    let pinned = ORT_WHEELS
        .iter()
        .find(|(a, _, _)| *a == env::consts::ARCH)
        .map(|(_, _, sha)| *sha);
    if library.exists()
        && pinned.is_some_and(|sha| fs::read_to_string(&marker).is_ok_and(|s| s.trim() == sha))
    {
        eprintln!("xtask: ONNX Runtime {ORT_VERSION} present");
        return Ok(());
    }
    let (wheel, wheel_sha) = onnxruntime_wheel(env::consts::ARCH)?;
    unpack_onnxruntime(&wheel, library.parent().ok_or("bad library path")?)?;
    fs::write(&marker, wheel_sha).map_err(|e| e.to_string())?;
    eprintln!("xtask: ONNX Runtime {ORT_VERSION} at {}", library.display());
    Ok(())
}

/// Public-domain photos for the face tests, from registry packages (see
/// shared/datasets/README.md): White House portraits shipped in the face-recognition sdist, and
/// NASA's astronaut photo shipped in scikit-image.
fn install_test_photos() -> Result<()> {
    let dir = cache().join("test-photos");
    let wanted = [
        "obama.jpg",
        "obama2.jpg",
        "obama3.jpg",
        "biden.jpg",
        "astronaut.png",
    ];
    if wanted.iter().all(|name| dir.join(name).exists()) {
        eprintln!("xtask: test photos present");
        return Ok(());
    }
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let download = cache().join("downloads");
    fs::create_dir_all(&download).map_err(|e| e.to_string())?;
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            "face-recognition==1.3.0",
            "-d",
        ])
        .arg(&download))?;
    let sdist = download.join("face_recognition-1.3.0.tar.gz");
    for name in ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"] {
        let member = format!("face_recognition-1.3.0/tests/test_images/{name}");
        let bytes = Command::new("tar")
            .arg("-xzOf")
            .arg(&sdist)
            .arg(&member)
            .output()
            .map_err(|e| e.to_string())?;
        if !bytes.status.success() || bytes.stdout.is_empty() {
            return Err(format!("{member} not found in {}", sdist.display()));
        }
        fs::write(dir.join(name), bytes.stdout).map_err(|e| e.to_string())?;
    }
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "scikit-image==0.26.0",
            "-d",
        ])
        .arg(&download))?;
    let wheel = fs::read_dir(&download)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("scikit_image-0.26.0"))
        })
        .ok_or("scikit-image wheel not downloaded")?;
    run(Command::new("unzip")
        .args(["-o", "-j", "-q"])
        .arg(&wheel)
        .arg("skimage/data/astronaut.png")
        .arg("-d")
        .arg(&dir))?;
    Ok(())
}

fn install_python_packages() -> Result<()> {
    let present = Command::new("python3")
        .args(["-c", "import pyfingerprint, serial"])
        .status()
        .is_ok_and(|s| s.success());
    if present {
        eprintln!("xtask: Python test packages present");
        return Ok(());
    }
    let mut cmd = Command::new("python3");
    cmd.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    cmd.args(PIP_PACKAGES);
    run(&mut cmd)
}

/// Where the pinned axe-core script lands.
fn axe_core_script() -> PathBuf {
    cache()
        .join(format!("axe-core-{}", AXE_CORE.0))
        .join("axe.min.js")
}

fn install_axe_core() -> Result<()> {
    let (version, tarball_sha) = AXE_CORE;
    let script = axe_core_script();
    if script.exists() {
        eprintln!("xtask: axe-core {version} present");
        return Ok(());
    }
    let download = cache().join("downloads");
    fs::create_dir_all(&download).map_err(|e| e.to_string())?;
    let tarball = download.join(format!("axe-core-{version}.tgz"));
    if !tarball.exists() || sha256(&tarball)? != tarball_sha {
        run(Command::new("curl")
            .args(["-fsSL", "-o"])
            .arg(&tarball)
            .arg(format!(
                "https://registry.npmjs.org/axe-core/-/axe-core-{version}.tgz"
            )))?;
    }
    let got = sha256(&tarball)?;
    if got != tarball_sha {
        return Err(format!(
            "{} has sha256 {got}, expected {tarball_sha}: refusing to use it",
            tarball.display()
        ));
    }
    let dir = script.parent().ok_or("bad axe path")?;
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir)
        .args(["--strip-components=1", "package/axe.min.js"]))?;
    eprintln!("xtask: axe-core {version} at {}", script.display());
    Ok(())
}

fn setup() -> Result<()> {
    apt_install()?;
    install_onnxruntime()?;
    install_test_photos()?;
    install_python_packages()?;
    install_axe_core()?;
    Ok(())
}

fn cargo() -> Command {
    let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd.env("ORT_DYLIB_PATH", ort_library());
    cmd.env("GATE_TEST_PHOTOS", cache().join("test-photos"));
    cmd.env("GATE_AXE_JS", axe_core_script());
    cmd
}

fn has_nextest() -> bool {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn test() -> Result<()> {
    setup()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    tools::cargo_deny()?;
    if has_nextest() {
        // nextest does not run doctests: run them first, so the suite's closing line is
        // nextest's summary of the whole run.
        run(cargo().args(["test", "--workspace", "--doc"]))?;
        run(cargo().args([
            "nextest",
            "run",
            "--workspace",
            "--no-fail-fast",
            "--test-threads",
            "2",
        ]))
    } else {
        run(cargo().args(["test", "--workspace", "--no-fail-fast"]))
    }
}

/// The built binaries (dev profile, shared with the test build).
fn debug_bin_dir() -> PathBuf {
    env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"))
        .join("debug")
}

/// `cargo xtask gate [--simulated] [CONFIG]`: by default the face gate on the real engine
/// before the demo bench (`firmware-config/demo-face-gate.toml`); `--simulated` runs the gate
/// whose every device is a simulator (`firmware-config/sim-face-gate.toml`, no root needed).
fn gate(args: &[String]) -> Result<()> {
    let simulated = args.iter().any(|a| a == "--simulated");
    let config = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from);
    if simulated {
        return simulated_gate(config);
    }
    if !is_root() {
        return Err(
            "the real-engine demo runs pcscd in a private mount namespace, which needs root: \
             run `sudo -E cargo xtask gate` (or as root), or `cargo xtask gate --simulated` for \
             the all-simulator gate"
                .into(),
        );
    }
    apt_install()?;
    install_onnxruntime()?;
    install_test_photos()?;
    // The dev profile (dependencies optimised, see Cargo.toml) shares its build with
    // `cargo xtask test`, so the demo starts quickly after the tests; packages use --release.
    run(cargo().args([
        "build",
        "-p",
        "gated",
        "-p",
        "gatectl",
        "-p",
        "central",
        "-p",
        "virtual-epassport",
        "--bin",
        "gated",
        "--bin",
        "gatectl",
        "--bin",
        "central",
        "--bin",
        "demo-bench",
    ]))?;
    let config = config.unwrap_or_else(|| root().join("firmware-config/demo-face-gate.toml"));
    let bin = debug_bin_dir();
    run(Command::new(bin.join("demo-bench"))
        .arg("--config")
        .arg(&config)
        .arg("--bin-dir")
        .arg(&bin)
        .arg("--photos")
        .arg(cache().join("test-photos"))
        .arg("--models")
        .arg(root().join("models"))
        .arg("--onnxruntime")
        .arg(ort_library()))
}

/// The gate whose every device is a simulator: the chip read and the face match are drawn by
/// the simulator, no model is loaded and no central runs.
fn simulated_gate(config: Option<PathBuf>) -> Result<()> {
    run(cargo().args(["build", "-p", "gated", "-p", "gatectl"]))?;
    let config = config.unwrap_or_else(|| root().join("firmware-config/sim-face-gate.toml"));
    let run_dir = cache().join("sim-gate");
    fs::create_dir_all(&run_dir).map_err(|e| e.to_string())?;
    let socket = run_dir.join("control.sock");
    let bin = debug_bin_dir();
    eprintln!();
    eprintln!("xtask: starting the all-simulator gate. In another terminal:");
    eprintln!(
        "    {}/gatectl status --socket {}",
        bin.display(),
        socket.display()
    );
    eprintln!(
        "    {}/gatectl simulate genuine --socket {}",
        bin.display(),
        socket.display()
    );
    eprintln!("  A simulated traveller arrives every 8 s; stop with Ctrl-C.");
    eprintln!();
    run(Command::new(bin.join("gated"))
        .arg("--config")
        .arg(&config)
        .arg("--socket")
        .arg(&socket)
        .arg("--state-dir")
        .arg(run_dir.join("state"))
        .args(["--simulate-travellers-every-ms", "8000"]))
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup(),
        Some("test") | Some("ci") => test(),
        Some("gate") => gate(&args[1..]),
        Some("package") => package::package(&args[1..]),
        Some("package-test") => package::package_test(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask setup | gate [--simulated] [CONFIG] | test | package [--revision N] [--target TRIPLE] | package-test"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}
