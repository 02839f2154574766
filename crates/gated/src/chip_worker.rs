//! The document reader of a real gate: a page scanner that delivers the MRZ over a serial line
//! and a PC/SC contactless reader for the chip, driven by one dedicated thread.
//!
//! A valid MRZ on the scanner is a document presented; when the core answers with a chip read
//! for that transaction the thread waits for the card, opens the chip with PACE (or BAC) keyed
//! by the MRZ, reads the data groups and checks what it can, then hands the result to the main
//! loop. Personal data (document number, dates, photo) stays in memory, zeroised when dropped,
//! and is never logged.

use crate::health::{DeviceRole, HealthReporter, HealthSender};
use crate::roles::{DeviceReport, DocumentReader};
use crate::worker::{Inbox, Jobs, Next, Worker, WorkerError, serve};
use devices::mrz_scanner::SerialMrzScanner;
use gate_core::{Authenticity, ChipReadTimings, Date, ReasonCode, TransactionId};
use gate_protocol::Health;
use mrtd::apdu::StatusWord;
use mrtd::authenticity::trust::{TrustStore, TrustStoreConfig};
use mrtd::authenticity::verify::{AuthenticityPolicy, authenticate_document};
use mrtd::mrz::{Mrz, MrzDate};
use mrtd::pace::{LegacyPaceGroups, PacePassword};
use mrtd::pcsc::{PcscError, PcscReader};
use mrtd::reader::{ChipReader, ReadError, ReaderOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{error, info, warn};
use zeroize::Zeroizing;

/// How long the scanner is polled before jobs are looked at again.
const SCAN_POLL: Duration = Duration::from_millis(200);
/// How long a presented document waits for the core's read command before it is dropped
/// (the core refused it: gate busy or out of service).
const READ_COMMAND_WAIT: Duration = Duration::from_secs(3);
/// How often a missing scanner or reader is retried.
const REOPEN_EVERY: Duration = Duration::from_secs(2);
/// A transaction the core never discards is forgotten after this long.
const BUSY_LIMIT: Duration = Duration::from_secs(300);

/// Settings of the document reader.
#[derive(Clone, Debug)]
pub struct ChipWorkerConfig {
    /// A substring of the PC/SC reader name.
    pub reader: String,
    /// The MRZ scanner's serial port.
    pub scanner_port: PathBuf,
    /// Its baud rate.
    pub scanner_baud: u32,
    /// How long to wait for the chip once the MRZ was read.
    pub card_wait: Duration,
    /// Whether BAC may be used when the chip offers no PACE.
    pub allow_bac: bool,
    /// Whether PACE runs on the standardised sets below 112-bit security (DH id 0, the
    /// 192-bit curves ids 8 and 9).
    pub legacy_pace_groups: LegacyPaceGroups,
    /// Where the trusted CSCAs, master lists and CRLs are; `None`: documents cannot be
    /// verified (the policy then decides whether unverified chips may pass).
    pub trust: Option<TrustStoreConfig>,
    /// Which checks are required.
    pub authenticity: AuthenticityPolicy,
}

/// What the chip said about its holder; personal fields are zeroised on drop.
pub struct ReadDocument {
    /// Document code (`P`, `ID`...).
    pub document_code: String,
    /// Issuing state.
    pub issuing_state: String,
    /// Nationality.
    pub nationality: String,
    /// Document number (for the keyed hash, and the BioCart's booth record).
    pub document_number: Zeroizing<String>,
    /// Surname as in the MRZ (BioCart booth record only).
    pub primary_identifier: Zeroizing<String>,
    /// Given names as in the MRZ (BioCart booth record only).
    pub secondary_identifier: Zeroizing<String>,
    /// Date of birth as in the MRZ, `YYMMDD` (BioCart booth record only).
    pub birth_date_mrz: Zeroizing<String>,
    /// Date of birth, when complete.
    pub birth_date: Option<Date>,
    /// Date of expiry.
    pub expiry_date: Date,
    /// The DG2 face image bytes (JPEG, JP2 or J2K).
    pub photo: Option<Zeroizing<Vec<u8>>>,
    /// What could be established about authenticity.
    pub authenticity: Authenticity,
    /// The reader itself knows the document is refused: the simulator's denylisted document.
    /// A real reader never sets it; the gate's down-synced denylist decides.
    pub simulated_denylist_hit: bool,
}

impl std::fmt::Debug for ReadDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadDocument")
            .field("document_code", &self.document_code)
            .field("issuing_state", &self.issuing_state)
            .field("authenticity", &self.authenticity)
            .finish_non_exhaustive()
    }
}

