//! `keyward.Provider`: the key ring and its store, set up as the Rust builder is.

use std::path::PathBuf;

use keyward::discriminator::{application_name_from_content_root, ContentRootRule};
use keyward::Algorithm;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::{from_keyward, from_setup};
use crate::login::{read_login, Login};
use crate::protector::Protector;

/// The key ring of an application, shared with ASP.NET Core and Rust nodes.
///
/// ```python
/// p = keyward.Provider(application_name="shop", keys_dir="/srv/keys")  # or repository="redis://…"
/// orders = p.protector("Orders", "v1")
/// ```
///
/// Built in a pre-forking server's master (gunicorn `--preload`), it works in every worker:
/// each worker gets its own randomness and keeps refreshing the ring.
#[pyclass(module = "keyward", frozen)]
pub struct Provider {
    inner: keyward::Provider,
}

/// The algorithm named in Python: `"AES_256_CBC"` (the .NET default) or `"AES_256_GCM"`.
fn algorithm(name: &str) -> PyResult<Algorithm> {
    match name.to_ascii_uppercase().replace('-', "_").as_str() {
        "AES_256_CBC" | "AES_256_CBC_HMACSHA256" | "CBC" => Ok(Algorithm::AES_256_CBC_HMACSHA256),
        "AES_256_GCM" | "GCM" => Ok(Algorithm::AES_256_GCM),
        _ => Err(PyValueError::new_err(format!(
            "algorithm {name:?}: use \"AES_256_CBC\" (the .NET default) or \"AES_256_GCM\""
        ))),
    }
}

#[pymethods]
impl Provider {
    /// Opens the key ring: `keys_dir` (a folder, as .NET's `PersistKeysToFileSystem`) or
    /// `repository` (`file:DIR`, `redis://…`, `postgres://…`), and the application name
    /// (.NET's `SetApplicationName`, or `content_root` for an app that never set one).
    #[new]
    #[pyo3(signature = (
        application_name=None, *, keys_dir=None, repository=None, algorithm=None,
        kek_file=None, passphrase_file=None, certificate=None, certificate_password_file=None,
        require_encryption=false, read_only=false, refresh_period=None, content_root=None
    ))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments, one per setting.
    fn new(
        py: Python<'_>,
        application_name: Option<String>,
        keys_dir: Option<PathBuf>,
        repository: Option<String>,
        algorithm: Option<String>,
        kek_file: Option<PathBuf>,
        passphrase_file: Option<PathBuf>,
        certificate: Option<PathBuf>,
        certificate_password_file: Option<PathBuf>,
        require_encryption: bool,
        read_only: bool,
        refresh_period: Option<f64>,
        content_root: Option<String>,
    ) -> PyResult<Self> {
        let name = match (application_name, content_root) {
            (Some(name), None) => name,
            (None, Some(root)) => application_name_from_content_root(&root, ContentRootRule::Net7)
                .ok_or_else(|| PyValueError::new_err("content_root is empty"))?,
            (Some(_), Some(_)) => {
                return Err(PyValueError::new_err(
                    "give application_name or content_root, not both",
                ))
            }
            (None, None) => {
                return Err(PyValueError::new_err(
                    "application_name is required (the .NET app's SetApplicationName value), or content_root for an app that never set one",
                ))
            }
        };
        let algorithm = algorithm.as_deref().map(self::algorithm).transpose()?;
        let refresh_period = refresh_period
            .map(|seconds| {
                if seconds.is_finite() && seconds >= 0.001 {
                    Ok(std::time::Duration::from_secs_f64(seconds))
                } else {
                    Err(PyValueError::new_err(
                        "refresh_period must be a positive number of seconds",
                    ))
                }
            })
            .transpose()?;
        let at_rest = keyward_setup::AtRestFiles {
            kek_files: kek_file.into_iter().collect(),
            passphrase_file,
            certificates: certificate.into_iter().collect(),
            certificate_password_files: certificate_password_file.into_iter().collect(),
            require_encryption,
            ..Default::default()
        };
        // Opening the store and reading the ring is I/O: other Python threads run meanwhile.
        let inner = py.detach(|| -> PyResult<keyward::Provider> {
            let store = match (repository, keys_dir) {
                (Some(uri), None) => keyward_setup::open_repository(&uri, read_only),
                (None, Some(dir)) => keyward_setup::open_directory(dir, read_only),
                (Some(_), Some(_)) => {
                    return Err(PyValueError::new_err("give keys_dir or repository, not both"))
                }
                (None, None) => {
                    return Err(PyValueError::new_err(
                        "keys_dir (a folder) or repository (file:DIR, redis://…, postgres://…) is required",
                    ))
                }
            }
            .map_err(from_setup)?;
            let mut builder = at_rest
                .apply(keyward::Provider::builder())
                .map_err(from_setup)?
                .application_name(name)
                .repository(store)
                .read_only(read_only)
                .automatic_key_generation(!read_only);
            if let Some(algorithm) = algorithm {
                builder = builder.algorithm(algorithm);
            }
            if let Some(period) = refresh_period {
                let period = keyward::time::Duration::try_from(period)
                    .map_err(|_| PyValueError::new_err("refresh_period is too long"))?;
                builder = builder.refresh_period(period);
            }
            builder.build().map_err(|e| from_keyward(&e))
        })?;
        Ok(Self { inner })
    }

    /// The application name (the first purpose of every protector).
    #[getter]
    fn application_name(&self) -> Option<String> {
        self.inner.application_name().map(str::to_owned)
    }

    /// Where the ring lives (a folder, a Redis key, a table), without credentials.
    #[getter]
    fn location(&self) -> String {
        self.inner.location()
    }

    /// The id of the key that protects now, if the ring has one.
    #[getter]
    fn default_key_id(&self) -> Option<String> {
        self.inner
            .default_key_at(self.inner.now())
            .map(|id| id.to_string())
    }

    /// A protector for `purposes` (after the application name).
    #[pyo3(signature = (*purposes))]
    fn protector(&self, purposes: Vec<String>) -> Protector {
        Protector {
            inner: self.inner.protector(purposes),
            hidden: usize::from(self.inner.application_name().is_some()),
        }
    }

    /// Re-reads the ring from the store now.
    fn refresh(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.refresh())
            .map_err(|e| from_keyward(&e))
    }

    /// The ASP.NET Core login in a `Cookie` header (its value: `name=value; …`), for the
    /// cookie handler of `scheme`: `None` without a login cookie; raises when the cookie is
    /// tampered with, incomplete, under a revoked key, or expired.
    #[pyo3(signature = (cookie_header, scheme="Cookies", cookie_name=None))]
    fn read_login(
        &self,
        py: Python<'_>,
        cookie_header: &str,
        scheme: &str,
        cookie_name: Option<String>,
    ) -> PyResult<Option<Login>> {
        read_login(py, &self.inner, cookie_header, scheme, cookie_name)
    }

    fn __repr__(&self) -> String {
        format!(
            "keyward.Provider(application_name={:?}, location={:?})",
            self.inner.application_name().unwrap_or(""),
            self.inner.location()
        )
    }
}
