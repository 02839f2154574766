//! Operator authentication: argon2id password hashes, session tokens, login throttling, CSRF
//! tokens and the same-origin check of state-changing requests.
//!
//! * Passwords are hashed with argon2id, m = 19 MiB, t = 2, p = 1 (the first of OWASP's
//!   recommended argon2id configurations, Password Storage Cheat Sheet), a random 128-bit salt,
//!   stored as a PHC string. A login for an unknown account still runs one verification, so
//!   its answer takes as long as a wrong password's.
//! * A session is a random 256-bit token in a cookie; central stores only its SHA-256. It ends
//!   after [`SESSION_IDLE_MS`] without a request, [`SESSION_ABSOLUTE_MS`] after login, at
//!   logout, and when its account's password or role changes or the account is disabled.
//! * The CSRF token of a session is SHA-256 over a fixed label and the session token: the
//!   server recomputes it from the cookie, so it needs no storage, and a copy of the database
//!   yields neither.
//! * Failed logins are counted from the audit trail (so replicas share the count): more than
//!   [`MAX_FAILURES_PER_ACCOUNT`] for one account or [`MAX_FAILURES_PER_ADDRESS`] from one
//!   address within [`LOGIN_WINDOW_MS`] and further attempts are refused unchecked.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::store::{
    AUDIT_LOGIN, AUDIT_LOGIN_FAILED, AUDIT_LOGIN_THROTTLED, AUDIT_LOGOUT, Account, AuditEntry,
    ConsoleStore, SessionRecord,
};
use crate::storage::StorageError;

/// A session ends this long after its last request.
pub const SESSION_IDLE_MS: i64 = 30 * 60 * 1000;
/// A session ends this long after its login, however busy.
pub const SESSION_ABSOLUTE_MS: i64 = 12 * 60 * 60 * 1000;
/// The window failed logins are counted in.
pub const LOGIN_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failed logins for one account within [`LOGIN_WINDOW_MS`] after which its logins are refused.
pub const MAX_FAILURES_PER_ACCOUNT: u64 = 5;
/// Failed logins from one address within [`LOGIN_WINDOW_MS`] after which its logins are
/// refused.
pub const MAX_FAILURES_PER_ADDRESS: u64 = 20;
/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password, in bytes (argon2 takes any length; this bounds the work).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "central_console";
/// Password hashes computed at once (each takes 19 MiB); further logins wait their turn, so a
/// flood of logins cannot exhaust memory.
pub const MAX_CONCURRENT_HASHES: usize = 4;

/// The permits of [`MAX_CONCURRENT_HASHES`]: take one before a blocking password check.
pub static HASHING: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(MAX_CONCURRENT_HASHES);

/// A session's last-seen time is written at most this often.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// argon2id m = 19 MiB, t = 2, p = 1 (OWASP).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a password was not accepted or could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} bytes")]
    Length,
    /// The hasher failed.
    #[error("hashing the password: {0}")]
    Hash(String),
}

/// Hashes `password` with argon2id and a fresh random salt; the PHC string.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::Length);
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (with the parameters the hash names).
pub fn verify_password(hash: &str, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(hash)
        .map(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash no password matches, verified against for unknown accounts so they answer as slowly
/// as known ones.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0u8; 32];
        rand::rng().fill_bytes(&mut random);
        hash_password(&hex::encode(random)).unwrap_or_default()
    })
}

/// Account names: 1..=64 of `a-z A-Z 0-9 - _ .`.
pub fn valid_account_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A session token: 32 random bytes, 64 hex digits in the cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(redacted)")
    }
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part);
    }
    hex::encode(digest.finalize())
}

impl SessionToken {
    /// A fresh random token.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    /// A token as the cookie carries it (64 lowercase hex digits), or `None`.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(text.to_owned()))
    }

    /// The cookie value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the database keeps: SHA-256 of the token, hex.
    pub fn storage_hash(&self) -> String {
        sha256_hex(&[self.0.as_bytes()])
    }

    /// The session's CSRF token (forms carry it in a hidden `csrf` field).
    pub fn csrf_token(&self) -> String {
        sha256_hex(&[b"gate-central console csrf\0", self.0.as_bytes()])
    }

    /// Whether `offered` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, offered: &str) -> bool {
        let expected = self.csrf_token();
        expected.len() == offered.len() && bool::from(expected.as_bytes().ct_eq(offered.as_bytes()))
    }
}

