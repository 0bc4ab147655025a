//! # keyward-postgres
//!
//! A [`KeyRepository`] on the table EF Core's `PersistKeysToDbContext` uses:
//! `"DataProtectionKeys"("Id" serial primary key, "FriendlyName" text, "Xml" text)`, one row per
//! key or revocation holding a single-line XML document, so a .NET app and keyward pointed at
//! the same table share one key ring.
//!
//! Beyond what .NET does, keyward takes a PostgreSQL advisory lock while it decides to create
//! a key (one creator per rotation), and sends `NOTIFY` after every write so other nodes
//! refresh within a second.
//!
//! ## Connection strings and TLS
//!
//! A URL (`postgres://` or `postgresql://`) or a libpq `key=value` string. keyward reads its
//! own parameters and removes them before the client sees the rest: `table`, `schema`,
//! `create_table`, and libpq's `sslmode` and `sslrootcert`, honoured as libpq does with rustls
//! (aws-lc-rs):
//!
//! | `sslmode` | TLS | certificate |
//! | --- | --- | --- |
//! | `disable` | never | — |
//! | `prefer` (default; `allow` is taken as `prefer`) | when the server offers it; plain text if it does not or the handshake fails | not verified |
//! | `require` | always | not verified — unless `sslrootcert=PATH` is given, then as `verify-ca` |
//! | `verify-ca` | always | chain verified up to a root of `sslrootcert=PATH` (required); any host name |
//! | `verify-full` | always | chain verified, and issued for the host connected to |
//!
//! Roots come from `sslrootcert=PATH` (PEM; percent-encode it in a URL, quote it in a
//! `key=value` string if it holds `=`). The system's store (`sslrootcert=system`, or no
//! `sslrootcert`) is used by `verify-full` only: it vouches for host names, so without the
//! name check any publicly issued certificate would pass. `verify-ca` without `sslrootcert`,
//! `sslrootcert=system` with `require` or `verify-ca`, and `sslrootcert` with `prefer` (or no
//! `sslmode`) or `disable` are refused with [`Error::Configuration`]. `SCRAM-SHA-256-PLUS`
//! (channel binding) is not offered: leave `channel_binding` at `prefer`, or `disable`.
//!
//! keyward fails closed on what it cannot read as the client would: URL query keys are
//! percent-decoded as the client decodes them; a `key=value` string keyward cannot split, and
//! an `sslmode` the client sees but keyward does not (a `?` in an unencoded password), are
//! refused rather than left to the default `prefer`. In a `key=value` string an empty value
//! must be quoted (`''`): as in libpq, `user= password=pw` would make `password=pw` the user
//! name, so an unquoted value after whitespace that holds `=`, and an unquoted value of
//! keyward's that is empty or holds `=`, are refused. Messages and errors name the store as
//! [`display_url`] shows it: never with a password, nor a name that holds `=`.
//!
//! ```text
//! postgres://app@db.example:5432/shop?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem&table=DataProtectionKeys
//! host=db.example user=app dbname=shop sslmode=verify-ca sslrootcert=/etc/ssl/db-ca.pem
//! ```
//!
//! ## Inside a tokio runtime
//!
//! The client is the synchronous `postgres` crate, which blocks on a tokio runtime of its own.
//! keyward calls repositories from its own refresh thread, and also from the caller's thread
//! ([`PostgresRepository::open`], `Provider::build`, `refresh`, `create_key`, `revoke_key`,
//! `delete_keys`, `rewrap_keys`, and dropping the repository): every such call that finds
//! itself on a tokio runtime's thread (`#[tokio::main]`, a handler) runs the client on a
//! scoped thread of its own and waits for it, so a provider can be opened, built, used and
//! dropped from async code without `spawn_blocking`. The wait blocks the calling worker for
//! the length of the query, as any synchronous call does. `protect` and `unprotect` never
//! call the repository on the caller's thread (at most they wait for keyward's refresh thread).
//!
//! ```no_run
//! let repository = keyward_postgres::PostgresRepository::open(
//!     "postgres://app@127.0.0.1:5432/shop?table=DataProtectionKeys&schema=public",
//! )?;
//! let provider = keyward::Provider::builder()
//!     .application_name("shop")
//!     .repository(repository)
//!     .build()?;
//! # Ok::<(), keyward::Error>(())
//! ```

#![forbid(unsafe_code)]

mod tls;

use std::fmt;
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use std::time::Duration;

use keyward::store::{ElementHandle, MAX_DOCUMENT_BYTES};
use keyward::{
    ChangeCallback, Error, GenerationLock, KeyRepository, Notification, Result, StoredElement,
    XmlElement,
};
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config, NoTls};

pub use tls::SslMode;

/// EF Core's default table name.
pub const DEFAULT_TABLE: &str = "DataProtectionKeys";

/// The channel writes are announced on (the payload names the table).
const CHANNEL: &str = "keyward_key_ring_changed";

/// The connect timeout when the connection string sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long dropping the generation lock waits for its session to close.
const UNLOCK_WAIT: Duration = Duration::from_secs(2);

