"""The Python API: protect/unprotect, purposes, time limits, errors."""

import datetime

import pytest

import keyward

UTC = datetime.timezone.utc


@pytest.fixture
def provider(tmp_path):
    return keyward.Provider(application_name="shop", keys_dir=str(tmp_path / "keys"))


def test_round_trip_bytes_and_str(provider):
    orders = provider.protector("Orders", "v1")
    token = orders.protect(b"order 42")
    assert isinstance(token, str) and token.startswith("CfDJ8")
    assert orders.unprotect(token) == b"order 42"
    assert orders.unprotect(token.encode()) == b"order 42"
    assert orders.unprotect(orders.protect("ünïcødé 🔑")) == "ünïcødé 🔑".encode()
    assert orders.unprotect(orders.protect(bytearray(b"\x00\x01"))) == b"\x00\x01"
    assert orders.purposes == ["Orders", "v1"]
    assert provider.protector("Orders").protector("v1").unprotect(token) == b"order 42"
    assert provider.default_key_id is not None


def test_payloads_differ_and_purposes_isolate(provider, tmp_path):
    orders = provider.protector("Orders")
    assert orders.protect(b"x") != orders.protect(b"x")
    token = orders.protect(b"x")
    with pytest.raises(keyward.InvalidPayload) as caught:
        provider.protector("Billing").unprotect(token)
    assert "tampered" in str(caught.value)
    other_app = keyward.Provider(application_name="other", keys_dir=str(tmp_path / "keys"))
    with pytest.raises(keyward.InvalidPayload):
        other_app.protector("Orders").unprotect(token)


def test_time_limited(provider):
    reset = provider.protector("reset").time_limited()
    expires = datetime.datetime(2099, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    token = reset.protect(b"user 42", expires=expires)
    data, got = reset.unprotect(token)
    assert (data, got) == (b"user 42", expires)
    # Another time zone names the same instant.
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    token = reset.protect(b"u", expires=expires.astimezone(plus_two))
    assert reset.unprotect(token)[1] == expires
    past = reset.protect(b"u", expires=datetime.datetime(2001, 1, 1, tzinfo=UTC))
    with pytest.raises(keyward.Expired):
        reset.unprotect(past)
    with pytest.raises(ValueError, match="timezone-aware"):
        reset.protect(b"u", expires=datetime.datetime(2099, 1, 1))
    with pytest.raises(TypeError):
        reset.protect(b"u", expires="2099-01-01")


def test_errors_are_named_as_the_librarys(provider):
    orders = provider.protector("Orders")
    token = orders.protect(b"x")
    assert issubclass(keyward.InvalidPayload, keyward.Error)
    with pytest.raises(keyward.MalformedPayload):
        orders.unprotect("not a payload!")
    raw = bytearray(keyward_decode(token))
    raw[4] ^= 0xFF  # the key id
    with pytest.raises(keyward.KeyNotFound):
        orders.unprotect(keyward_encode(bytes(raw)))
    with pytest.raises(TypeError):
        orders.protect(42)


def keyward_decode(text):
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def keyward_encode(raw):
    import base64

    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_settings_are_checked(tmp_path):
    with pytest.raises(ValueError, match="application_name"):
        keyward.Provider(keys_dir=str(tmp_path))
    with pytest.raises(ValueError, match="keys_dir"):
        keyward.Provider(application_name="shop")
    with pytest.raises(keyward.ConfigurationError, match="cannot read"):
        keyward.Provider(
            application_name="shop", keys_dir=str(tmp_path), kek_file=str(tmp_path / "missing")
        )
    with pytest.raises(keyward.ConfigurationError, match="unsupported repository scheme ftp://"):
        keyward.Provider(application_name="shop", repository="ftp://user:hunter2@host/x")
    with pytest.raises(ValueError, match="algorithm"):
        keyward.Provider(application_name="shop", keys_dir=str(tmp_path), algorithm="DES")
    with pytest.raises(keyward.ConfigurationError, match="no key directory"):
        keyward.Provider(application_name="shop", keys_dir=str(tmp_path / "none"), read_only=True)


def test_at_rest_kek_and_required_encryption(tmp_path):
    kek = tmp_path / "kek"
    kek.write_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
    keys = tmp_path / "keys"
    p = keyward.Provider(
        application_name="shop",
        keys_dir=str(keys),
        kek_file=str(kek),
        require_encryption=True,
        algorithm="AES_256_GCM",
    )
    token = p.protector("x").protect(b"secret")
    text = "".join(f.read_text() for f in keys.iterdir())
    assert "encryptedSecret" in text and "AES_256_GCM" in text
    without = keyward.Provider(application_name="shop", keys_dir=str(keys), read_only=True)
    with pytest.raises(keyward.Error):
        without.protector("x").unprotect(token)
    assert p.protector("x").unprotect(token) == b"secret"


def test_repr_shows_no_secret(provider):
    text = repr(provider) + repr(provider.protector("a")) + repr(provider.protector("a").time_limited())
    assert "shop" in text and "masterKey" not in text
