//! `keyward.Error` and its subclasses, named as the library's errors; each carries the
//! library's one-line message (ids and paths only, never a secret).

use keyward::metrics::Reason;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(keyward, Error, PyException, "Any keyward failure.");
create_exception!(
    keyward,
    ConfigurationError,
    Error,
    "The provider's settings cannot be used (a missing file, a bad URI or key file)."
);
create_exception!(
    keyward,
    InvalidPayload,
    Error,
    "The payload was tampered with, or made for other purposes or another application."
);
create_exception!(
    keyward,
    MalformedPayload,
    Error,
    "The text is not a payload."
);
create_exception!(
    keyward,
    KeyNotFound,
    Error,
    "The payload's key is not in the key ring (after a refresh)."
);
create_exception!(
    keyward,
    KeyUnreadable,
    Error,
    "The payload's key is in the ring but cannot be used (its XML or its at-rest encryption)."
);
create_exception!(
    keyward,
    KeyRevoked,
    Error,
    "The payload's key has been revoked."
);
create_exception!(
    keyward,
    Expired,
    Error,
    "A time-limited payload (or a login) past its expiry."
);
create_exception!(
    keyward,
    NoDefaultKey,
    Error,
    "No key can protect now (and none could be created)."
);
create_exception!(
    keyward,
    RepositoryError,
    Error,
    "The key store failed or does not answer."
);

/// Adds the exception classes to the module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("Error", py.get_type::<Error>())?;
    module.add("ConfigurationError", py.get_type::<ConfigurationError>())?;
    module.add("InvalidPayload", py.get_type::<InvalidPayload>())?;
    module.add("MalformedPayload", py.get_type::<MalformedPayload>())?;
    module.add("KeyNotFound", py.get_type::<KeyNotFound>())?;
    module.add("KeyUnreadable", py.get_type::<KeyUnreadable>())?;
    module.add("KeyRevoked", py.get_type::<KeyRevoked>())?;
    module.add("Expired", py.get_type::<Expired>())?;
    module.add("NoDefaultKey", py.get_type::<NoDefaultKey>())?;
    module.add("RepositoryError", py.get_type::<RepositoryError>())?;
    Ok(())
}

/// The Python exception for a library error.
pub fn from_keyward(error: &keyward::Error) -> PyErr {
    let message = keyward::error_chain(error);
    if matches!(error, keyward::Error::Configuration(_)) {
        return ConfigurationError::new_err(message);
    }
    match error.kind() {
        Reason::Malformed => MalformedPayload::new_err(message),
        Reason::UnknownKey => KeyNotFound::new_err(message),
        Reason::UnreadableKey => KeyUnreadable::new_err(message),
        Reason::Revoked => KeyRevoked::new_err(message),
        Reason::Invalid => InvalidPayload::new_err(message),
        Reason::Expired => Expired::new_err(message),
        Reason::NoDefaultKey => NoDefaultKey::new_err(message),
        Reason::Repository => RepositoryError::new_err(message),
        _ => Error::new_err(message),
    }
}

/// The Python exception for a settings error.
pub fn from_setup(error: keyward_setup::SetupError) -> PyErr {
    match error {
        keyward_setup::SetupError::Keyward(error) => match error.kind() {
            Reason::Repository => from_keyward(&error),
            _ => ConfigurationError::new_err(keyward::error_chain(&error)),
        },
        other => ConfigurationError::new_err(keyward::error_chain(&other)),
    }
}
