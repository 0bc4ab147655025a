//! Change notifications: a publish on `<key>:changed` after every write, and a subscription
//! that reports them (or that it is still listening, once a second) to keyward's watcher.

use std::sync::Arc;
use std::time::Duration;

use keyward::store::{ChangeCallback, Notification};
use keyward::{KeyRepository, Result};
use redis::Commands;

use crate::connection::IO_TIMEOUT;
use crate::RedisRepository;

impl RedisRepository {
    fn channel(&self) -> String {
        format!("{}:changed", self.key)
    }

    /// Announces a write to the other nodes; a failure is only logged (the write succeeded).
    pub(crate) fn publish_change(&self) {
        if let Err(error) = self.with_connection("publishing the change notification", |c| {
            c.publish::<_, _, i64>(self.channel(), "changed")
        }) {
            // The write succeeded; other nodes will see it at their next periodic refresh.
            tracing::warn!(%error, "could not publish the key ring change notification");
        }
    }

    /// Starts keyward's watcher thread on the change channel.
    pub(crate) fn watch_changes(&self, on_change: ChangeCallback) -> Result<bool> {
        let client = self.client.clone();
        let channel = self.channel();
        let secrets = Arc::clone(&self.secrets);
        keyward::store::spawn_watcher(
            "keyward-redis-watch",
            self.location(),
            on_change,
            move |on_change| listen(&client, &channel, on_change).map_err(|e| secrets.cause(&e)),
        )?;
        Ok(true)
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