enum ChipJob {
    Read { transaction_id: TransactionId },
    ReloadTrust,
    Discard { transaction_id: TransactionId },
}

/// The document reader of a real gate: its worker thread's handle.
#[derive(Debug)]
pub struct PcscDocumentReader {
    jobs: Jobs<ChipJob>,
}

impl std::fmt::Debug for ChipJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChipJob::Read { transaction_id } => write!(f, "Read({transaction_id})"),
            ChipJob::ReloadTrust => f.write_str("ReloadTrust"),
            ChipJob::Discard { transaction_id } => write!(f, "Discard({transaction_id})"),
        }
    }
}

impl PcscDocumentReader {
    /// Starts the thread; it opens the scanner and the reader (retrying while they are
    /// missing) and reports their health.
    pub fn start(
        config: ChipWorkerConfig,
        reports: mpsc::Sender<DeviceReport>,
        health: HealthSender,
    ) -> Result<(Self, Worker), WorkerError> {
        let (jobs, worker) = serve("chip", move |inbox| {
            let trust = config.trust.as_ref().and_then(load_trust);
            let mut worker = ChipThread {
                trust,
                config,
                reports,
                health: HealthReporter::new(DeviceRole::ChipReader, health),
                scanner: None,
                reader: None,
                next_open: Instant::now(),
                state: State::Idle,
                pending: None,
            };
            worker.run(&inbox);
        })?;
        Ok((Self { jobs }, worker))
    }
}

impl DocumentReader for PcscDocumentReader {
    fn read(&self, transaction_id: TransactionId) {
        self.jobs.send(ChipJob::Read { transaction_id });
    }

    /// Loads the trust store again from its files (SIGHUP); a store that fails to load leaves
    /// the previous one in force.
    fn reload_trust(&self) {
        self.jobs.send(ChipJob::ReloadTrust);
    }

    /// The transaction is over (or was refused): forget its MRZ, take the next document.
    fn discard(&self, transaction_id: TransactionId) {
        self.jobs.send(ChipJob::Discard { transaction_id });
    }
}

enum State {
    Idle,
    Presented {
        transaction_id: TransactionId,
        mrz: Box<Mrz>,
        since: Instant,
    },
    Busy {
        transaction_id: TransactionId,
        since: Instant,
        mrz: Box<Mrz>,
    },
}

/// A document laid on the scanner while the previous traveller's transaction was ending is
/// served next if it is this recent when the gate becomes free.
const PENDING_DOCUMENT_MAX_AGE: Duration = Duration::from_secs(3);

struct ChipThread {
    config: ChipWorkerConfig,
    trust: Option<TrustStore>,
    reports: mpsc::Sender<DeviceReport>,
    health: HealthReporter,
    scanner: Option<SerialMrzScanner>,
    reader: Option<PcscReader>,
    next_open: Instant,
    state: State,
    pending: Option<(Box<Mrz>, Instant)>,
}

impl ChipThread {
    fn run(&mut self, jobs: &Inbox<ChipJob>) {
        loop {
            // Jobs first: they are short and the core waits on them.
            loop {
                match jobs.try_next() {
                    Next::Stop => return,
                    Next::Job(job) => self.job(job),
                    Next::Idle => break,
                }
            }
            self.ensure_open();
            match &self.state {
                State::Idle => self.scan(),
                State::Presented { since, .. } if since.elapsed() > READ_COMMAND_WAIT => {
                    // The core did not start a transaction for this document.
                    self.state = State::Idle;
                }
                State::Busy { since, .. } if since.elapsed() > BUSY_LIMIT => {
                    self.state = State::Idle;
                }
                State::Presented { .. } | State::Busy { .. } => {
                    // Keep draining the scanner so a document left on the glass does not start
                    // a second transaction later.
                    self.drain_scanner();
                }
            }
        }
    }

