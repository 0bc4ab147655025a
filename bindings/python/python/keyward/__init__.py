"""keyward: ASP.NET Core-compatible data protection for Python.

One key ring with .NET and Rust nodes (a folder, Redis or PostgreSQL), protect/unprotect
payloads they read, time-limited payloads, and ASP.NET Core login cookies::

    import keyward
    p = keyward.Provider(application_name="shop", keys_dir="/srv/keys")
    orders = p.protector("Orders", "v1")
    token = orders.protect(b"order 42")
    assert orders.unprotect(token) == b"order 42"
"""

from ._keyward import (
    ConfigurationError,
    Error,
    Expired,
    InvalidPayload,
    KeyNotFound,
    KeyRevoked,
    KeyUnreadable,
    Login,
    MalformedPayload,
    NoDefaultKey,
    Protector,
    Provider,
    RepositoryError,
    TimeLimitedProtector,
)

__all__ = [
    "ConfigurationError",
    "Error",
    "Expired",
    "InvalidPayload",
    "KeyNotFound",
    "KeyRevoked",
    "KeyUnreadable",
    "Login",
    "MalformedPayload",
    "NoDefaultKey",
    "Protector",
    "Provider",
    "RepositoryError",
    "TimeLimitedProtector",
]
