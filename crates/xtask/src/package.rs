//! `cargo xtask package` and `cargo xtask package-test`: the Debian packages `gated` and
//! `gate-central` (cargo-deb), and their test in a booted Debian 12 container.
//!
//! `package` builds gated, gatectl and central in release mode, stages the pinned ONNX Runtime
//! library of the target architecture, and runs cargo-deb `--no-build` for each package (its
//! `[package.metadata.deb]` in crates/gated/Cargo.toml and crates/central/Cargo.toml).
//!
//! `package-test` installs, configures, upgrades, removes and purges both packages in a clean
//! Debian 12 system (debootstrap + systemd-nspawn, booted with systemd), printing each step's
//! duration; see crates/gated/debian/README.md.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::{ORT_VERSION, Result, cache, root, run};

/// cargo-deb, installed from crates.io into `.cache/cargo-tools` by `package`.
const CARGO_DEB_VERSION: &str = "3.8.0";

/// The Debian release the packages are built for and tested in.
const SUITE: &str = "bookworm";

/// Options of `cargo xtask package`.
#[derive(Debug, Default)]
struct PackageOptions {
    /// Debian revision (cargo-deb `--deb-revision`): the version is `<workspace>-<revision>`.
    revision: Option<String>,
    /// Rust target triple for a cross build (cargo-deb `--target`).
    target: Option<String>,
    /// Package the binaries already built (no `cargo build`).
    no_build: bool,
    /// Faster, lighter compression (cargo-deb `--fast`), for the package test.
    fast: bool,
    /// Where the .debs go (default `target/debian`). cargo-deb deletes older versions of a
    /// package it finds there.
    output: Option<PathBuf>,
}

/// The .deb files one `package` run wrote.
#[derive(Debug)]
struct Debs {
    gated: PathBuf,
    central: PathBuf,
}

fn parse_package_options(args: &[String]) -> Result<PackageOptions> {
    let mut options = PackageOptions::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--revision" => options.revision = Some(value("--revision")?),
            "--target" => options.target = Some(value("--target")?),
            "--no-build" => options.no_build = true,
            other => {
                return Err(format!(
                    "package: unknown argument {other:?}; usage: cargo xtask package [--revision N] [--target TRIPLE] [--no-build]"
                ));
            }
        }
    }
    Ok(options)
}

/// `cargo xtask package [--revision N] [--target TRIPLE] [--no-build]`.
pub fn package(args: &[String]) -> Result<()> {
    let options = parse_package_options(args)?;
    let debs = build_debs(&options)?;
    for deb in [&debs.gated, &debs.central] {
        println!("{}", deb.display());
    }
    Ok(())
}

/// The workspace's target directory.
fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"))
}

/// cargo-deb from `.cache/cargo-tools`, installed (pinned, `--locked`) when missing.
fn cargo_deb() -> Result<PathBuf> {
    let tools = cache().join("cargo-tools");
    let binary = tools.join("bin").join("cargo-deb");
    let installed = Command::new(&binary)
        .arg("--version")
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains(CARGO_DEB_VERSION)
        });
    if !installed {
        run(Command::new(
            std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        )
        .args([
            "install",
            "--locked",
            &format!("cargo-deb@{CARGO_DEB_VERSION}"),
            "--root",
        ])
        .arg(&tools))
        .map_err(|err| format!("package: installing cargo-deb failed ({err}); it comes from crates.io: check the registry is reachable"))?;
    }
    Ok(binary)
}

/// Debian's name for the architecture of a Rust target triple (or of this machine).
fn debian_arch(target: Option<&str>) -> Result<(&'static str, &'static str)> {
    let rust_arch = match target {
        Some(triple) => triple.split('-').next().unwrap_or_default(),
        None => std::env::consts::ARCH,
    };
    match rust_arch {
        "x86_64" => Ok(("x86_64", "amd64")),
        "aarch64" => Ok(("aarch64", "arm64")),
        other => Err(format!(
            "package: no pinned ONNX Runtime wheel for {other} (only x86_64 and aarch64)"
        )),
    }
}

