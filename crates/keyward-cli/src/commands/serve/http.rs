//! HTTP framing: admission (403 for a refused peer, 401 without the token), routing, the
//! body limit (413) and JSON rendering. The operations themselves are in [`super::api`].

use std::convert::Infallible;
use std::sync::Arc;

use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};

use super::access::{Admission, Peer};
use super::api::{Operations, Reply};
use super::prometheus::PrometheusRecorder;

/// Counter: requests answered, by `route` and `status`.
pub const REQUESTS_TOTAL: &str = "keyward_serve_requests_total";

/// Everything a request needs.
pub struct Service {
    /// The operations on the provider.
    pub operations: Operations,
    /// Who is admitted.
    pub admission: Admission,
    /// The metrics `GET /metrics` renders.
    pub recorder: PrometheusRecorder,
    /// The largest body read.
    pub max_body: usize,
}

/// The routes, as metric label values (a fixed set: no path from a request reaches a label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Protect,
    Unprotect,
    Login,
    Health,
    Metrics,
    Unknown,
}

impl Route {
    fn of(path: &str) -> Self {
        match path {
            "/v1/protect" => Self::Protect,
            "/v1/unprotect" => Self::Unprotect,
            "/v1/login" => Self::Login,
            "/v1/health" => Self::Health,
            "/metrics" => Self::Metrics,
            _ => Self::Unknown,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Protect => "protect",
            Self::Unprotect => "unprotect",
            Self::Login => "login",
            Self::Health => "health",
            Self::Metrics => "metrics",
            Self::Unknown => "unknown",
        }
    }

    fn method(self) -> Option<Method> {
        match self {
            Self::Protect | Self::Unprotect | Self::Login => Some(Method::POST),
            Self::Health | Self::Metrics => Some(Method::GET),
            Self::Unknown => None,
        }
    }
}

/// Answers one request from `peer`.
pub async fn handle(
    service: Arc<Service>,
    peer: Peer,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let route = Route::of(request.uri().path());
    let response = respond(&service, peer, route, request).await;
    metrics::counter!(
        REQUESTS_TOTAL,
        "route" => route.as_str(),
        "status" => response.status().as_u16().to_string()
    )
    .increment(1);
    Ok(response)
}

async fn respond(
    service: &Service,
    peer: Peer,
    route: Route,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    match peer {
        Peer::RefusedUser(uid) => {
            return json_response(Reply::error(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("uid {uid} is not admitted to this socket"),
            ))
        }
        Peer::Tcp => {
            let header = request.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
            if !service.admission.accepts_authorization(header) {
                let mut response = json_response(Reply::error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "a valid `Authorization: Bearer TOKEN` header is required",
                ));
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
                return response;
            }
        }
        Peer::User(_) => {}
    }
    let Some(method) = route.method() else {
        return json_response(Reply::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint: /v1/protect, /v1/unprotect, /v1/login, /v1/health, /metrics",
        ));
    };
    if request.method() != method {
        let mut response = json_response(Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this endpoint takes {method}"),
        ));
        if let Ok(allow) = http::HeaderValue::from_str(method.as_str()) {
            response.headers_mut().insert(http::header::ALLOW, allow);
        }
        return response;
    }
    let operations = &service.operations;
    match route {
        Route::Health => json_response(blocking(|| operations.health())),
        Route::Metrics => {
            let mut response = Response::new(Full::new(Bytes::from(service.recorder.render())));
            response.headers_mut().insert(
                CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        Route::Protect | Route::Unprotect | Route::Login => {
            let body = match read_body(request, service.max_body).await {
                Ok(body) => body,
                Err(reply) => return json_response(reply),
            };
            let reply = blocking(|| match route {
                Route::Protect => operations.protect(peer, &body),
                Route::Unprotect => operations.unprotect(peer, &body),
                _ => operations.login(peer, &body),
            });
            // The body may hold a plaintext or a login cookie: wiped once answered.
            let mut body = body;
            zeroize::Zeroize::zeroize(&mut body);
            json_response(reply)
        }
        Route::Unknown => unreachable_route(),
    }
}

/// Runs `f` (which may read the store during a refresh) without stalling the runtime's
/// other connections.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn unreachable_route() -> Response<Full<Bytes>> {
    json_response(Reply::error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint",
    ))
}

/// The request body, at most `max` bytes: a larger declared or actual length is 413.
async fn read_body(request: Request<Incoming>, max: usize) -> Result<Vec<u8>, Reply> {
    let too_large = || {
        Reply::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than {max} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(too_large());
    }
    match Limited::new(request.into_body(), max).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(error) => Err(Reply::error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the request body could not be read: {error}"),
        )),
    }
}

fn json_response(reply: Reply) -> Response<Full<Bytes>> {
    let body = crate::json_out::to_vec(&reply.body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = reply.status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
