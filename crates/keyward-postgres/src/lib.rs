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
//! The client is the synchronous `postgres` crate: keyward calls repositories from its own
//! refresh thread and from `Provider::build`; do not build a provider from inside a tokio
//! runtime's worker thread (use `spawn_blocking`).
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

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use keyward::{
    ChangeCallback, Error, GenerationLock, KeyRepository, Notification, Result, StoredElement,
    XmlElement,
};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config, NoTls};

/// EF Core's default table name.
pub const DEFAULT_TABLE: &str = "DataProtectionKeys";

/// The channel writes are announced on (the payload names the table).
const CHANNEL: &str = "keyward_key_ring_changed";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Keys in a PostgreSQL table.
pub struct PostgresRepository {
    config: Config,
    client: Mutex<Option<Client>>,
    schema: String,
    table: String,
    /// The connection target without credentials, for messages.
    display: String,
}

impl fmt::Debug for PostgresRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresRepository")
            .field("store", &self.display)
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

impl PostgresRepository {
    /// Connects to `postgres://user[:pass]@host:port/db[?table=NAME&schema=NAME&create_table=false]`,
    /// creates the table if missing (unless `create_table=false`), and checks it can be read —
    /// so a wrong URL fails here, naming the store.
    ///
    /// # Errors
    /// [`Error::Repository`] naming the store (without credentials).
    pub fn open(url: &str) -> Result<Self> {
        let (base, parameters) = split_parameters(url);
        let defaults = PostgresOptions::default();
        let create_table = match parameters.create_table.as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(Error::Configuration(format!(
                    "create_table must be true or false, not {other:?}"
                )))
            }
        };
        Self::open_with(
            &base,
            PostgresOptions {
                schema: parameters.schema.unwrap_or(defaults.schema),
                table: parameters.table.unwrap_or(defaults.table),
                create_table,
            },
        )
    }

    /// Connects with explicit options.
    ///
    /// # Errors
    /// [`Error::Repository`] naming the store.
    pub fn open_with(url: &str, options: PostgresOptions) -> Result<Self> {
        let mut config: Config = url.parse().map_err(|e| Error::Repository {
            store: redact(url),
            reason: format!("invalid PostgreSQL URL: {e}"),
            source: None,
        })?;
        // Built from the parsed configuration: a password given anywhere (userinfo, query,
        // key=value) never reaches messages.
        let display = describe(&config);
        config.connect_timeout(CONNECT_TIMEOUT);
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        let repository = Self {
            config,
            client: Mutex::new(None),
            schema: options.schema,
            table: options.table,
            display,
        };
        if options.create_table {
            let statement = format!(
                "CREATE TABLE IF NOT EXISTS {} (\"Id\" serial PRIMARY KEY, \"FriendlyName\" text, \"Xml\" text)",
                repository.qualified()
            );
            repository.with_client(|c| c.batch_execute(&statement))?;
        }
        let probe = format!("SELECT count(*) FROM {}", repository.qualified());
        repository.with_client(|c| c.query_one(&probe, &[]).map(drop))?;
        Ok(repository)
    }

    /// `"schema"."table"`, quoted.
    fn qualified(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.table))
    }

    fn notify_payload(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    fn error(&self, e: &postgres::Error) -> Error {
        Error::Repository {
            store: self.location(),
            reason: e.to_string(),
            source: None,
        }
    }

    /// Runs `f` on the shared connection, reconnecting once if it broke.
    fn with_client<T>(
        &self,
        f: impl Fn(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut slot = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        for attempt in 0..2 {
            if slot.as_ref().is_none_or(Client::is_closed) {
                *slot = Some(self.config.connect(NoTls).map_err(|e| self.error(&e))?);
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
                    return Err(self.error(&e));
                }
            }
        }
        Err(Error::Repository {
            store: self.location(),
            reason: "the connection could not be re-established".into(),
            source: None,
        })
    }

    fn notify(&self) {
        let payload = self.notify_payload();
        if let Err(error) = self.with_client(|c| {
            c.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
                .map(drop)
        }) {
            tracing::warn!(%error, "could not announce the key ring change");
        }
    }

    /// The advisory-lock key of this table: the same on every node.
    fn lock_id(&self) -> i64 {
        // FNV-1a, 64-bit, over a fixed prefix and the table's name.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in format!("keyward-generation:{}", self.notify_payload()).bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        i64::from_ne_bytes(hash.to_ne_bytes())
    }
}