    fn job(&mut self, job: ChipJob) {
        match job {
            ChipJob::Read { transaction_id } => {
                let mrz = match std::mem::replace(&mut self.state, State::Idle) {
                    State::Presented {
                        transaction_id: presented,
                        mrz,
                        ..
                    } if presented == transaction_id => mrz,
                    // The core reads again after a read the traveller can fix failed: the
                    // traveller lays the passport down again. A page the scanner read since
                    // is used (a misread MRZ), else the same one; the read waits for the card.
                    State::Busy {
                        transaction_id: busy,
                        mrz,
                        ..
                    } if busy == transaction_id => {
                        info!("reading the chip again: the passport was laid down again");
                        self.pending.take().map_or(mrz, |(fresh, _)| fresh)
                    }
                    other => {
                        self.state = other;
                        self.send(DeviceReport::DocumentRead {
                            transaction_id,
                            result: Err(ReasonCode::ChipReadFailed),
                            timings: ChipReadTimings::default(),
                        });
                        return;
                    }
                };
                let started = Instant::now();
                let mut timings = ChipReadTimings::default();
                let result = self.read_chip(&mrz, &mut timings).map(Box::new);
                // A read that failed took until now.
                timings
                    .read_ms
                    .get_or_insert_with(|| millis(started.elapsed()));
                self.state = State::Busy {
                    transaction_id,
                    since: Instant::now(),
                    mrz,
                };
                self.send(DeviceReport::DocumentRead {
                    transaction_id,
                    result,
                    timings,
                });
            }
            ChipJob::Discard { transaction_id } => {
                let current = match &self.state {
                    State::Presented { transaction_id, .. }
                    | State::Busy { transaction_id, .. } => Some(*transaction_id),
                    State::Idle => None,
                };
                if current == Some(transaction_id) {
                    self.state = State::Idle;
                    if let Some((mrz, at)) = self.pending.take()
                        && at.elapsed() <= PENDING_DOCUMENT_MAX_AGE
                    {
                        self.present(mrz);
                    }
                }
            }
            ChipJob::ReloadTrust => {
                if let Some(store) = self.config.trust.as_ref().and_then(load_trust) {
                    self.trust = Some(store);
                }
            }
        }
    }

    fn send(&self, report: DeviceReport) {
        let _ = self.reports.blocking_send(report);
    }

    /// Opens whatever is missing, at most every [`REOPEN_EVERY`], and reports health.
    fn ensure_open(&mut self) {
        if self.scanner.is_some() && self.reader.is_some() {
            return;
        }
        if Instant::now() < self.next_open {
            std::thread::sleep(SCAN_POLL);
            return;
        }
        self.next_open = Instant::now() + REOPEN_EVERY;
        let mut problems = Vec::new();
        if self.scanner.is_none() {
            match SerialMrzScanner::open(&self.config.scanner_port, self.config.scanner_baud) {
                Ok(scanner) => self.scanner = Some(scanner),
                Err(err) => problems.push(err.to_string()),
            }
        }
        if self.reader.is_none() {
            match PcscReader::open(&self.config.reader) {
                Ok(reader) => self.reader = Some(reader),
                Err(err) => problems.push(format!("chip reader: {err}")),
            }
        }
        if problems.is_empty() {
            let name = self.reader.as_ref().map(|r| r.name().to_owned());
            self.health.report(
                Health::Up,
                format!(
                    "MRZ scanner {} + PC/SC reader {:?}",
                    self.config.scanner_port.display(),
                    name.unwrap_or_default()
                ),
            );
        } else {
            self.health.report(Health::Down, problems.join("; "));
        }
    }

    fn scan(&mut self) {
        let Some(scanner) = &mut self.scanner else {
            return;
        };
        match scanner.next_candidate(SCAN_POLL) {
            Ok(None) => {}
            Ok(Some(lines)) => match Mrz::parse(&lines) {
                Ok(mrz) => self.present(Box::new(mrz)),
                // The error names the field and position, never the characters.
                Err(err) => {
                    warn!(kind = err.kind(), field = ?err.field().map(|f| f.key()), "MRZ rejected")
                }
            },
            Err(err) => {
                warn!(error = %err, "MRZ scanner lost");
                self.scanner = None;
                self.health.report(Health::Down, err.to_string());
            }
        }
    }

    /// Starts a new transaction for a document with a valid MRZ.
    fn present(&mut self, mrz: Box<Mrz>) {
        let transaction_id = TransactionId(rand::random());
        info!(format = mrz.format.name(), "document presented");
        self.state = State::Presented {
            transaction_id,
            mrz,
            since: Instant::now(),
        };
        self.send(DeviceReport::DocumentPresented { transaction_id });
    }

