//! # keyward-redis
//!
//! A [`KeyRepository`] on a Redis list, the shape ASP.NET Core's
//! `PersistKeysToStackExchangeRedis` uses: each key and revocation is one element of the list
//! (default key `DataProtection-Keys`), a single-line XML document with no declaration, so a
//! .NET app and keyward pointed at the same list share one key ring.
//!
//! Beyond what .NET does, keyward takes a lock (`SET NX PX` with a random token, released only
//! by its holder) while it decides to create a key, so exactly one node of a farm creates each
//! key, and publishes on a channel after every write so other nodes refresh within a second.
//!
//! ```no_run
//! let repository = keyward_redis::RedisRepository::open("redis://127.0.0.1:6379/0?key=shop-keys")?;
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
mod watch;

use std::fmt;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use keyward::store::{ChangeCallback, GenerationLock, StoredElement, XmlElement};
use keyward::store::{ElementHandle, MAX_DOCUMENT_BYTES};
use keyward::{Error, KeyRepository, Result};
use redis::Commands;

pub use location::{display_url, RedisCause};

use location::{split_key_parameter, Secrets};

/// The list .NET's Redis store uses unless told otherwise.
pub const DEFAULT_KEY: &str = "DataProtection-Keys";

/// Replaces a list element only if it still holds the expected text (atomic on the server).
const REPLACE_SCRIPT: &str = "if redis.call('lindex', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('lset', KEYS[1], ARGV[1], ARGV[3]) return 1 else return 0 end";

/// Reads the list, each element over the limit (`ARGV[1]` bytes) replaced by its length.
const LOAD_SCRIPT: &str = "local items = redis.call('lrange', KEYS[1], 0, -1) local limit = tonumber(ARGV[1]) for i = 1, #items do local n = string.len(items[i]) if n > limit then items[i] = n end end return items";

/// Keys in a Redis list.
pub struct RedisRepository {
    client: redis::Client,
    /// The shared connection. A forked child swaps in a new slot (see
    /// [`KeyRepository::after_fork`]): the parent's may be locked for ever there.
    connection: ArcSwap<Mutex<Option<redis::Connection>>>,
    /// The process the connection belongs to (`std::process::id`).
    process: keyward::store::ProcessOwner,
    key: String,
    /// The URL without credentials, for messages.
    display: String,
    /// What the store client's errors must never show.
    secrets: Arc<Secrets>,
}

