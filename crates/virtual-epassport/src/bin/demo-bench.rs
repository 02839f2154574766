//! `demo-bench`: TEST TOOL. Stands in front of a face gate whose devices are real and plays its
//! travellers: it runs everything the demo gate needs on one machine and, when asked, lays a
//! virtual ePassport on the PC/SC reader, types the passport's MRZ on the page scanner and
//! shows a face to the camera. The gate (`gated`, unchanged) then reads the chip through pcscd,
//! verifies the document against the bench's test CSCA, matches the chip photo against the
//! camera with the ONNX models and opens the simulated door or denies, and its events reach a
//! central server.
//!
//! Everything is derived from the gate's configuration (`firmware-config/demo-face-gate.toml`),
//! whose paths all lie under one directory, the bench's root (`/run/gate-demo`):
//!
//! - `devices.chip_reader`: a real pcscd with the vpcd driver in a private mount namespace
//!   (needs root), and a pseudo-terminal linked at the MRZ scanner's port;
//! - `devices.camera` (frames): the folder the camera plays, holding an empty scene until a
//!   traveller steps up;
//! - `face`: links to the repository's models and the ONNX Runtime library;
//! - `trust.csca`: the bench's test CSCA; `privacy.document_hash_key_file`: a fresh key;
//! - `central.url` (`http://127.0.0.1:PORT`): `central` on SQLite, with an empty denylist and
//!   an operator console account (`demo-admin`, password `demo-console-password`, admin);
//! - `simulation.demo_bench`: the socket where `gated` hands over the traveller that
//!   `gatectl simulate` or the autopilot sent.
//!
//! The root is wiped at start: every run begins with an empty outbox and an empty central.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use gate_config::GateConfig;
use gate_config::schema::{CameraConfig, ChipReaderConfig};
use gate_protocol::demo_bench::{BenchAnswer, BenchRequest};
use gate_protocol::{SimulatedDocument, SimulatedTraveller};
use serialport::{SerialPort, TTYPort};
use virtual_epassport::chip::{Misbehaviour, VirtualChip};
use virtual_epassport::document::{Document, DocumentConfig};
use virtual_epassport::pcscd::IsolatedPcscd;
use virtual_epassport::pki::{Pki, PkiOptions};
use virtual_epassport::specimen;
use virtual_epassport::vpcd::{VirtualCard, VpcdOptions};

/// TEST TOOL: plays travellers in front of a demo face gate on real devices (virtual ePassport
/// through pcscd, photos through a frame-folder camera) and runs the gate and a central server.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The demo gate's configuration (all its paths under one root, see the crate README).
    #[arg(long)]
    config: PathBuf,
    /// Directory holding the built `gated` and `central` binaries.
    #[arg(long)]
    bin_dir: PathBuf,
    /// Directory of the public-domain test photos (`cargo xtask setup` puts them in
    /// .cache/test-photos): obama.jpg, obama2.jpg, biden.jpg.
    #[arg(long)]
    photos: PathBuf,
    /// The repository's models directory.
    #[arg(long)]
    models: PathBuf,
    /// The ONNX Runtime shared library.
    #[arg(long)]
    onnxruntime: PathBuf,
    /// Send a random traveller every MS milliseconds (0: only when asked).
    #[arg(long, default_value_t = 0)]
    autopilot_ms: u64,
}

/// What the bench found in the gate's configuration.
struct Layout {
    root: PathBuf,
    config: GateConfig,
    scanner_link: PathBuf,
    reader: String,
    frames: PathBuf,
    trust: PathBuf,
    key_file: PathBuf,
    central_port: u16,
    socket: PathBuf,
}