/// Keys in a PostgreSQL table.
pub struct PostgresRepository {
    connector: Connector,
    /// The shared connection. A forked child swaps in a new slot (see
    /// [`KeyRepository::after_fork`]): the parent's may be locked for ever there.
    client: ArcSwap<Mutex<Option<Client>>>,
    /// The process the connection belongs to (`std::process::id`).
    process: keyward::store::ProcessOwner,
    schema: String,
    table: String,
    /// `postgres <target> table <schema>.<table>`, without credentials, for messages.
    location: String,
}

impl fmt::Debug for PostgresRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresRepository")
            .field("store", &self.location)
            .field("table", &self.qualified())
            .finish_non_exhaustive()
    }
}

/// How to open a [`PostgresRepository`].
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// The schema (default `public`).
    pub schema: String,
    /// The table (default `DataProtectionKeys`).
    pub table: String,
    /// Create the table if it is missing (default on).
    pub create_table: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            schema: "public".into(),
            table: DEFAULT_TABLE.into(),
            create_table: true,
        }
    }
}

/// Opens connections: the parsed configuration and the TLS it asks for.
#[derive(Clone)]
struct Connector {
    config: Config,
    tls: Option<tls::MakeRustls>,
    /// `prefer`: a failed handshake falls back to plain text, as libpq does.
    fallback_to_plain: bool,
}

impl Connector {
    fn connect(&self) -> std::result::Result<Client, postgres::Error> {
        let Some(tls) = &self.tls else {
            return self.config.connect(NoTls);
        };
        match self.config.connect(tls.clone()) {
            Err(e) if self.fallback_to_plain && tls::is_handshake_failure(&e) => {
                tracing::debug!(error = %e, "TLS handshake failed; sslmode=prefer tries plain text");
                let mut plain = self.config.clone();
                plain.ssl_mode(postgres::config::SslMode::Disable);
                plain.connect(NoTls)
            }
            other => other,
        }
    }
}