impl fmt::Debug for RedisRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRepository")
            .field("store", &self.display)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl RedisRepository {
    /// Connects to `redis://[user:pass@]host:port/db[?key=NAME]` (or `rediss://` for TLS,
    /// verified against the system's root certificates; `#insecure` at the end skips
    /// verification, for tests only) and checks the store answers, so a wrong URL fails here,
    /// naming the store.
    ///
    /// # Errors
    /// [`Error::Repository`] naming the store (without credentials).
    pub fn open(url: &str) -> Result<Self> {
        let (base, key) = split_key_parameter(url);
        Self::open_with_key(&base, key.as_deref().unwrap_or(DEFAULT_KEY))
    }

    /// Connects to `url` and uses the list at `key`.
    ///
    /// # Errors
    /// [`Error::Repository`] naming the store.
    pub fn open_with_key(url: &str, key: &str) -> Result<Self> {
        let display = display_url(url);
        let secrets = Arc::new(Secrets::of(url));
        let info = redis::IntoConnectionInfo::into_connection_info(url).map_err(|e| {
            Error::repository_caused(display.clone(), "invalid Redis URL", secrets.cause(&e))
        })?;
        if matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. }) {
            // TLS through rustls on aws-lc-rs; a provider installed by the application wins.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        }
        let client = redis::Client::open(info).map_err(|e| {
            Error::repository_caused(display.clone(), "invalid Redis URL", secrets.cause(&e))
        })?;
        let repository = Self {
            client,
            connection: ArcSwap::from_pointee(Mutex::new(None)),
            process: keyward::store::ProcessOwner::new(),
            key: key.to_owned(),
            display,
            secrets,
        };
        repository.with_connection("checking the store answers (PING)", |c| {
            redis::cmd("PING").query::<String>(c)
        })?;
        Ok(repository)
    }

    /// The list's key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl KeyRepository for RedisRepository {
    fn load_elements(&self) -> Result<Vec<StoredElement>> {
        // The server replaces each element over the limit by its length: such an element is
        // never transferred, only named, as an unreadable key.
        let limit = u64::try_from(MAX_DOCUMENT_BYTES).unwrap_or(u64::MAX);
        let items: Vec<redis::Value> = self.with_connection("reading the list", |c| {
            redis::Script::new(LOAD_SCRIPT)
                .key(&self.key)
                .arg(limit)
                .invoke(c)
        })?;
        Ok(items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                let location = format!("{}[{index}]", self.location());
                let handle = ElementHandle::new(index.to_string());
                match item {
                    redis::Value::BulkString(bytes) => match String::from_utf8(bytes) {
                        Ok(xml) => StoredElement::new(location, handle, xml),
                        Err(e) => {
                            zeroize::Zeroize::zeroize(&mut e.into_bytes());
                            StoredElement::unreadable(location, handle, "the element is not UTF-8")
                        }
                    },
                    redis::Value::Int(length) => StoredElement::unreadable(
                        location,
                        handle,
                        format!(
                            "{length} bytes, larger than the {MAX_DOCUMENT_BYTES}-byte limit for a key document (not read)"
                        ),
                    ),
                    _ => StoredElement::unreadable(
                        location,
                        handle,
                        "the server answered something other than the element",
                    ),
                }
            })
            .collect())
    }

    fn server_time(&self) -> Option<Result<keyward::time::OffsetDateTime>> {
        let reply = self.with_connection("reading the server clock (TIME)", |c| {
            redis::cmd("TIME").query::<(i64, i64)>(c)
        });
        Some(reply.and_then(|(seconds, micros)| {
            let nanos = i128::from(seconds) * 1_000_000_000 + i128::from(micros) * 1_000;
            keyward::time::OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| {
                keyward::Error::repository(self.location(), "TIME answered an impossible time")
            })
        }))
    }

    fn store_element(&self, element: &XmlElement, _friendly_name: &str) -> Result<()> {
        // .NET ignores the friendly name here too: RPUSH of the single-line element.
        let xml = element.to_compact();
        self.with_connection("appending to the list", |c| {
            c.rpush::<_, _, i64>(&self.key, &xml)
        })?;
        self.publish_change();
        Ok(())
    }

    fn lock_for_generation(&self) -> Result<GenerationLock> {
        self.take_generation_lock()
    }

    fn location(&self) -> String {
        format!("redis {} list {}", self.display, self.key)
    }

    fn watch(&self, on_change: ChangeCallback) -> Result<bool> {
        self.watch_changes(on_change)
    }

    /// Lets go of the connection inherited from the parent: its socket is closed in this
    /// process only (nothing is sent on it: the parent's session goes on), or, when a thread
    /// of the parent held it at the fork, leaked. The next call connects anew.
    fn after_fork(&self) {
        self.let_go_of_inherited_connection();
    }

    fn replace_element(&self, old: &StoredElement, new: &XmlElement) -> Result<()> {
        let index = old.handle.as_str().parse::<i64>().ok().ok_or_else(|| {
            Error::repository(
                self.location(),
                format!("{} is not an element of this list", old.location),
            )
        })?;
        let new = new.to_compact();
        let replaced: i64 = self.with_connection("replacing an element", |c| {
            redis::Script::new(REPLACE_SCRIPT)
                .key(&self.key)
                .arg(index)
                .arg(&old.xml)
                .arg(&new)
                .invoke(c)
        })?;
        if replaced != 1 {
            return Err(Error::repository(
                self.location(),
                format!(
                    "{} changed since it was read; nothing replaced",
                    old.location
                ),
            ));
        }
        self.publish_change();
        Ok(())
    }

    fn delete_elements(&self, elements: &[StoredElement]) -> Result<()> {
        // By value: list indexes shift when others write, so the selected element's text is
        // what is removed, wherever it sits now (and nothing if it is already gone).
        for element in elements {
            self.with_connection("removing an element", |c| {
                c.lrem::<_, _, i64>(&self.key, 1, element.xml.as_str())
            })?;
        }
        self.publish_change();
        Ok(())
    }
}
