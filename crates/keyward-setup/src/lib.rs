//! A keyward [`Provider`](keyward::Provider) set up from text, as operators write it: a
//! repository URI (a folder, `redis://…`, `postgres://…` or a libpq string) and the files that
//! hold at-rest keys (KEKs, a passphrase, certificates). The `keyward` command line, its
//! sidecar (`keyward serve`) and the Python package read their settings through this crate,
//! so that one URI means one store everywhere.
//!
//! ```
//! # let dir = tempfile::tempdir()?;
//! let uri = format!("file:{}", dir.path().display());
//! let repository = keyward_setup::open_repository(&uri, false)?;
//! let provider = keyward::Provider::builder()
//!     .application_name("shop")
//!     .repository(repository)
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod at_rest;
mod error;
mod repository;

pub use at_rest::AtRestFiles;
pub use error::SetupError;
pub use repository::{directory_of_uri, inspect_azure_blob, open_directory, open_repository};
