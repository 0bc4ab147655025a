//! The generation lock: a PostgreSQL advisory lock, taken on a connection of its own that
//! lives on a thread of its own, so that dropping the guard never waits on a stalled server
//! for longer than [`UNLOCK_WAIT`].

use std::sync::mpsc;
use std::time::Duration;

use keyward::store::GenerationLock;
use keyward::{Error, KeyRepository, Result};
use postgres::Client;

use crate::PostgresRepository;

/// How long dropping the generation lock waits for its session to close.
const UNLOCK_WAIT: Duration = Duration::from_secs(2);

impl PostgresRepository {
    /// An advisory-lock key for `purpose` on this table: the same on every node.
    pub(crate) fn advisory_key(&self, purpose: &str) -> i64 {
        // FNV-1a, 64-bit, over the purpose and the table's name.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in format!("{purpose}:{}", self.notify_payload()).bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        i64::from_ne_bytes(hash.to_ne_bytes())
    }

    /// Takes the generation lock: a session-level advisory lock on a connection of its own,
    /// held by a [`LockGuard`].
    pub(crate) fn take_generation_lock(&self) -> Result<GenerationLock> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use postgres::{Config, NoTls};

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
