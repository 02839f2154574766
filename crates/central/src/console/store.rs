//! What the console keeps in central's database: operator accounts, sessions, the audit trail
//! and every published version of every list. [`ConsoleStore`] is implemented by both stores
//! (SQLite and PostgreSQL) and is a supertrait of [`crate::storage::Storage`].
//!
//! Changes that must be recorded are written in the same transaction as their audit entry:
//! an account change or a list publication without its audit entry cannot happen.

use outbox::wire::PublishList;
use serde::Serialize;

use crate::storage::{PostgresStorage, SqliteStorage, StorageError, i64_from, pg, sqlite};

/// What an operator may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees every console page except accounts and audit; changes nothing.
    Viewer,
    /// A viewer who may also publish lists.
    #[value(name = "list_publisher")]
    ListPublisher,
    /// Everything: lists, accounts, the audit trail.
    Admin,
}

impl Role {
    /// The role's name as stored and shown (`viewer`, `list_publisher`, `admin`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::ListPublisher => "list_publisher",
            Role::Admin => "admin",
        }
    }

    /// The role named `name`, as [`Role::as_str`] writes it.
    pub fn parse(name: &str) -> Option<Self> {
        [Role::Viewer, Role::ListPublisher, Role::Admin]
            .into_iter()
            .find(|role| role.as_str() == name)
    }

    /// Whether this role may publish lists.
    pub fn may_publish(self) -> bool {
        self >= Role::ListPublisher
    }

    /// Whether this role may manage accounts and read the audit trail.
    pub fn may_administer(self) -> bool {
        self == Role::Admin
    }
}

/// An operator account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name: 1..=64 of `a-z A-Z 0-9 - _ .`.
    pub name: String,
    /// What the operator may do.
    pub role: Role,
    /// The argon2id hash in PHC string form (`$argon2id$v=19$m=...`).
    pub password_hash: String,
    /// A disabled account cannot log in and its sessions are ended.
    pub disabled: bool,
    /// When the account was created (unix ms).
    pub created_at_ms: i64,
    /// When the account was last changed (unix ms).
    pub changed_at_ms: i64,
}

/// A change to an existing account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// A new password (argon2id PHC string); ends the account's sessions.
    Password(String),
    /// Disables (`true`, ending its sessions) or enables the account.
    Disabled(bool),
    /// A new role; ends the account's sessions so no page keeps the old role.
    Role(Role),
}

/// A login session. Only the SHA-256 of its token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the session token, hex.
    pub token_hash: String,
    /// The account logged in.
    pub account: String,
    /// When the session began (unix ms; absolute expiry counts from here).
    pub created_at_ms: i64,
    /// The last request of the session (unix ms; idle expiry counts from here).
    pub last_seen_at_ms: i64,
    /// The client address that logged in.
    pub address: String,
}

/// One entry of the audit trail: who did what, when, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When (unix ms).
    pub at_ms: i64,
    /// Who: an account name, `unix:USER` for the command line on the central host, or
    /// `anonymous` (plain-HTTP loopback publication).
    pub actor: String,
    /// The client address, or `local` for the command line.
    pub address: String,
    /// What happened (one of the `AUDIT_*` constants).
    pub action: String,
    /// What it happened to: an account or list name.
    pub target: String,
    /// Free text: the role given, the list version and counts, why a login failed.
    pub detail: String,
}

