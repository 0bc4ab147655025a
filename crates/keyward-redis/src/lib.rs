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

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use keyward::{
    ChangeCallback, Error, GenerationLock, KeyId, KeyRepository, Notification, Result,
    StoredElement, XmlElement,
};
use redis::{Commands, ConnectionLike};

/// The list .NET's Redis store uses unless told otherwise.
pub const DEFAULT_KEY: &str = "DataProtection-Keys";

/// How long a generation lock lives if its holder dies without releasing it.
const LOCK_TTL: Duration = Duration::from_secs(30);

/// How long a node waits for another node's generation lock.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// Socket timeouts: a store that stops answering is an error, never a hang.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Deletes the lock only if it still holds our token.
const RELEASE_SCRIPT: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// Replaces a list element only if it still holds the expected text (atomic on the server).
const REPLACE_SCRIPT: &str = "if redis.call('lindex', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('lset', KEYS[1], ARGV[1], ARGV[3]) return 1 else return 0 end";

/// Keys in a Redis list.
pub struct RedisRepository {
    client: redis::Client,
    connection: Mutex<Option<redis::Connection>>,
    key: String,
    /// The URL without credentials, for messages.
    display: String,
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
        let display = redact(url);
        if url.starts_with("rediss://") {
            // TLS through rustls on aws-lc-rs; a provider installed by the application wins.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        }
        let client = redis::Client::open(url).map_err(|e| Error::Repository {
            store: display.clone(),
            reason: format!("invalid Redis URL: {e}"),
            source: None,
        })?;
        let repository = Self {
            client,
            connection: Mutex::new(None),
            key: key.to_owned(),
            display,
        };
        repository.with_connection(|c| redis::cmd("PING").query::<String>(c))?;
        Ok(repository)
    }

    /// The list's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn lock_key(&self) -> String {
        format!("{}:generation-lock", self.key)
    }

    fn channel(&self) -> String {
        format!("{}:changed", self.key)
    }

    fn error(&self, e: &redis::RedisError) -> Error {
        Error::Repository {
            store: self.location(),
            reason: e.to_string(),
            source: None,
        }
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        connect_with_timeouts(&self.client)
    }

    /// Runs `f` on the shared connection, reconnecting once if it broke.
    fn with_connection<T>(
        &self,
        f: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for attempt in 0..2 {
            if slot.as_ref().is_none_or(|c| !c.is_open()) {
                *slot = Some(self.connect().map_err(|e| self.error(&e))?);
            }
            let Some(connection) = slot.as_mut() else {
                continue;
            };
            match f(connection) {
                Ok(value) => return Ok(value),
                Err(e) if attempt == 0 && (e.is_io_error() || e.is_connection_dropped()) => {
                    *slot = None;
                }
                Err(e) => {
                    *slot = None;
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

    fn publish_change(&self) {
        if let Err(error) =
            self.with_connection(|c| c.publish::<_, _, i64>(self.channel(), "changed"))
        {
            // The write succeeded; other nodes will see it at their next periodic refresh.
            tracing::warn!(%error, "could not publish the key ring change notification");
        }
    }
}

impl KeyRepository for RedisRepository {
    fn load_elements(&self) -> Result<Vec<StoredElement>> {
        let items: Vec<String> = self.with_connection(|c| c.lrange(&self.key, 0, -1))?;
        Ok(items
            .into_iter()
            .enumerate()
            .map(|(index, xml)| StoredElement {
                location: format!("{}[{index}]", self.location()),
                xml,
            })
            .collect())
    }

    fn store_element(&self, element: &XmlElement, _friendly_name: &str) -> Result<()> {
        // .NET ignores the friendly name here too: RPUSH of the single-line element.
        let xml = element.to_compact();
        self.with_connection(|c| c.rpush::<_, _, i64>(&self.key, &xml))?;
        self.publish_change();
        Ok(())
    }

    fn lock_for_generation(&self) -> Result<GenerationLock> {
        let token = KeyId::random().to_string();
        let lock_key = self.lock_key();
        let started = Instant::now();
        loop {
            let acquired: Option<String> = self.with_connection(|c| {
                redis::cmd("SET")
                    .arg(&lock_key)
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(u64::try_from(LOCK_TTL.as_millis()).unwrap_or(30_000))
                    .query(c)
            })?;
            if acquired.is_some() {
                return Ok(GenerationLock::new(LockGuard::new(
                    self.client.clone(),
                    lock_key,
                    token,
                )));
            }
            if started.elapsed() > LOCK_WAIT {
                return Err(Error::Repository {
                    store: self.location(),
                    reason: format!(
                        "the key generation lock {lock_key} stayed taken for {}s",
                        LOCK_WAIT.as_secs()
                    ),
                    source: None,
                });
            }
            thread::sleep(Duration::from_millis(25));
        }
    }

    fn location(&self) -> String {
        format!("redis {} list {}", self.display, self.key)
    }

    fn watch(&self, on_change: ChangeCallback) -> Result<bool> {
        let client = self.client.clone();
        let channel = self.channel();
        keyward::spawn_watcher(
            "keyward-redis-watch",
            self.location(),
            on_change,
            move |on_change| listen(&client, &channel, on_change),
        )?;
        Ok(true)
    }

    fn replace_element(&self, old: &StoredElement, new: &XmlElement) -> Result<()> {
        let index = old
            .location
            .strip_prefix(&format!("{}[", self.location()))
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|i| i.parse::<i64>().ok())
            .ok_or_else(|| Error::Repository {
                store: self.location(),
                reason: format!("{} is not an element of this list", old.location),
                source: None,
            })?;
        let new = new.to_compact();
        let replaced: i64 = self.with_connection(|c| {
            redis::Script::new(REPLACE_SCRIPT)
                .key(&self.key)
                .arg(index)
                .arg(&old.xml)
                .arg(&new)
                .invoke(c)
        })?;
        if replaced != 1 {
            return Err(Error::Repository {
                store: self.location(),
                reason: format!(
                    "{} changed since it was read; nothing replaced",
                    old.location
                ),
                source: None,
            });
        }
        self.publish_change();
        Ok(())
    }

    fn delete_elements(&self, elements: &[StoredElement]) -> Result<()> {
        // By value: list indexes shift when others write, so the selected element's text is
        // what is removed, wherever it sits now (and nothing if it is already gone).
        for element in elements {
            self.with_connection(|c| c.lrem::<_, _, i64>(&self.key, 1, element.xml.as_str()))?;
        }
        self.publish_change();
        Ok(())
    }
}

/// Holds the generation lock: renews it while held (so a slow creation or rewrap never
/// outlives the TTL) and releases it only if we still hold it; never panics.
struct LockGuard {
    client: redis::Client,
    lock_key: String,
    token: String,
    stop: Option<std::sync::mpsc::Sender<()>>,
}

/// Extends the lock's TTL only if it still holds our token.
const RENEW_SCRIPT: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

impl LockGuard {
    fn new(client: redis::Client, lock_key: String, token: String) -> Self {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let (renew_client, renew_key, renew_token) =
            (client.clone(), lock_key.clone(), token.clone());
        let ttl = u64::try_from(LOCK_TTL.as_millis()).unwrap_or(30_000);
        let renewer = thread::Builder::new().name("keyward-redis-lock".into()).spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(LOCK_TTL / 3) {
                let renewed = connect_with_timeouts(&renew_client).and_then(|mut c| {
                    redis::Script::new(RENEW_SCRIPT)
                        .key(&renew_key)
                        .arg(&renew_token)
                        .arg(ttl)
                        .invoke::<i64>(&mut c)
                });
                if !matches!(renewed, Ok(1)) {
                    tracing::warn!(lock = %renew_key, "could not renew the key generation lock");
                }
            }
        });
        Self {
            client,
            lock_key,
            token,
            stop: renewer.is_ok().then_some(stop),
        }
    }
}

