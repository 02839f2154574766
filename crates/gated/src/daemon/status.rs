//! `gatectl status`: answered from what the loop holds and what the workers published,
//! without waiting on any of them.

use super::Daemon;
use crate::store::OutboxView;
use gate_protocol::{DeviceStatus, DoorLines, Health, StatusReport};

fn backend_name<T: serde::Serialize>(device: &T) -> String {
    serde_json::to_value(device)
        .ok()
        .and_then(|v| v.get("backend").and_then(|b| b.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

impl Daemon {
    /// Each configured device, then the outbox, with its health and what a technician should
    /// know: what `gatectl status` and the metrics show.
    pub(super) fn device_healths(&self, view: &OutboxView) -> Vec<(&'static str, Health, String)> {
        let d = &self.config.devices;
        let mut devices: Vec<(&'static str, Health, String)> = [
            ("chip_reader", d.chip_reader.is_some()),
            ("camera", d.camera.is_some()),
            ("door", d.door.is_some()),
            ("fingerprint", d.fingerprint.is_some()),
        ]
        .into_iter()
        .filter(|(_, configured)| *configured)
        .map(|(name, _)| {
            let reported = self
                .device_health
                .iter()
                .find(|(role, _)| role.name() == name)
                .map(|(_, (health, detail))| (*health, detail.clone()));
            let fault = (name == "door").then(|| self.door_fault.clone()).flatten();
            let (health, detail) = match (fault, reported) {
                (Some(fault), _) => (Health::Down, fault),
                (None, Some(reported)) => reported,
                (None, None) => (Health::Up, "simulator".into()),
            };
            (name, health, detail)
        })
        .collect();
        let (health, detail) = match (&view.error, &self.outbox_problem) {
            (None, None) => (
                if self.unrecorded.is_empty() {
                    Health::Up
                } else {
                    Health::Degraded
                },
                format!("{} pending, {} bytes", view.pending, view.used_bytes),
            ),
            (None, Some(problem)) => (Health::Degraded, format!("safe mode: {problem}")),
            (Some(err), _) => (Health::Down, err.clone()),
        };
        devices.push(("outbox", health, detail));
        devices
    }

    pub(super) fn status(&self) -> StatusReport {
        let snapshot = self.gate.snapshot();
        let door = self.door.state();
        let (outputs, inputs) = door.lines(self.door.fitted());
        let d = &self.config.devices;
        let view = self.store.view();
        let devices: Vec<DeviceStatus> = self
            .device_healths(&view)
            .into_iter()
            .map(|(name, health, detail)| DeviceStatus {
                name: name.into(),
                backend: match name {
                    "chip_reader" => d.chip_reader.as_ref().map(backend_name),
                    "camera" => d.camera.as_ref().map(backend_name),
                    "door" => d.door.as_ref().map(backend_name),
                    "fingerprint" => d.fingerprint.as_ref().map(backend_name),
                    _ => Some("sqlite".to_owned()),
                }
                .unwrap_or_default(),
                health,
                detail,
            })
            .collect();
        StatusReport {
            gate_id: self.config.gate.id.clone(),
            profile: self.config.gate.profile,
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_s: self.clock.monotonic_ms() / 1_000,
            state: snapshot.state,
            transaction_id: snapshot.transaction_id,
            conditions: snapshot.conditions,
            out_of_service_reasons: snapshot.out_of_service_reasons,
            door_unlocked: door.lock_released(),
            lights: self.lights,
            display: self.display,
            devices,
            counters: snapshot.counters,
            last_outcome: self.last_outcome.clone(),
            outbox_pending: view.pending,
            door: DoorLines { outputs, inputs },
        }
    }
}
