"""Protect and unprotect through `keyward serve` with Python's standard library only.

Usage: KEYWARD_SOCKET=/run/keyward/keyward.sock python3 client.py [TEXT]
"""
import base64
import http.client
import json
import os
import socket
import sys


class UnixConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a Unix socket."""

    def __init__(self, path):
        super().__init__("keyward")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


class SidecarError(Exception):
    """The sidecar refused a request: `reason` is its machine-readable reason."""

    def __init__(self, status, body):
        self.status = status
        self.reason = body.get("reason")
        super().__init__(f"{status} {self.reason}: {body.get('error')}")


def call(path, body, socket_path):
    connection = UnixConnection(socket_path)
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = json.loads(response.read())
    except OSError as error:
        raise SystemExit(f"keyward sidecar is not reachable at {socket_path}: {error}") from None
    finally:
        connection.close()
    if response.status != 200:
        raise SidecarError(response.status, answer)
    return answer


def main():
    socket_path = os.environ.get("KEYWARD_SOCKET", "/run/keyward/keyward.sock")
    text = sys.argv[1] if len(sys.argv) > 1 else "hello from Python"
    purposes = ["Orders", "v1"]
    plaintext = base64.b64encode(text.encode()).decode()
    payload = call("/v1/protect", {"purposes": purposes, "plaintext": plaintext}, socket_path)["payload"]
    print(f"payload: {payload}")
    opened = call("/v1/unprotect", {"purposes": purposes, "payload": payload}, socket_path)
    print(f"plaintext: {base64.b64decode(opened['plaintext']).decode()}")


if __name__ == "__main__":
    try:
        main()
    except SystemExit as exit_:
        print(exit_, file=sys.stderr)
        sys.exit(2)