impl Layout {
    fn from_config(path: &Path) -> anyhow::Result<Layout> {
        let loaded = gate_config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
        let config = loaded.config;
        let socket = config
            .simulation
            .demo_bench
            .clone()
            .context("simulation.demo_bench is not set: not a demo gate's configuration")?;
        let root = socket
            .parent()
            .context("simulation.demo_bench has no parent directory")?
            .to_owned();
        let Some(ChipReaderConfig::Pcsc {
            reader,
            mrz_scanner,
            ..
        }) = &config.devices.chip_reader
        else {
            bail!("devices.chip_reader must be a PC/SC reader (the bench's virtual one)");
        };
        let Some(CameraConfig::Frames { dir: frames, .. }) = &config.devices.camera else {
            bail!("devices.camera must be a frame folder (the bench shows faces there)");
        };
        let trust = config
            .trust
            .as_ref()
            .and_then(|t| t.csca.first())
            .context("trust.csca must name the directory for the bench's test CSCA")?
            .clone();
        let key_file = config
            .privacy
            .document_hash_key_file
            .clone()
            .context("privacy.document_hash_key_file is not set")?;
        let central_url = &config.central.as_ref().context("[central] is not set")?.url;
        let central_port = central_url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|port| port.trim_end_matches('/').parse().ok())
            .with_context(|| {
                format!(
                    "central.url {central_url} must be http://127.0.0.1:PORT (the bench starts it)"
                )
            })?;
        let mut owned = vec![
            mrz_scanner.port.clone(),
            frames.clone(),
            trust.clone(),
            key_file.clone(),
            config.control.socket.clone(),
            config.storage.state_dir.clone(),
        ];
        if let Some(face) = &config.face {
            owned.extend([face.onnxruntime.clone(), face.detector.clone()]);
        }
        for path in owned {
            ensure!(
                path.starts_with(&root),
                "{} is outside the bench's root {}: a demo configuration keeps every path there",
                path.display(),
                root.display()
            );
        }
        Ok(Layout {
            scanner_link: mrz_scanner.port.clone(),
            reader: reader.clone(),
            frames: frames.clone(),
            trust,
            key_file,
            central_port,
            socket,
            root,
            config,
        })
    }
}