/// The pinned ONNX Runtime library for `arch` (`x86_64` or `aarch64`): the host's comes from
/// `cargo xtask setup`; another architecture's wheel is downloaded and checked the same way.
fn onnxruntime_for(arch: &str) -> Result<PathBuf> {
    if arch == std::env::consts::ARCH {
        crate::install_onnxruntime()?;
        return Ok(crate::ort_library());
    }
    let dir = cache().join("onnxruntime").join(ORT_VERSION).join(arch);
    let library = dir.join(format!("libonnxruntime.so.{ORT_VERSION}"));
    if library.exists() {
        return Ok(library);
    }
    let (wheel, _) = crate::onnxruntime_wheel(arch)?;
    crate::unpack_onnxruntime(&wheel, &dir)?;
    Ok(library)
}

/// Release build, staged ONNX Runtime library, then cargo-deb for both packages.
fn build_debs(options: &PackageOptions) -> Result<Debs> {
    let (arch, deb_arch) = debian_arch(options.target.as_deref())?;
    let library = onnxruntime_for(arch)?;
    let cargo_deb = cargo_deb()?;
    let mut build = crate::cargo();
    build.args([
        "build",
        "--release",
        "--locked",
        "-p",
        "gated",
        "-p",
        "gatectl",
        "-p",
        "central",
    ]);
    if let Some(target) = &options.target {
        build.args(["--target", target]);
    }
    let built = if options.no_build {
        Ok(())
    } else {
        run(&mut build)
    };
    built.map_err(|err| {
        if options.target.is_some() {
            format!(
                "package: the cross build failed ({err}); an {deb_arch} build needs the Rust target \
                 (rustup target add), a cross linker and {deb_arch} libpcsclite-dev + libudev-dev \
                 + libssl-dev: see crates/gated/debian/README.md"
            )
        } else {
            format!("package: the release build failed ({err})")
        }
    })?;
    // cargo-deb maps `target/release/` of the assets to the triple's directory itself.
    let release = match &options.target {
        Some(target) => target_dir().join(target).join("release"),
        None => target_dir().join("release"),
    };
    let staged = release.join("onnxruntime");
    if staged.exists() {
        fs::remove_dir_all(&staged).map_err(|e| format!("{}: {e}", staged.display()))?;
    }
    fs::create_dir_all(&staged).map_err(|e| format!("{}: {e}", staged.display()))?;
    fs::copy(
        &library,
        staged.join(format!("libonnxruntime.so.{ORT_VERSION}")),
    )
    .map_err(|e| format!("staging {}: {e}", library.display()))?;
    let copyright = root().join("crates/gated/debian/copyright");
    if !copyright.exists() {
        return Err(format!(
            "package: {} is missing (the gated package's DEP-5 copyright file)",
            copyright.display()
        ));
    }
    let output = options
        .output
        .clone()
        .unwrap_or_else(|| target_dir().join("debian"));
    fs::create_dir_all(&output).map_err(|e| e.to_string())?;
    let mut debs = Vec::new();
    for crate_name in ["gated", "central"] {
        let mut cmd = Command::new(&cargo_deb);
        cmd.current_dir(root())
            // The binaries carry line tables (Cargo.toml's release profile): they go into a
            // -dbgsym .ddeb next to the package, which ships stripped binaries.
            .args([
                "--no-build",
                "--locked",
                "--dbgsym",
                "-p",
                crate_name,
                "--output",
            ])
            .arg(&output)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    cache().join("cargo-tools/bin").display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            );
        if let Some(revision) = &options.revision {
            cmd.args(["--deb-revision", revision]);
        }
        if options.fast {
            cmd.arg("--fast");
        }
        if let Some(target) = &options.target {
            cmd.args(["--target", target]);
        }
        let out = cmd
            .output()
            .map_err(|e| format!("package: cannot run cargo-deb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "package: cargo-deb for {crate_name} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // cargo-deb prints the path of the .deb it wrote as its last line.
        let deb = String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .find(|l| l.trim_end().ends_with(".deb"))
            .map(|l| PathBuf::from(l.trim()))
            .ok_or_else(|| format!("package: cargo-deb for {crate_name} named no .deb"))?;
        if !deb.to_string_lossy().contains(deb_arch) {
            return Err(format!(
                "package: {} is not an {deb_arch} package",
                deb.display()
            ));
        }
        debs.push(deb);
    }
    let central = debs.pop().ok_or("package: no gate-central .deb")?;
    let gated = debs.pop().ok_or("package: no gated .deb")?;
    Ok(Debs { gated, central })
}

/// Size of a file in MB, for the log.
fn megabytes(path: &Path) -> f64 {
    fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1_000_000.0)
}

