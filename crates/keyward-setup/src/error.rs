//! The one error of this crate.

use std::path::PathBuf;

/// Why a provider could not be set up from its settings. No message quotes a repository URI
/// (it may hold a password) or a key file's content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// From the library (a store that does not open, a key that does not parse, …).
    #[error(transparent)]
    Keyward(#[from] keyward::Error),
    /// A file named in the settings cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file, as given.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A setting that cannot be used, and why (one line, no secret).
    #[error("{0}")]
    Invalid(String),
}

impl SetupError {
    /// A [`SetupError::Read`] maker for `path`, for `map_err`.
    pub(crate) fn reading(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Read {
            path: path.to_owned(),
            source,
        }
    }
}
