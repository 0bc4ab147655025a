"""Per-call times of the Python package: protect and unprotect at 256 B, and reading the
recorded ASP.NET Core login cookie. Prints rows of BENCHMARKS.md's sidecar table (p50, p99,
calls per second); `cargo bench -p keyward-bench --bench sidecar` runs it with KEYWARD_PYTHON
set, so the figures come from the same run as the in-process and sidecar ones.

Usage: python bench.py KEYS_DIR COOKIE_HEADER_FILE
"""

import statistics
import sys
import time

import keyward

CALLS = 20_000


def timed(call):
    for _ in range(CALLS // 10):
        call()
    times = []
    clock = time.perf_counter_ns
    for _ in range(CALLS):
        start = clock()
        call()
        times.append(clock() - start)
    times.sort()
    return times


def show(nanos):
    return f"{nanos / 1000:.2f} µs" if nanos < 10_000 else f"{nanos / 1000:.1f} µs"


def row(name, times):
    p50 = times[len(times) // 2]
    p99 = times[int((len(times) - 1) * 0.99)]
    rate = 1e9 / statistics.fmean(times)
    print(f"| {name} | Python package | 1 | {show(p50)} | {show(p99)} | {rate:.0f}/s |")


def main():
    keys, cookie_file = sys.argv[1], sys.argv[2]
    header = open(cookie_file, encoding="utf-8").read().strip()
    provider = keyward.Provider(application_name="shop", keys_dir=keys)
    protector = provider.protector("bench", "256")
    plaintext = bytes([0x5A]) * 256
    payload = protector.protect(plaintext)
    assert provider.read_login(header) is not None
    row("protect", timed(lambda: protector.protect(plaintext)))
    row("unprotect", timed(lambda: protector.unprotect(payload)))
    row("login", timed(lambda: provider.read_login(header)))


if __name__ == "__main__":
    main()