/// The `Set-Cookie` value that starts a session (`Secure` when served over TLS).
pub fn session_cookie(token: &SessionToken, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
        token.as_str(),
        SESSION_ABSOLUTE_MS / 1000,
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The session token in a `Cookie` header, if any.
pub fn token_from_cookies(header: &str) -> Option<SessionToken> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE)
            .then(|| SessionToken::parse(value))
            .flatten()
    })
}

/// Whether a state-changing request comes from a page of this server. In order:
/// * an `Origin` (other than `null`) must be `http(s)://HOST` with the request's `Host` and
///   the scheme central serves;
/// * else (browsers send `Origin: null` for a form posted from a page whose referrer policy
///   is `no-referrer`, as the console's pages are) `Sec-Fetch-Site` must be `same-origin`
///   (a header pages cannot set);
/// * else a `Referer` must be of this server, as for `Origin`.
///
/// A request with none of them is refused.
pub fn same_origin(
    origin: Option<&str>,
    fetch_site: Option<&str>,
    referer: Option<&str>,
    host: &str,
    tls: bool,
) -> bool {
    let of_this_server = |source: &str| {
        let scheme = if tls { "https://" } else { "http://" };
        source.strip_prefix(scheme).is_some_and(|rest| {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && authority.eq_ignore_ascii_case(host)
        })
    };
    match (origin.filter(|o| *o != "null"), fetch_site, referer) {
        (Some(origin), _, _) => of_this_server(origin),
        (None, Some(site), _) => site == "same-origin",
        (None, None, Some(referer)) => of_this_server(referer),
        (None, None, None) => false,
    }
}

/// What a login attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Logged in: the account, and the new session's token for the cookie.
    LoggedIn(Account, SessionToken),
    /// Unknown account, wrong password or disabled account (one answer for all three).
    Refused,
    /// Too many recent failures for the account or from the address: not checked.
    Throttled,
}

fn audit(now_ms: i64, actor: &str, address: &str, action: &str, detail: &str) -> AuditEntry {
    AuditEntry {
        at_ms: now_ms,
        actor: actor.to_owned(),
        address: address.to_owned(),
        action: action.to_owned(),
        target: actor.to_owned(),
        detail: detail.to_owned(),
    }
}

/// What checking a password came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is right and the account enabled.
    Accepted(Account),
    /// Unknown account, wrong password or disabled account (one answer for all three).
    Refused,
    /// Too many recent failures for the account or from the address: not checked.
    Throttled,
}

/// Checks `password` for account `name` from `address`: the throttle first, then the password
/// (argon2id; an unknown account is verified against a decoy). A failure or a throttled
/// attempt is recorded in the audit trail; a success is not (the caller records what it
/// grants). Blocking: argon2 and the database.
pub fn check_password(
    store: &dyn ConsoleStore,
    name: &str,
    password: &str,
    address: &str,
    now_ms: i64,
) -> Result<PasswordCheck, StorageError> {
    // An invalid name is throttled and recorded under a fixed placeholder, not as typed.
    let name = if valid_account_name(name) {
        name
    } else {
        "(invalid name)"
    };
    let failures = store.recent_login_failures(name, address, now_ms - LOGIN_WINDOW_MS)?;
    if failures.for_account >= MAX_FAILURES_PER_ACCOUNT
        || failures.from_address >= MAX_FAILURES_PER_ADDRESS
    {
        store.record_audit(&audit(
            now_ms,
            name,
            address,
            AUDIT_LOGIN_THROTTLED,
            &format!(
                "{} failures for the account, {} from the address in {} min",
                failures.for_account,
                failures.from_address,
                LOGIN_WINDOW_MS / 60_000
            ),
        ))?;
        return Ok(PasswordCheck::Throttled);
    }
    let account = store.account(name)?;
    let matched = match &account {
        Some(account) => verify_password(&account.password_hash, password),
        None => {
            let _ = verify_password(decoy_hash(), password);
            false
        }
    };
    let reason = match &account {
        None => "unknown account",
        Some(_) if !matched => "wrong password",
        Some(account) if account.disabled => "account disabled",
        Some(_) => "",
    };
    match account {
        Some(account) if reason.is_empty() => Ok(PasswordCheck::Accepted(account)),
        _ => {
            store.record_audit(&audit(now_ms, name, address, AUDIT_LOGIN_FAILED, reason))?;
            Ok(PasswordCheck::Refused)
        }
    }
}

