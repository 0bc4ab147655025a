"""A plain WSGI app that reads the ASP.NET Core login cookie of the app next to it and shows
the user's claims: both share one key ring (a folder here) and one application name.

    KEYWARD_KEYS_DIR=/srv/keys KEYWARD_APPLICATION_NAME=shop python3 app.py     # port 8000
    gunicorn --preload -w 4 app:app                                             # or this

Serve it under the same host name as the ASP.NET Core app, so the browser sends the cookie.
"""

import html
import os

import keyward

provider = keyward.Provider(
    application_name=os.environ.get("KEYWARD_APPLICATION_NAME", "shop"),
    keys_dir=os.environ.get("KEYWARD_KEYS_DIR", "keys"),
    # A reader of the ring: it never writes a key (the ASP.NET Core app owns rotation).
    read_only=True,
)


def page(title, body):
    return f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>{body}"


def app(environ, start_response):
    """Shows the signed-in user's claims, 401 without a valid login."""
    try:
        login = provider.read_login(environ.get("HTTP_COOKIE", ""), scheme="Cookies")
    except keyward.Error as error:
        # Tampered with, under a revoked key, expired: not a login. Say why, no more.
        login, reason = None, type(error).__name__
    else:
        reason = "no login cookie"
    if login is None:
        status, text = "401 Unauthorized", page("Not signed in", f"<p>{html.escape(reason)}</p>")
    else:
        rows = "".join(
            f"<tr><td>{html.escape(kind)}</td><td>{html.escape(value)}</td></tr>"
            for kind, value in login.claims
        )
        expires = login.expires.isoformat() if login.expires else "at the end of the session"
        text = page(
            f"Hello, {login.name or 'anonymous'}",
            f"<p>Signed in until {html.escape(expires)}.</p><table>{rows}</table>",
        )
        status = "200 OK"
    data = text.encode()
    start_response(status, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    with make_server("127.0.0.1", int(os.environ.get("PORT", "8000")), app) as server:
        print(f"http://127.0.0.1:{server.server_port}/")
        server.serve_forever()