/// A successful login.
pub const AUDIT_LOGIN: &str = "login";
/// A failed login (unknown account, wrong password, disabled account).
pub const AUDIT_LOGIN_FAILED: &str = "login.failed";
/// A login refused unchecked because of too many recent failures.
pub const AUDIT_LOGIN_THROTTLED: &str = "login.throttled";
/// A logout.
pub const AUDIT_LOGOUT: &str = "logout";
/// A list version published.
pub const AUDIT_LIST_PUBLISHED: &str = "list.published";
/// A list publication refused (validation failed, no permission).
pub const AUDIT_LIST_REFUSED: &str = "list.refused";
/// An account created.
pub const AUDIT_ACCOUNT_CREATED: &str = "account.created";
/// An account's password changed.
pub const AUDIT_ACCOUNT_PASSWORD: &str = "account.password";
/// An account disabled.
pub const AUDIT_ACCOUNT_DISABLED: &str = "account.disabled";
/// An account enabled again.
pub const AUDIT_ACCOUNT_ENABLED: &str = "account.enabled";
/// An account's role changed.
pub const AUDIT_ACCOUNT_ROLE: &str = "account.role";

/// One published version of a list, without its items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListVersionInfo {
    /// List name.
    pub name: String,
    /// Version.
    pub version: u64,
    /// Number of items.
    pub item_count: u64,
    /// Who published it (as in the audit trail).
    pub published_by: String,
    /// When (unix ms).
    pub published_at_ms: i64,
}

/// Failed logins counted for throttling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentFailures {
    /// Failures naming the account.
    pub for_account: u64,
    /// Failures from the address.
    pub from_address: u64,
}

/// The console's storage. Every method is one short transaction.
pub trait ConsoleStore: Send + Sync {
    /// Creates an account and records `audit`; `false` if the name is taken (nothing recorded).
    fn create_account(&self, account: &Account, audit: &AuditEntry) -> Result<bool, StorageError>;
    /// The account `name`.
    fn account(&self, name: &str) -> Result<Option<Account>, StorageError>;
    /// Every account, by name.
    fn accounts(&self) -> Result<Vec<Account>, StorageError>;
    /// Changes account `name` and records `audit`; `false` if there is no such account.
    /// A password, role or disable change ends the account's sessions.
    fn update_account(
        &self,
        name: &str,
        change: &AccountChange,
        audit: &AuditEntry,
    ) -> Result<bool, StorageError>;
    /// Stores a new session.
    fn create_session(&self, session: &SessionRecord) -> Result<(), StorageError>;
    /// The session whose token hashes to `token_hash`.
    fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StorageError>;
    /// Moves a session's last-seen time to `now_ms`.
    fn touch_session(&self, token_hash: &str, now_ms: i64) -> Result<(), StorageError>;
    /// Ends a session (logout or expiry).
    fn end_session(&self, token_hash: &str) -> Result<(), StorageError>;
    /// Ends every session that began before `created_before_ms` or was idle since before
    /// `idle_since_ms`; returns how many.
    fn end_expired_sessions(
        &self,
        created_before_ms: i64,
        idle_since_ms: i64,
    ) -> Result<u64, StorageError>;
    /// Appends to the audit trail.
    fn record_audit(&self, entry: &AuditEntry) -> Result<(), StorageError>;
    /// The newest `limit` audit entries, newest first.
    fn audit_trail(&self, limit: u32) -> Result<Vec<AuditEntry>, StorageError>;
    /// Failed logins since `since_ms` naming `account`, and from `address`.
    fn recent_login_failures(
        &self,
        account: &str,
        address: &str,
        since_ms: i64,
    ) -> Result<RecentFailures, StorageError>;
    /// Publishes `list` as the current version of `name` (refusing a version not above the
    /// current one, as [`crate::storage::Storage::publish_list`]), keeps it in the version
    /// history as published by `audit.actor`, and records `audit`: all in one transaction.
    fn publish_list_version(
        &self,
        name: &str,
        list: &PublishList,
        audit: &AuditEntry,
    ) -> Result<(), StorageError>;
    /// The published versions of `name`, newest first.
    fn list_history(&self, name: &str) -> Result<Vec<ListVersionInfo>, StorageError>;
}

/// The console's SQLite tables (run from [`SqliteStorage::open`]).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS console_accounts (
    name           TEXT PRIMARY KEY NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at_ms  INTEGER NOT NULL,
    changed_at_ms  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash      TEXT PRIMARY KEY NOT NULL,
    account         TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL,
    address         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS console_sessions_account ON console_sessions (account);
