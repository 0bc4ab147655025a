//! The generation lock: `SET NX PX` with a random token on `<key>:generation-lock`, renewed
//! while held and released only by its holder, so exactly one node of a farm creates each key.

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use keyward::store::GenerationLock;
use keyward::{Error, KeyId, KeyRepository, Result};

use crate::connection::connect_with_timeouts;
use crate::location::{RedisCause, Secrets};
use crate::RedisRepository;

/// How long a generation lock lives if its holder dies without releasing it.
const LOCK_TTL: Duration = Duration::from_secs(30);

/// How long a node waits for another node's generation lock.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// How long dropping a lock guard waits for the release; past it the release goes on in the
/// background (and the lock expires after its TTL if the store never answers).
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// Deletes the lock only if it still holds our token.
const RELEASE_SCRIPT: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// Extends the lock's TTL only if it still holds our token.
const RENEW_SCRIPT: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

impl RedisRepository {
    fn lock_key(&self) -> String {
        format!("{}:generation-lock", self.key)
    }

    /// Takes the generation lock, waiting up to [`LOCK_WAIT`] for another holder.
    pub(crate) fn take_generation_lock(&self) -> Result<GenerationLock> {
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
