#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds: built-in ones (payloads made by the fixed ring, the
# fixed keys, secrets encrypted with the fixed KEK and certificate, URLs, time specs) and,
# key XML files, revocations, encrypted secrets and .NET payloads taken from the known-answer
# vectors in testdata/vectors (or $KEYWARD_TESTDATA_DIR/vectors).
# Needs the nightly toolchain and cargo-fuzz (it builds the seed generator with the fuzz flags,
# so it shares the fuzz build). Usage: fuzz/seed.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")"
vectors="${KEYWARD_TESTDATA_DIR:-../testdata}/vectors"
if [ "${1:-}" != "--no-build" ]; then
  cargo +nightly fuzz build seed_corpus >/dev/null
fi
triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
# cargo puts the build where CARGO_TARGET_DIR says, when it is set.
generator="${CARGO_TARGET_DIR:-target}/$triple/release/seed_corpus"
# The generator is built with AddressSanitizer; it allocates long-lived fixtures on purpose.
ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" "$generator" corpus "$vectors"
