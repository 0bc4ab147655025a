//! Errors of this store, as the library's error type.

/// A setting of the blob store that cannot be used (never quoting a key or a signature).
pub(crate) fn invalid(reason: &str) -> keyward::Error {
    keyward::Error::Repository {
        store: "azure blob".into(),
        reason: reason.to_owned(),
        source: None,
    }
}

/// A failure of the blob store at `store`.
pub(crate) fn failed(store: &str, reason: impl Into<String>) -> keyward::Error {
    keyward::Error::Repository {
        store: store.to_owned(),
        reason: reason.into(),
        source: None,
    }
}
