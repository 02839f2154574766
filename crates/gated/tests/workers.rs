//! The daemon in process: when it returns, every thread it started (door, devices, the outbox
//! writer, the sync thread) has been stopped and joined, also a sync thread stuck in a request
//! to a central that never answers.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

/// The names of this process's threads.
fn thread_names() -> BTreeSet<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}

#[test]
fn every_worker_thread_is_joined_when_the_daemon_returns() {
    let dir = tempfile::tempdir().unwrap();
    // A central that accepts connections and never answers: the sync thread waits in its
    // request when the daemon stops.
    let hung_central = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", hung_central.local_addr().unwrap());
    let mut config = support::fast_sim_config();
    config.central = Some(support::central_section(&url, 20, 3600));
    let paths = gated::daemon::Paths {
        socket: dir.path().join("control.sock"),
        state_dir: dir.path().join("state"),
    };
    let socket = paths.socket.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = runtime.spawn(gated::daemon::run(config, paths, async {
        let _ = stopped.await;
    }));
    while !socket.exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Give the sync thread time to connect to the hung central.
    std::thread::sleep(Duration::from_millis(500));
    let (_connection, _) = hung_central.accept().unwrap();
    assert!(thread_names().contains("sync"), "{:?}", thread_names());
    stop.send(()).unwrap();
    runtime.block_on(daemon).unwrap().unwrap();
    let left: Vec<String> = thread_names()
        .into_iter()
        .filter(|name| {
            [
                "sync",
                "door",
                "chip",
                "face",
                "fingerprint",
                "outbox",
                "simulator",
            ]
            .contains(&name.as_str())
        })
        .collect();
    assert!(left.is_empty(), "threads still running: {left:?}");
}
