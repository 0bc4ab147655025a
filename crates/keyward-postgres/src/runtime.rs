//! Runtime bridging: the synchronous `postgres` client blocks on a tokio runtime of its own,
//! which panics on a thread that is already inside a runtime; [`off_runtime`] moves such calls
//! to a scoped thread.

use keyward::{Error, Result};

/// Runs `work`, which uses the synchronous `postgres` client, where that client may block.
///
/// The client drives each call with `block_on` on a tokio runtime of its own, and tokio
/// panics when that happens on a thread that is inside a runtime ("Cannot start a runtime
/// from within a runtime": `#[tokio::main]`, a handler). So inside a runtime `work` runs on a
/// scoped thread of its own, and the caller waits for it (a blocking wait, as the call itself
/// would be without a runtime); anywhere else (keyward's refresh thread, a plain `main`), here.
/// A panic in `work` is resumed on the caller's thread.
///
/// # Errors
/// `work`'s; [`Error::Repository`] naming `location` when no thread can be started.
pub(crate) fn off_runtime<T: Send>(
    location: &str,
    work: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("keyward-postgres".into())
            .spawn_scoped(scope, work)
            .map_err(|e| {
                Error::repository_caused(
                    location,
                    "starting a thread for the PostgreSQL client outside the tokio runtime",
                    e,
                )
            })?;
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