impl KeyRepository for PostgresRepository {
    fn load_elements(&self) -> Result<Vec<StoredElement>> {
        let query = format!(
            "SELECT \"Id\", \"Xml\" FROM {} ORDER BY \"Id\"",
            self.qualified()
        );
        let rows = self.with_client(|c| c.query(&query, &[]))?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let id: i64 = row
                    .try_get::<_, i32>(0)
                    .map(i64::from)
                    .or_else(|_| row.try_get::<_, i64>(0))
                    .ok()?;
                let xml: Option<String> = row.try_get(1).ok()?;
                // EF Core skips rows without XML; so does keyward.
                xml.filter(|x| !x.trim().is_empty())
                    .map(|xml| StoredElement {
                        location: format!("{} row {id}", self.location()),
                        xml,
                    })
            })
            .collect())
    }

    fn store_element(&self, element: &XmlElement, friendly_name: &str) -> Result<()> {
        let statement = format!(
            "INSERT INTO {} (\"FriendlyName\", \"Xml\") VALUES ($1, $2)",
            self.qualified()
        );
        let xml = element.to_compact();
        self.with_client(|c| c.execute(&statement, &[&friendly_name, &xml]).map(drop))?;
        self.notify();
        Ok(())
    }

    fn lock_for_generation(&self) -> Result<GenerationLock> {
        // A session-level advisory lock on a connection of its own, released by closing it.
        // try-lock in a loop with a deadline: a holder stuck on a half-open connection must not
        // block this node for ever.
        let mut client = self.config.connect(NoTls).map_err(|e| self.error(&e))?;
        let started = std::time::Instant::now();
        loop {
            let taken: bool = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&self.lock_id()])
                .and_then(|row| row.try_get(0))
                .map_err(|e| self.error(&e))?;
            if taken {
                return Ok(GenerationLock::new(LockGuard(Some(client))));
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err(Error::Repository {
                    store: self.location(),
                    reason: "the key generation lock stayed taken for 60 s".into(),
                    source: None,
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn location(&self) -> String {
        format!(
            "postgres {} table {}.{}",
            self.display, self.schema, self.table
        )
    }

    fn watch(&self, on_change: ChangeCallback) -> Result<bool> {
        let config = self.config.clone();
        let payload = self.notify_payload();
        keyward::spawn_watcher(
            "keyward-postgres-watch",
            self.location(),
            on_change,
            move |on_change| listen(&config, &payload, on_change),
        )?;
        Ok(true)
    }

    fn replace_element(&self, old: &StoredElement, new: &XmlElement) -> Result<()> {
        let id = old
            .location
            .strip_prefix(&format!("{} row ", self.location()))
            .and_then(|id| id.parse::<i64>().ok())
            .ok_or_else(|| Error::Repository {
                store: self.location(),
                reason: format!("{} is not a row of this table", old.location),
                source: None,
            })?;
        let statement = format!(
            "UPDATE {} SET \"Xml\" = $1 WHERE \"Id\" = $2::bigint AND \"Xml\" = $3",
            self.qualified()
        );
        let new = new.to_compact();
        let updated = self.with_client(|c| c.execute(&statement, &[&new, &id, &old.xml]))?;
        if updated != 1 {
            return Err(Error::Repository {
                store: self.location(),
                reason: format!(
                    "{} changed since it was read; nothing replaced",
                    old.location
                ),
                source: None,
            });
        }
        self.notify();
        Ok(())
    }

    fn delete_elements(&self, elements: &[StoredElement]) -> Result<()> {
        let prefix = format!("{} row ", self.location());
        let mut ids = Vec::with_capacity(elements.len());
        let mut texts = Vec::with_capacity(elements.len());
        for element in elements {
            texts.push(element.xml.as_str());
            let location = &element.location;
            let id = location
                .strip_prefix(&prefix)
                .and_then(|id| id.parse::<i64>().ok())
                .ok_or_else(|| Error::Repository {
                    store: self.location(),
                    reason: format!("{location} is not a row of this table"),
                    source: None,
                })?;
            ids.push(id);
        }
        let statement = format!(
            // A row goes only while it still holds the text that was selected.
            "DELETE FROM {} AS t USING unnest($1::bigint[], $2::text[]) AS d(id, xml) \
             WHERE t.\"Id\" = d.id AND t.\"Xml\" = d.xml",
            self.qualified()
        );
        self.with_client(|c| c.execute(&statement, &[&ids, &texts]).map(drop))?;
        self.notify();
        Ok(())
    }
}

/// Holds the advisory lock's connection; dropping it unlocks and closes, never panicking.
struct LockGuard(Option<Client>);

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(mut client) = self.0.take() {
            // Closing the session releases the lock even if the unlock fails.
            let _ = client.batch_execute("SELECT pg_advisory_unlock_all()");
            let _ = client.close();
        }
    }
}

