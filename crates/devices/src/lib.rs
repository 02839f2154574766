//! Gate hardware behind narrow traits: camera, turnstile GPIO, fingerprint module; real and simulated backends.

pub mod fingerprint;