/// The Debian mirror this machine's apt sources use (`DEBIAN_MIRROR` overrides it).
fn debian_mirror() -> String {
    if let Ok(mirror) = std::env::var("DEBIAN_MIRROR") {
        return mirror;
    }
    let mut texts = Vec::new();
    if let Ok(text) = fs::read_to_string("/etc/apt/sources.list") {
        texts.push(text);
    }
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        for entry in dir.flatten() {
            if let Ok(text) = fs::read_to_string(entry.path()) {
                texts.push(text);
            }
        }
    }
    for text in &texts {
        for line in text.lines().map(str::trim) {
            if line.starts_with('#') || line.contains("security") {
                continue;
            }
            // one-line format: deb [opts] URL suite ...; deb822: URIs: URL
            let url = line
                .strip_prefix("URIs:")
                .map(str::trim)
                .or_else(|| {
                    line.strip_prefix("deb ")
                        .and_then(|rest| rest.split_whitespace().find(|w| w.starts_with("http")))
                })
                .and_then(|u| u.split_whitespace().next());
            // Debian's archive itself (other sources: Node, cloud tools... carry no bookworm).
            if let Some(url) = url
                .filter(|u| u.starts_with("http") && u.trim_end_matches('/').ends_with("/debian"))
            {
                return url.to_owned();
            }
        }
    }
    "http://deb.debian.org/debian".into()
}

/// A booted Debian system in a container (systemd-nspawn), and how to run commands in it.
struct Container {
    dir: PathBuf,
    nspawn: Child,
    /// The container's systemd (PID 1 inside), as the host sees it.
    init: u32,
}

impl Container {
    /// Extracts `base` into `dir` and boots it.
    fn boot(base: &Path, dir: &Path, log: &Path) -> Result<Self> {
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        run(Command::new("tar").arg("-xf").arg(base).arg("-C").arg(dir))?;
        let log = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let nspawn = Command::new("systemd-nspawn")
            .args([
                "-q",
                "--register=no",
                "--keep-unit",
                "--console=passive",
                "-D",
            ])
            .arg(dir)
            .arg("-b")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start systemd-nspawn: {e} (cargo xtask setup installs systemd-container)"))?;
        let mut container = Self {
            dir: dir.to_owned(),
            nspawn,
            init: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while container.init == 0 {
            if let Some(pid) = child_named(container.nspawn.id(), "systemd") {
                container.init = pid;
            } else if Instant::now() > deadline {
                return Err("the container's systemd did not appear within 30 s".into());
            } else if let Ok(Some(status)) = container.nspawn.try_wait() {
                return Err(format!("systemd-nspawn exited with {status}"));
            } else {
                sleep(Duration::from_millis(100));
            }
        }
        container.wait_for(Duration::from_secs(90), "the system to boot", |c| {
            c.sh("systemctl is-system-running")
                .map(|s| s.trim() == "running")
                .unwrap_or(false)
        })?;
        Ok(container)
    }

    /// The `Overall exposure level` line of `systemd-analyze security UNIT` inside.
    fn exposure(&self, unit: &str) -> Result<String> {
        let report = self.sh(&format!("systemd-analyze security --no-pager {unit}"))?;
        report
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .map(|l| l.trim().to_owned())
            .ok_or_else(|| format!("no exposure level in:\n{report}"))
    }

    /// Runs `script` with /bin/sh inside the container; its output, or an error naming the
    /// script and quoting its output.
    fn sh(&self, script: &str) -> Result<String> {
        let out = Command::new("nsenter")
            .args([
                "-t",
                &self.init.to_string(),
                "-m",
                "-u",
                "-i",
                "-n",
                "-p",
                "--",
            ])
            .args(["/usr/bin/env", "-i"])
            .args([
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8",
                "DEBIAN_FRONTEND=noninteractive",
                "HOME=/root",
                "SYSTEMD_PAGER=",
                "/bin/sh",
                "-c",
                script,
            ])
            .output()
            .map_err(|e| format!("cannot run nsenter: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!("`{script}` failed ({}):\n{text}", out.status))
        }
    }

    /// Polls `done` every 200 ms until it holds or `timeout` passes.
    fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            if Instant::now() > deadline {
                return Err(format!("timed out after {timeout:?} waiting for {what}"));
            }
            sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    /// A path inside the container, seen from the host.
    fn path(&self, inside: &str) -> PathBuf {
        self.dir.join(inside.trim_start_matches('/'))
    }

    /// Powers the container off (SIGTERM to systemd-nspawn asks its systemd to shut down).
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.nspawn.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.nspawn.try_wait() {
                return;
            }
            sleep(Duration::from_millis(200));
        }
        let _ = self.nspawn.kill();
        let _ = self.nspawn.wait();
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if let Ok(None) = self.nspawn.try_wait() {
            self.stop();
        }
    }
}