/// One `LISTEN` session: reports changes until nobody listens (`Ok(false)`) or it breaks.
fn listen(
    config: &Config,
    payload: &str,
    on_change: &ChangeCallback,
) -> std::result::Result<bool, postgres::Error> {
    let mut client = config.connect(NoTls)?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
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
            while let Some(notification) = batch.next()? {
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

/// `postgres://user@host:port/db`, from a parsed configuration, without any password.
fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    let host = match (hosts.first(), ports.first()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.clone(),
        _ => "localhost".into(),
    };
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    format!(
        "postgres://{user}{host}/{}",
        config.get_dbname().unwrap_or("")
    )
}

/// A quoted SQL identifier.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// keyward's own URL parameters (not passed to PostgreSQL).
#[derive(Debug, Default, PartialEq, Eq)]
struct Parameters {
    schema: Option<String>,
    table: Option<String>,
    create_table: Option<String>,
}

/// `url` without keyward's parameters, and those parameters.
fn split_parameters(url: &str) -> (String, Parameters) {
    let mut parameters = Parameters::default();
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), parameters);
    };
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let slot = match pair.split_once('=') {
                Some(("table", value)) => Some((&mut parameters.table, value)),
                Some(("schema", value)) => Some((&mut parameters.schema, value)),
                Some(("create_table", value)) => Some((&mut parameters.create_table, value)),
                _ => None,
            };
            match slot {
                Some((slot, value)) => {
                    *slot = Some(value.to_owned());
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
    (base, parameters)
}

/// The URL with any password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if rest[..at].contains(':') => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{}", &rest[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_quoting_and_redaction() {
        let (base, parameters) = split_parameters(
            "postgres://u@h:5432/db?table=T&schema=S&sslmode=disable&create_table=false",
        );
        assert_eq!(base, "postgres://u@h:5432/db?sslmode=disable");
        assert_eq!(
            parameters,
            Parameters {
                schema: Some("S".into()),
                table: Some("T".into()),
                create_table: Some("false".into())
            }
        );
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        let config: Config = "postgres://u@h:5433/db?password=hunter2".parse().unwrap();
        assert_eq!(describe(&config), "postgres://u@h:5433/db");
        let config: Config = "host=h user=u password=hunter2 dbname=db".parse().unwrap();
        assert!(!describe(&config).contains("hunter2"));
    }
}