impl PostgresRepository {
    /// Connects to
    /// `postgres://user[:pass]@host:port/db[?table=NAME&schema=NAME&create_table=false&sslmode=MODE&sslrootcert=PATH]`
    /// (or a `key=value` connection string with the same keys), creates the table if missing
    /// (unless `create_table=false`), and checks it can be read — so a wrong URL fails here,
    /// naming the store. See the [crate documentation](crate) for `sslmode`.
    ///
    /// # Errors
    /// [`Error::Repository`] naming the store (without credentials), with the PostgreSQL
    /// client's error as its source; [`Error::Configuration`] for a bad keyward parameter.
    pub fn open(url: &str) -> Result<Self> {
        let (base, parameters) = split_parameters(url).map_err(bad_parameter)?;
        let defaults = PostgresOptions::default();
        let create_table = match parameters.create_table.as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            // The value is not repeated: a mangled URL may have put a secret there.
            Some(_) => return Err(bad_parameter("create_table must be true or false")),
        };
        let options = PostgresOptions {
            schema: parameters.schema.clone().unwrap_or(defaults.schema),
            table: parameters.table.clone().unwrap_or(defaults.table),
            create_table,
        };
        Self::connect(url, &base, &parameters, options)
    }

    /// Connects with explicit options; the URL may carry `sslmode` and `sslrootcert`, and
    /// not `table`, `schema` or `create_table` (those are `options`).
    ///
    /// # Errors
    /// [`Error::Repository`] naming the store, with the client's error as its source;
    /// [`Error::Configuration`] for a bad keyward parameter.
    pub fn open_with(url: &str, options: PostgresOptions) -> Result<Self> {
        let (base, parameters) = split_parameters(url).map_err(bad_parameter)?;
        if parameters.table.is_some()
            || parameters.schema.is_some()
            || parameters.create_table.is_some()
        {
            return Err(bad_parameter(
                "open_with takes table, schema and create_table from PostgresOptions, not from the URL",
            ));
        }
        Self::connect(url, &base, &parameters, options)
    }

    fn connect(
        url: &str,
        base: &str,
        parameters: &Parameters,
        options: PostgresOptions,
    ) -> Result<Self> {
        let store_of = |display: &str| {
            format!(
                "postgres {display} table {}.{}",
                options.schema, options.table
            )
        };
        let mut config = parse_config(base).map_err(|reason| {
            Error::repository(
                store_of(&unparsable(url)),
                format!("invalid PostgreSQL connection string: {reason}"),
            )
        })?;
        // keyward removed every sslmode it read: one the client parsed was hidden from keyward
        // (a '?' in the password, …). Refused, never overridden by keyward's default.
        if config.get_ssl_mode() != postgres::config::SslMode::Prefer {
            return Err(bad_parameter(
                "the connection string holds an sslmode keyward cannot read (percent-encode '?', '@', '/' and '#' in the user name and password)",
            ));
        }
        // Built from the parsed configuration: a password given anywhere (userinfo, query,
        // key=value) never reaches messages.
        let location = store_of(&describe(&config));
        let mode = match parameters.sslmode.as_deref() {
            None => SslMode::default(),
            Some(value) => SslMode::parse(value).ok_or_else(|| {
                bad_parameter(
                    "sslmode must be disable, allow, prefer, require, verify-ca or verify-full",
                )
            })?,
        };
        config.ssl_mode(mode.negotiation());
        let tls =
            tls::client_config(mode, parameters.sslrootcert.as_deref()).map_err(|e| match e {
                tls::SetupError::Configuration(reason) => bad_parameter(reason),
                e => Error::repository_caused(location.clone(), "setting up TLS", e),
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        let repository = Self {
            connector: Connector {
                config,
                tls,
                fallback_to_plain: mode == SslMode::Prefer,
            },
            client: ArcSwap::from_pointee(Mutex::new(None)),
            process: keyward::store::ProcessOwner::new(),
            schema: options.schema,
            table: options.table,
            location,
        };
        // One thread off the runtime (if any) for both; a repository that fails here is
        // dropped safely on the caller's thread (see Drop).
        off_runtime(&repository.location, || {
            if options.create_table {
                repository.create_table()?;
            }
            let probe = format!("SELECT count(*) FROM {}", repository.qualified());
            repository.with_client("reading the table", |c| c.query_one(&probe, &[]).map(drop))
        })?;
        Ok(repository)
    }

    /// Creates the table if it is missing. Under a transaction-scoped advisory lock, so nodes
    /// starting together do not race on PostgreSQL's catalog (two concurrent
    /// `CREATE TABLE IF NOT EXISTS` can fail on `pg_type`'s unique index); "already exists"
    /// from a creator that does not take the lock (EF Core migrations, psql) is success.
    fn create_table(&self) -> Result<()> {
        let qualified = self.qualified();
        let statement = format!(
            "CREATE TABLE IF NOT EXISTS {qualified} (\"Id\" serial PRIMARY KEY, \"FriendlyName\" text, \"Xml\" text)"
        );
        let lock = self.advisory_key("keyward-create-table");
        self.with_client("creating the table", |c| {
            let exists: bool = c
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&qualified])?
                .try_get(0)?;
            if exists {
                return Ok(());
            }
            match create_locked(c, lock, &statement) {
                Err(e)
                    if e.code() == Some(&SqlState::DUPLICATE_TABLE)
                        || e.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
                {
                    Ok(())
                }
                other => other,
            }
        })
    }

    /// `"schema"."table"`, quoted.
    fn qualified(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.table))
    }

    fn notify_payload(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    /// Runs `f` on the shared connection, reconnecting once if it broke. `doing` says what
    /// keyward was doing, for the error; the client's error is its source. Every use of the
    /// shared client goes through here, and so [`off_runtime`].
    fn with_client<T: Send>(
        &self,
        doing: &str,
        f: impl Fn(&mut Client) -> std::result::Result<T, postgres::Error> + Send,
    ) -> Result<T> {
        off_runtime(&self.location, || self.with_client_here(doing, f))
    }

    /// [`Self::with_client`] on this thread.
    fn with_client_here<T>(
        &self,
        doing: &str,
        f: impl Fn(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        if !self.process.is_current() {
            // A forked child that uses the repository before its provider noticed the fork.
            self.after_fork();
        }
        let slot = self.client.load_full();
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        for attempt in 0..2 {
            if slot.as_ref().is_none_or(Client::is_closed) {
                *slot = Some(self.connector.connect().map_err(|e| {
                    Error::repository_caused(self.location(), format!("connecting ({doing})"), e)
                })?);
            }
            let Some(client) = slot.as_mut() else {
                continue;
            };
            match f(client) {
                Ok(value) => return Ok(value),
                Err(e) if attempt == 0 && client.is_closed() => {
                    *slot = None;
                    tracing::debug!(error = %e, "reconnecting to PostgreSQL");
                }
                Err(e) => {
                    if client.is_closed() {
                        *slot = None;
                    }
                    return Err(Error::repository_caused(self.location(), doing, e));
                }
            }
        }
        Err(Error::repository(
            self.location(),
            format!("{doing}: the connection could not be re-established"),
        ))
    }

    fn notify(&self) {
        let payload = self.notify_payload();
        if let Err(error) = self.with_client("announcing the change", |c| {
            c.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
                .map(drop)
        }) {
            tracing::warn!(error = %error.chain(), "could not announce the key ring change");
        }
    }

    /// An advisory-lock key for `purpose` on this table: the same on every node.
    fn advisory_key(&self, purpose: &str) -> i64 {
        // FNV-1a, 64-bit, over the purpose and the table's name.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in format!("{purpose}:{}", self.notify_payload()).bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        i64::from_ne_bytes(hash.to_ne_bytes())
    }
}

/// `statement` in a transaction holding the advisory lock `lock`.
fn create_locked(
    client: &mut Client,
    lock: i64,
    statement: &str,
) -> std::result::Result<(), postgres::Error> {
    let mut transaction = client.transaction()?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&lock])?;
    transaction.batch_execute(statement)?;
    transaction.commit()
}

