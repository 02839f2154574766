//! The face gate end to end on real parts: the MRZ arrives over a real pseudo-terminal (the
//! page scanner), the chip is the virtual ePassport (a test tool) behind a real pcscd with the
//! vpcd driver, the document is verified against a trust store holding the test CSCA, and the
//! live face comes from a frame-folder camera matched by the ONNX models against the chip's
//! DG2 photo. Only the door is the in-memory one.
//!
//! Needs root, pcscd, vsmartcard-vpcd, unshare, the ONNX Runtime library and the test photos
//! (`cargo xtask setup`).
#![allow(clippy::unwrap_used)]

#[path = "../../face/tests/support/artefacts.rs"]
mod artefacts;
mod support;

use gate_protocol::Health;
use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::{Gated, fast_sim_config};
use virtual_epassport::chip::{Misbehaviour, VirtualChip};
use virtual_epassport::document::{Document, DocumentConfig, PaceSuite};
use virtual_epassport::pcscd::IsolatedPcscd;
use virtual_epassport::pki::{Pki, PkiOptions};
use virtual_epassport::vpcd::{VirtualCard, VpcdOptions};

/// A TD3 MRZ of the ICAO specimen holder with a document that expires in 2034.
fn mrz() -> [String; 2] {
    mrz_with_number("L898902C3")
}

/// The same holder's MRZ on document `number` (9 characters).
fn mrz_with_number(number: &str) -> [String; 2] {
    let digit = |data: &str| {
        char::from(b'0' + mrtd::mrz::check_digit(data.as_bytes()).unwrap()).to_string()
    };
    let birth = "740812";
    let expiry = "340415";
    let optional = "ZE184226B<<<<<";
    let (n, b, e, o) = (digit(number), digit(birth), digit(expiry), digit(optional));
    let composite = digit(&format!("{number}{n}{birth}{b}{expiry}{e}{optional}{o}"));
    [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<".to_owned(),
        format!("{number}{n}UTO{birth}{b}F{expiry}{e}{optional}{o}{composite}"),
    ]
}

/// The chip photo: a downscaled JPEG of the holder.
fn chip_photo(name: &str) -> Vec<u8> {
    let photo = image::open(artefacts::photos_dir().join(name)).unwrap();
    let small = photo
        .resize(300, 400, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&small)
        .unwrap();
    jpeg
}

struct Rig {
    root: tempfile::TempDir,
    pcscd: IsolatedPcscd,
    scanner: TTYPort,
    _scanner_far_end: TTYPort,
    scanner_path: PathBuf,
    _card: Option<VirtualCard>,
    gated: Option<Gated>,
}

impl Rig {
    fn start() -> Rig {
        let root = tempfile::tempdir().unwrap();
        let pcscd = IsolatedPcscd::start(&root.path().join("pcscd"))
            .unwrap_or_else(|e| panic!("cannot start pcscd with vpcd: {e}"));
        let (scanner, far_end) = TTYPort::pair().unwrap();
        let scanner_path = PathBuf::from(far_end.name().unwrap());
        Rig {
            root,
            pcscd,
            scanner,
            _scanner_far_end: far_end,
            scanner_path,
            _card: None,
            gated: None,
        }
    }

    /// Lays a virtual ePassport on the reader.
    fn insert(&mut self, config: &DocumentConfig, pki: &Pki) {
        let document = Arc::new(Document::build(config, pki).unwrap());
        self._card = Some(VirtualCard::spawn(
            VirtualChip::new(document, Misbehaviour::default()),
            VpcdOptions {
                address: self.pcscd.vpcd_address(),
                reinsert_after: None,
                ..VpcdOptions::default()
            },
        ));
    }

