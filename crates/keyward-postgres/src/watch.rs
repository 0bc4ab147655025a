//! Change notifications: `NOTIFY` on one channel after every write (the payload names the
//! table), and a `LISTEN` session that reports them to keyward's watcher.

use std::time::Duration;

use keyward::store::{ChangeCallback, Notification};
use keyward::{KeyRepository, Result};
use postgres::fallible_iterator::FallibleIterator;

use crate::connection::Connector;
use crate::PostgresRepository;

/// The channel writes are announced on (the payload names the table).
const CHANNEL: &str = "keyward_key_ring_changed";

impl PostgresRepository {
    /// `schema.table`: the payload of this table's notifications.
    pub(crate) fn notify_payload(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    /// Announces a write to the other nodes; a failure is only logged (the write succeeded).
    pub(crate) fn notify(&self) {
        let payload = self.notify_payload();
        if let Err(error) = self.with_client("announcing the change", |c| {
            c.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
                .map(drop)
        }) {
            tracing::warn!(error = %error.chain(), "could not announce the key ring change");
        }
    }

    /// Starts keyward's watcher thread on a `LISTEN` session of its own.
    pub(crate) fn watch_changes(&self, on_change: ChangeCallback) -> Result<bool> {
        let connector = self.connector.clone();
        let payload = self.notify_payload();
        keyward::store::spawn_watcher(
            "keyward-postgres-watch",
            self.location(),
            on_change,
            move |on_change| listen(&connector, &payload, on_change),
        )?;
        Ok(true)
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