impl KeyRepository for PostgresRepository {
    fn server_time(&self) -> Option<Result<keyward::time::OffsetDateTime>> {
        let micros = self.with_client("reading the server clock (now())", |c| {
            c.query_one(
                "SELECT (extract(epoch from clock_timestamp()) * 1000000)::int8",
                &[],
            )
            .and_then(|row| row.try_get::<_, i64>(0))
        });
        Some(micros.and_then(|micros| {
            keyward::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
                .map_err(|_| {
                    keyward::Error::repository(self.location(), "now() answered an impossible time")
                })
        }))
    }

    fn load_elements(&self) -> Result<Vec<StoredElement>> {
        // Each row's size first, on the server: a row over the limit is never transferred
        // (its text comes back NULL), only named, as an unreadable key.
        let query = format!(
            "SELECT \"Id\", octet_length(\"Xml\"), \
             CASE WHEN octet_length(\"Xml\") <= $1::int4 THEN \"Xml\" END \
             FROM {} ORDER BY \"Id\"",
            self.qualified()
        );
        let limit = i32::try_from(MAX_DOCUMENT_BYTES).unwrap_or(i32::MAX);
        let rows = self.with_client("reading keys", |c| c.query(&query, &[&limit]))?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let id: i64 = row
                    .try_get::<_, i32>(0)
                    .map(i64::from)
                    .or_else(|_| row.try_get::<_, i64>(0))
                    .ok()?;
                let location = format!("{} row {id}", self.location());
                let handle = ElementHandle::new(id.to_string());
                // EF Core skips rows without XML; so does keyward.
                let length: Option<i32> = row.try_get(1).ok()?;
                let length = length?;
                if i64::from(length) > i64::from(limit) {
                    return Some(StoredElement::unreadable(
                        location,
                        handle,
                        format!(
                            "{length} bytes, larger than the {MAX_DOCUMENT_BYTES}-byte limit for a key document (not read)"
                        ),
                    ));
                }
                match row.try_get::<_, Option<String>>(2) {
                    Ok(xml) => xml
                        .filter(|x| !x.trim().is_empty())
                        .map(|xml| StoredElement::new(location, handle, xml)),
                    Err(e) => Some(StoredElement::unreadable(
                        location,
                        handle,
                        format!("the row's text cannot be read: {}", keyward::error_chain(&e)),
                    )),
                }
            })
            .collect())
    }

    fn store_element(&self, element: &XmlElement, friendly_name: &str) -> Result<()> {
        let statement = format!(
            "INSERT INTO {} (\"FriendlyName\", \"Xml\") VALUES ($1, $2)",
            self.qualified()
        );
        let xml = element.to_compact();
        off_runtime(&self.location, || {
            self.with_client("storing a key", |c| {
                c.execute(&statement, &[&friendly_name, &xml]).map(drop)
            })?;
            self.notify();
            Ok(())
        })
    }

    fn lock_for_generation(&self) -> Result<GenerationLock> {
        // A session-level advisory lock on a connection of its own, released by closing it.
        // try-lock in a loop with a deadline: a holder stuck on a half-open connection must not
        // block this node for ever.
        let doing = "taking the key generation lock";
        let connector = self.connector.clone();
        let key = self.advisory_key("keyward-generation");
        let location = self.location();
        let guard = LockGuard::hold(&self.location(), spawn_unlocker, move |slot| {
            let client = slot.insert(
                connector
                    .connect()
                    .map_err(|e| Error::repository_caused(location.clone(), doing, e))?,
            );
            let started = std::time::Instant::now();
            loop {
                let taken: bool = client
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                    .and_then(|row| row.try_get(0))
                    .map_err(|e| Error::repository_caused(location.clone(), doing, e))?;
                if taken {
                    return Ok(());
                }
                if started.elapsed() > Duration::from_secs(60) {
                    return Err(Error::repository(
                        location,
                        "the key generation lock stayed taken for 60 s",
                    ));
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        })?;
        Ok(GenerationLock::new(guard))
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    fn watch(&self, on_change: ChangeCallback) -> Result<bool> {
        let connector = self.connector.clone();
        let payload = self.notify_payload();
        keyward::spawn_watcher(
            "keyward-postgres-watch",
            self.location(),
            on_change,
            move |on_change| listen(&connector, &payload, on_change),
        )?;
        Ok(true)
    }

    /// Lets go of the connection inherited from the parent without closing it: the
    /// client's drop would send `Terminate` on the parent's session (ending it) through a
    /// runtime that is the parent's too, so the whole slot is leaked (a socket and the
    /// client's runtime, once per fork). The next call connects anew.
    fn after_fork(&self) {
        if !self.process.take_over() {
            return;
        }
        std::mem::forget(self.client.swap(Arc::new(Mutex::new(None))));
    }

    fn replace_element(&self, old: &StoredElement, new: &XmlElement) -> Result<()> {
        let id = old.handle.as_str().parse::<i64>().ok().ok_or_else(|| {
            Error::repository(
                self.location(),
                format!("{} is not a row of this table", old.location),
            )
        })?;
        let statement = format!(
            "UPDATE {} SET \"Xml\" = $1 WHERE \"Id\" = $2::bigint AND \"Xml\" = $3",
            self.qualified()
        );
        let new = new.to_compact();
        off_runtime(&self.location, || {
            let updated = self.with_client("replacing a key", |c| {
                c.execute(&statement, &[&new, &id, &old.xml])
            })?;
            if updated != 1 {
                return Err(Error::repository(
                    self.location(),
                    format!(
                        "{} changed since it was read; nothing replaced",
                        old.location
                    ),
                ));
            }
            self.notify();
            Ok(())
        })
    }

    fn delete_elements(&self, elements: &[StoredElement]) -> Result<()> {
        let mut ids = Vec::with_capacity(elements.len());
        let mut texts = Vec::with_capacity(elements.len());
        for element in elements {
            texts.push(element.xml.as_str());
            let id = element.handle.as_str().parse::<i64>().map_err(|_| {
                Error::repository(
                    self.location(),
                    format!("{} is not a row of this table", element.location),
                )
            })?;
            ids.push(id);
        }
        let statement = format!(
            // A row goes only while it still holds the text that was selected.
            "DELETE FROM {} AS t USING unnest($1::bigint[], $2::text[]) AS d(id, xml) \
             WHERE t.\"Id\" = d.id AND t.\"Xml\" = d.xml",
            self.qualified()
        );
        off_runtime(&self.location, || {
            self.with_client("deleting keys", |c| {
                c.execute(&statement, &[&ids, &texts]).map(drop)
            })?;
            self.notify();
            Ok(())
        })
    }
}

impl Drop for PostgresRepository {
    /// `postgres::Client`'s own drop closes the session by blocking on the client's runtime,
    /// which panics on a tokio runtime's thread: there, the shared client is closed on a
    /// thread of its own (and waited for, as it would be here).
    fn drop(&mut self) {
        // In a forked child, the connection (if any) is the parent's: leaked, never closed.
        self.after_fork();
        let shared = self.client.swap(Arc::new(Mutex::new(None)));
        let mut slot = match Arc::try_unwrap(shared) {
            Ok(slot) => slot.into_inner().unwrap_or_else(PoisonError::into_inner),
            // Still referenced only by a thread that vanished at a fork: leaked.
            Err(shared) => {
                std::mem::forget(shared);
                return;
            }
        };
        if slot.is_none() {
            return;
        }
        if let Err(error) = off_runtime(&self.location, || {
            drop(slot.take());
            Ok(())
        }) {
            // No thread to be had inside a runtime: the connection is leaked rather than
            // closed here, which would panic. The server ends the session when the socket goes.
            if let Some(client) = slot.take() {
                std::mem::forget(client);
            }
            tracing::warn!(error = %error.chain(), "could not close the PostgreSQL connection");
        }
    }
}

/// Runs `work`, which uses the synchronous `postgres` client, where that client may block.
///
/// The client drives each call with `block_on` on a tokio runtime of its own, and tokio
/// panics when that happens on a thread that is inside a runtime ("Cannot start a runtime
/// from within a runtime": `#[tokio::main]`, a handler). So inside a runtime `work` runs on a
/// scoped thread of its own, and the caller waits for it (a blocking wait, as the call itself
/// would be without a runtime); anywhere else (keyward's refresh thread, a plain `main`), here.
/// A panic in `work` is resumed on the caller's thread.
///
/// # Errors
/// `work`'s; [`Error::Repository`] naming `location` when no thread can be started.
fn off_runtime<T: Send>(location: &str, work: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("keyward-postgres".into())
            .spawn_scoped(scope, work)
            .map_err(|e| {
                Error::repository_caused(
                    location,
                    "starting a thread for the PostgreSQL client outside the tokio runtime",
                    e,
                )
            })?;
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A job on a thread of its own; fails when no thread can be started.
type Spawn = fn(Box<dyn FnOnce() + Send>) -> std::io::Result<()>;

fn spawn_unlocker(job: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("keyward-postgres-lock".into())
        .spawn(job)
        .map(drop)
}

/// Holds the advisory lock. Its connection lives on a thread of its own, started before
/// connecting: dropping the guard tells that thread to end the session (which releases the
/// lock on the server) and waits at most [`UNLOCK_WAIT`] for the close. `postgres::Client`'s
/// own drop waits for the server without a timeout, so the guard never owns a client: no
/// path of the drop (a stalled server, no thread to be had) blocks for longer. Never panics.
struct LockGuard {
    /// Dropped to release the lock.
    release: Option<mpsc::Sender<()>>,
    /// Answers once the session is closed.
    closed: mpsc::Receiver<()>,
}

impl LockGuard {
    /// Starts the lock's thread with `spawn` and runs `take` there: it connects into the slot
    /// and takes the lock. Returns once the lock is taken, or with `take`'s error (the
    /// connection, if any, is closed on that thread afterwards, never on the caller's).
    fn hold(
        location: &str,
        spawn: Spawn,
        take: impl FnOnce(&mut Option<Client>) -> Result<()> + Send + 'static,
    ) -> Result<Self> {
        let (taken_tx, taken) = mpsc::channel::<Result<()>>();
        let (release, released) = mpsc::channel::<()>();
        let (closed_tx, closed) = mpsc::channel::<()>();
        spawn(Box::new(move || {
            let mut slot = None;
            let outcome = take(&mut slot);
            let holding = outcome.is_ok();
            if taken_tx.send(outcome).is_ok() && holding {
                // Until the guard goes: its sender dropped.
                let _ = released.recv();
            }
            // Terminate: the server ends the session and with it the lock.
            if let Some(client) = slot {
                let _ = client.close();
            }
            let _ = closed_tx.send(());
        }))
        .map_err(|e| {
            Error::repository_caused(location, "starting the key generation lock's thread", e)
        })?;
        taken.recv().unwrap_or_else(|_| {
            Err(Error::repository(
                location,
                "the key generation lock's thread ended without taking the lock",
            ))
        })?;
        Ok(Self {
            release: Some(release),
            closed,
        })
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        drop(self.release.take());
        let _ = self.closed.recv_timeout(UNLOCK_WAIT);
    }
}

/// One `LISTEN` session: reports changes until nobody listens (`Ok(false)`) or it breaks
/// (the error's whole chain, without credentials).
fn listen(
    connector: &Connector,
    payload: &str,
    on_change: &ChangeCallback,
) -> std::result::Result<bool, String> {
    let chain = |e: postgres::Error| keyward::error_chain(&e);
    let mut client = connector.connect().map_err(chain)?;
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .map_err(chain)?;
    // Changes made while we were not listening are picked up by this refresh.
    if !on_change(Notification::Changed) {
        return Ok(false);
    }
    loop {
        let mut changed = false;
        {
            let mut notifications = client.notifications();
            // Short windows: a notification that arrives between windows waits at most this long.
            let mut batch = notifications.timeout_iter(Duration::from_millis(100));
            while let Some(notification) = batch.next().map_err(chain)? {
                changed |= notification.payload() == payload;
            }
        }
        let event = if changed {
            Notification::Changed
        } else {
            Notification::StillListening
        };
        if !on_change(event) {
            return Ok(false);
        }
        if client.is_closed() {
            return Ok(true);
        }
    }
}

/// The connection target of `url` for messages — `postgres://user@host:port/db`, built from
/// the parsed connection string, so it never holds a password, wherever the password was
/// given (userinfo, `password=` in the query or a `key=value` string, percent-encoded). A
/// string that does not parse shows only its scheme: `postgres://(unparsable URL)`. keyward's
/// own parameters (`table`, `schema`, `create_table`, `sslmode`, `sslrootcert`) are not shown.
/// Never panics.
pub fn display_url(url: &str) -> String {
    match split_parameters(url).map(|(base, _)| parse_config(&base)) {
        Ok(Ok(config)) => describe(&config),
        _ => unparsable(url),
    }
}

/// What is shown of a connection string that does not parse: its scheme at most.
fn unparsable(url: &str) -> String {
    for scheme in ["postgresql://", "postgres://"] {
        if url
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        {
            return format!("{}(unparsable URL)", &scheme.to_ascii_lowercase());
        }
    }
    "(unparsable connection string)".into()
}

/// Parses a connection string (keyward's parameters removed). The error says what is wrong
/// without quoting the input.
fn parse_config(base: &str) -> std::result::Result<Config, String> {
    if let Some(rest) = url_rest(base) {
        // `postgres://u:pass/word@host/db` parses as host `u`, port `pass`, database
        // `word@host/db`: a '/' in the password was not percent-encoded. Refused, and so never
        // shown as a host, port and database.
        let path_end = rest.find('?').unwrap_or(rest.len());
        let authority_end = rest[..path_end].find('/').unwrap_or(path_end);
        if rest[authority_end..path_end].contains('@') {
            return Err(
                "'@' after the host: percent-encode '/', '?', '#' and '@' in the user name and password"
                    .into(),
            );
        }
    }
    base.parse::<Config>().map_err(|e| {
        // tokio-postgres names the option for bad values and unknown options; other parse
        // errors may quote a character of the input.
        let detail = std::error::Error::source(&e)
            .map(ToString::to_string)
            .unwrap_or_default();
        if detail.starts_with("invalid value for option `")
            || detail.starts_with("unknown option `")
        {
            detail
        } else {
            "malformed".into()
        }
    })
}

/// What follows `postgres://` or `postgresql://`, when `s` is a URL.
fn url_rest(s: &str) -> Option<&str> {
    s.strip_prefix("postgresql://")
        .or_else(|| s.strip_prefix("postgres://"))
}

/// `postgres://user@host:port/db`, from a parsed configuration, without any password. A
/// name holding '=' is left out (a user or database name, or a host as `(withheld)`): in a
/// `key=value` string, `user= password=…` makes the next parameter the value.
fn describe(config: &Config) -> String {
    let shown = |name: &str| !name.contains('=');
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .map(|h| if shown(&h) { h } else { "(withheld)".into() })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    let host = match (hosts.first(), ports.first()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.clone(),
        _ => "localhost".into(),
    };
    let user = config
        .get_user()
        .filter(|u| shown(u))
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let dbname = config.get_dbname().filter(|d| shown(d)).unwrap_or("");
    format!("postgres://{user}{host}/{dbname}")
}

/// A quoted SQL identifier.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// keyward's own connection-string parameters (not passed to the PostgreSQL client).
#[derive(Debug, Default, PartialEq, Eq, Clone)]
struct Parameters {
    schema: Option<String>,
    table: Option<String>,
    create_table: Option<String>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

impl Parameters {
    /// The slot of keyward's parameter `key`, if it is one.
    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "table" => &mut self.table,
            "schema" => &mut self.schema,
            "create_table" => &mut self.create_table,
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            _ => return None,
        })
    }
}

/// `url` without keyward's parameters, and those parameters: from a URL's query (keys and
/// values percent-decoded, as the client decodes them) or from a `key=value` connection string.
/// The error, for a string keyward cannot split as the client would, quotes no value.
fn split_parameters(url: &str) -> std::result::Result<(String, Parameters), String> {
    let mut parameters = Parameters::default();
    if url_rest(url).is_none() {
        let rest = split_keywords(url, &mut parameters)?;
        return Ok((rest, parameters));
    }
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), parameters));
    };
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let Some((key, value)) = pair.split_once('=') else {
                return true;
            };
            match parameters.slot(&percent_decode(key)) {
                Some(slot) => {
                    *slot = Some(percent_decode(value));
                    false
                }
                None => true,
            }
        })
        .collect();
    let base = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((base, parameters))
}