/// Checks a login (see [`check_password`]), and when it succeeds starts a session and records
/// the login in the audit trail. Blocking: argon2 and the database.
pub fn log_in(
    store: &dyn ConsoleStore,
    name: &str,
    password: &str,
    address: &str,
    now_ms: i64,
) -> Result<LoginOutcome, StorageError> {
    let account = match check_password(store, name, password, address, now_ms)? {
        PasswordCheck::Accepted(account) => account,
        PasswordCheck::Refused => return Ok(LoginOutcome::Refused),
        PasswordCheck::Throttled => return Ok(LoginOutcome::Throttled),
    };
    let token = SessionToken::generate();
    store.create_session(&SessionRecord {
        token_hash: token.storage_hash(),
        account: account.name.clone(),
        created_at_ms: now_ms,
        last_seen_at_ms: now_ms,
        address: address.to_owned(),
    })?;
    store.record_audit(&audit(
        now_ms,
        &account.name,
        address,
        AUDIT_LOGIN,
        account.role.as_str(),
    ))?;
    Ok(LoginOutcome::LoggedIn(account, token))
}

/// The live session of `token` and its (enabled) account; an expired session is ended.
pub fn session_account(
    store: &dyn ConsoleStore,
    token: &SessionToken,
    now_ms: i64,
) -> Result<Option<(SessionRecord, Account)>, StorageError> {
    let hash = token.storage_hash();
    let Some(session) = store.session(&hash)? else {
        return Ok(None);
    };
    if now_ms - session.created_at_ms > SESSION_ABSOLUTE_MS
        || now_ms - session.last_seen_at_ms > SESSION_IDLE_MS
    {
        store.end_session(&hash)?;
        store.end_expired_sessions(now_ms - SESSION_ABSOLUTE_MS, now_ms - SESSION_IDLE_MS)?;
        return Ok(None);
    }
    let Some(account) = store.account(&session.account)?.filter(|a| !a.disabled) else {
        store.end_session(&hash)?;
        return Ok(None);
    };
    if now_ms - session.last_seen_at_ms >= TOUCH_EVERY_MS {
        store.touch_session(&hash, now_ms)?;
    }
    Ok(Some((session, account)))
}