    /// Starts gated trusting the CSCAs in `trust_dir`, with `frames` before the camera.
    fn start_gated(&mut self, trust_dir: &Path, frames: &str) {
        let photos = artefacts::photos_dir();
        let frame_dir = self.root.path().join("frames");
        std::fs::create_dir_all(&frame_dir).unwrap();
        for i in 0..3 {
            std::fs::copy(photos.join(frames), frame_dir.join(format!("f{i}.jpg"))).unwrap();
        }
        let models = artefacts::workspace()
            .join("models")
            .canonicalize()
            .unwrap();
        let manifest = models.join(face::engine::DEFAULT_EMBEDDER_MANIFEST);
        let threshold: f32 = std::fs::read_to_string(&manifest)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("threshold = "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let devices = format!(
            "[devices.chip_reader]\nbackend = \"pcsc\"\nreader = {:?}\ncard_wait_ms = 5000\n\n\
             [devices.chip_reader.mrz_scanner]\nport = {:?}\nbaud = 9600\n\n\
             [devices.camera]\nbackend = \"frames\"\ndir = {:?}\nfps = 25\n",
            self.pcscd.reader_name(),
            self.scanner_path.display().to_string(),
            frame_dir.display().to_string(),
        );
        let base = fast_sim_config();
        let start = base.find("[devices.chip_reader]").unwrap();
        let end = base.find("[devices.door]").unwrap();
        let config = format!(
            "{}{}\n{}\n[face]\nonnxruntime = {:?}\ndetector = {:?}\nembedder = {:?}\nattack = {:?}\nthreads = 1\nburst_frames = 3\n\n[trust]\ncsca = [{:?}]\n",
            &base[..start],
            devices,
            &base[end..]
                .replace(
                    "match_threshold = 0.36",
                    &format!("match_threshold = {threshold}"),
                )
                .replace(
                    "max_attempts = 3\ncapture_timeout_ms = 15000",
                    "max_attempts = 1\ncapture_timeout_ms = 120000",
                )
                .replace("chip_read_ms = 8000", "chip_read_ms = 60000"),
            artefacts::ort_library().display().to_string(),
            models
                .join(face::engine::DEFAULT_DETECTOR_MANIFEST)
                .display()
                .to_string(),
            manifest.display().to_string(),
            models
                .join(face::engine::DEFAULT_ATTACK_MANIFEST)
                .display()
                .to_string(),
            trust_dir.display().to_string(),
        );
        let gated = Gated::start_in_with_env(
            self.root.path(),
            &config,
            &[("PCSCLITE_CSOCK_NAME", self.pcscd.socket().as_os_str())],
        );
        gated.wait_for("the document reader and camera to come up", |s| {
            s.devices
                .iter()
                .filter(|d| d.name == "chip_reader" || d.name == "camera")
                .all(|d| d.health == Health::Up)
                && s.out_of_service_reasons.is_empty()
        });
        self.gated = Some(gated);
    }

    /// The traveller lays the passport on the scanner: it sends the MRZ lines.
    fn scan(&mut self, lines: &[String]) {
        let text = format!("\x02{}\r\n{}\r\n\x03", lines[0], lines[1]);
        self.scanner.write_all(text.as_bytes()).unwrap();
        self.scanner.flush().unwrap();
    }

    fn gated(&self) -> &Gated {
        self.gated.as_ref().unwrap()
    }

    fn last_outcome(&self) -> (String, Vec<String>, serde_json::Value) {
        let events = self.gated().outbox_events();
        let event = events
            .iter()
            .rev()
            .find(|e| e["kind"] == "transaction.outcome")
            .unwrap();
        let payload = event["payload"].clone();
        let reasons = payload["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        (
            payload["outcome"].as_str().unwrap().to_owned(),
            reasons,
            payload,
        )
    }
}

fn trust(root: &Path, name: &str, pki: &Pki) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("csca.der"), &pki.csca.certificate).unwrap();
    dir
}

#[test]
fn a_genuine_pace_passport_and_its_holder_pass_the_gate() {
    let mut rig = Rig::start();
    let pki = Pki::generate(&PkiOptions::default()).unwrap();
    let lines = mrz();
    let mut config = DocumentConfig::new(&[&lines[0], &lines[1]], chip_photo("obama.jpg"));
    config.pace = Some(PaceSuite::BrainpoolP256r1Aes128);
    rig.insert(&config, &pki);
    let trust_dir = trust(rig.root.path(), "trust", &pki);
    rig.start_gated(&trust_dir, "obama2.jpg");
    rig.scan(&lines);
    rig.gated()
        .wait_for("the traveller to pass", |s| s.counters.passed == 1);
    let (outcome, reasons, payload) = rig.last_outcome();
    assert_eq!(outcome, "passed", "{reasons:?}");
    let log = rig.gated().log_text();
    assert!(log.contains("document authentic"), "{log}");
    // No document number, name or date of birth anywhere outside the gate's memory.
    for secret in ["L898902C3", "ERIKSSON", "740812"] {
        assert!(
            !payload.to_string().contains(secret),
            "{secret} in the event"
        );
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

#[test]
fn a_tampered_chip_an_unknown_signer_and_a_wrong_key_are_refused_with_their_reasons() {
    let mut rig = Rig::start();
    let pki = Pki::generate(&PkiOptions::default()).unwrap();
    let other_pki = Pki::generate(&PkiOptions::default()).unwrap();
    let lines = mrz();
    // DG2 changed after signing: the face in the chip is not the one the state signed.
    let mut config = DocumentConfig::new(&[&lines[0], &lines[1]], chip_photo("obama.jpg"));
    config.tamper_data_group = Some(2);
    rig.insert(&config, &pki);
    let trust_dir = trust(rig.root.path(), "trust", &pki);
    rig.start_gated(&trust_dir, "obama2.jpg");
    rig.scan(&lines);
    rig.gated().wait_for("the deny", |s| s.counters.denied == 1);
    assert_eq!(rig.last_outcome().1, ["DG_HASH_MISMATCH"]);
    rig.gated().ok(gate_protocol::Request::OfficerReset);

    // A genuine-looking document signed under another CSCA of the same name (the test PKI
    // names every CSCA alike): the chain to the trusted CSCA does not verify.
    let second = mrz_with_number("X12345678");
    let config = DocumentConfig::new(&[&second[0], &second[1]], chip_photo("obama.jpg"));
    rig._card = None;
    // pcscd polls vpcd every 400 ms: a card swapped faster looks like the same card.
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    rig.insert(&config, &other_pki);
    rig.gated()
        .wait_for("the gate to be free", |s| s.state == "idle");
    rig.scan(&second);
    rig.gated()
        .wait_for("the second deny", |s| s.counters.denied == 2);
    assert_eq!(rig.last_outcome().1, ["DS_CERTIFICATE_SIGNATURE_INVALID"]);
    rig.gated().ok(gate_protocol::Request::OfficerReset);

    // The printed MRZ of another document than the chip's: the chip refuses the access key.
    rig.gated()
        .wait_for("the gate to be free", |s| s.state == "idle");
    rig.scan(&lines);
    rig.gated()
        .wait_for("the third deny", |s| s.counters.denied == 3);
    assert_eq!(
        rig.last_outcome().1,
        ["CHIP_ACCESS_DENIED"],
        "{}",
        rig.gated().log_text()
    );
}