/// libpq's `key = value ...` form without keyward's keys. Refused rather than passed on: what
/// does not tokenise (an unterminated quote, a backslash at the end — the client would drop
/// it —, a word without `=`, an empty key — the client stops reading there); an unquoted value
/// of keyward's that is empty or holds `=`; and any unquoted value after whitespace that holds
/// `=` (as in libpq, `user= password=pw` makes `password=pw` the user name).
fn split_keywords(s: &str, parameters: &mut Parameters) -> std::result::Result<String, String> {
    let malformed = || {
        "the key=value connection string does not parse: an unterminated quote, a backslash at the end, or a word without '='"
            .to_owned()
    };
    let swallowed = || {
        "a value in the key=value connection string is empty and takes the next key=value as its value: quote an empty value as ''"
            .to_owned()
    };
    let mut kept: Vec<&str> = Vec::new();
    let mut chars = s.char_indices().peekable();
    let skip_spaces = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_spaces(&mut chars);
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        if key.is_empty() {
            return Err(malformed());
        }
        skip_spaces(&mut chars);
        chars.next_if(|(_, c)| *c == '=').ok_or_else(malformed)?;
        let spaced = chars.peek().is_some_and(|(_, c)| c.is_whitespace());
        skip_spaces(&mut chars);
        let mut value = String::new();
        let quoted = chars.next_if(|(_, c)| *c == '\'').is_some();
        if quoted {
            loop {
                match chars.next().ok_or_else(malformed)? {
                    (_, '\\') => value.push(chars.next().ok_or_else(malformed)?.1),
                    (_, '\'') => break,
                    (_, c) => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    value.push(chars.next().ok_or_else(malformed)?.1);
                } else {
                    value.push(c);
                }
            }
        }
        let end = chars.peek().map_or(s.len(), |&(i, _)| i);
        match parameters.slot(&key) {
            Some(_) if !quoted && (value.is_empty() || value.contains('=')) => {
                // The value is not repeated: it may be the next parameter, a password.
                return Err(format!(
                    "{key} has an empty value or one holding '=': quote it ('...') in a key=value connection string"
                ));
            }
            _ if !quoted && spaced && value.contains('=') => return Err(swallowed()),
            Some(slot) => *slot = Some(value),
            None => kept.push(s.get(start..end).ok_or_else(malformed)?),
        }
    }
    Ok(kept.join(" "))
}