/// Ends the session of `token` and records the logout.
pub fn log_out(
    store: &dyn ConsoleStore,
    token: &SessionToken,
    account: &str,
    address: &str,
    now_ms: i64,
) -> Result<(), StorageError> {
    store.end_session(&token.storage_hash())?;
    store.record_audit(&audit(now_ms, account, address, AUDIT_LOGOUT, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_owasp_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse battery!"));
        assert!(!verify_password("not a hash", "x"));
        assert!(matches!(hash_password("short"), Err(PasswordError::Length)));
        assert_ne!(hash, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn tokens_cookies_and_csrf() {
        let token = SessionToken::generate();
        assert_eq!(token.as_str().len(), 64);
        assert_ne!(token, SessionToken::generate());
        let cookie = session_cookie(&token, true);
        assert!(cookie.contains("HttpOnly; SameSite=Strict"));
        assert!(cookie.contains("Path=/console") && cookie.ends_with("; Secure"));
        assert!(!session_cookie(&token, false).contains("Secure"));
        let header = format!("other=1; {SESSION_COOKIE}={}", token.as_str());
        assert_eq!(token_from_cookies(&header), Some(token.clone()));
        assert_eq!(token_from_cookies("central_console=zz"), None);
        assert_ne!(token.storage_hash(), token.csrf_token());
        assert!(token.csrf_matches(&token.csrf_token()));
        assert!(!token.csrf_matches(&SessionToken::generate().csrf_token()));
        assert!(!token.csrf_matches(""));
    }

    #[test]
    fn sessions_expire_and_failed_logins_are_throttled() {
        use super::super::store::Role;
        let dir = tempfile::tempdir().unwrap();
        let store = crate::storage::SqliteStorage::open(dir.path().join("c.db")).unwrap();
        let t0 = 1_795_701_600_000;
        let account = Account {
            name: "ada".into(),
            role: Role::Admin,
            password_hash: hash_password("correct horse battery").unwrap(),
            disabled: false,
            created_at_ms: t0,
            changed_at_ms: t0,
        };
        assert!(
            store
                .create_account(
                    &account,
                    &audit(t0, "unix:root", "local", "account.created", "")
                )
                .unwrap()
        );
        let log_in_at = |password: &str, address: &str, at: i64| {
            log_in(&store, "ada", password, address, at).unwrap()
        };
        let LoginOutcome::LoggedIn(_, token) = log_in_at("correct horse battery", "192.0.2.1", t0)
        else {
            panic!("login refused");
        };
        // Idle expiry: each request moves it on; 30 min without one ends the session.
        assert!(
            session_account(&store, &token, t0 + SESSION_IDLE_MS - 1)
                .unwrap()
                .is_some()
        );
        assert!(
            session_account(&store, &token, t0 + 2 * SESSION_IDLE_MS - 2)
                .unwrap()
                .is_some()
        );
        assert!(
            session_account(&store, &token, t0 + 4 * SESSION_IDLE_MS)
                .unwrap()
                .is_none()
        );
        assert!(
            store.session(&token.storage_hash()).unwrap().is_none(),
            "ended"
        );
        // Absolute expiry: 12 h after login however busy.
        let LoginOutcome::LoggedIn(_, busy) = log_in_at("correct horse battery", "192.0.2.1", t0)
        else {
            panic!("login refused");
        };
        let mut at = t0;
        while at + SESSION_IDLE_MS / 2 <= t0 + SESSION_ABSOLUTE_MS {
            at += SESSION_IDLE_MS / 2;
            assert!(
                session_account(&store, &busy, at).unwrap().is_some(),
                "at {at}"
            );
        }
        assert!(
            session_account(&store, &busy, at + SESSION_IDLE_MS / 2)
                .unwrap()
                .is_none()
        );
        // Five failures for the account: the right password is then refused unchecked, from
        // any address, until the window has passed.
        let t1 = t0 + SESSION_ABSOLUTE_MS * 2;
        for n in 0..MAX_FAILURES_PER_ACCOUNT {
            let at = t1 + i64::try_from(n).unwrap();
            assert_eq!(
                log_in_at("wrong password!!", "192.0.2.7", at),
                LoginOutcome::Refused
            );
        }
        assert_eq!(
            log_in_at("correct horse battery", "198.51.100.1", t1 + 10),
            LoginOutcome::Throttled
        );
        assert!(matches!(
            log_in_at(
                "correct horse battery",
                "198.51.100.1",
                t1 + LOGIN_WINDOW_MS + 10
            ),
            LoginOutcome::LoggedIn(..)
        ));
        // Twenty failures from one address (any accounts): that address is refused for every
        // account, another address is not.
        let t2 = t1 + 2 * LOGIN_WINDOW_MS;
        for n in 0..MAX_FAILURES_PER_ADDRESS {
            let at = t2 + i64::try_from(n).unwrap();
            let outcome = log_in(&store, &format!("nobody{n}"), "x", "203.0.113.9", at).unwrap();
            assert_eq!(outcome, LoginOutcome::Refused);
        }
        assert_eq!(
            log_in_at("correct horse battery", "203.0.113.9", t2 + 100),
            LoginOutcome::Throttled
        );
        assert!(matches!(
            log_in_at("correct horse battery", "203.0.113.10", t2 + 100),
            LoginOutcome::LoggedIn(..)
        ));
        let trail = store.audit_trail(1000).unwrap();
        let count = |action: &str| trail.iter().filter(|e| e.action == action).count();
        assert_eq!(count(AUDIT_LOGIN_FAILED), 25);
        assert_eq!(count(AUDIT_LOGIN_THROTTLED), 2);
        assert_eq!(count(AUDIT_LOGIN), 4);
    }

    #[test]
    fn origin_must_be_this_server() {
        let host = "central.example:8443";
        let check = |origin, site, referer| same_origin(origin, site, referer, host, true);
        assert!(check(Some("https://central.example:8443"), None, None));
        assert!(!check(Some("http://central.example:8443"), None, None));
        assert!(!check(
            Some("https://evil.example"),
            Some("same-origin"),
            Some("https://central.example:8443/console")
        ));
        assert!(check(Some("null"), Some("same-origin"), None));
        assert!(!check(Some("null"), Some("cross-site"), None));
        assert!(!check(Some("null"), None, None));
        assert!(check(
            None,
            None,
            Some("https://central.example:8443/console/lists?x")
        ));
        assert!(!check(
            None,
            None,
            Some("https://central.example:8443.evil/")
        ));
        assert!(!check(None, None, None));
    }
}
