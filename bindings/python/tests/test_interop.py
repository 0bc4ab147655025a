"""Python, the CLI and the Rust library share one ring on every store."""

import base64
import os
import subprocess

import keyward

from conftest import cli, repositories


def test_python_and_the_cli_read_each_others_payloads(tmp_path):
    for label, store in repositories(tmp_path):
        p = keyward.Provider(application_name="shop", **store)
        token = p.protector("Orders", "v1").protect(b"from Python")
        where = ["--keys-dir", store["keys_dir"]] if "keys_dir" in store else ["--repository", store["repository"]]
        common = [*where, "--application-name", "shop"]
        assert cli(*common, "unprotect", "--purpose", "Orders", "--purpose", "v1", token) == "from Python", label
        from_cli = cli(*common, "protect", "--purpose", "Orders", "--purpose", "v1", "from the CLI").strip()
        assert p.protector("Orders", "v1").unprotect(from_cli) == b"from the CLI", label


def test_a_forked_child_has_its_own_randomness_and_keeps_working(tmp_path):
    p = keyward.Provider(application_name="shop", keys_dir=str(tmp_path / "keys"), refresh_period=1)
    orders = p.protector("Orders")
    parent = orders.protect(b"x")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: protect, and write the payload back
        try:
            os.close(read)
            os.write(write, orders.protect(b"x").encode())
        finally:
            os._exit(0)
    os.close(write)
    child = os.read(read, 4096).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert orders.unprotect(child) == b"x"
    raw = lambda t: base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
    # key modifier and IV (bytes 20..52) differ between parent and child
    assert raw(parent)[20:52] != raw(child)[20:52]
    again = orders.protect(b"x")
    assert raw(again)[36:52] != raw(child)[36:52]


def test_many_threads_protect_and_unprotect_at_once(tmp_path):
    """Four Python threads on one protector (each call releases the interpreter lock): every
    round trip holds."""
    import threading

    p = keyward.Provider(application_name="shop", keys_dir=str(tmp_path / "keys"))
    orders = p.protector("Orders")
    errors = []

    def work():
        try:
            for _ in range(200):
                assert orders.unprotect(orders.protect(b"y")) == b"y"
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
