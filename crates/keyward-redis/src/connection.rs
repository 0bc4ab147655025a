//! The shared connection: opened with socket timeouts (a store that stops answering is an
//! error, never a hang), reconnected once when it broke, and let go of in a forked child.

use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use std::time::Duration;

use keyward::{Error, KeyRepository, Result};
use redis::ConnectionLike;

use crate::RedisRepository;

/// Socket timeouts: a store that stops answering is an error, never a hang.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to `client` with [`IO_TIMEOUT`] on connecting, reading and writing.
pub(crate) fn connect_with_timeouts(
    client: &redis::Client,
) -> redis::RedisResult<redis::Connection> {
    let connection = client.get_connection_with_timeout(IO_TIMEOUT)?;
    connection.set_read_timeout(Some(IO_TIMEOUT))?;
    connection.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(connection)
}

impl RedisRepository {
    /// A store failure while doing `what`, caused by `e` (shown without secrets).
    fn error(&self, what: &str, e: &redis::RedisError) -> Error {
        Error::repository_caused(self.location(), what, self.secrets.cause(e))
    }

    /// Runs `f` (doing `what`, for messages) on the shared connection, reconnecting once if
    /// it broke.
    pub(crate) fn with_connection<T>(
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
                *slot = Some(
                    connect_with_timeouts(&self.client)
                        .map_err(|e| self.error("connecting", &e))?,
                );
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

    /// In a forked child, lets go of the connection inherited from the parent (see
    /// [`KeyRepository::after_fork`]).
    pub(crate) fn let_go_of_inherited_connection(&self) {
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
}
