//! `Provider.read_login` and `keyward.Login`: an ASP.NET Core login cookie's ticket.

use keyward::time::OffsetDateTime;
use keyward_aspnetcore::{AuthenticationTicket, LoginReader, TicketError};
use pyo3::prelude::*;

use crate::datetime::from_offset;
use crate::errors::{from_keyward, Error, Expired, MalformedPayload};

/// A login read from an ASP.NET Core cookie: the user's name and claims, and when the login
/// was issued and expires.
#[pyclass(module = "keyward", frozen)]
pub struct Login {
    scheme: String,
    authentication_type: Option<String>,
    name: Option<String>,
    claims: Vec<(String, String)>,
    issued: Option<OffsetDateTime>,
    expires: Option<OffsetDateTime>,
    persistent: bool,
}

impl Login {
    fn new(ticket: &AuthenticationTicket) -> Self {
        let identity = ticket.principal.identity();
        Self {
            scheme: ticket.scheme.clone(),
            authentication_type: identity.and_then(|i| i.authentication_type.clone()),
            name: ticket.principal.name().map(str::to_owned),
            claims: ticket
                .principal
                .claims()
                .map(|c| (c.claim_type.clone(), c.value.clone()))
                .collect(),
            issued: ticket.properties.issued_utc(),
            expires: ticket.properties.expires_utc(),
            persistent: ticket.properties.is_persistent(),
        }
    }
}

#[pymethods]
impl Login {
    /// The authentication scheme that issued it (`Cookies`).
    #[getter]
    fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The first identity's authentication type.
    #[getter]
    fn authentication_type(&self) -> Option<&str> {
        self.authentication_type.as_deref()
    }

    /// The user's name (the first identity's name claim), if any.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Every claim of every identity, as `(type, value)` pairs, in the ticket's order.
    #[getter]
    fn claims(&self) -> Vec<(String, String)> {
        self.claims.clone()
    }

    /// When the login was issued (UTC), if the ticket says.
    #[getter]
    fn issued<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.issued.map(|at| from_offset(py, at)).transpose()
    }

    /// When the login expires (UTC), if the ticket says.
    #[getter]
    fn expires<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.expires.map(|at| from_offset(py, at)).transpose()
    }

    /// Whether the cookie outlives the browser session ("remember me").
    #[getter]
    fn persistent(&self) -> bool {
        self.persistent
    }

    fn __repr__(&self) -> String {
        format!(
            "keyward.Login(name={:?}, claims={})",
            self.name.as_deref().unwrap_or(""),
            self.claims.len()
        )
    }
}

/// Reads the login of `scheme` from a Cookie header's value.
pub fn read_login(
    py: Python<'_>,
    provider: &keyward::Provider,
    cookie_header: &str,
    scheme: &str,
    cookie_name: Option<String>,
) -> PyResult<Option<Login>> {
    let mut reader = LoginReader::new(provider, scheme);
    if let Some(name) = cookie_name {
        reader = reader.cookie_named(name);
    }
    let header = cookie_header.trim();
    let header = header
        .get(..7)
        .filter(|prefix| prefix.eq_ignore_ascii_case("cookie:"))
        .map_or(header, |_| header[7..].trim_start());
    let read = py.detach(|| reader.read(header, provider.now()));
    match read {
        Ok(ticket) => Ok(ticket.as_ref().map(Login::new)),
        Err(keyward_aspnetcore::Error::Ticket(
            TicketError::Unprotect(inner) | TicketError::Encoding(inner),
        )) => Err(from_keyward(&inner)),
        Err(keyward_aspnetcore::Error::Expired { .. }) => {
            Err(Expired::new_err("the login expired"))
        }
        Err(keyward_aspnetcore::Error::Cookie(error)) => {
            Err(MalformedPayload::new_err(keyward::error_chain(&error)))
        }
        Err(other) => Err(Error::new_err(keyward::error_chain(&other))),
    }
}