fn connect_with_timeouts(client: &redis::Client) -> redis::RedisResult<redis::Connection> {
    let connection = client.get_connection_with_timeout(IO_TIMEOUT)?;
    connection.set_read_timeout(Some(IO_TIMEOUT))?;
    connection.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(connection)
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Stops the renewer (a closed channel ends it too).
        drop(self.stop.take());
        let released = connect_with_timeouts(&self.client).and_then(|mut c| {
            redis::Script::new(RELEASE_SCRIPT)
                .key(&self.lock_key)
                .arg(&self.token)
                .invoke::<i64>(&mut c)
        });
        if let Err(error) = released {
            // It expires on its own after the TTL.
            tracing::warn!(%error, lock = %self.lock_key, "could not release the key generation lock");
        }
    }
}

/// One subscription: reports changes until nobody listens (`Ok(false)`) or it breaks.
fn listen(
    client: &redis::Client,
    channel: &str,
    on_change: &ChangeCallback,
) -> redis::RedisResult<bool> {
    let mut connection = client.get_connection_with_timeout(IO_TIMEOUT)?;
    connection.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut pubsub = connection.as_pubsub();
    pubsub.subscribe(channel)?;
    // Changes made while we were not subscribed are picked up by this refresh.
    if !on_change(Notification::Changed) {
        return Ok(false);
    }
    loop {
        let notification = match pubsub.get_message() {
            Ok(_) => Notification::Changed,
            Err(e) if e.is_timeout() => Notification::StillListening,
            Err(e) => return Err(e),
        };
        if !on_change(notification) {
            return Ok(false);
        }
    }
}

/// `url` without a `key=` query parameter, and that parameter.
fn split_key_parameter(url: &str) -> (String, Option<String>) {
    // A fragment (`#insecure`) stays at the end of the URL.
    let (url, fragment) = match url.split_once('#') {
        Some((url, fragment)) => (url, format!("#{fragment}")),
        None => (url, String::new()),
    };
    let Some((base, query)) = url.split_once('?') else {
        return (format!("{url}{fragment}"), None);
    };
    let mut key = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some(("key", value)) => {
                key = Some(value.to_owned());
                false
            }
            _ => true,
        })
        .collect();
    let base = if rest.is_empty() {
        format!("{base}{fragment}")
    } else {
        format!("{base}?{}{fragment}", rest.join("&"))
    };
    (base, key)
}

/// The URL with any password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{}", &rest[at + 1..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parameter_and_redaction() {
        assert_eq!(
            split_key_parameter("redis://h:1/2?key=K"),
            ("redis://h:1/2".to_owned(), Some("K".to_owned()))
        );
        assert_eq!(
            split_key_parameter("redis://h:1/2?protocol=resp3&key=K"),
            (
                "redis://h:1/2?protocol=resp3".to_owned(),
                Some("K".to_owned())
            )
        );
        assert_eq!(
            split_key_parameter("redis://h"),
            ("redis://h".to_owned(), None)
        );
        assert_eq!(redact("redis://u:secret@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redact("redis://:secret@h:1/0"), "redis://:***@h:1/0");
        assert_eq!(redact("redis://h:1/0"), "redis://h:1/0");
    }
}
