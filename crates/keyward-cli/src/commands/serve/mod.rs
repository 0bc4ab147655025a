//! `keyward serve`: the key ring as a local HTTP/1.1 + JSON service (a sidecar), so that a
//! Python, Node or Go service beside an ASP.NET Core app shares its ring and reads its login
//! cookie.
//!
//! - [`access`]: who may connect (uids over the Unix socket, a bearer token over TCP);
//! - [`policy`]: which purposes each peer may use;
//! - [`api`]: the `/v1` operations on the library's provider;
//! - [`http`]: routing, limits and status codes;
//! - [`listen`]: sockets, readiness and graceful shutdown;
//! - [`prometheus`]: `GET /metrics`.
//!
//! The ring, its refresh and its store are the library's: the sidecar keeps no cache.

mod access;
mod api;
mod http;
mod listen;
mod policy;
mod prometheus;

use std::sync::Arc;

use super::{service_provider, CliError};
use crate::cli::GlobalOptions;
use crate::serve_args::ServeArgs;

/// Runs `keyward serve` until SIGTERM or SIGINT.
pub fn run(global: &GlobalOptions, args: &ServeArgs) -> Result<(), CliError> {
    // Installed before the provider is built, so the library's descriptions are seen.
    let recorder = prometheus::PrometheusRecorder::install();
    let admission = access::Admission::from_args(args)?;
    let policy = args
        .policy
        .as_deref()
        .map(|path| policy::Policy::load(path, &admission, args.listen.is_some()))
        .transpose()?;
    let refresh = args.refresh_period.map(std::time::Duration::from_secs);
    if refresh.is_some_and(|period| period.is_zero()) {
        return Err(CliError::Usage(
            "--refresh-period must be at least 1 second".into(),
        ));
    }
    let provider = service_provider(global, refresh)?;
    // As an ASP.NET Core app does at start: a ring without a usable default key gets one
    // now, not on the first request. A store that does not answer is reported, not fatal:
    // /v1/health says so until it answers.
    if let Err(error) = provider.ensure_default_key() {
        tracing::warn!(
            "no usable default key yet: {}",
            keyward::error_chain(&error)
        );
    }
    let service = Arc::new(http::Service {
        operations: api::Operations { provider, policy },
        admission,
        recorder,
        max_body: args.max_body,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Io {
            context: "starting the server's runtime",
            source,
        })?;
    runtime.block_on(listen::serve(service, args))
}
