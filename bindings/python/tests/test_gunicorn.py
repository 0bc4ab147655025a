"""A gunicorn --preload farm of 4 workers, the CLI and the Rust library on one ring, on the
file system, Redis and PostgreSQL: every worker reads the others' payloads and the CLI's; a
rotation and a revocation made with the CLI mid-run reach every worker within the bound (a
folder is re-read every second here; Redis and PostgreSQL push changes: 2 s); across 100,000
payloads from the workers no key modifier + IV pair repeats."""

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import cli, repositories

WORKERS = 4
BOUND = 2.0


def gunicorn_available():
    try:
        import gunicorn  # noqa: F401

        return True
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must install gunicorn (pip install gunicorn)")
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Farm:
    def __init__(self, store, tmp_path):
        self.port = free_port()
        env = dict(os.environ)
        env["KEYWARD_FARM_STORE"] = json.dumps(store)
        env["KEYWARD_FARM_REFRESH"] = "1"
        self.log = open(tmp_path / "gunicorn.log", "w")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "--preload", "-w", str(WORKERS),
                "-b", f"127.0.0.1:{self.port}", "--chdir", str(Path(__file__).parent),
                "--log-level", "warning", "farm_app:app",
            ],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.master = self.get("/master")["master"]
                break
            except OSError:
                assert self.process.poll() is None, (tmp_path / "gunicorn.log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)

    def get(self, path, **query):
        url = f"http://127.0.0.1:{self.port}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())

    def many(self, path, times, **query):
        """`times` requests at once, each holding its worker 20 ms, so that every worker
        takes some."""
        query.setdefault("hold", 0.02)
        with ThreadPoolExecutor(max_workers=2 * WORKERS) as pool:
            return list(pool.map(lambda _: self.get(path, **query), range(times)))

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def raw(payload):
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))


def until_every_worker(farm, what, path, query, check):
    """Polls until `check(answer)` held for each of the workers (by pid), within BOUND."""
    started = time.monotonic()
    done = set()
    while len(done) < WORKERS:
        for answer in farm.many(path, 16, **query):
            if check(answer):
                done.add(answer["pid"])
        elapsed = time.monotonic() - started
        assert elapsed < BOUND, f"{what}: only workers {sorted(done)} within {BOUND} s"
    return time.monotonic() - started


@pytest.mark.skipif(not gunicorn_available(), reason="gunicorn is not installed")
def test_a_preloaded_gunicorn_farm_shares_the_ring_and_follows_changes(tmp_path):
    for label, store in repositories(tmp_path):
        farm = Farm(store, tmp_path)
        try:
            run(label, store, farm)
        finally:
            farm.stop()


def run(label, store, farm):
    where = ["--keys-dir", store["keys_dir"]] if "keys_dir" in store else ["--repository", store["repository"]]
    common = [*where, "--application-name", "farm"]

    # Every worker (not the master) protects; each payload opens everywhere.
    answers = farm.many("/protect", 64)
    pids = {a["pid"] for a in answers}
    assert farm.master not in pids
    assert len(pids) == WORKERS, f"{label}: only {pids} answered"
    payloads = [a["payloads"][0] for a in answers]
    for payload in payloads[:16]:
        assert all(a["ok"] for a in farm.many("/unprotect", 8, payload=payload)), label
    assert cli(*common, "unprotect", "--purpose", "Orders", payloads[0]) == "farm"
    from_cli = cli(*common, "protect", "--purpose", "Orders", "from the CLI").strip()
    assert all(a["plaintext"] == "from the CLI" for a in farm.many("/unprotect", 16, payload=from_cli))

    # 100,000 payloads from the workers: no (key modifier, IV) pair repeats.
    batches = farm.many("/protect", 50, n=2000)
    assert len({b["pid"] for b in batches}) >= 2
    pairs = {raw(p)[20:52] for b in batches for p in b["payloads"]}
    assert len(pairs) == 100_000, f"{label}: {100_000 - len(pairs)} repeated pairs"

    # A rotation made with the CLI: every worker protects with the new key.
    old_key = raw(payloads[0])[4:20]
    cli(*where, "keys", "new", "--activate-at", "now")
    took = until_every_worker(
        farm, "rotation", "/protect", {}, lambda a: raw(a["payloads"][0])[4:20] != old_key
    )
    print(f"{label}: rotation reached every worker in {took:.2f} s")

    # A revocation of the old key: every worker refuses its payloads.
    keys = json.loads(cli(*where, "keys", "list", "--json"))
    old_id = next(k["id"] for k in keys if k["status"] not in ("default", "pending"))
    cli(*where, "keys", "revoke", old_id, "--reason", "test")
    took = until_every_worker(
        farm, "revocation", "/unprotect", {"payload": payloads[0]},
        lambda a: a.get("error") == "KeyRevoked",
    )
    print(f"{label}: revocation reached every worker in {took:.2f} s")
