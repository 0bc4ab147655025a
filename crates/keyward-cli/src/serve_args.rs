//! `keyward serve`'s options (kept apart from `cli.rs`, which holds the other commands').

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// `keyward serve`: the key ring as a local HTTP service for programs in any language.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("listeners").required(true).multiple(true).args(["socket", "listen"])))]
pub struct ServeArgs {
    /// Listen on this Unix socket (created with mode 0660; a stale socket file is replaced).
    /// Peers are admitted by their credentials (SO_PEERCRED): --allow-user/--allow-uid, or
    /// only the user running keyward when neither is given.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Also (or instead) listen on loopback TCP, e.g. 127.0.0.1:8181. Needs --token-file;
    /// an address other than a loopback one is refused.
    #[arg(long, value_name = "ADDR:PORT", requires = "token_file")]
    pub listen: Option<SocketAddr>,

    /// The bearer token TCP clients send (`Authorization: Bearer TOKEN`): the file's first
    /// line, at least 16 characters.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Admit Unix-socket peers running as this user (repeatable).
    #[arg(long = "allow-user", value_name = "NAME")]
    pub allow_users: Vec<String>,

    /// Admit Unix-socket peers running as this uid (repeatable).
    #[arg(long = "allow-uid", value_name = "UID")]
    pub allow_uids: Vec<u32>,

    /// A JSON policy limiting each peer to purpose prefixes (see docs/serve.md).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Write this file (the sidecar's process id) once listening; removed on shutdown.
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,

    /// Re-read the ring every SECONDS (default: the library's 24 hours, as .NET). Redis and
    /// PostgreSQL push changes at once; a key folder is only re-read, so on a folder this
    /// bounds how long a revocation takes to reach the sidecar.
    #[arg(long, value_name = "SECONDS")]
    pub refresh_period: Option<u64>,

    /// The largest request body accepted, in bytes (a larger one is answered 413).
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_body: usize,
}