CREATE TABLE IF NOT EXISTS console_audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms    INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    address  TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS console_audit_by_action ON console_audit (action, at_ms);
CREATE TABLE IF NOT EXISTS list_versions (
    name            TEXT NOT NULL,
    version         INTEGER NOT NULL,
    items           TEXT NOT NULL,
    item_count      INTEGER NOT NULL,
    published_by    TEXT NOT NULL,
    published_at_ms INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);
";

/// The console's PostgreSQL tables (run from [`PostgresStorage::connect`], in its schema
/// transaction under the advisory lock).
pub(crate) const PG_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS console_accounts (
    name           text PRIMARY KEY,
    role           text NOT NULL,
    password_hash  text NOT NULL,
    disabled       boolean NOT NULL DEFAULT false,
    created_at_ms  bigint NOT NULL,
    changed_at_ms  bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash      text PRIMARY KEY,
    account         text NOT NULL,
    created_at_ms   bigint NOT NULL,
    last_seen_at_ms bigint NOT NULL,
    address         text NOT NULL
);
CREATE INDEX IF NOT EXISTS console_sessions_account ON console_sessions (account);
CREATE TABLE IF NOT EXISTS console_audit (
    id       bigserial PRIMARY KEY,
    at_ms    bigint NOT NULL,
    actor    text NOT NULL,
    address  text NOT NULL,
    action   text NOT NULL,
    target   text NOT NULL,
    detail   text NOT NULL
);
CREATE INDEX IF NOT EXISTS console_audit_by_action ON console_audit (action, at_ms);
CREATE TABLE IF NOT EXISTS list_versions (
    name            text NOT NULL,
    version         bigint NOT NULL,
    items           jsonb NOT NULL,
    item_count      bigint NOT NULL,
    published_by    text NOT NULL,
    published_at_ms bigint NOT NULL,
    PRIMARY KEY (name, version)
);
";

