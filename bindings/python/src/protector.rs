//! `Protector` and `TimeLimitedProtector`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use zeroize::Zeroizing;

use crate::datetime::{from_offset, to_offset};
use crate::errors::from_keyward;

/// The bytes of a `bytes`-like argument, or the UTF-8 of a `str`.
fn input_bytes(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Zeroizing<Vec<u8>>> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Zeroizing::new(bytes.as_bytes().to_vec()));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Zeroizing::new(text.to_cow()?.as_bytes().to_vec()));
    }
    if let Ok(bytes) = value.extract::<Vec<u8>>() {
        return Ok(Zeroizing::new(bytes));
    }
    Err(PyTypeError::new_err(format!("{what} must be bytes or str")))
}

/// A payload argument: `str` (as protect returns it) or ASCII `bytes`.
fn payload_text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(text.to_cow()?.into_owned());
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(String::from_utf8_lossy(bytes.as_bytes()).into_owned());
    }
    Err(PyTypeError::new_err("the payload must be str or bytes"))
}

/// Protects and unprotects for one purpose chain (after the application name).
///
/// `protect(data)` returns the payload as base64url text, as ASP.NET Core's `Protect(string)`
/// does; `unprotect(payload)` returns the bytes. Payloads open on any node (Rust, .NET, Python)
/// that shares the key ring, the application name and the purposes.
#[pyclass(module = "keyward", frozen)]
pub struct Protector {
    pub(crate) inner: keyward::Protector,
    /// How many leading purposes are the provider's (its application name): not shown.
    pub(crate) hidden: usize,
}

#[pymethods]
impl Protector {
    /// The purposes after the application name.
    #[getter]
    fn purposes(&self) -> Vec<String> {
        self.inner
            .purposes()
            .get(self.hidden..)
            .unwrap_or(&[])
            .to_vec()
    }

    /// A protector for these purposes followed by `purposes`.
    #[pyo3(signature = (*purposes))]
    fn protector(&self, purposes: Vec<String>) -> Self {
        let mut inner = self.inner.clone();
        for purpose in purposes {
            inner = inner.protector(purpose);
        }
        Self {
            inner,
            hidden: self.hidden,
        }
    }

    /// Protects `data` (bytes, or a str as UTF-8); returns the payload (str).
    fn protect(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<String> {
        let plaintext = input_bytes(data, "data")?;
        let inner = &self.inner;
        let payload = py
            .detach(|| inner.protect(&plaintext))
            .map_err(|e| from_keyward(&e))?;
        Ok(keyward::encoding::base64url_encode(&payload))
    }

    /// Unprotects a payload (str or bytes); returns the plaintext bytes.
    fn unprotect<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let text = payload_text(payload)?;
        let inner = &self.inner;
        let plaintext = py
            .detach(|| {
                let bytes = keyward::encoding::base64url_decode(text.trim())?;
                inner.unprotect(&bytes).map(Zeroizing::new)
            })
            .map_err(|e| from_keyward(&e))?;
        Ok(PyBytes::new(py, &plaintext))
    }

    /// The time-limited protector of these purposes (ASP.NET Core's `ToTimeLimitedDataProtector`).
    fn time_limited(&self) -> TimeLimitedProtector {
        TimeLimitedProtector {
            inner: self.inner.to_time_limited(),
            hidden: self.hidden,
        }
    }

    fn __repr__(&self) -> String {
        format!("keyward.Protector(purposes={:?})", self.purposes())
    }
}

/// Protects with an expiry: `protect(data, expires=datetime)`, and `unprotect(payload)`
/// returns `(bytes, expires)` or raises `keyward.Expired`.
#[pyclass(module = "keyward", frozen)]
pub struct TimeLimitedProtector {
    inner: keyward::TimeLimitedProtector,
    hidden: usize,
}

#[pymethods]
impl TimeLimitedProtector {
    /// The purposes after the application name.
    #[getter]
    fn purposes(&self) -> Vec<String> {
        self.inner
            .purposes()
            .get(self.hidden..)
            .unwrap_or(&[])
            .to_vec()
    }

    /// Protects `data` until `expires` (a timezone-aware datetime); returns the payload.
    #[pyo3(signature = (data, *, expires))]
    fn protect(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        expires: &Bound<'_, PyAny>,
    ) -> PyResult<String> {
        let plaintext = input_bytes(data, "data")?;
        let expires = to_offset(expires)?;
        let inner = &self.inner;
        let payload = py
            .detach(|| inner.protect(&plaintext, expires))
            .map_err(|e| from_keyward(&e))?;
        Ok(keyward::encoding::base64url_encode(&payload))
    }

    /// Unprotects a payload; returns `(plaintext, expires)`.
    fn unprotect<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyAny>)> {
        let text = payload_text(payload)?;
        let inner = &self.inner;
        let (plaintext, expires) = py
            .detach(|| {
                let bytes = keyward::encoding::base64url_decode(text.trim())?;
                inner
                    .unprotect(&bytes)
                    .map(|(data, expires)| (Zeroizing::new(data), expires))
            })
            .map_err(|e| from_keyward(&e))?;
        Ok((PyBytes::new(py, &plaintext), from_offset(py, expires)?))
    }

    fn __repr__(&self) -> String {
        format!(
            "keyward.TimeLimitedProtector(purposes={:?})",
            self.purposes()
        )
    }
}