/// A child process of `parent` whose command name is `name`.
fn child_named(parent: u32, name: &str) -> Option<u32> {
    let tasks = fs::read_dir(format!("/proc/{parent}/task")).ok()?;
    for task in tasks.flatten() {
        let children = fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for pid in children
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
        {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == name {
                return Some(pid);
            }
        }
    }
    None
}

/// The debootstrapped base system as a tarball in `.cache/package-test/`, made once.
fn base_tarball() -> Result<PathBuf> {
    let dir = cache().join("package-test");
    let tarball = dir.join(format!("{SUITE}-base.tar"));
    if tarball.exists() {
        return Ok(tarball);
    }
    let mirror = debian_mirror();
    let work = dir.join("debootstrap");
    if work.exists() {
        fs::remove_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    }
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    run(Command::new("debootstrap")
        .args([
            "--variant=minbase",
            "--include=systemd,systemd-sysv,dbus",
            SUITE,
        ])
        .arg(&work)
        .arg(&mirror))
    .map_err(|err| {
        format!("debootstrap from {mirror} failed ({err}); cargo xtask setup installs debootstrap")
    })?;
    let partial = tarball.with_extension("tar.partial");
    run(Command::new("tar")
        .arg("-C")
        .arg(&work)
        .arg("-cf")
        .arg(&partial)
        .arg("."))?;
    fs::rename(&partial, &tarball).map_err(|e| e.to_string())?;
    fs::remove_dir_all(&work).map_err(|e| e.to_string())?;
    Ok(tarball)
}

/// The demo configuration the test installs: the simulated face gate, with the control socket
/// open to gate-tech and the packaged document-hash key. No `[central]` yet, so the gate's
/// events stay pending in the outbox.
fn demo_config() -> Result<String> {
    let path = root().join("firmware-config/sim-face-gate.toml");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let control = "[control]\nsocket = \"/run/gated/control.sock\"\n";
    if !text.contains(control) || text.contains("[privacy]") {
        return Err(format!(
            "{}: expected `{control}` and no [privacy]: update demo_config()",
            path.display()
        ));
    }
    Ok(format!(
        "{}\n[privacy]\ndocument_hash_key_file = \"/etc/gated/document-hash.key\"\n",
        text.replacen(control, &format!("{control}group = \"gate-tech\"\n"), 1)
    ))
}

/// One step's timing, for the summary.
struct Timed {
    step: &'static str,
    seconds: f64,
}

/// Runs the steps in order, printing each one's duration; on failure, names the step.
struct Steps {
    done: Vec<Timed>,
}

impl Steps {
    fn run<T>(&mut self, step: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        eprintln!("package-test: [{step}] ...");
        let start = Instant::now();
        let result = f().map_err(|err| format!("package-test: step `{step}` failed: {err}"));
        let seconds = start.elapsed().as_secs_f64();
        match &result {
            Ok(_) => eprintln!("package-test: [{step}] ok in {seconds:.1} s"),
            Err(_) => eprintln!("package-test: [{step}] FAILED after {seconds:.1} s"),
        }
        self.done.push(Timed { step, seconds });
        result
    }
}