fn role_of(name: &str) -> Result<Role, StorageError> {
    Role::parse(name).ok_or_else(|| StorageError::BadRow(format!("unknown role {name:?}")))
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

const SQLITE_INSERT_AUDIT: &str = "INSERT INTO console_audit (at_ms, actor, address, action, \
     target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

fn sqlite_audit(connection: &rusqlite::Connection, entry: &AuditEntry) -> Result<(), StorageError> {
    connection
        .execute(
            SQLITE_INSERT_AUDIT,
            rusqlite::params![
                entry.at_ms,
                entry.actor,
                entry.address,
                entry.action,
                entry.target,
                entry.detail
            ],
        )
        .map(|_| ())
        .map_err(sqlite("record audit"))
}

fn sqlite_account(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Account, String)> {
    let role: String = row.get(1)?;
    Ok((
        Account {
            name: row.get(0)?,
            role: Role::Viewer,
            password_hash: row.get(2)?,
            disabled: row.get::<_, i64>(3)? != 0,
            created_at_ms: row.get(4)?,
            changed_at_ms: row.get(5)?,
        },
        role,
    ))
}

fn with_role((mut account, role): (Account, String)) -> Result<Account, StorageError> {
    account.role = role_of(&role)?;
    Ok(account)
}

const ACCOUNT_COLUMNS: &str =
    "name, role, password_hash, disabled, created_at_ms, changed_at_ms FROM console_accounts";

impl ConsoleStore for SqliteStorage {
    fn create_account(&self, account: &Account, audit: &AuditEntry) -> Result<bool, StorageError> {
        let mut connection = self.lock();
        let transaction = connection
            .transaction()
            .map_err(sqlite("begin create account"))?;
        let created = transaction
            .execute(
                "INSERT INTO console_accounts (name, role, password_hash, disabled, \
                 created_at_ms, changed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
                 ON CONFLICT (name) DO NOTHING",
                rusqlite::params![
                    account.name,
                    account.role.as_str(),
                    account.password_hash,
                    i64::from(account.disabled),
                    account.created_at_ms
                ],
            )
            .map_err(sqlite("create account"))?;
        if created == 0 {
            return Ok(false);
        }
        sqlite_audit(&transaction, audit)?;
        transaction
            .commit()
            .map_err(sqlite("commit create account"))?;
        Ok(true)
    }

    fn account(&self, name: &str) -> Result<Option<Account>, StorageError> {
        let connection = self.lock();
        let row = connection
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} WHERE name = ?1"),
                [name],
                sqlite_account,
            )
            .map(Some)
            .or_else(|error| match error {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                error => Err(error),
            })
            .map_err(sqlite("read account"))?;
        row.map(with_role).transpose()
    }

    fn accounts(&self) -> Result<Vec<Account>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare(&format!("SELECT {ACCOUNT_COLUMNS} ORDER BY name"))
            .map_err(sqlite("prepare accounts"))?;
        let rows = statement
            .query_map([], sqlite_account)
            .map_err(sqlite("read accounts"))?;
        rows.map(|row| with_role(row.map_err(sqlite("read accounts"))?))
            .collect()
    }

    fn update_account(
        &self,
        name: &str,
        change: &AccountChange,
        audit: &AuditEntry,
    ) -> Result<bool, StorageError> {
        let mut connection = self.lock();
        let transaction = connection
            .transaction()
            .map_err(sqlite("begin update account"))?;
        let changed = match change {
            AccountChange::Password(hash) => transaction.execute(
                "UPDATE console_accounts SET password_hash = ?2, changed_at_ms = ?3 WHERE name = ?1",
                rusqlite::params![name, hash, audit.at_ms],
            ),
            AccountChange::Disabled(disabled) => transaction.execute(
                "UPDATE console_accounts SET disabled = ?2, changed_at_ms = ?3 WHERE name = ?1",
                rusqlite::params![name, i64::from(*disabled), audit.at_ms],
            ),
            AccountChange::Role(role) => transaction.execute(
                "UPDATE console_accounts SET role = ?2, changed_at_ms = ?3 WHERE name = ?1",
                rusqlite::params![name, role.as_str(), audit.at_ms],
            ),
        }
        .map_err(sqlite("update account"))?;
        if changed == 0 {
            return Ok(false);
        }
        if !matches!(change, AccountChange::Disabled(false)) {
            transaction
                .execute("DELETE FROM console_sessions WHERE account = ?1", [name])
                .map_err(sqlite("end account sessions"))?;
        }
        sqlite_audit(&transaction, audit)?;
        transaction
            .commit()
            .map_err(sqlite("commit update account"))?;
        Ok(true)
    }

    fn create_session(&self, session: &SessionRecord) -> Result<(), StorageError> {
        self.lock()
            .execute(
                "INSERT INTO console_sessions (token_hash, account, created_at_ms, \
                 last_seen_at_ms, address) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    session.token_hash,
                    session.account,
                    session.created_at_ms,
                    session.last_seen_at_ms,
                    session.address
                ],
            )
            .map(|_| ())
            .map_err(sqlite("create session"))
    }

    fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StorageError> {
        self.lock()
            .query_row(
                "SELECT token_hash, account, created_at_ms, last_seen_at_ms, address \
                 FROM console_sessions WHERE token_hash = ?1",
                [token_hash],
                |row| {
                    Ok(SessionRecord {
                        token_hash: row.get(0)?,
                        account: row.get(1)?,
                        created_at_ms: row.get(2)?,
                        last_seen_at_ms: row.get(3)?,
                        address: row.get(4)?,
                    })
                },
            )
            .map(Some)
            .or_else(|error| match error {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                error => Err(error),
            })
            .map_err(sqlite("read session"))
    }

    fn touch_session(&self, token_hash: &str, now_ms: i64) -> Result<(), StorageError> {
        self.lock()
            .execute(
                "UPDATE console_sessions SET last_seen_at_ms = ?2 WHERE token_hash = ?1",
                rusqlite::params![token_hash, now_ms],
            )
            .map(|_| ())
            .map_err(sqlite("touch session"))
    }

    fn end_session(&self, token_hash: &str) -> Result<(), StorageError> {
        self.lock()
            .execute(
                "DELETE FROM console_sessions WHERE token_hash = ?1",
                [token_hash],
            )
            .map(|_| ())
            .map_err(sqlite("end session"))
    }

    fn end_expired_sessions(
        &self,
        created_before_ms: i64,
        idle_since_ms: i64,
    ) -> Result<u64, StorageError> {
        self.lock()
            .execute(
                "DELETE FROM console_sessions WHERE created_at_ms < ?1 OR last_seen_at_ms < ?2",
                rusqlite::params![created_before_ms, idle_since_ms],
            )
            .map(|ended| ended as u64)
            .map_err(sqlite("end expired sessions"))
    }

    fn record_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        sqlite_audit(&self.lock(), entry)
    }

    fn audit_trail(&self, limit: u32) -> Result<Vec<AuditEntry>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare(
                "SELECT at_ms, actor, address, action, target, detail FROM console_audit \
                 ORDER BY id DESC LIMIT ?1",
            )
            .map_err(sqlite("prepare audit trail"))?;
        let rows = statement
            .query_map([limit], |row| {
                Ok(AuditEntry {
                    at_ms: row.get(0)?,
                    actor: row.get(1)?,
                    address: row.get(2)?,
                    action: row.get(3)?,
                    target: row.get(4)?,
                    detail: row.get(5)?,
                })
            })
            .map_err(sqlite("read audit trail"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sqlite("read audit trail"))
    }

    fn recent_login_failures(
        &self,
        account: &str,
        address: &str,
        since_ms: i64,
    ) -> Result<RecentFailures, StorageError> {
        let (for_account, from_address) = self
            .lock()
            .query_row(
                "SELECT COALESCE(SUM(target = ?1), 0), COALESCE(SUM(address = ?2), 0) \
                 FROM console_audit WHERE action = ?3 AND at_ms >= ?4",
                rusqlite::params![account, address, AUDIT_LOGIN_FAILED, since_ms],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
            )
            .map_err(sqlite("count login failures"))?;
        Ok(RecentFailures {
            for_account: to_u64(for_account),
            from_address: to_u64(from_address),
        })
    }

    fn publish_list_version(
        &self,
        name: &str,
        list: &PublishList,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        let items = serde_json::Value::Array(list.items.clone()).to_string();
        let mut connection = self.lock();
        let transaction = connection
            .transaction()
            .map_err(sqlite("begin publish list"))?;
        let changed = transaction
            .execute(
                "INSERT INTO lists (name, version, items, published_at_ms) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (name) DO UPDATE SET version = excluded.version, \
                 items = excluded.items, published_at_ms = excluded.published_at_ms \
                 WHERE lists.version < excluded.version",
                rusqlite::params![name, i64_from(list.version), items, audit.at_ms],
            )
            .map_err(sqlite("publish list"))?;
        if changed == 0 {
            let current: i64 = transaction
                .query_row("SELECT version FROM lists WHERE name = ?1", [name], |row| {
                    row.get(0)
                })
                .map_err(sqlite("read list version"))?;
            return Err(StorageError::ListVersionConflict {
                name: name.to_owned(),
                offered: list.version,
                current: to_u64(current),
            });
        }
        transaction
            .execute(
                "INSERT OR REPLACE INTO list_versions (name, version, items, item_count, \
                 published_by, published_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    name,
                    i64_from(list.version),
                    items,
                    i64_from(list.items.len() as u64),
                    audit.actor,
                    audit.at_ms
                ],
            )
            .map_err(sqlite("keep list version"))?;
        sqlite_audit(&transaction, audit)?;
        transaction.commit().map_err(sqlite("commit publish list"))
    }

    fn list_history(&self, name: &str) -> Result<Vec<ListVersionInfo>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare(
                "SELECT version, item_count, published_by, published_at_ms FROM list_versions \
                 WHERE name = ?1 ORDER BY version DESC",
            )
            .map_err(sqlite("prepare list history"))?;
        let rows = statement
            .query_map([name], |row| {
                Ok(ListVersionInfo {
                    name: name.to_owned(),
                    version: to_u64(row.get(0)?),
                    item_count: to_u64(row.get(1)?),
                    published_by: row.get(2)?,
                    published_at_ms: row.get(3)?,
                })
            })
            .map_err(sqlite("read list history"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sqlite("read list history"))
    }
}

