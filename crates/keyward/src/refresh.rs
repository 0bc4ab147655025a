//! The provider's refresh thread: re-reads the key ring every refresh period, on request (a
//! snapshot past its refresh time, an unknown key id), and after failures with backoff.
//!
//! Repository I/O runs here, never on a caller's thread (and so never on a caller's async
//! runtime), apart from the bounded wait of an `unprotect` that met an unknown key id.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::policy::KeyManagementPolicy;

/// What the refresh thread needs of the ring it keeps current, and nothing more.
pub(crate) trait Reload: Send + Sync {
    /// Re-reads the ring (creating the successor key if one is due). A failure keeps the
    /// last good ring.
    fn reload(&self) -> Result<()>;
    /// Where the ring lives, for events.
    fn location(&self) -> String;
    /// The refresh period, its jitter and the minimum interval between reloads.
    fn policy(&self) -> &KeyManagementPolicy;
}

#[derive(Debug, Default)]
struct State {
    requested: bool,
    /// An `unprotect` is waiting for this reload (an unknown key id): it skips the minimum
    /// interval between reloads (unknown-key reloads have their own, longer, throttle).
    urgent: bool,
    running: bool,
    stop: bool,
    /// How many refreshes have finished (successfully or not).
    completed: u64,
    last_unknown_key_refresh: Option<Instant>,
    /// After a failure: requests from `protect` are ignored until then (the backoff).
    not_before: Option<Instant>,
}

#[derive(Debug, Default)]
struct Signals {
    state: Mutex<State>,
    wake: Condvar,
    done: Condvar,
}