/// `%XX` decoded (invalid escapes kept as they are; invalid UTF-8 replaced).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parameters_quoting_and_display() {
        let (base, parameters) = split_parameters(
            "postgres://u@h:5432/db?table=T&schema=S&sslmode=verify-full&create_table=false&sslrootcert=%2Ftmp%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(base, "postgres://u@h:5432/db?connect_timeout=3");
        assert_eq!(
            parameters,
            Parameters {
                schema: Some("S".into()),
                table: Some("T".into()),
                create_table: Some("false".into()),
                sslmode: Some("verify-full".into()),
                sslrootcert: Some("/tmp/ca.pem".into()),
            }
        );
        let (base, parameters) = split_parameters(
            "host=h sslmode = verify-ca  user=u sslrootcert='/tmp/my ca.pem' table=T password='a b\\'c'",
        )
        .unwrap();
        assert_eq!(base, "host=h user=u password='a b\\'c'");
        assert_eq!(parameters.sslmode.as_deref(), Some("verify-ca"));
        assert_eq!(parameters.sslrootcert.as_deref(), Some("/tmp/my ca.pem"));
        assert_eq!(parameters.table.as_deref(), Some("T"));
        assert!(split_parameters("host='unterminated").is_err());
        // Keys are percent-decoded, as the client decodes them.
        let (base, parameters) =
            split_parameters("postgres://app@db/shop?ssl%6Dode=require&%74able=T").unwrap();
        assert_eq!(base, "postgres://app@db/shop");
        assert_eq!(parameters.sslmode.as_deref(), Some("require"));
        assert_eq!(parameters.table.as_deref(), Some("T"));
        // What keyward cannot split is refused, not passed on whole.
        for refused in [
            "host=db sslmode=require password=pw\\",
            "host=db =x sslmode=require",
            "host=db table= password=pw",
            "host=db table=",
            "host=db sslrootcert=a=b",
            "host=db user= password=pw",
            "host=db sslmode",
        ] {
            assert!(split_parameters(refused).is_err(), "{refused}");
        }
        let (base, parameters) =
            split_parameters("host=db options=-csearch_path=x table='' schema='a=b'").unwrap();
        assert_eq!(base, "host=db options=-csearch_path=x");
        assert_eq!(parameters.table.as_deref(), Some(""));
        assert_eq!(parameters.schema.as_deref(), Some("a=b"));
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(
            display_url("postgres://u:pw@h/db"),
            "postgres://u@h:5432/db"
        );
        assert_eq!(
            display_url("postgres://u@h:5433/db?password=hunter2&table=x"),
            "postgres://u@h:5433/db"
        );
        assert_eq!(
            display_url("postgres://u:hun/ter2@h/db"),
            "postgres://(unparsable URL)"
        );
        assert_eq!(
            display_url("postgresql://u:1234/ter2@h/db"),
            "postgresql://(unparsable URL)"
        );
        assert!(!display_url("host=h user=u password=hunter2 dbname=db").contains("hunter2"));
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
        assert_eq!(SslMode::parse("verify-full"), Some(SslMode::VerifyFull));
        assert_eq!(SslMode::parse("verify_full"), None);
    }

    /// A server that answers the startup (trust) and then neither reads nor closes.
    fn stalled_server() -> u16 {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut length = [0; 4];
                if stream.read_exact(&mut length).is_err() {
                    continue;
                }
                let length = usize::try_from(u32::from_be_bytes(length)).unwrap();
                let mut startup = vec![0; length.saturating_sub(4)];
                if stream.read_exact(&mut startup).is_err() {
                    continue;
                }
                // AuthenticationOk, ReadyForQuery (idle).
                let _ = stream.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 0, b'Z', 0, 0, 0, 5, b'I']);
                held.push(stream);
            }
        });
        port
    }

    fn no_thread(_: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
        Err(std::io::Error::other("no thread to be had"))
    }

    #[test]
    fn the_generation_lock_never_closes_its_session_on_the_callers_thread() {
        let port = stalled_server();
        let connect = move |slot: &mut Option<Client>| -> Result<()> {
            let mut config = Config::new();
            config
                .host("127.0.0.1")
                .port(port)
                .user("u")
                .ssl_mode(postgres::config::SslMode::Disable)
                .connect_timeout(Duration::from_secs(5));
            let client = config
                .connect(NoTls)
                .map_err(|e| Error::repository_caused("stalled", "connecting", e))?;
            *slot = Some(client);
            Ok(())
        };
        let bound = UNLOCK_WAIT + Duration::from_secs(2);

        // No thread to be had: refused before connecting, so there is no client to drop.
        let connected = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = connected.clone();
        let refused = LockGuard::hold("stalled", no_thread, move |slot| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            connect(slot)
        });
        assert!(refused.is_err());
        assert!(!connected.load(std::sync::atomic::Ordering::SeqCst));

        // Dropping the guard releases the lock and waits UNLOCK_WAIT at most (a frozen real
        // server: tests/faults.rs).
        let guard = LockGuard::hold("stalled", spawn_unlocker, connect).unwrap();
        let started = std::time::Instant::now();
        drop(guard);
        assert!(started.elapsed() < bound, "{:?}", started.elapsed());

        // A failure after connecting returns at once; the session is closed elsewhere.
        let started = std::time::Instant::now();
        let failed = LockGuard::hold("stalled", spawn_unlocker, move |slot| {
            connect(slot)?;
            Err(Error::repository("stalled", "the lock query failed"))
        });
        assert!(failed.is_err());
        assert!(started.elapsed() < bound, "{:?}", started.elapsed());
    }
}

/// A keyward parameter of the URL that cannot be used (the text names it, never its value).
fn bad_parameter(reason: impl Into<keyward::error::BoxedCause>) -> Error {
    Error::Configuration(keyward::error::ConfigError::StoreParameter(reason.into()))
}