    /// Reads the scanner while a transaction is in progress: the same document again is
    /// ignored (still on the glass); another document waits for the gate to be free.
    fn drain_scanner(&mut self) {
        let Some(scanner) = &mut self.scanner else {
            std::thread::sleep(SCAN_POLL);
            return;
        };
        let drained = scanner.next_candidate(SCAN_POLL);
        if let Ok(Some(lines)) = &drained
            && let Ok(mrz) = Mrz::parse(lines)
        {
            let same = matches!(&self.state, State::Busy { mrz: current, .. } if **current == mrz);
            if !same {
                info!("next document waiting for the gate to be free");
                self.pending = Some((Box::new(mrz), Instant::now()));
            }
        }
        if let Err(err) = drained {
            warn!(error = %err, "MRZ scanner lost");
            self.scanner = None;
            self.health.report(Health::Down, err.to_string());
        }
    }

    /// Reads and checks the chip; `timings` gets the read's time (card wait, access, data
    /// groups) and the authenticity checks' time as each finishes.
    fn read_chip(
        &mut self,
        mrz: &Mrz,
        timings: &mut ChipReadTimings,
    ) -> Result<ReadDocument, ReasonCode> {
        let started = Instant::now();
        let password = PacePassword::Mrz(mrz.mrz_information().clone());
        // A passport moved on the reader mid-read (the card leaves the field and comes back)
        // is read once more from the start, within the same time limit.
        let mut attempts_left = 2;
        let (mut chip, document) = loop {
            attempts_left -= 1;
            let card = self.wait_for_card(started)?;
            let options = ReaderOptions {
                allow_bac: self.config.allow_bac,
                legacy_pace_groups: self.config.legacy_pace_groups,
                extended_length: card.supports_extended_length(),
                ..ReaderOptions::default()
            };
            let mut chip = ChipReader::new(card, options);
            match chip.read_document(&password) {
                Ok(document) => break (chip, document),
                Err(err) if err.is_card_removed() && attempts_left > 0 => {
                    warn!(error = %err, "card left the field mid-read: reading again");
                }
                Err(err) => {
                    warn!(error = %err, "chip read failed");
                    return Err(read_error_reason(&err));
                }
            }
        };
        timings.read_ms = Some(millis(started.elapsed()));
        let dg1 = document.dg1().map_err(|err| {
            warn!(error = %err, "DG1 malformed");
            ReasonCode::DocumentMalformed
        })?;
        let photo = document
            .dg2()
            .ok()
            .and_then(|dg2| dg2.faces.into_iter().next())
            .map(|face| Zeroizing::new(face.data));
        let checking = Instant::now();
        let authenticity = match &self.trust {
            Some(trust) => {
                match authenticate_document(
                    &mut chip,
                    &document,
                    Some(mrz),
                    trust,
                    &self.config.authenticity,
                    unix_seconds(),
                ) {
                    Ok(report) => {
                        info!(
                            country = %report.passive.country,
                            scheme = %report.passive.signature_scheme,
                            crl = report.passive.crl_checked,
                            clone_check = report.chip_authentication.is_some()
                                || report.active_authentication.is_some(),
                            "document authentic"
                        );
                        Authenticity::Verified
                    }
                    Err(err) => {
                        warn!(error = %err, reason = err.reason_code(), "document not authentic");
                        Authenticity::Failed {
                            reason: ReasonCode::parse(err.reason_code())
                                .unwrap_or(ReasonCode::DocumentNotAuthentic),
                        }
                    }
                }
            }
            None => check_consistency(mrz, &dg1.mrz, &document),
        };
        timings.authenticity_ms = Some(millis(checking.elapsed()));
        info!(
            access = ?document.access,
            apdus = chip.apdu_count(),
            ms = started.elapsed().as_millis() as u64,
            photo = photo.is_some(),
            "chip read"
        );
        let year = current_year();
        let chip_mrz = dg1.mrz;
        let Some(expiry_date) = full_date(
            &chip_mrz.expiry_date,
            chip_mrz.expiry_date.expiry_year(year),
        ) else {
            return Err(ReasonCode::DocumentMalformed);
        };
        Ok(ReadDocument {
            document_code: chip_mrz.document_code.clone(),
            issuing_state: chip_mrz.issuing_state.clone(),
            nationality: chip_mrz.nationality.clone(),
            document_number: Zeroizing::new(chip_mrz.document_number.as_str().to_owned()),
            primary_identifier: Zeroizing::new(chip_mrz.primary_identifier.clone()),
            secondary_identifier: Zeroizing::new(chip_mrz.secondary_identifier.clone()),
            birth_date_mrz: Zeroizing::new(
                String::from_utf8_lossy(chip_mrz.birth_date.as_mrz()).into_owned(),
            ),
            birth_date: full_date(&chip_mrz.birth_date, chip_mrz.birth_date.birth_year(year)),
            expiry_date,
            photo,
            authenticity,
            simulated_denylist_hit: false,
        })
    }

