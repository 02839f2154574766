//! The `virtual-epassport` binary: writes the test certificates, connects to vpcd (played
//! here by a TCP listener) and answers the ATR request and APDUs in vpcd framing.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

fn read_frame(stream: &mut std::net::TcpStream) -> Vec<u8> {
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).unwrap();
    let mut payload = vec![0; usize::from(u16::from_be_bytes(header))];
    stream.read_exact(&mut payload).unwrap();
    payload
}

#[test]
fn binary_serves_the_card_and_writes_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let face = dir.path().join("face.jpg");
    std::fs::write(
        &face,
        [
            0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01, 0x01, 0x11,
            0x00, 0xFF, 0xD9,
        ],
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let certs = dir.path().join("certs");
    let _child = Kill(
        Command::new(env!("CARGO_BIN_EXE_virtual-epassport"))
            .args(["--vpcd", &address, "--can", "123456", "--pace", "secp256"])
            .arg("--face")
            .arg(&face)
            .arg("--cert-dir")
            .arg(&certs)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (mut vpcd, _) = listener.accept().unwrap();
    vpcd.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for name in ["csca.der", "csca.pem", "ds.der", "ds.pem"] {
        assert!(certs.join(name).is_file(), "{name}");
    }
    vpcd.write_all(&frame(&[0x01])).unwrap();
    vpcd.write_all(&frame(&[0x04])).unwrap();
    let atr = read_frame(&mut vpcd);
    assert!(
        mrtd::reader::atr_supports_extended_length(&atr),
        "{atr:02X?}"
    );
    // READ BINARY EF.CardAccess (SFI 1C): the secp256r1 PACEInfo (parameter id 12).
    vpcd.write_all(&frame(&[0x00, 0xB0, 0x9C, 0x00, 0x00]))
        .unwrap();
    let response = read_frame(&mut vpcd);
    assert_eq!(response[response.len() - 2..], [0x90, 0x00]);
    let infos = mrtd::security_info::parse_security_infos(&response[..response.len() - 2]).unwrap();
    assert_eq!(
        mrtd::security_info::pace_infos(&infos)[0].parameter_id,
        Some(12)
    );
}

#[test]
fn binary_refuses_a_bad_face_image() {
    let dir = tempfile::tempdir().unwrap();
    let face = dir.path().join("face.gif");
    std::fs::write(&face, b"GIF89a not a passport photo").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_virtual-epassport"))
        .arg("--face")
        .arg(&face)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("face image"), "{stderr}");
}