fn pg_audit(
    client: &mut impl postgres::GenericClient,
    entry: &AuditEntry,
) -> Result<(), StorageError> {
    client
        .execute(
            "INSERT INTO console_audit (at_ms, actor, address, action, target, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &entry.at_ms,
                &entry.actor,
                &entry.address,
                &entry.action,
                &entry.target,
                &entry.detail,
            ],
        )
        .map(|_| ())
        .map_err(pg("record audit"))
}

fn pg_account(row: &postgres::Row) -> Result<Account, StorageError> {
    let read = || -> Result<(Account, String), postgres::Error> {
        Ok((
            Account {
                name: row.try_get(0)?,
                role: Role::Viewer,
                password_hash: row.try_get(2)?,
                disabled: row.try_get(3)?,
                created_at_ms: row.try_get(4)?,
                changed_at_ms: row.try_get(5)?,
            },
            row.try_get(1)?,
        ))
    };
    with_role(read().map_err(pg("read account"))?)
}

impl ConsoleStore for PostgresStorage {
    fn create_account(&self, account: &Account, audit: &AuditEntry) -> Result<bool, StorageError> {
        self.with_client(|client| {
            let mut transaction = client.transaction().map_err(pg("begin create account"))?;
            let created = transaction
                .execute(
                    "INSERT INTO console_accounts (name, role, password_hash, disabled, \
                     created_at_ms, changed_at_ms) VALUES ($1, $2, $3, $4, $5, $5) \
                     ON CONFLICT (name) DO NOTHING",
                    &[
                        &account.name,
                        &account.role.as_str(),
                        &account.password_hash,
                        &account.disabled,
                        &account.created_at_ms,
                    ],
                )
                .map_err(pg("create account"))?;
            if created == 0 {
                return Ok(false);
            }
            pg_audit(&mut transaction, audit)?;
            transaction.commit().map_err(pg("commit create account"))?;
            Ok(true)
        })
    }