/// Pending events in gated's outbox (their ids), read with gatectl inside the container.
fn pending_ids(c: &Container) -> Result<Vec<String>> {
    let text =
        c.sh("gatectl outbox list --json --limit 10000 --db /var/lib/gated/outbox.sqlite")?;
    let mut ids: Vec<String> = text
        .split("\"id\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').nth(1).map(str::to_owned))
        .collect();
    ids.sort();
    Ok(ids)
}

/// `cargo xtask package-test [--no-build] [--work-dir DIR]`: `--no-build` packages the release
/// binaries already built instead of building them first; `--work-dir` puts the test's
/// packages and the container there (default `.cache/package-test`; e.g. a tmpfs such as
/// /dev/shm when the disk is short).
pub fn package_test(args: &[String]) -> Result<()> {
    let usage = "usage: cargo xtask package-test [--no-build] [--work-dir DIR]";
    let mut no_build = false;
    let mut work = cache().join("package-test");
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-build" => no_build = true,
            "--work-dir" => work = PathBuf::from(args.next().ok_or(usage)?),
            _ => return Err(usage.into()),
        }
    }
    if !crate::is_root() {
        return Err(
            "package-test: needs root (debootstrap, systemd-nspawn); run it as root".into(),
        );
    }
    for tool in ["debootstrap", "systemd-nspawn", "nsenter"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map_or(true, |o| !o.status.success())
        {
            return Err(format!(
                "package-test: {tool} not found: run `cargo xtask setup`"
            ));
        }
    }
    // The test's packages and the unpacked container take about 1 GB.
    fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let free_mb = crate::output(
        Command::new("df")
            .args(["-Pm", "--output=avail"])
            .arg(&work),
    )
    .and_then(|text| {
        text.lines()
            .nth(1)
            .and_then(|l| l.trim().parse::<u64>().ok())
    });
    if let Some(free_mb) = free_mb.filter(|mb| *mb < 1_500) {
        return Err(format!(
            "package-test: only {free_mb} MB free in {}; it needs about 1.5 GB (--work-dir DIR puts the container elsewhere, e.g. /dev/shm)",
            work.display()
        ));
    }
    let total = Instant::now();
    let mut steps = Steps { done: Vec::new() };
    let output = work.join("debs");
    let first = steps.run("build packages (revision 1)", || {
        build_debs(&PackageOptions {
            revision: Some("1".into()),
            no_build,
            fast: true,
            output: Some(output.join("1")),
            ..PackageOptions::default()
        })
    })?;
    // The upgrade: the same binaries packaged again with a higher version.
    let second = steps.run("rebuild packages (revision 2)", || {
        build_debs(&PackageOptions {
            revision: Some("2".into()),
            no_build: true,
            fast: true,
            output: Some(output.join("2")),
            ..PackageOptions::default()
        })
    })?;
    for deb in [&first.gated, &first.central] {
        eprintln!("package-test: {} {:.1} MB", deb.display(), megabytes(deb));
    }
    let base = steps.run(
        "debootstrap base (cached after the first run)",
        base_tarball,
    )?;
    let mut container = steps.run("boot Debian 12", || {
        Container::boot(&base, &work.join("root"), &work.join("console.log"))
    })?;
    let result = scenario(&mut steps, &container, &first, &second);
    if let Err(err) = &result {
        eprintln!("{err}");
        eprintln!("package-test: journal of gated in the container:");
        match container.sh("journalctl -u gated -u gate-central --no-pager -n 200") {
            Ok(text) | Err(text) => eprintln!("{text}"),
        }
    }
    container.stop();
    eprintln!("package-test: timings");
    for timed in &steps.done {
        eprintln!("  {:>7.1} s  {}", timed.seconds, timed.step);
    }
    eprintln!("  {:>7.1} s  total", total.elapsed().as_secs_f64());
    match &result {
        // The container (~0.5 GB) and the test's packages (~0.2 GB) go; the base tarball stays.
        Ok(()) => {
            for dir in [work.join("root"), output] {
                if let Err(err) = fs::remove_dir_all(&dir) {
                    eprintln!("package-test: cannot remove {}: {err}", dir.display());
                }
            }
            eprintln!("package-test: PASS");
        }
        Err(_) => eprintln!(
            "package-test: the container's files stay in {} for a look",
            work.join("root").display()
        ),
    }
    result
}

/// Copies `deb` into the container's /root/debs and returns its path inside.
fn copy_in(c: &Container, deb: &Path) -> Result<String> {
    let name = deb
        .file_name()
        .ok_or("a .deb without a file name")?
        .to_string_lossy()
        .into_owned();
    let dir = c.path("/root/debs");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    fs::copy(deb, dir.join(&name)).map_err(|e| format!("{}: {e}", deb.display()))?;
    Ok(format!("/root/debs/{name}"))
}

fn expect(ok: bool, what: impl FnOnce() -> String) -> Result<()> {
    if ok { Ok(()) } else { Err(what()) }
}

