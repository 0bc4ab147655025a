//! `keyward` for Python: the provider, protectors, time-limited protectors and the ASP.NET
//! Core login reader, over the Rust library. Master keys stay in Rust memory (zeroized when
//! released); Python sees payloads, plaintexts and key ids only.
//!
//! The interpreter lock is released around every call that may touch the store (building a
//! provider, `refresh`, `protect`/`unprotect`, which may wait for a refresh).

mod datetime;
mod errors;
mod login;
mod protector;
mod provider;

use pyo3::prelude::*;

/// The extension module, `keyward._keyward` (re-exported by the `keyward` package).
#[pymodule]
fn _keyward(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<provider::Provider>()?;
    module.add_class::<protector::Protector>()?;
    module.add_class::<protector::TimeLimitedProtector>()?;
    module.add_class::<login::Login>()?;
    errors::register(module)?;
    Ok(())
}
