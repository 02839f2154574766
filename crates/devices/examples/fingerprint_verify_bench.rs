//! Bench: capture-to-decision time of a 1:1 fingerprint verification over the simulated
//! 57600 baud link.
//!
//! Each iteration runs what the fingerprint gate does per traveller once the enrolment template
//! is on the host: GenImg, Img2Tz into buffer 1, DownChar of the enrolled template into
//! buffer 2, Match. The module SIMULATOR paces its pty to 57600 baud (10 bits per byte) and
//! adds no processing time of its own unless `--module-delay-ms` says so, so the figures are
//! link time + driver overhead; a real module adds its image capture and matching time.
//!
//! ```text
//! cargo run --release -p devices --example fingerprint_verify_bench -- [--iterations N] [--module-delay-ms MS] [--no-pacing]
//! ```
#![allow(clippy::print_stdout)]

#[cfg(feature = "serial")]
mod bench {
    use std::time::{Duration, Instant};

    use devices::fingerprint::r30x::{
        CharBuffer, R30xConfig, ReconnectPolicy, SerialR30x, SerialSettings,
    };
    use devices::fingerprint::simulator::{ModuleSimulator, SimulatedFinger, SimulatorOptions};
    use devices::fingerprint::{FingerprintSensor, TemplateSlot};

    pub fn run() -> Result<(), Box<dyn std::error::Error>> {
        let mut iterations = 20usize;
        let mut module_delay = Duration::ZERO;
        let mut pacing = true;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--iterations" => iterations = args.next().ok_or("--iterations N")?.parse()?,
                "--module-delay-ms" => {
                    module_delay =
                        Duration::from_millis(args.next().ok_or("--module-delay-ms MS")?.parse()?);
                }
                "--no-pacing" => pacing = false,
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        let simulator = ModuleSimulator::start(SimulatorOptions {
            pace_to_baud_rate: pacing,
            processing_delay: module_delay,
            ..SimulatorOptions::default()
        })?;
        let finger = SimulatedFinger::good(4242);
        simulator.with_module(|module| module.enroll_synthetic(0, finger));
        let mut sensor = SerialR30x::open(
            SerialSettings::new(simulator.port_path()),
            R30xConfig::default(),
            ReconnectPolicy::default(),
        )?;
        // The enrolment template as the gate would hold it (synced from central).
        sensor.load_template(0, TemplateSlot::First)?;
        let enrolled = sensor.upload_template(TemplateSlot::First)?;
        simulator.place_finger(finger);

        let mut totals = Vec::with_capacity(iterations);
        let mut steps = [Duration::ZERO; 4];
        for _ in 0..iterations {
            let start = Instant::now();
            let mut mark = start;
            let mut lap = |index: usize| {
                let now = Instant::now();
                steps[index] += now - mark;
                mark = now;
            };
            sensor.with_driver(|d| d.gen_img())?;
            lap(0);
            sensor.with_driver(|d| d.img_2_tz(CharBuffer::One))?;
            lap(1);
            sensor.with_driver(|d| d.down_char(CharBuffer::Two, enrolled.as_bytes()))?;
            lap(2);
            let outcome = sensor.with_driver(|d| d.match_buffers())?;
            lap(3);
            totals.push(start.elapsed());
            if !outcome.matched {
                return Err("enrolled finger did not match".into());
            }
        }
        totals.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let percentile = |p: f64| totals[((totals.len() - 1) as f64 * p).round() as usize];
        println!(
            "1:1 verification, capture to decision, {} iterations, link: {}, module delay {} ms",
            iterations,
            if pacing {
                "pty paced to 57600 baud"
            } else {
                "unpaced pty"
            },
            module_delay.as_millis()
        );
        println!(
            "total ms: min {:.1} median {:.1} p95 {:.1} max {:.1}",
            ms(totals[0]),
            ms(percentile(0.5)),
            ms(percentile(0.95)),
            ms(totals[totals.len() - 1])
        );
        let n = iterations as f64;
        println!(
            "mean per step ms: GenImg {:.1}, Img2Tz {:.1}, DownChar(512 B) {:.1}, Match {:.1}",
            ms(steps[0]) / n,
            ms(steps[1]) / n,
            ms(steps[2]) / n,
            ms(steps[3]) / n
        );
        println!(
            "(DownChar returns once its 4 data packets are written; their ~97 ms on the paced wire show up under Match)"
        );
        Ok(())
    }
}

#[cfg(feature = "serial")]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    bench::run()
}

#[cfg(not(feature = "serial"))]
fn main() {
    eprintln!("fingerprint_verify_bench needs the `serial` feature (pty simulator)");
    std::process::exit(2);
}