    fn account(&self, name: &str) -> Result<Option<Account>, StorageError> {
        let row = self.with_client(|client| {
            client
                .query_opt(
                    &format!("SELECT {ACCOUNT_COLUMNS} WHERE name = $1"),
                    &[&name],
                )
                .map_err(pg("read account"))
        })?;
        row.as_ref().map(pg_account).transpose()
    }

    fn accounts(&self) -> Result<Vec<Account>, StorageError> {
        let rows = self.with_client(|client| {
            client
                .query(&format!("SELECT {ACCOUNT_COLUMNS} ORDER BY name"), &[])
                .map_err(pg("read accounts"))
        })?;
        rows.iter().map(pg_account).collect()
    }

    fn update_account(
        &self,
        name: &str,
        change: &AccountChange,
        audit: &AuditEntry,
    ) -> Result<bool, StorageError> {
        self.with_client(|client| {
            let mut transaction = client.transaction().map_err(pg("begin update account"))?;
            let changed = match change {
                AccountChange::Password(hash) => transaction.execute(
                    "UPDATE console_accounts SET password_hash = $2, changed_at_ms = $3 \
                     WHERE name = $1",
                    &[&name, hash, &audit.at_ms],
                ),
                AccountChange::Disabled(disabled) => transaction.execute(
                    "UPDATE console_accounts SET disabled = $2, changed_at_ms = $3 WHERE name = $1",
                    &[&name, disabled, &audit.at_ms],
                ),
                AccountChange::Role(role) => transaction.execute(
                    "UPDATE console_accounts SET role = $2, changed_at_ms = $3 WHERE name = $1",
                    &[&name, &role.as_str(), &audit.at_ms],
                ),
            }
            .map_err(pg("update account"))?;
            if changed == 0 {
                return Ok(false);
            }
            if !matches!(change, AccountChange::Disabled(false)) {
                transaction
                    .execute("DELETE FROM console_sessions WHERE account = $1", &[&name])
                    .map_err(pg("end account sessions"))?;
            }
            pg_audit(&mut transaction, audit)?;
            transaction.commit().map_err(pg("commit update account"))?;
            Ok(true)
        })
    }