impl Signals {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Handle to the refresh thread; stopping it (on drop of the provider) never panics.
#[derive(Debug)]
pub(crate) struct Refresher {
    signals: Arc<Signals>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Refresher {
    /// A refresher with no thread yet (see [`Refresher::start`]).
    pub(crate) fn new() -> Self {
        Self {
            signals: Arc::default(),
            thread: Mutex::new(None),
        }
    }

    /// Starts the thread. Without a thread (spawning failed), refreshes asked for by
    /// `unprotect` run on the caller's thread instead.
    pub(crate) fn start(&self, shared: Weak<dyn Reload>) {
        let signals = Arc::clone(&self.signals);
        let spawned = std::thread::Builder::new()
            .name("keyward-refresh".into())
            .spawn(move || run(&signals, &shared));
        match spawned {
            Ok(handle) => {
                *self.thread.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
            }
            Err(error) => {
                tracing::warn!(%error, "could not start the key ring refresh thread; refreshing on demand only");
            }
        }
    }

    fn has_thread(&self) -> bool {
        self.thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Asks for a refresh soon; never blocks on I/O.
    pub(crate) fn request(&self) {
        let mut state = self.signals.lock();
        if state.not_before.is_some_and(|t| Instant::now() < t) {
            return;
        }
        if !state.requested && !state.running {
            state.requested = true;
            self.signals.wake.notify_one();
        }
    }

    /// The store changed (a pushed notification): refresh soon, even if a refresh is running
    /// now (it may have read the store before the change).
    pub(crate) fn request_after_change(&self) {
        let mut state = self.signals.lock();
        state.requested = true;
        self.signals.wake.notify_one();
    }

    /// For an unknown key id: asks for a refresh (at most once per `interval`) and waits for
    /// it up to `wait`. Returns whether a refresh finished that may hold the key.
    pub(crate) fn refresh_for_unknown_key(
        &self,
        shared: &dyn Reload,
        interval: Duration,
        wait: Duration,
    ) -> bool {
        {
            let mut state = self.signals.lock();
            if state
                .last_unknown_key_refresh
                .is_some_and(|last| last.elapsed() < interval)
            {
                return false;
            }
            state.last_unknown_key_refresh = Some(Instant::now());
        }
        tracing::info!("a payload names an unknown key id: refreshing the key ring");
        self.reload_and_wait(shared, wait)
    }

    /// Has the refresh thread reload the ring now (ahead of the minimum interval) and waits
    /// for it up to `wait`: the caller's thread never does repository I/O itself. Without a
    /// refresh thread (it could not be started), the reload runs here. Returns whether a
    /// reload that started after this call finished.
    pub(crate) fn reload_and_wait(&self, shared: &dyn Reload, wait: Duration) -> bool {
        if !self.has_thread() {
            return shared.reload().is_ok();
        }
        let mut state = self.signals.lock();
        // A refresh already running may have read the store before the key arrived.
        let target = state.completed + if state.running { 2 } else { 1 };
        state.requested = true;
        state.urgent = true;
        self.signals.wake.notify_one();
        let deadline = Instant::now() + wait;
        while state.completed < target && !state.stop {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .signals
                .done
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.completed >= target
    }

    /// Stops the thread and waits for it, unless called from the thread itself.
    pub(crate) fn stop(&self) {
        {
            let mut state = self.signals.lock();
            state.stop = true;
            self.signals.wake.notify_all();
            self.signals.done.notify_all();
        }
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            if handle.thread().id() != std::thread::current().id() {
                // A panicked thread is reported by join as an error: ignore it, never panic.
                let _ = handle.join();
            }
        }
    }
}

/// Waits on `wake` until `until` or until `done` holds, whichever comes first.
fn wait_until<'a>(
    signals: &'a Signals,
    mut state: MutexGuard<'a, State>,
    until: Instant,
    done: impl Fn(&State) -> bool,
) -> MutexGuard<'a, State> {
    while !done(&state) {
        let now = Instant::now();
        if now >= until {
            break;
        }
        state = signals
            .wake
            .wait_timeout(state, until - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    state
}

fn run(signals: &Signals, shared: &Weak<dyn Reload>) {
    let mut failures: u32 = 0;
    let (mut deadline, min_interval) = match shared.upgrade() {
        Some(shared) => (
            Instant::now() + to_std(shared.policy().jittered_refresh_period()),
            shared.policy().min_refresh_interval,
        ),
        None => return,
    };
    let mut last_finished: Option<Instant> = None;
    loop {
        {
            let mut state = signals.lock();
            state = wait_until(signals, state, deadline, |s| s.stop || s.requested);
            // However often the store says it changed, reload at most once per
            // `min_interval`: requests meanwhile fold into the next reload.
            if let Some(earliest) = last_finished.map(|t| t + min_interval) {
                state = wait_until(signals, state, earliest, |s| s.stop || s.urgent);
            }
            state.urgent = false;
            if state.stop {
                return;
            }
            state.requested = false;
            state.running = true;
        }
        let Some(provider) = shared.upgrade() else {
            return;
        };
        let period = to_std(provider.policy().jittered_refresh_period());
        let mut not_before = None;
        match provider.reload() {
            Ok(_) => {
                if failures > 0 {
                    tracing::info!(location = %provider.location(), "key ring refresh recovered");
                }
                failures = 0;
                deadline = Instant::now() + period;
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                let retry = backoff(failures).min(period);
                tracing::warn!(%error, retry_in_secs = retry.as_secs(), "key ring refresh failed; keeping the last good key ring");
                deadline = Instant::now() + retry;
                not_before = Some(deadline);
            }
        }
        drop(provider);
        last_finished = Some(Instant::now());
        let mut state = signals.lock();
        state.not_before = not_before;
        state.running = false;
        state.completed += 1;
        signals.done.notify_all();
    }
}

/// 1 s, 2 s, 4 s, … up to 5 minutes.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(8)).min(Duration::from_secs(300))
}

fn to_std(duration: time::Duration) -> Duration {
    Duration::try_from(duration).unwrap_or(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(50), Duration::from_secs(256));
        assert!(backoff(u32::MAX) <= Duration::from_secs(300));
    }
}
