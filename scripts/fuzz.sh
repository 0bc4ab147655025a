#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for N seconds each, one after the other (one fuzzer
# process, one job): builds once, seeds the corpora (fuzz/seed.sh), then per target prints the
# executions (libFuzzer's stat::number_of_executed_units), coverage and features, and a closing
# line. Exits non-zero if any target crashes or the build fails.
#
# cargo-fuzz needs a nightly toolchain. If rustup has no nightly, or cargo-fuzz is missing, this
# tries to install them; if that fails it prints "fuzz: skipped: <reason>" and exits 0.
#
# Usage: scripts/fuzz.sh [SECONDS] (default 60)
# Environment: FUZZ_TARGETS="a b" runs only those targets; FUZZ_ARGS adds libFuzzer options.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac

skip() {
  echo "fuzz: skipped: $*"
  exit 0
}

command -v cargo >/dev/null 2>&1 || skip "cargo is not installed"
command -v rustup >/dev/null 2>&1 || skip "rustup is not installed (cargo-fuzz needs a nightly toolchain)"
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: no nightly toolchain; installing one (rustup toolchain install nightly --profile minimal)"
  rustup toolchain install nightly --profile minimal >/dev/null 2>&1 \
    || skip "no nightly toolchain, and 'rustup toolchain install nightly' failed"
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz is missing; installing it (cargo install cargo-fuzz)"
  cargo install --locked cargo-fuzz >/dev/null 2>&1 \
    || cargo install cargo-fuzz >/dev/null 2>&1 \
    || skip "cargo-fuzz is missing, and 'cargo install cargo-fuzz' failed"
fi

cd fuzz
echo "== cargo +nightly fuzz build ($(cargo +nightly fuzz --version 2>/dev/null))"
if ! cargo +nightly fuzz build; then
  echo "fuzz: the fuzz targets do not build"
  exit 1
fi
if ! ./seed.sh --no-build; then
  echo "fuzz: the seed generator failed"
  exit 1
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  mapfile -t targets < <(cargo +nightly fuzz list | grep -vx 'seed_corpus')
fi

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
crashed=()
total=0
for target in "${targets[@]}"; do
  log="$log_dir/$target.log"
  mkdir -p "corpus/$target"
  # Every reproducer found so far must pass before the target fuzzes (leak checks off: the
  # key_xml "leaks" were glibc's thread-local destructor nodes of a refresh thread still
  # exiting, which LeakSanitizer reports depending on timing).
  if compgen -G "regressions/$target/*" >/dev/null; then
    if ! cargo +nightly fuzz run "$target" regressions/"$target"/* -- -detect_leaks=0 >"$log" 2>&1; then
      echo "fuzz: $target: a regression reproducer fails again:"
      awk '/panicked at|==[0-9]+==ERROR|ERROR: libFuzzer/ { on = 1 } on && n < 40 { print; n++ }' "$log" \
        | cut -c1-300 | sed 's/^/    | /'
      crashed+=("$target")
      continue
    fi
    echo "fuzz: $target: $(ls regressions/"$target" | wc -l) regression reproducers pass"
  fi
  echo "== fuzz $target (${seconds}s)"
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
  cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 -timeout=30 ${FUZZ_ARGS:-} >"$log" 2>&1
  status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
  if [ "$status" -eq 0 ]; then
    echo "fuzz: $target: ${execs:-?} executions in ${seconds}s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corpus:-?}: ok"
    total=$((total + ${execs:-0}))
  else
    artifact=$(grep -Eo 'Test unit written to [^ ]+' "$log" | tail -n1 | sed 's/Test unit written to //')
    echo "fuzz: $target: CRASHED (exit $status) after ${execs:-?} executions; reproducer: ${artifact:-none written}"
    # The report: the panic or sanitizer error with its stack (long input dumps cut short).
    awk '/panicked at|==[0-9]+==ERROR|ERROR: libFuzzer/ { on = 1 } on && n < 80 { print; n++ }' "$log" \
      | cut -c1-300 | sed 's/^/    | /'
    crashed+=("$target")
  fi
done

if [ ${#crashed[@]} -gt 0 ]; then
  echo "fuzz: ${#crashed[@]} of ${#targets[@]} targets crashed: ${crashed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $total executions, no crashes"
