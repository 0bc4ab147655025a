"""Known-answer vectors through Python: payloads and login cookies ASP.NET Core 10 made,
the end-to-end vectors of .NET projects (certificate-encrypted keys), and keyward's purpose
edge cases (a key ring written from the vector's master key)."""

import base64
import datetime
import json
import shutil

import pytest

import keyward

from conftest import REAL, TESTDATA

CASES = json.loads((REAL / "cases.json").read_text())


def shop(real_ring):
    return keyward.Provider(application_name="shop", keys_dir=str(real_ring), read_only=True)


def test_real_aspnetcore_payloads(real_ring):
    p = shop(real_ring)
    checked = 0
    for case in CASES:
        if case["app"] != "shop" or case["ring"] != "ring":
            continue
        protector = p.protector(*case["purposes"])
        kind = case["kind"]
        if kind == "protect":
            assert protector.unprotect(case["payload"]) == base64.b64decode(case["plaintext_b64"])
        elif kind == "protect_string":
            assert protector.unprotect(case["payload"]).decode() == case["plaintext"]
        elif kind == "time_limited":
            data, expires = protector.time_limited().unprotect(case["payload"])
            assert data.decode() == case["plaintext"]
            assert expires == datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        elif kind == "time_limited_expired":
            with pytest.raises(keyward.Expired):
                protector.time_limited().unprotect(case["payload"])
        elif kind == "revoked":
            with pytest.raises(keyward.KeyRevoked):
                protector.unprotect(case["payload"])
        elif kind == "auth_cookie":
            login = p.read_login(case["cookie_header"], scheme=case["scheme"])
            want = case["ticket"]["identities"][0]["claims"]
            assert login.claims == [(c["type"], c["value"]) for c in want]
            assert login.name == want[0]["value"]
            assert login.scheme == "Cookies"
            assert login.expires == datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        else:
            continue
        checked += 1
    assert checked >= 16


def test_login_refusals(real_ring):
    p = shop(real_ring)
    case = next(c for c in CASES if c["kind"] == "auth_cookie")
    assert p.read_login("theme=dark") is None
    assert p.read_login("Cookie: " + case["cookie_header"]).name is not None
    with pytest.raises(keyward.Error):
        p.read_login(case["cookie_header"].replace("CfDJ8", "CfDJ9", 1))
    with pytest.raises(keyward.InvalidPayload):
        p.read_login(case["cookie_header"], scheme="Other", cookie_name=".AspNetCore.Cookies")


def _vectors(name, kind):
    data = json.loads((TESTDATA / "vectors" / name).read_text())
    return [v for v in data["vectors"] if v["kind"] == kind]


@pytest.mark.parametrize("vector", _vectors("aspnetcore.json", "end_to_end_unprotect"), ids=lambda v: v["name"])
def test_end_to_end_vectors_with_certificates(vector, tmp_path):
    inputs = vector["inputs"]
    keys = tmp_path / "keys"
    keys.mkdir()
    shutil.copy(TESTDATA / "vectors" / inputs["key_xml_file"], keys / "key.xml")
    pfx = tmp_path / "cert.pfx"
    pfx.write_bytes(base64.b64decode(inputs["pfx_base64"]))
    password = tmp_path / "password"
    password.write_text(inputs["pfx_password"])
    chain = inputs["purposes_full_chain"]
    p = keyward.Provider(
        application_name=chain[0],
        keys_dir=str(keys),
        certificate=str(pfx),
        certificate_password_file=str(password),
        read_only=True,
    )
    plaintext = p.protector(*chain[1:]).unprotect(inputs["protected_base64url"])
    assert plaintext.decode() == vector["expected"]["plaintext_utf8"]


def _key_xml(vector):
    inputs = vector["inputs"]
    template = (TESTDATA / "vectors" / "keys" / "unencrypted.xml").read_text(encoding="utf-8-sig")
    master = base64.b64encode(bytes.fromhex(inputs["master_key_hex"])).decode()
    xml = template.replace("6417072d-bd2e-4737-8995-fd280fe00251", inputs["key_id"])
    xml = xml.replace("4spzUFTZ6BOimQExKLSlcZmN7JmzsZP+8B7ynFMlwss5eCXWXDojqy+zq0ov1t0ImMgU5P5PqO3ZusXu5jPcvQ==", master)
    if inputs["algorithm"].startswith("AES_256_GCM"):
        xml = xml.replace('<encryption algorithm="AES_256_CBC" />\n      <validation algorithm="HMACSHA256" />', '<encryption algorithm="AES_256_GCM" />')
        assert "AES_256_GCM" in xml
    return xml


@pytest.mark.parametrize("vector", _vectors("keyward-purposes.json", "purpose_edge_payload"), ids=lambda v: v["name"][:60])
def test_purpose_edge_vectors(vector, tmp_path):
    inputs = vector["inputs"]
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / f"key-{inputs['key_id']}.xml").write_text(_key_xml(vector), encoding="utf-8")
    chain = inputs["purposes_full_chain"]
    p = keyward.Provider(application_name=chain[0], keys_dir=str(keys), read_only=True)
    plaintext = p.protector(*chain[1:]).unprotect(vector["expected"]["protected_base64url"])
    assert plaintext.decode() == inputs["plaintext_utf8"]
