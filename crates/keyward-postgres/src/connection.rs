//! Connections: the [`Connector`] (the parsed configuration and its TLS, with libpq's
//! `prefer` fallback to plain text), the shared client (reconnected once when it broke), and
//! closing it when the repository goes.

use std::sync::{Arc, Mutex, PoisonError};

use keyward::{Error, KeyRepository, Result};
use postgres::{Client, Config, NoTls};

use crate::runtime::off_runtime;
use crate::{tls, PostgresRepository};

/// Opens connections: the parsed configuration and the TLS it asks for.
#[derive(Clone)]
pub(crate) struct Connector {
    pub(crate) config: Config,
    pub(crate) tls: Option<tls::MakeRustls>,
    /// `prefer`: a failed handshake falls back to plain text, as libpq does.
    pub(crate) fallback_to_plain: bool,
}

impl Connector {
    /// A new connection, with TLS as configured.
    pub(crate) fn connect(&self) -> std::result::Result<Client, postgres::Error> {
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
    /// In a forked child, leaks the connection inherited from the parent (see
    /// [`KeyRepository::after_fork`]).
    pub(crate) fn let_go_of_inherited_connection(&self) {
        if !self.process.take_over() {
            return;
        }
        std::mem::forget(self.client.swap(Arc::new(Mutex::new(None))));
    }

    /// Runs `f` on the shared connection, reconnecting once if it broke. `doing` says what
    /// keyward was doing, for the error; the client's error is its source. Every use of the
    /// shared client goes through here, and so [`off_runtime`].
    pub(crate) fn with_client<T: Send>(
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