    fn create_session(&self, session: &SessionRecord) -> Result<(), StorageError> {
        self.with_client(|client| {
            client
                .execute(
                    "INSERT INTO console_sessions (token_hash, account, created_at_ms, \
                     last_seen_at_ms, address) VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &session.token_hash,
                        &session.account,
                        &session.created_at_ms,
                        &session.last_seen_at_ms,
                        &session.address,
                    ],
                )
                .map(|_| ())
                .map_err(pg("create session"))
        })
    }

    fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StorageError> {
        let row = self.with_client(|client| {
            client
                .query_opt(
                    "SELECT token_hash, account, created_at_ms, last_seen_at_ms, address \
                     FROM console_sessions WHERE token_hash = $1",
                    &[&token_hash],
                )
                .map_err(pg("read session"))
        })?;
        row.map(|row| {
            let read = || -> Result<SessionRecord, postgres::Error> {
                Ok(SessionRecord {
                    token_hash: row.try_get(0)?,
                    account: row.try_get(1)?,
                    created_at_ms: row.try_get(2)?,
                    last_seen_at_ms: row.try_get(3)?,
                    address: row.try_get(4)?,
                })
            };
            read().map_err(pg("read session"))
        })
        .transpose()
    }

    fn touch_session(&self, token_hash: &str, now_ms: i64) -> Result<(), StorageError> {
        self.with_client(|client| {
            client
                .execute(
                    "UPDATE console_sessions SET last_seen_at_ms = $2 WHERE token_hash = $1",
                    &[&token_hash, &now_ms],
                )
                .map(|_| ())
                .map_err(pg("touch session"))
        })
    }

    fn end_session(&self, token_hash: &str) -> Result<(), StorageError> {
        self.with_client(|client| {
            client
                .execute(
                    "DELETE FROM console_sessions WHERE token_hash = $1",
                    &[&token_hash],
                )
                .map(|_| ())
                .map_err(pg("end session"))
        })
    }

    fn end_expired_sessions(
        &self,
        created_before_ms: i64,
        idle_since_ms: i64,
    ) -> Result<u64, StorageError> {
        self.with_client(|client| {
            client
                .execute(
                    "DELETE FROM console_sessions WHERE created_at_ms < $1 OR last_seen_at_ms < $2",
                    &[&created_before_ms, &idle_since_ms],
                )
                .map_err(pg("end expired sessions"))
        })
    }

    fn record_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        self.with_client(|client| pg_audit(client, entry))
    }

    fn audit_trail(&self, limit: u32) -> Result<Vec<AuditEntry>, StorageError> {
        let limit = i64::from(limit);
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT at_ms, actor, address, action, target, detail FROM console_audit \
                     ORDER BY id DESC LIMIT $1",
                    &[&limit],
                )
                .map_err(pg("read audit trail"))
        })?;
        rows.iter()
            .map(|row| {
                let read = || -> Result<AuditEntry, postgres::Error> {
                    Ok(AuditEntry {
                        at_ms: row.try_get(0)?,
                        actor: row.try_get(1)?,
                        address: row.try_get(2)?,
                        action: row.try_get(3)?,
                        target: row.try_get(4)?,
                        detail: row.try_get(5)?,
                    })
                };
                read().map_err(pg("read audit trail"))
            })
            .collect()
    }

    fn recent_login_failures(
        &self,
        account: &str,
        address: &str,
        since_ms: i64,
    ) -> Result<RecentFailures, StorageError> {
        let row = self.with_client(|client| {
            client
                .query_one(
                    "SELECT COUNT(*) FILTER (WHERE target = $1), \
                     COUNT(*) FILTER (WHERE address = $2) \
                     FROM console_audit WHERE action = $3 AND at_ms >= $4",
                    &[&account, &address, &AUDIT_LOGIN_FAILED, &since_ms],
                )
                .map_err(pg("count login failures"))
        })?;
        let count = |index: usize| -> Result<u64, StorageError> {
            row.try_get::<_, i64>(index)
                .map(to_u64)
                .map_err(pg("count login failures"))
        };
        Ok(RecentFailures {
            for_account: count(0)?,
            from_address: count(1)?,
        })
    }

    fn publish_list_version(
        &self,
        name: &str,
        list: &PublishList,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        let items = serde_json::Value::Array(list.items.clone()).to_string();
        let version = i64_from(list.version);
        let count = i64_from(list.items.len() as u64);
        let changed = self.with_client(|client| {
            let mut transaction = client.transaction().map_err(pg("begin publish list"))?;
            let changed = transaction
                .execute(
                    "INSERT INTO lists (name, version, items, published_at_ms) \
                     VALUES ($1, $2, $3::text::jsonb, $4) \
                     ON CONFLICT (name) DO UPDATE SET version = excluded.version, \
                     items = excluded.items, published_at_ms = excluded.published_at_ms \
                     WHERE lists.version < excluded.version",
                    &[&name, &version, &items, &audit.at_ms],
                )
                .map_err(pg("publish list"))?;
            if changed == 0 {
                return Ok(false);
            }
            transaction
                .execute(
                    "INSERT INTO list_versions (name, version, items, item_count, published_by, \
                     published_at_ms) VALUES ($1, $2, $3::text::jsonb, $4, $5, $6) \
                     ON CONFLICT (name, version) DO UPDATE SET items = excluded.items, \
                     item_count = excluded.item_count, published_by = excluded.published_by, \
                     published_at_ms = excluded.published_at_ms",
                    &[&name, &version, &items, &count, &audit.actor, &audit.at_ms],
                )
                .map_err(pg("keep list version"))?;
            pg_audit(&mut transaction, audit)?;
            transaction.commit().map_err(pg("commit publish list"))?;
            Ok(true)
        })?;
        if !changed {
            let current = self.with_client(|client| {
                client
                    .query_opt("SELECT version FROM lists WHERE name = $1", &[&name])
                    .map_err(pg("read list version"))
            })?;
            return Err(StorageError::ListVersionConflict {
                name: name.to_owned(),
                offered: list.version,
                current: current.map_or(0, |row| to_u64(row.get::<_, i64>(0))),
            });
        }
        Ok(())
    }

    fn list_history(&self, name: &str) -> Result<Vec<ListVersionInfo>, StorageError> {
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT version, item_count, published_by, published_at_ms FROM list_versions \
                     WHERE name = $1 ORDER BY version DESC",
                    &[&name],
                )
                .map_err(pg("read list history"))
        })?;
        rows.iter()
            .map(|row| {
                let read = || -> Result<ListVersionInfo, postgres::Error> {
                    Ok(ListVersionInfo {
                        name: name.to_owned(),
                        version: to_u64(row.try_get(0)?),
                        item_count: to_u64(row.try_get(1)?),
                        published_by: row.try_get(2)?,
                        published_at_ms: row.try_get(3)?,
                    })
                };
                read().map_err(pg("read list history"))
            })
            .collect()
    }
}