    /// Waits for a card until `card_wait` after `started`.
    fn wait_for_card(&mut self, started: Instant) -> Result<mrtd::pcsc::PcscCard, ReasonCode> {
        let Some(reader) = &self.reader else {
            return Err(ReasonCode::ChipReaderUnavailable);
        };
        let left = self.config.card_wait.saturating_sub(started.elapsed());
        match reader.wait_for_card(left.max(Duration::from_millis(100))) {
            Ok(card) => Ok(card),
            Err(err) => {
                warn!(error = %err, "no chip");
                if matches!(
                    err,
                    PcscError::Service(_) | PcscError::ReaderUnavailable { .. }
                ) {
                    self.reader = None;
                    self.health
                        .report(Health::Down, format!("chip reader: {err}"));
                    return Err(ReasonCode::ChipReaderUnavailable);
                }
                Err(match err {
                    PcscError::NoCard { .. } => ReasonCode::ChipReadTimeout,
                    _ => ReasonCode::ChipReadFailed,
                })
            }
        }
    }
}

/// What the gate can establish without the issuing state's certificates: the chip's DG1 is
/// the printed MRZ, and every data group read hashes to the value in the SOD.
fn check_consistency(
    printed: &Mrz,
    chip: &Mrz,
    document: &mrtd::reader::ChipDocument,
) -> Authenticity {
    if printed != chip {
        warn!("chip DG1 differs from the printed MRZ");
        return Authenticity::Failed {
            reason: ReasonCode::Dg1MrzMismatch,
        };
    }
    match document.check_hashes() {
        Ok(results) if results.iter().all(|(_, ok)| *ok != Some(false)) => Authenticity::NotChecked,
        Ok(_) => {
            warn!("a data group does not match its hash in the SOD");
            Authenticity::Failed {
                reason: ReasonCode::DgHashMismatch,
            }
        }
        Err(err) => {
            warn!(error = %err, "SOD unreadable");
            Authenticity::Failed {
                reason: ReasonCode::SodMalformed,
            }
        }
    }
}

/// The stable reason for a failed read.
fn read_error_reason(err: &ReadError) -> ReasonCode {
    match err {
        ReadError::Bac(_) | ReadError::Pace(_) | ReadError::NoAccessProtocol(_) => {
            ReasonCode::ChipAccessDenied
        }
        // The chip refused the access key (wrong or misread MRZ) or the session.
        ReadError::Status { sw, .. }
            if matches!(
                *sw,
                StatusWord::AUTHENTICATION_FAILED | StatusWord::SECURITY_STATUS_NOT_SATISFIED
            ) =>
        {
            ReasonCode::ChipAccessDenied
        }
        ReadError::Lds(_)
        | ReadError::FileTruncated { .. }
        | ReadError::FileHeader { .. }
        | ReadError::FileTooLarge { .. }
        | ReadError::MissingFile(_) => ReasonCode::DocumentMalformed,
        _ => ReasonCode::ChipReadFailed,
    }
}

/// Loads the trust store; a failure is logged and leaves the caller's store as it was.
fn load_trust(config: &TrustStoreConfig) -> Option<TrustStore> {
    match TrustStore::load(config, unix_seconds()) {
        Ok(store) => {
            info!("trust store loaded");
            Some(store)
        }
        Err(err) => {
            error!(error = %err, "trust store failed to load: documents cannot be verified");
            None
        }
    }
}

fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

fn unix_seconds() -> i64 {
    crate::unix_ms() / 1_000
}

fn full_date(date: &MrzDate, year: Option<u16>) -> Option<Date> {
    Date::new(i32::from(year?), date.month?, date.day?).ok()
}

fn current_year() -> u16 {
    let days = unix_seconds().div_euclid(86_400);
    u16::try_from(Date::from_days_since_epoch(days).year).unwrap_or(2000)
}
