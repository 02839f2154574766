//! A small harness shared by the scenario and property tests: a gate, a clock, and the
//! commands it emitted.
#![allow(dead_code, missing_docs)]

use gate_core::examples::{example_policy, specimen_facts};
use gate_core::{
    Authenticity, ChipReadResult, Command, DocumentHash, Event, Gate, GateProfile, Now,
    OutcomeRecord, Policy, TransactionId,
};

pub struct Harness {
    pub gate: Gate,
    pub now: Now,
    pub log: Vec<Command>,
}

impl Harness {
    pub fn new(profile: GateProfile) -> Self {
        Self::with_policy(profile, example_policy())
    }

    pub fn with_policy(profile: GateProfile, policy: Policy) -> Self {
        let gate = Gate::new(profile, policy);
        let log = gate.start();
        // 2026-11-26T03:00:00Z
        let now = Now::new(1_000, 1_795_662_000_000);
        Self { gate, now, log }
    }

    pub fn send(&mut self, event: Event) -> Vec<Command> {
        let out = self.gate.handle(self.now, event);
        self.log.extend(out.iter().cloned());
        out
    }

    pub fn advance(&mut self, ms: u64) -> Vec<Command> {
        self.now = self.now.after_ms(ms);
        self.send(Event::Tick)
    }

    pub fn present(&mut self, id: u128) -> Vec<Command> {
        self.send(Event::DocumentPresented {
            transaction_id: TransactionId(id),
        })
    }

    pub fn chip_ok(&mut self, id: u128) -> Vec<Command> {
        self.send(Event::ChipRead {
            transaction_id: TransactionId(id),
            result: good_read(),
            timings: Default::default(),
        })
    }

    pub fn records(&self) -> Vec<&OutcomeRecord> {
        self.log
            .iter()
            .filter_map(|c| match c {
                Command::RecordOutcome { record } => Some(record),
                _ => None,
            })
            .collect()
    }

    pub fn unlocked(&self) -> bool {
        self.log
            .iter()
            .any(|c| matches!(c, Command::UnlockDoor { .. }))
    }
}

pub fn good_read() -> ChipReadResult {
    ChipReadResult::Read {
        facts: specimen_facts(DocumentHash([0x42; 32])),
        authenticity: Authenticity::Verified,
        denylisted: false,
    }
}

pub fn has(commands: &[Command], wanted: &Command) -> bool {
    commands.contains(wanted)
}
