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

mod connection;
mod location;
mod lock;
mod runtime;
mod tls;
mod watch;

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use arc_swap::ArcSwap;
use keyward::store::{ChangeCallback, GenerationLock, StoredElement, XmlElement};
use keyward::store::{ElementHandle, MAX_DOCUMENT_BYTES};
use keyward::{Error, KeyRepository, Result};
use postgres::error::SqlState;
use postgres::Client;

pub use location::display_url;
pub use tls::SslMode;

use connection::Connector;
use location::{describe, parse_config, split_parameters, unparsable, Parameters};
use runtime::off_runtime;

/// EF Core's default table name.
pub const DEFAULT_TABLE: &str = "DataProtectionKeys";

/// The connect timeout when the connection string sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

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
        self.take_generation_lock()
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    fn watch(&self, on_change: ChangeCallback) -> Result<bool> {
        self.watch_changes(on_change)
    }

    /// Lets go of the connection inherited from the parent without closing it: the
    /// client's drop would send `Terminate` on the parent's session (ending it) through a
    /// runtime that is the parent's too, so the whole slot is leaked (a socket and the
    /// client's runtime, once per fork). The next call connects anew.
    fn after_fork(&self) {
        self.let_go_of_inherited_connection();
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

/// A quoted SQL identifier.
pub(crate) fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// A keyward parameter of the URL that cannot be used (the text names it, never its value).
fn bad_parameter(reason: impl Into<keyward::error::BoxedCause>) -> Error {
    Error::Configuration(keyward::error::ConfigError::StoreParameter(reason.into()))
}
