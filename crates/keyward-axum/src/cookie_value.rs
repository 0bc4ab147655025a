//! Sealing and opening one cookie value: the only place keyward is called.

use keyward::encoding::{base64url_decode, base64url_encode};
use keyward::{Error, Protector};

/// What reading a protected cookie value gave.
#[derive(Debug)]
pub(crate) enum Opened {
    /// The value, and whether it was protected with a key other than the current default
    /// key (so it should be protected again).
    Valid { value: String, stale: bool },
    /// Never valid for this cookie: tampered, made for another cookie or application, not
    /// keyward's at all, or under a revoked key. The cookie is removed.
    Rejected(Error),
    /// Not readable now, but perhaps later (its key is not in this node's ring yet, or cannot
    /// be read here): treated as absent, and left in the browser.
    Unavailable(Error),
}

/// Protects `value` for `protector`: base64url without padding (cookie-safe, no quoting).
pub(crate) fn seal(protector: &Protector, value: &str) -> Result<String, Error> {
    protector
        .protect(value.as_bytes())
        .map(|payload| base64url_encode(&payload))
}

/// Opens a value [`seal`] made.
pub(crate) fn open(protector: &Protector, value: &str) -> Opened {
    let payload = match base64url_decode(value) {
        Ok(payload) => payload,
        Err(e) => return Opened::Rejected(e),
    };
    match protector.unprotect_with_key(&payload) {
        Ok(opened) => match String::from_utf8(opened.data) {
            Ok(value) => Opened::Valid {
                value,
                stale: !opened.is_default,
            },
            Err(_) => Opened::Rejected(Error::NotUtf8),
        },
        Err(e) if e.is_permanent() => Opened::Rejected(e),
        Err(e) => Opened::Unavailable(e),
    }
}