/// Children killed when the bench stops.
struct Children(Vec<(&'static str, Child)>);

impl Drop for Children {
    fn drop(&mut self) {
        for (_, child) in self.0.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for (_, child) in &mut self.0 {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let layout = Layout::from_config(&args.config)?;
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX);
    ensure!(
        uid == 0,
        "the demo runs pcscd in a private mount namespace, which needs root: run it as root \
         (`sudo -E cargo xtask gate`), or run the all-simulator gate (`cargo xtask gate --simulated`)"
    );
    for (what, path) in [
        ("gated", args.bin_dir.join("gated")),
        ("central", args.bin_dir.join("central")),
        ("the ONNX Runtime library", args.onnxruntime.clone()),
        ("the models", args.models.join("mtcnn.toml")),
        ("the test photos", args.photos.join("obama.jpg")),
    ] {
        ensure!(
            path.exists(),
            "{what} not found at {} (run `cargo xtask setup` and build the workspace)",
            path.display()
        );
    }
    let _lock = lock(&layout.root)?;
    let screen_port = layout.config.screen.as_ref().map(|s| s.listen.port());
    let metrics_port = layout
        .config
        .metrics
        .as_ref()
        .and_then(|m| m.listen)
        .map(|a| a.port());
    for (what, port) in [
        ("central", Some(layout.central_port)),
        ("the screen", screen_port),
        ("the metrics", metrics_port),
    ]
    .into_iter()
    .filter_map(|(what, port)| Some((what, port?)))
    {
        ensure!(
            TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} for {what} is in use (another demo or central?): stop it, or change the port in {}",
            args.config.display()
        );
    }
    prepare_root(&layout, args)?;

    let pcscd = IsolatedPcscd::start(&layout.root.join("pcscd")).context("starting pcscd")?;
    ensure!(
        pcscd.reader_name() == layout.reader,
        "devices.chip_reader.reader must be {:?}, the name pcscd gives the vpcd reader",
        pcscd.reader_name()
    );
    let (scanner, scanner_far_end) = TTYPort::pair().context("opening a pseudo-terminal")?;
    let far_end = scanner_far_end
        .name()
        .context("the pseudo-terminal has no name")?;
    std::os::unix::fs::symlink(&far_end, &layout.scanner_link)
        .with_context(|| format!("linking {}", layout.scanner_link.display()))?;

    let pki = Pki::generate(&PkiOptions {
        seed: Some("demo-bench".into()),
        ..PkiOptions::default()
    })
    .map_err(|e| anyhow::anyhow!("generating the test PKI: {e}"))?;
    std::fs::write(layout.trust.join("csca.der"), &pki.csca.certificate)
        .context("writing the test CSCA")?;

    let central_database = format!("sqlite:{}", layout.root.join("central.sqlite").display());
    add_console_account(&args.bin_dir.join("central"), &central_database)
        .context("creating the demo's console account")?;
    let mut children = Children(Vec::new());
    let central = Command::new(args.bin_dir.join("central"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{}", layout.central_port))
        .arg("--database")
        .arg(&central_database)
        .stdin(Stdio::null())
        .spawn()
        .context("starting central")?;
    children.0.push(("central", central));
    wait_for_port(layout.central_port, Duration::from_secs(20))
        .context("central did not start listening")?;
    publish_empty_denylist(layout.central_port).context("publishing the denylist")?;

    let mut gated = Command::new(args.bin_dir.join("gated"));
    gated
        .arg("--config")
        .arg(&args.config)
        .env("PCSCLITE_CSOCK_NAME", pcscd.socket())
        .stdin(Stdio::null());
    if args.autopilot_ms > 0 {
        gated
            .arg("--simulate-travellers-every-ms")
            .arg(args.autopilot_ms.to_string());
    }
    children
        .0
        .push(("gated", gated.spawn().context("starting gated")?));

    let listener = UnixListener::bind(&layout.socket)
        .with_context(|| format!("listening on {}", layout.socket.display()))?;
    listener
        .set_nonblocking(true)
        .context("setting the bench socket non-blocking")?;
    let mut bench = Bench {
        pki,
        pcscd_vpcd: pcscd.vpcd_address(),
        scanner,
        frames: layout.frames.clone(),
        photos: args.photos.clone(),
        card: None,
        card_removed: None,
        documents: 0,
    };
    bench.show_nobody()?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing the signal handlers")?;
    }
    announce(&layout, args);
    while !stop.load(Ordering::Relaxed) {
        for (name, child) in &mut children.0 {
            if let Ok(Some(status)) = child.try_wait() {
                bail!("{name} stopped ({status}); the demo stops with it");
            }
        }
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(error) = bench.serve(stream) {
                    eprintln!("demo-bench: {error:#}");
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(error) => return Err(error).context("accepting on the bench socket"),
        }
    }
    eprintln!("demo-bench: stopping gated, central and pcscd");
    Ok(())
}

/// Holds the bench's lock file beside its root while the bench runs.
fn lock(root: &Path) -> anyhow::Result<std::fs::File> {
    let path = root.with_extension("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "another demo bench is running (it holds {}): stop it first",
            path.display()
        )
    })?;
    Ok(file)
}

fn prepare_root(layout: &Layout, args: &Args) -> anyhow::Result<()> {
    let root = &layout.root;
    if root.exists() {
        std::fs::remove_dir_all(root).with_context(|| format!("clearing {}", root.display()))?;
    }
    for dir in [
        root.clone(),
        layout.frames.clone(),
        layout.trust.clone(),
        layout.config.storage.state_dir.clone(),
    ] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if let Some(face) = &layout.config.face {
        let models = face
            .detector
            .parent()
            .context("face.detector has no directory")?;
        let models_source = args
            .models
            .canonicalize()
            .with_context(|| format!("{}", args.models.display()))?;
        std::os::unix::fs::symlink(models_source, models)
            .with_context(|| format!("linking {}", models.display()))?;
        let runtime = args
            .onnxruntime
            .canonicalize()
            .with_context(|| format!("{}", args.onnxruntime.display()))?;
        std::os::unix::fs::symlink(runtime, &face.onnxruntime)
            .with_context(|| format!("linking {}", face.onnxruntime.display()))?;
    }
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .context("drawing the document-hash key")?;
    std::fs::write(&layout.key_file, key).context("writing the document-hash key")?;
    Ok(())
}

fn wait_for_port(port: u16, at_most: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + at_most;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        ensure!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The demo central's operator console account (an admin): published in the README and the
/// banner, like the demo officer's secret; the demo's central listens on loopback only.
const DEMO_CONSOLE_ACCOUNT: &str = "demo-admin";
/// The password of [`DEMO_CONSOLE_ACCOUNT`].
const DEMO_CONSOLE_PASSWORD: &str = "demo-console-password";

/// `central accounts add` of the demo's admin account, with the password on stdin as an
/// operator would pipe it.
fn add_console_account(central: &Path, database: &str) -> anyhow::Result<()> {
    let mut child = Command::new(central)
        .args([
            "accounts",
            "--database",
            database,
            "add",
            DEMO_CONSOLE_ACCOUNT,
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running central accounts add")?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{DEMO_CONSOLE_PASSWORD}")?;
    }
    let output = child.wait_with_output()?;
    ensure!(
        output.status.success(),
        "central accounts add: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// `PUT /v1/lists/denylist` (version 1, no entries): the gate admits travellers once its lists
/// are current.
fn publish_empty_denylist(port: u16) -> anyhow::Result<()> {
    let body = r#"{"version":1,"items":[]}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "PUT /v1/lists/denylist HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer.split_whitespace().nth(1).unwrap_or("");
    ensure!(
        status.starts_with('2'),
        "central answered {}",
        answer.lines().next().unwrap_or("nothing")
    );
    Ok(())
}

fn announce(layout: &Layout, args: &Args) {
    let gatectl = args.bin_dir.join("gatectl");
    let socket = layout.config.control.socket.display();
    let gatectl = gatectl.display();
    eprintln!();
    eprintln!(
        "demo-bench: the face gate runs on the real engine (virtual ePassport through pcscd, ONNX face match, central at http://127.0.0.1:{}).",
        layout.central_port
    );
    eprintln!("  Send a traveller and see the gate's decision:");
    eprintln!("    {gatectl} simulate genuine --socket {socket}");
    eprintln!("    {gatectl} simulate impostor --socket {socket}");
    eprintln!("    (also: expired, forged, unreadable)");
    eprintln!(
        "  After a deny the gate waits for an officer: {gatectl} officer-reset --socket {socket}"
    );
    eprintln!("  The gate:            {gatectl} status --socket {socket}");
    eprintln!(
        "  Events at central:   curl 'http://127.0.0.1:{}/v1/events?gate={}'",
        layout.central_port, layout.config.gate.id
    );
    eprintln!(
        "  Operator console:    http://127.0.0.1:{}/console (account {DEMO_CONSOLE_ACCOUNT}, password {DEMO_CONSOLE_PASSWORD})",
        layout.central_port
    );
    if let Some(screen) = &layout.config.screen {
        eprintln!(
            "  Traveller's screen:  http://{}/   officer's view: http://{}/officer",
            screen.listen, screen.listen
        );
    }
    if let Some(listen) = layout.config.metrics.as_ref().and_then(|m| m.listen) {
        eprintln!("  Metrics:             curl http://{listen}/metrics");
    }
    eprintln!("  Stop with Ctrl-C.");
    eprintln!();
}

/// What the bench puts before the gate.
struct Bench {
    pki: Pki,
    pcscd_vpcd: String,
    scanner: TTYPort,
    frames: PathBuf,
    photos: PathBuf,
    card: Option<VirtualCard>,
    card_removed: Option<Instant>,
    documents: u32,
}

/// pcscd polls vpcd every 400 ms: a card swapped faster looks like the same card.
const CARD_SWAP_PAUSE: Duration = Duration::from_millis(1_200);

/// The passport holder's photo, in every passport's chip.
const HOLDER_PHOTO: &str = "obama.jpg";

/// A traveller the bench can play.
struct Scene {
    camera_photo: &'static str,
    expired: bool,
    forged: bool,
    chip: ChipBehaviour,
    nationality: String,
    description: String,
}

enum ChipBehaviour {
    Answers,
    FailsOnce,
    Silent,
}

impl Scene {
    fn for_traveller(traveller: &SimulatedTraveller) -> Result<Scene, String> {
        if traveller.attack_score > 0.5 {
            return Err("it has no presentation-attack sample".into());
        }
        if !traveller.walks_through {
            return Err("its door is simulated by the gate: every traveller walks through".into());
        }
        if !traveller.face_quality_problems.is_empty() {
            return Err("it has no photos with quality problems".into());
        }
        let impostor = traveller.face_scores.last().is_some_and(|s| *s < 0.5);
        let mut scene = Scene {
            camera_photo: if impostor { "biden.jpg" } else { "obama2.jpg" },
            expired: false,
            forged: false,
            chip: ChipBehaviour::Answers,
            nationality: traveller
                .nationality
                .clone()
                .unwrap_or_else(|| "UTO".into()),
            description: String::new(),
        };
        let document = match traveller.document {
            SimulatedDocument::Genuine => "a genuine passport",
            SimulatedDocument::Expired => {
                scene.expired = true;
                "an expired passport"
            }
            SimulatedDocument::Forged => {
                scene.forged = true;
                "a passport whose chip photo was changed after signing"
            }
            SimulatedDocument::Unreadable => {
                scene.chip = ChipBehaviour::Silent;
                "a passport whose chip does not answer"
            }
            SimulatedDocument::UnreadableOnce => {
                scene.chip = ChipBehaviour::FailsOnce;
                "a passport whose chip fails the first read"
            }
            SimulatedDocument::Denylisted => {
                return Err("its central publishes an empty denylist".into());
            }
        };
        let face = if impostor {
            "the face of another person before the camera"
        } else {
            "its holder's face before the camera"
        };
        scene.description = format!("{document} on the reader, {face}");
        Ok(scene)
    }
}

impl Bench {
    fn serve(&mut self, stream: std::os::unix::net::UnixStream) -> anyhow::Result<()> {
        stream
            .set_nonblocking(false)
            .context("setting the connection blocking")?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .context("setting a read timeout")?;
        let mut line = String::new();
        BufReader::new(&stream)
            .read_line(&mut line)
            .context("reading the request")?;
        let answer = match serde_json::from_str::<BenchRequest>(&line) {
            Ok(request) => match Scene::for_traveller(&request.traveller) {
                Ok(scene) => match self.play(&scene) {
                    Ok(()) => BenchAnswer::Scene(scene.description),
                    Err(error) => BenchAnswer::Error(format!("{error:#}")),
                },
                Err(why) => BenchAnswer::Error(why),
            },
            Err(error) => BenchAnswer::Error(format!("unreadable request: {error}")),
        };
        if let BenchAnswer::Scene(scene) = &answer {
            eprintln!("demo-bench: {scene}");
        }
        let mut text = serde_json::to_string(&answer).context("encoding the answer")?;
        text.push('\n');
        (&stream).write_all(text.as_bytes()).context("answering")?;
        Ok(())
    }

    /// Takes the last passport off the reader, shows the face, lays the new passport down and
    /// types its MRZ on the scanner.
    fn play(&mut self, scene: &Scene) -> anyhow::Result<()> {
        if let Some(card) = self.card.take() {
            card.stop()
                .context("taking the last passport off the reader")?;
            self.card_removed = Some(Instant::now());
        }
        self.show(&self.photos.join(scene.camera_photo))?;
        self.documents += 1;
        let lines = specimen::td3_mrz(
            &scene.nationality,
            &format!("D{:08}", self.documents),
            if scene.expired { "240415" } else { "340415" },
        )?;
        let mut document = DocumentConfig::new(
            &[&lines[0], &lines[1]],
            specimen::chip_photo(&self.photos.join(HOLDER_PHOTO))?,
        );
        if scene.forged {
            document.tamper_data_group = Some(2);
        }
        let misbehaviour = match scene.chip {
            ChipBehaviour::FailsOnce => Misbehaviour {
                wrong_mac_once_at: Some(2),
                ..Misbehaviour::default()
            },
            _ => Misbehaviour::default(),
        };
        if !matches!(scene.chip, ChipBehaviour::Silent) {
            if let Some(removed) = self.card_removed {
                std::thread::sleep(CARD_SWAP_PAUSE.saturating_sub(removed.elapsed()));
            }
            let document = Document::build(&document, &self.pki)
                .map_err(|e| anyhow::anyhow!("building the passport: {e}"))?;
            self.card = Some(VirtualCard::spawn(
                VirtualChip::new(Arc::new(document), misbehaviour),
                VpcdOptions {
                    address: self.pcscd_vpcd.clone(),
                    reinsert_after: None,
                    ..VpcdOptions::default()
                },
            ));
            // pcscd notices a card on its next poll of the reader.
            std::thread::sleep(Duration::from_millis(500));
        }
        let text = format!("\x02{}\r\n{}\r\n\x03", lines[0], lines[1]);
        self.scanner
            .write_all(text.as_bytes())
            .and_then(|()| self.scanner.flush())
            .context("typing the MRZ on the scanner")?;
        Ok(())
    }

    /// An empty gate: grey frames without a face.
    fn show_nobody(&self) -> anyhow::Result<()> {
        let grey = image::RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128]));
        self.write_frames(&grey)
    }

    fn show(&self, photo: &Path) -> anyhow::Result<()> {
        let image = image::open(photo)
            .with_context(|| format!("reading {}", photo.display()))?
            .to_rgb8();
        self.write_frames(&image)
    }

    /// Three JPEG frames, each written aside and renamed so the camera never reads half a file.
    fn write_frames(&self, image: &image::RgbImage) -> anyhow::Result<()> {
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(image)
            .context("encoding a frame")?;
        for i in 0..3 {
            let aside = self.frames.join(format!(".f{i}.tmp"));
            std::fs::write(&aside, &jpeg).context("writing a frame")?;
            std::fs::rename(&aside, self.frames.join(format!("f{i}.jpg")))
                .context("placing a frame")?;
        }
        Ok(())
    }
}
