"""The WSGI app of test_gunicorn.py: one keyward Provider built at import, so that
`gunicorn --preload` builds it in the master and every worker inherits it across fork.

Settings come from the environment: KEYWARD_FARM_STORE (JSON keyword arguments: keys_dir or
repository) and KEYWARD_FARM_REFRESH (seconds).
"""

import json
import os
import time
from urllib.parse import parse_qs

import keyward

MASTER_PID = os.getpid()
provider = keyward.Provider(
    application_name="farm",
    refresh_period=float(os.environ.get("KEYWARD_FARM_REFRESH", "1")),
    **json.loads(os.environ["KEYWARD_FARM_STORE"]),
)
orders = provider.protector("Orders")


def app(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    path = environ.get("PATH_INFO", "")
    # `hold`: keep this worker busy a moment, so that concurrent requests reach the others.
    time.sleep(min(float(query.get("hold", ["0"])[0]), 1.0))
    if path == "/protect":
        count = min(int(query.get("n", ["1"])[0]), 10_000)
        body = {"payloads": [orders.protect(b"farm") for _ in range(count)]}
    elif path == "/unprotect":
        try:
            body = {"ok": True, "plaintext": orders.unprotect(query["payload"][0]).decode()}
        except keyward.Error as error:
            body = {"ok": False, "error": type(error).__name__}
    elif path == "/master":
        body = {"master": MASTER_PID}
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    body["pid"] = os.getpid()
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
