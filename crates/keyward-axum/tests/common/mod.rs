//! A loopback server and a small cookie-keeping HTTP client for the end-to-end tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use keyward::time::{Duration, OffsetDateTime};
use keyward::{KeyId, ManualClock, MemoryRepository, Provider};
use keyward_axum::cookie::Cookie;

/// A provider over an in-memory ring on a fake clock, with one default key.
pub fn provider(application: &str) -> (Provider, ManualClock) {
    let clock = ManualClock::new(OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap()); // 2026-01-01;
    let provider = Provider::builder()
        .application_name(application)
        .repository(MemoryRepository::new())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    provider.ensure_default_key().unwrap();
    (provider, clock)
}

/// Rotates: a new key active an hour from now, then the clock moves two hours on.
pub fn rotate(provider: &Provider, clock: &ManualClock) -> KeyId {
    let now = provider.now();
    let id = provider
        .create_key(now + Duration::hours(1), now + Duration::days(90))
        .unwrap();
    clock.advance(Duration::hours(2));
    provider.refresh().unwrap();
    assert_eq!(provider.default_key_at(provider.now()), Some(id));
    id
}

/// The key id a protected cookie value names.
pub fn key_of(value: &str) -> KeyId {
    let payload = keyward::encoding::base64url_decode(value).unwrap();
    keyward::payload::parse(&payload).unwrap().0
}

/// Serves `app` on 127.0.0.1 (an ephemeral port) until the test's runtime ends.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

/// A response as a test looks at it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub set_cookies: Vec<Cookie<'static>>,
    pub body: String,
}

impl Reply {
    /// The `Set-Cookie` for `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<&Cookie<'static>> {
        self.set_cookies.iter().find(|c| c.name() == name)
    }
}

/// An HTTP/1.1 client (hyper) that keeps cookies as a browser does (by name; one path).
pub struct Browser {
    client: Client<HttpConnector, Empty<Bytes>>,
    addr: SocketAddr,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            addr,
            cookies: BTreeMap::new(),
        }
    }

    /// GET `path` with the kept cookies; keeps what the response sets or removes.
    pub async fn get(&mut self, path: &str) -> Reply {
        let mut request = Request::get(format!("http://{}{path}", self.addr));
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            request = request.header(header::COOKIE, header.join("; "));
        }
        let response = self
            .client
            .request(request.body(Empty::new()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let set_cookies: Vec<Cookie<'static>> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| Cookie::parse(v.to_str().unwrap().to_owned()).unwrap())
            .collect();
        for cookie in &set_cookies {
            let expired = cookie
                .expires_datetime()
                .is_some_and(|at| at < OffsetDateTime::now_utc());
            if cookie.max_age() == Some(keyward::time::Duration::ZERO) || expired {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            set_cookies,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }
}
