"""Shared fixtures: paths, the keyward CLI, and the Redis/PostgreSQL URIs of the tests.

Redis and PostgreSQL come from KEYWARD_TEST_REDIS_URL / KEYWARD_TEST_POSTGRES_URL (local
defaults); when CI is set, a server that does not answer fails the test instead of skipping it.
"""

import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[3]
TESTDATA = Path(os.environ.get("KEYWARD_TESTDATA_DIR", REPO / "testdata"))
REAL = TESTDATA / "vectors" / "aspnetcore-real"


def keyward_bin():
    """The CLI: KEYWARD_BIN, else the workspace's debug or release build."""
    if os.environ.get("KEYWARD_BIN"):
        return os.environ["KEYWARD_BIN"]
    for profile in ("debug", "release"):
        candidate = REPO / "target" / profile / "keyward"
        if candidate.exists():
            return str(candidate)
    pytest.fail("the keyward CLI is not built: cargo build -p keyward-cli (or set KEYWARD_BIN)")


def cli(*args, stdin=None, check=True):
    """Runs the CLI; returns its stdout (text)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYWARD_")}
    env["KEYWARD_LOG"] = "error"
    result = subprocess.run(
        [keyward_bin(), *args], input=stdin, capture_output=True, text=True, env=env
    )
    if check and result.returncode != 0:
        raise AssertionError(f"keyward {' '.join(args)}: {result.stderr}")
    return result.stdout if check else result


def _service(name, url, default_port):
    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    port = parsed.port or default_port
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        if os.environ.get("CI"):
            pytest.fail(f"{name} does not answer at {host}:{port} (CI needs it)")
        return False


def redis_uri():
    """A Redis repository URI with a fresh key, or None (skip) outside CI."""
    base = os.environ.get("KEYWARD_TEST_REDIS_URL", "redis://127.0.0.1:6379")
    if not _service("Redis", base, 6379):
        return None
    return f"{base}?key=keyward-python-{uuid.uuid4().hex}"


def postgres_uri():
    """A PostgreSQL repository URI with a fresh table, or None (skip) outside CI."""
    base = os.environ.get("KEYWARD_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    if not _service("PostgreSQL", base, 5432):
        return None
    return f"{base}?table=keyward_python_{uuid.uuid4().hex}"


@pytest.fixture
def real_ring(tmp_path):
    """A copy of the key ring ASP.NET Core 10 wrote (testdata stays as it is)."""
    keys = tmp_path / "real-ring"
    shutil.copytree(REAL / "ring", keys)
    return keys


def repositories(tmp_path):
    """(label, keyword arguments) of every store reachable here."""
    stores = [("file", {"keys_dir": str(tmp_path / "keys")})]
    for label, uri in (("redis", redis_uri()), ("postgres", postgres_uri())):
        if uri is not None:
            stores.append((label, {"repository": uri}))
    return stores
