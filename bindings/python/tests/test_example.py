"""examples/python-shared-login: the WSGI app on the login cookies ASP.NET Core 10 made."""

import importlib.util
import json
import os

from conftest import REAL, REPO


def load_app(keys):
    os.environ["KEYWARD_KEYS_DIR"] = str(keys)
    os.environ["KEYWARD_APPLICATION_NAME"] = "shop"
    path = REPO / "examples" / "python-shared-login" / "app.py"
    spec = importlib.util.spec_from_file_location("shared_login_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def call(app, cookie):
    seen = {}

    def start_response(status, headers):
        seen["status"] = status

    body = b"".join(app({"HTTP_COOKIE": cookie}, start_response)).decode()
    return seen["status"], body


def test_the_example_shows_the_claims_of_a_net_login(real_ring):
    app = load_app(real_ring)
    cases = json.loads((REAL / "cases.json").read_text())
    for case in (c for c in cases if c["kind"] == "auth_cookie"):
        status, body = call(app, case["cookie_header"])
        assert status == "200 OK", body
        claims = case["ticket"]["identities"][0]["claims"]
        assert f"Hello, {claims[0]['value']}" in body
        assert all(c["type"] in body for c in claims)
    status, body = call(app, "theme=dark")
    assert status.startswith("401") and "no login cookie" in body
    tampered = cases[-1]["cookie_header"] if cases[-1]["kind"] == "auth_cookie" else next(
        c["cookie_header"] for c in cases if c["kind"] == "auth_cookie"
    )
    status, body = call(app, tampered.replace("CfDJ8", "CfDJ9", 1))
    assert status.startswith("401")
