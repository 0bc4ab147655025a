#!/usr/bin/env bash
# Protect and unprotect through `keyward serve` with curl over its Unix socket.
# Usage: KEYWARD_SOCKET=/run/keyward/keyward.sock ./curl.sh [TEXT]
set -euo pipefail
socket=${KEYWARD_SOCKET:-/run/keyward/keyward.sock}
text=${1:-hello from curl}

call() { # PATH JSON: the answer's JSON on stdout, or a message and exit 2
  local answer
  if ! answer=$(curl --silent --show-error --fail-with-body --unix-socket "$socket" \
    -H 'Content-Type: application/json' --data "$2" "http://keyward$1" 2>&1); then
    echo "keyward sidecar at $socket: $1 failed: $answer" >&2
    return 2
  fi
  printf '%s' "$answer"
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

plaintext=$(printf '%s' "$text" | base64 -w0)
answer=$(call /v1/protect "{\"purposes\":[\"Orders\",\"v1\"],\"plaintext\":\"$plaintext\"}") || exit 2
payload=$(field payload <<<"$answer")
echo "payload: $payload"
answer=$(call /v1/unprotect "{\"purposes\":[\"Orders\",\"v1\"],\"payload\":\"$payload\"}") || exit 2
echo "plaintext: $(field plaintext <<<"$answer" | base64 -d)"