/// The steps inside the booted container.
fn scenario(steps: &mut Steps, c: &Container, first: &Debs, second: &Debs) -> Result<()> {
    let gated1 = copy_in(c, &first.gated)?;
    let gated2 = copy_in(c, &second.gated)?;
    let central2 = copy_in(c, &second.central)?;
    steps.run("apt install gated (revision 1)", || {
        c.sh("apt-get update -qq")?;
        c.sh(&format!("apt-get install -y -qq {gated1}"))
    })?;
    steps.run("installed: users, key, service disabled", || {
        c.sh("getent passwd gated && getent group gate-tech && getent group gate-hw")?;
        let key = c.sh("stat -c '%s %a %U:%G' /etc/gated/document-hash.key")?;
        expect(key.trim() == "32 640 root:gated", || {
            format!("document-hash key is `{}`, expected 32 bytes 640 root:gated", key.trim())
        })?;
        let enabled = c.sh("systemctl is-enabled gated || true")?;
        let active = c.sh("systemctl is-active gated || true")?;
        expect(enabled.trim() == "disabled" && active.trim() == "inactive", || {
            format!(
                "without /etc/gated/gate.toml gated is {} and {}, expected disabled and inactive",
                enabled.trim(),
                active.trim()
            )
        })?;
        c.sh("test -x /usr/bin/gated && test -f /usr/lib/gated/libonnxruntime.so.1.31.1 && test -f /usr/share/gated/models/mtcnn.toml && test -f /usr/share/doc/gated/examples/sim-face-gate.toml")
    })?;
    let ready = steps.run("demo config, dpkg-reconfigure, READY", || {
        let config = demo_config()?;
        let mut file = fs::File::create(c.path("/etc/gated/gate.toml"))
            .map_err(|e| format!("writing gate.toml: {e}"))?;
        file.write_all(config.as_bytes())
            .map_err(|e| format!("writing gate.toml: {e}"))?;
        c.sh("chgrp gated /etc/gated/gate.toml && chmod 0640 /etc/gated/gate.toml")?;
        c.sh("runuser -u gated -- gated --check-config /etc/gated/gate.toml")?;
        let start = Instant::now();
        c.sh("dpkg-reconfigure gated")?;
        c.wait_for(Duration::from_secs(60), "gated to report READY", |c| {
            c.sh("systemctl is-active gated")
                .is_ok_and(|s| s.trim() == "active")
        })?;
        let enabled = c.sh("systemctl is-enabled gated")?;
        expect(enabled.trim() == "enabled", || {
            format!("gated is {} after a valid config", enabled.trim())
        })?;
        Ok(start.elapsed().as_secs_f64())
    })?;
    eprintln!("package-test: configure-to-ready {ready:.1} s");
    steps.run("gatectl status as a gate-tech member", || {
        c.sh("id tech >/dev/null 2>&1 || useradd -m -G gate-tech tech")?;
        let status = c.sh("runuser -u tech -- gatectl status")?;
        expect(status.contains("SIM-FACE-01"), || {
            format!("gatectl status does not name the gate:\n{status}")
        })?;
        let refused =
            c.sh("id nobody >/dev/null && runuser -u nobody -- gatectl status 2>&1; true")?;
        expect(!refused.contains("SIM-FACE-01"), || {
            format!("a user outside gate-tech got the status:\n{refused}")
        })
    })?;
    let pending_before = steps.run("travellers with central unreachable", || {
        let before = pending_ids(c)?.len();
        for _ in 0..2 {
            let count = pending_ids(c)?.len();
            c.sh("runuser -u tech -- gatectl simulate genuine")?;
            c.wait_for(
                Duration::from_secs(60),
                "the traveller's outcome in the outbox",
                |c| pending_ids(c).is_ok_and(|ids| ids.len() > count),
            )?;
            // let the transaction finish (door closed again) before the next traveller
            sleep(Duration::from_secs(3));
        }
        let ids = pending_ids(c)?;
        expect(ids.len() > before, || "no events pending".into())?;
        Ok(ids)
    })?;
    eprintln!(
        "package-test: {} events pending in the outbox",
        pending_before.len()
    );
    let score = steps.run("systemd-analyze security gated", || c.exposure("gated"))?;
    eprintln!("package-test: gated: {score}");
    let fingerprint =
        "sha256sum /etc/gated/gate.toml /etc/gated/document-hash.key /etc/gated/gated.env";
    steps.run("upgrade gated to revision 2 with events pending", || {
        let hashes = c.sh(fingerprint)?;
        let pid = c.sh("systemctl show -p MainPID --value gated")?;
        c.sh(&format!("apt-get install -y -qq {gated2}"))?;
        let version = c.sh("dpkg-query -W -f '${Version}' gated")?;
        expect(version.ends_with("-2"), || {
            format!("gated is at {version} after the upgrade")
        })?;
        expect(c.sh(fingerprint)? == hashes, || {
            "the upgrade changed the configuration or the key".into()
        })?;
        c.wait_for(Duration::from_secs(60), "gated to be READY again", |c| {
            c.sh("systemctl is-active gated")
                .is_ok_and(|s| s.trim() == "active")
        })?;
        let after = c.sh("systemctl show -p MainPID --value gated")?;
        expect(after != pid, || "the upgrade did not restart gated".into())?;
        let ids = pending_ids(c)?;
        let lost: Vec<&String> = pending_before
            .iter()
            .filter(|id| !ids.contains(id))
            .collect();
        expect(lost.is_empty(), || {
            format!("events lost by the upgrade: {lost:?}")
        })?;
        c.sh("runuser -u tech -- gatectl status >/dev/null")
    })?;
    let central_score = steps.run("gate-central: install, sync the pending events", || {
        c.sh(&format!("apt-get install -y -qq {central2}"))?;
        c.wait_for(Duration::from_secs(30), "gate-central to run", |c| {
            c.sh("systemctl is-active gate-central")
                .is_ok_and(|s| s.trim() == "active")
        })?;
        // Point the gate at the packaged central (loopback, plain HTTP) and let it sync.
        let config =
            fs::read_to_string(c.path("/etc/gated/gate.toml")).map_err(|e| e.to_string())?;
        fs::write(
            c.path("/etc/gated/gate.toml"),
            format!("{config}\n[central]\nurl = \"http://127.0.0.1:8080\"\n"),
        )
        .map_err(|e| e.to_string())?;
        c.sh("systemctl restart gated")?;
        c.wait_for(
            Duration::from_secs(60),
            "the pending events to reach central",
            |c| pending_ids(c).is_ok_and(|ids| ids.is_empty()),
        )?;
        // Central has every one of them: asked over its API (bash's /dev/tcp: the minimal
        // system has no HTTP client).
        fs::write(
            c.path("/root/central-events.sh"),
            "exec 3<>/dev/tcp/127.0.0.1/8080\nprintf 'GET /v1/events?gate=SIM-FACE-01&limit=100000 HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3\ncat <&3\n",
        )
        .map_err(|e| e.to_string())?;
        let answer = c.sh("bash /root/central-events.sh")?;
        let missing: Vec<&String> = pending_before
            .iter()
            .filter(|id| !answer.contains(id.as_str()))
            .collect();
        expect(missing.is_empty(), || {
            format!("events not at central: {missing:?}; central answered:\n{answer}")
        })?;
        c.exposure("gate-central")
    })?;
    eprintln!("package-test: gate-central: {central_score}");
    steps.run("apt remove: configuration, key and state stay", || {
        c.sh("apt-get remove -y -qq gated gate-central")?;
        c.sh("test ! -e /usr/bin/gated && test ! -e /usr/bin/gate-central")?;
        c.sh("test -f /etc/gated/gate.toml && test -f /etc/gated/document-hash.key && test -f /var/lib/gated/outbox.sqlite && test -d /var/lib/gate-central")?;
        let active = c.sh("systemctl is-active gated gate-central || true")?;
        expect(active.lines().all(|l| l.trim() != "active"), || {
            format!("services still running after remove: {active}")
        })
    })?;
    steps.run("apt purge: configuration, key and state gone", || {
        c.sh("apt-get purge -y -qq gated gate-central")?;
        c.sh("test ! -e /etc/gated && test ! -e /var/lib/gated && test ! -e /etc/gate-central && test ! -e /var/lib/gate-central")?;
        let left = c.sh("find /etc/systemd/system -name 'gate*.service'")?;
        expect(left.trim().is_empty(), || format!("left after purge: {left}"))?;
        // Users and groups stay (Debian policy): say so in the log.
        let users = c.sh("getent passwd gated gate-central | cut -d: -f1 | tr '\\n' ' '")?;
        eprintln!("package-test: users kept after purge (Debian policy): {users}");
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    /// The asset sources of a crate's `[package.metadata.deb]` (the files of the tree, not the
    /// build's `target/` outputs), as written in its Cargo.toml.
    fn asset_sources(manifest: &str) -> Vec<String> {
        let text = fs::read_to_string(root().join(manifest)).expect("manifest");
        let deb = text
            .split("[package.metadata.deb]")
            .nth(1)
            .expect("a [package.metadata.deb] section");
        let assets = deb.split("assets = [").nth(1).expect("assets");
        assets
            .lines()
            .map(str::trim)
            .take_while(|l| *l != "]")
            .filter_map(|l| l.strip_prefix("[\"")?.split('"').next().map(str::to_owned))
            .filter(|source| !source.starts_with("target/"))
            .collect()
    }

    /// Files matching `pattern` (a `*` in the file name only, as the manifests use).
    fn matches(dir: &Path, pattern: &str) -> usize {
        let path = dir.join(pattern);
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return 0;
        };
        let name = name.to_string_lossy();
        let Some((prefix, suffix)) = name.split_once('*') else {
            return usize::from(path.is_file());
        };
        fs::read_dir(parent).map_or(0, |entries| {
            entries
                .flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(prefix) && n.ends_with(suffix) && n.len() >= name.len() - 1
                })
                .count()
        })
    }

    #[test]
    fn every_asset_of_both_packages_is_in_the_tree() {
        for (manifest, dir) in [
            ("crates/gated/Cargo.toml", "crates/gated"),
            ("crates/central/Cargo.toml", "crates/central"),
        ] {
            let sources = asset_sources(manifest);
            assert!(sources.len() > 4, "{manifest}: assets not found");
            for source in sources {
                assert!(
                    matches(&root().join(dir), &source) > 0,
                    "{manifest}: asset {source} matches no file"
                );
            }
        }
    }

    #[test]
    fn maintainer_scripts_are_strict_posix_sh() {
        for package in ["gated", "central"] {
            for script in ["postinst", "prerm", "postrm"] {
                let path = root().join(format!("crates/{package}/debian/{script}"));
                let text = fs::read_to_string(&path).expect("script");
                assert!(text.starts_with("#!/bin/sh\n"), "{}", path.display());
                assert!(text.contains("\nset -e\n"), "{}: no set -e", path.display());
                let mode = fs::metadata(&path).expect("mode").permissions().mode();
                assert!(mode & 0o111 != 0, "{} is not executable", path.display());
                let syntax = Command::new("sh")
                    .arg("-n")
                    .arg(&path)
                    .output()
                    .expect("sh");
                assert!(
                    syntax.status.success(),
                    "{}: {}",
                    path.display(),
                    String::from_utf8_lossy(&syntax.stderr)
                );
            }
        }
    }

    #[test]
    fn the_demo_config_opens_the_socket_to_gate_tech_and_uses_the_packaged_key() {
        let config = demo_config().expect("demo config");
        assert!(
            config.contains(
                "[control]\nsocket = \"/run/gated/control.sock\"\ngroup = \"gate-tech\"\n"
            )
        );
        assert!(
            config
                .contains("[privacy]\ndocument_hash_key_file = \"/etc/gated/document-hash.key\"\n")
        );
        // No central: the events stay pending until the test points the gate at one.
        assert!(!config.contains("[central]"));
    }

    #[test]
    fn the_mirror_is_a_debian_archive() {
        let mirror = debian_mirror();
        assert!(
            mirror.trim_end_matches('/').ends_with("/debian"),
            "{mirror}"
        );
    }

    #[test]
    fn package_options() {
        let args: Vec<String> = ["--revision", "2", "--no-build"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let options = parse_package_options(&args).expect("options");
        assert_eq!(options.revision.as_deref(), Some("2"));
        assert!(options.no_build);
        assert!(parse_package_options(&["--revision".to_owned()]).is_err());
        assert!(parse_package_options(&["--bogus".to_owned()]).is_err());
        assert_eq!(
            debian_arch(Some("aarch64-unknown-linux-gnu")).ok(),
            Some(("aarch64", "arm64"))
        );
        assert!(debian_arch(Some("riscv64gc-unknown-linux-gnu")).is_err());
    }
}
