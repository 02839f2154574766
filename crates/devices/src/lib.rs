//! Gate hardware behind narrow traits: camera, turnstile GPIO, fingerprint module; real and simulated backends.

pub mod camera;
pub mod fingerprint;
pub mod mrz_scanner;
pub mod turnstile;
