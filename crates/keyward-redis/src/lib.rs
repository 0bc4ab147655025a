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
use std::sync::{mpsc, Arc, Mutex, PoisonError, TryLockError};

use arc_swap::ArcSwap;
use std::thread;
use std::time::{Duration, Instant};

use keyward::store::{ElementHandle, MAX_DOCUMENT_BYTES};
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

/// How long dropping a lock guard waits for the release; past it the release goes on in the
/// background (and the lock expires after its TTL if the store never answers).
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// Deletes the lock only if it still holds our token.
const RELEASE_SCRIPT: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

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

    fn lock_key(&self) -> String {
        format!("{}:generation-lock", self.key)
    }

    fn channel(&self) -> String {
        format!("{}:changed", self.key)
    }

    /// A store failure while doing `what`, caused by `e` (shown without secrets).
    fn error(&self, what: &str, e: &redis::RedisError) -> Error {
        Error::repository_caused(self.location(), what, self.secrets.cause(e))
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        connect_with_timeouts(&self.client)
    }

    /// Runs `f` (doing `what`, for messages) on the shared connection, reconnecting once if
    /// it broke.
    fn with_connection<T>(
        &self,
        what: &str,
        f: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        if !self.process.is_current() {
            // A forked child that uses the repository before its provider noticed the fork.
            self.after_fork();
        }
        let slot = self.connection.load_full();
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        for attempt in 0..2 {
            if slot.as_ref().is_none_or(|c| !c.is_open()) {
                *slot = Some(self.connect().map_err(|e| self.error("connecting", &e))?);
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
                    return Err(self.error(what, &e));
                }
            }
        }
        Err(Error::repository(
            self.location(),
            format!("{what}: the connection could not be re-established"),
        ))
    }

    fn publish_change(&self) {
        if let Err(error) = self.with_connection("publishing the change notification", |c| {
            c.publish::<_, _, i64>(self.channel(), "changed")
        }) {
            // The write succeeded; other nodes will see it at their next periodic refresh.
            tracing::warn!(%error, "could not publish the key ring change notification");
        }
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
        let token = KeyId::random().to_string();
        let lock_key = self.lock_key();
        let started = Instant::now();
        loop {
            let acquired: Option<String> =
                self.with_connection("taking the key generation lock", |c| {
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
                    Arc::clone(&self.secrets),
                )));
            }
            if started.elapsed() > LOCK_WAIT {
                return Err(Error::repository(
                    self.location(),
                    format!(
                        "the key generation lock {lock_key} stayed taken for {}s",
                        LOCK_WAIT.as_secs()
                    ),
                ));
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
        let secrets = Arc::clone(&self.secrets);
        keyward::spawn_watcher(
            "keyward-redis-watch",
            self.location(),
            on_change,
            move |on_change| listen(&client, &channel, on_change).map_err(|e| secrets.cause(&e)),
        )?;
        Ok(true)
    }

    /// Lets go of the connection inherited from the parent: its socket is closed in this
    /// process only (nothing is sent on it: the parent's session goes on), or, when a thread
    /// of the parent held it at the fork, leaked. The next call connects anew.
    fn after_fork(&self) {
        if !self.process.take_over() {
            return;
        }
        let inherited = self.connection.swap(Arc::new(Mutex::new(None)));
        let held = match inherited.try_lock() {
            Ok(mut slot) => {
                drop(slot.take());
                false
            }
            Err(TryLockError::Poisoned(slot)) => {
                drop(slot.into_inner().take());
                false
            }
            Err(TryLockError::WouldBlock) => true,
        };
        if held {
            // Locked by a thread that does not exist here: a guard of it may point inside.
            std::mem::forget(inherited);
        }
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

/// Holds the generation lock: renews it while held (so a slow creation or rewrap never
/// outlives the TTL) and releases it only if we still hold it; never panics, and dropping it
/// never blocks longer than [`RELEASE_WAIT`].
struct LockGuard {
    client: redis::Client,
    lock_key: String,
    token: String,
    secrets: Arc<Secrets>,
    stop: Option<mpsc::Sender<()>>,
}

/// Extends the lock's TTL only if it still holds our token.
const RENEW_SCRIPT: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

impl LockGuard {
    fn new(client: redis::Client, lock_key: String, token: String, secrets: Arc<Secrets>) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let (renew_client, renew_key, renew_token) =
            (client.clone(), lock_key.clone(), token.clone());
        let ttl = u64::try_from(LOCK_TTL.as_millis()).unwrap_or(30_000);
        let renewer = thread::Builder::new().name("keyward-redis-lock".into()).spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(LOCK_TTL / 3) {
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
            secrets,
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

/// Deletes the lock if it still holds `token`, on a connection with socket timeouts.
fn release(
    client: &redis::Client,
    lock_key: &str,
    token: &str,
    secrets: &Secrets,
) -> std::result::Result<(), RedisCause> {
    connect_with_timeouts(client)
        .and_then(|mut c| {
            redis::Script::new(RELEASE_SCRIPT)
                .key(lock_key)
                .arg(token)
                .invoke::<i64>(&mut c)
        })
        .map(drop)
        .map_err(|e| secrets.cause(&e))
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Stops the renewer (a closed channel ends it too).
        drop(self.stop.take());
        // The release runs on its own thread, so a store that stopped answering delays this
        // drop by RELEASE_WAIT at most; the thread ends within its socket timeouts.
        let (client, secrets) = (self.client.clone(), Arc::clone(&self.secrets));
        let (lock_key, token) = (
            std::mem::take(&mut self.lock_key),
            std::mem::take(&mut self.token),
        );
        let (done, finished) = mpsc::channel::<()>();
        let shown_key = lock_key.clone();
        let spawned = thread::Builder::new()
            .name("keyward-redis-unlock".into())
            .spawn(move || {
                if let Err(error) = release(&client, &lock_key, &token, &secrets) {
                    // It expires on its own after the TTL.
                    tracing::warn!(%error, lock = %lock_key, "could not release the key generation lock");
                }
                let _ = done.send(());
            });
        match spawned {
            Ok(_) => {
                if finished.recv_timeout(RELEASE_WAIT).is_err() {
                    tracing::warn!(
                        lock = %shown_key,
                        "releasing the key generation lock is taking over {}s; continuing (it expires after {}s at most)",
                        RELEASE_WAIT.as_secs(),
                        LOCK_TTL.as_secs()
                    );
                }
            }
            Err(error) => {
                tracing::warn!(%error, lock = %shown_key, "could not start releasing the key generation lock; it expires after its TTL");
            }
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

/// The schemes the Redis client understands (and so the only ones shown).
const SCHEMES: &[&str] = &[
    "redis",
    "rediss",
    "valkey",
    "valkeys",
    "redis+unix",
    "valkey+unix",
    "unix",
];

/// The URL's scheme, when it is one of [`SCHEMES`] (lower case).
fn known_scheme(url: &str) -> Option<&'static str> {
    let (scheme, _) = url.trim().split_once("://")?;
    SCHEMES
        .iter()
        .copied()
        .find(|known| known.eq_ignore_ascii_case(scheme))
}

/// The store `url` names, for messages: built only from the fields the Redis client parses
/// (scheme, host, port, database; the socket path), never from the URL's text, so no user,
/// password or stray text reaches it. A URL that does not parse shows as its scheme and
/// `(unparsable URL)`. Never panics.
///
/// ```
/// use keyward_redis::display_url;
/// assert_eq!(display_url("redis://app:s3cret@cache:6380/2?key=K"), "redis://cache:6380/2");
/// assert_eq!(display_url("redis://app:hun/ter2@cache:6380/2"), "redis://(unparsable URL)");
/// ```
pub fn display_url(url: &str) -> String {
    let scheme = known_scheme(url);
    let info = scheme.and_then(|_| redis::IntoConnectionInfo::into_connection_info(url).ok());
    let (Some(scheme), Some(info)) = (scheme, info) else {
        return match scheme {
            Some(scheme) => format!("{scheme}://(unparsable URL)"),
            None => "(unparsable URL)".to_owned(),
        };
    };
    let db = info.redis_settings().db();
    let host = |host: &str| {
        if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        }
    };
    let shown = match info.addr() {
        redis::ConnectionAddr::Tcp(name, port) => format!("{scheme}://{}:{port}/{db}", host(name)),
        redis::ConnectionAddr::TcpTls {
            host: name,
            port,
            insecure,
            ..
        } => format!(
            "{scheme}://{}:{port}/{db}{}",
            host(name),
            if *insecure { "#insecure" } else { "" }
        ),
        redis::ConnectionAddr::Unix(path) if db == 0 => {
            format!("{scheme}://{}", path.display())
        }
        redis::ConnectionAddr::Unix(path) => format!("{scheme}://{}?db={db}", path.display()),
        _ => format!("{scheme}://(address)"),
    };
    shown.chars().filter(|c| !c.is_control()).collect()
}

/// The secrets a URL holds, in every form they could be echoed in: its password (as written
/// and percent-decoded) and, for socket URLs, the `pass` query parameter.
#[derive(Default)]
struct Secrets(Vec<String>);

impl Secrets {
    fn of(url: &str) -> Self {
        let mut secrets = Vec::new();
        if let Some(parsed) = redis::parse_redis_url(url) {
            secrets.extend(parsed.password().map(str::to_owned));
            for pair in parsed.query().unwrap_or("").split('&') {
                if let Some(("pass", value)) = pair.split_once('=') {
                    secrets.push(value.to_owned());
                }
            }
            secrets.extend(
                parsed
                    .query_pairs()
                    .filter(|(name, _)| name == "pass")
                    .map(|(_, value)| value.into_owned()),
            );
        }
        if let Ok(info) = redis::IntoConnectionInfo::into_connection_info(url) {
            secrets.extend(info.redis_settings().password().map(str::to_owned));
        }
        secrets.retain(|secret| !secret.is_empty());
        // Longest first, so a secret holding another is replaced whole.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Self(secrets)
    }

    /// `error` as a cause that is safe to show: its text with every secret replaced by `***`,
    /// and without the client's detail for configuration errors (it can quote the URL).
    fn cause(&self, error: &redis::RedisError) -> RedisCause {
        let mut text = error.to_string();
        if error.kind() == redis::ErrorKind::InvalidClientConfig {
            if let Some(detail) = error.detail().filter(|d| !d.is_empty()) {
                text = text.replace(detail, "(detail withheld)");
            }
        }
        for secret in &self.0 {
            text = text.replace(secret.as_str(), "***");
        }
        RedisCause { text }
    }
}

/// A Redis client error as keyward shows it: the client's message without any secret of the
/// URL. It carries only that text, never the client's error itself.
#[derive(Debug, Clone)]
pub struct RedisCause {
    text: String,
}

impl fmt::Display for RedisCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for RedisCause {}

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
        assert_eq!(display_url("redis://u:secret@h:1/0"), "redis://h:1/0");
        assert_eq!(display_url("redis://:secret@h:1/0"), "redis://h:1/0");
        assert_eq!(display_url("redis://h:1/0"), "redis://h:1/0");
    }
}
