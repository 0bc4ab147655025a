"""Type stubs of keyward's extension module (re-exported by the `keyward` package)."""

from datetime import datetime
from os import PathLike
from typing import List, Optional, Tuple, Union

_Path = Union[str, "PathLike[str]"]
_Data = Union[bytes, bytearray, str]
_Payload = Union[str, bytes]

class Error(Exception):
    """Any keyward failure."""

class ConfigurationError(Error):
    """The provider's settings cannot be used (a missing file, a bad URI or key file)."""

class InvalidPayload(Error):
    """Tampered with, or made for other purposes or another application."""

class MalformedPayload(Error):
    """The text is not a payload."""

class KeyNotFound(Error):
    """The payload's key is not in the key ring (after a refresh)."""

class KeyUnreadable(Error):
    """The payload's key is in the ring but cannot be used."""

class KeyRevoked(Error):
    """The payload's key has been revoked."""

class Expired(Error):
    """A time-limited payload (or a login) past its expiry."""

class NoDefaultKey(Error):
    """No key can protect now (and none could be created)."""

class RepositoryError(Error):
    """The key store failed or does not answer."""

class Provider:
    """The key ring of an application, shared with ASP.NET Core and Rust nodes."""

    def __init__(
        self,
        application_name: Optional[str] = None,
        *,
        keys_dir: Optional[_Path] = None,
        repository: Optional[str] = None,
        algorithm: Optional[str] = None,
        kek_file: Optional[_Path] = None,
        passphrase_file: Optional[_Path] = None,
        certificate: Optional[_Path] = None,
        certificate_password_file: Optional[_Path] = None,
        require_encryption: bool = False,
        read_only: bool = False,
        refresh_period: Optional[float] = None,
        content_root: Optional[str] = None,
    ) -> None: ...
    @property
    def application_name(self) -> Optional[str]: ...
    @property
    def location(self) -> str: ...
    @property
    def default_key_id(self) -> Optional[str]: ...
    def protector(self, *purposes: str) -> Protector: ...
    def refresh(self) -> None: ...
    def read_login(
        self, cookie_header: str, scheme: str = "Cookies", cookie_name: Optional[str] = None
    ) -> Optional[Login]: ...

class Protector:
    """Protects and unprotects for one purpose chain."""

    @property
    def purposes(self) -> List[str]: ...
    def protector(self, *purposes: str) -> Protector: ...
    def protect(self, data: _Data) -> str: ...
    def unprotect(self, payload: _Payload) -> bytes: ...
    def time_limited(self) -> TimeLimitedProtector: ...

class TimeLimitedProtector:
    """Protects with an expiry."""

    @property
    def purposes(self) -> List[str]: ...
    def protect(self, data: _Data, *, expires: datetime) -> str: ...
    def unprotect(self, payload: _Payload) -> Tuple[bytes, datetime]: ...

class Login:
    """An ASP.NET Core login: name, claims, issued and expiry times."""

    @property
    def scheme(self) -> str: ...
    @property
    def authentication_type(self) -> Optional[str]: ...
    @property
    def name(self) -> Optional[str]: ...
    @property
    def claims(self) -> List[Tuple[str, str]]: ...
    @property
    def issued(self) -> Optional[datetime]: ...
    @property
    def expires(self) -> Optional[datetime]: ...
    @property
    def persistent(self) -> bool: ...
