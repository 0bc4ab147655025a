//! The `/v1` operations: JSON in, JSON out, on the library's provider (the sidecar keeps no
//! cache of its own). Each returns a [`Reply`]; the HTTP side only routes and frames.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::StatusCode;
use keyward::metrics::Reason;
use keyward::time::format_description::well_known::Rfc3339;
use keyward::time::OffsetDateTime;
use keyward::Provider;
use keyward_aspnetcore::{
    self as aspnetcore, LoginReader, TicketError, COOKIE_AUTHENTICATION_PURPOSE,
    COOKIE_AUTHENTICATION_VERSION_PURPOSE,
};
use serde::Deserialize;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::access::Peer;
use super::policy::Policy;
use crate::commands::cookie::TicketJson;

/// An answer: a status and a JSON body.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: Value,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
        }
    }

    /// An error answer: `{"error": ONE_LINE, "reason": REASON}`.
    pub fn error(status: StatusCode, reason: &str, message: impl Into<String>) -> Self {
        let message = crate::printable::printable(&message.into());
        Self {
            status,
            body: json!({ "error": message, "reason": reason }),
        }
    }

    /// A library failure: 503 when the ring or its store is at fault (try again later),
    /// 422 when the request is (the payload, its purposes, its age).
    fn from_keyward(error: &keyward::Error) -> Self {
        let reason = error.kind();
        let status = match reason {
            Reason::Repository | Reason::NoDefaultKey => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::error(status, reason.as_str(), keyward::error_chain(error))
    }
}

/// What the operations share.
pub struct Operations {
    /// The library's provider: its ring, refresh and store.
    pub provider: Provider,
    /// The policy, when `--policy` is given.
    pub policy: Option<Policy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtectRequest {
    #[serde(default)]
    purposes: Vec<String>,
    plaintext: String,
    #[serde(default)]
    expires: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnprotectRequest {
    #[serde(default)]
    purposes: Vec<String>,
    payload: String,
    #[serde(default)]
    time_limited: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    cookie_header: String,
    #[serde(default = "default_scheme")]
    scheme: String,
    #[serde(default)]
    cookie_name: Option<String>,
}

fn default_scheme() -> String {
    "Cookies".to_owned()
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Reply> {
    serde_json::from_slice(body).map_err(|e| {
        Reply::error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the request is not the JSON this operation takes: {e}"),
        )
    })
}

fn rfc3339(at: OffsetDateTime) -> Value {
    at.format(&Rfc3339).map_or(Value::Null, Value::String)
}

impl Operations {
    fn check_policy(&self, peer: Peer, purposes: &[String]) -> Result<(), Reply> {
        match &self.policy {
            Some(policy) if !policy.allows(peer, purposes) => Err(Reply::error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the policy does not allow this peer these purposes",
            )),
            _ => Ok(()),
        }
    }

    /// `POST /v1/protect`.
    pub fn protect(&self, peer: Peer, body: &[u8]) -> Reply {
        self.try_protect(peer, body).unwrap_or_else(|reply| reply)
    }

    fn try_protect(&self, peer: Peer, body: &[u8]) -> Result<Reply, Reply> {
        let request: ProtectRequest = parse(body)?;
        self.check_policy(peer, &request.purposes)?;
        let plaintext =
            Zeroizing::new(STANDARD.decode(request.plaintext.trim()).map_err(|_| {
                Reply::error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "plaintext is not base64",
                )
            })?);
        let protector = self.provider.protector(request.purposes);
        let payload = match request.expires {
            Some(text) => {
                let expires = OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| {
                    Reply::error(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        "expires is not an RFC 3339 time",
                    )
                })?;
                protector.to_time_limited().protect(&plaintext, expires)
            }
            None => protector.protect(&plaintext),
        }
        .map_err(|e| Reply::from_keyward(&e))?;
        Ok(Reply::ok(
            json!({ "payload": keyward::encoding::base64url_encode(&payload) }),
        ))
    }

    /// `POST /v1/unprotect`.
    pub fn unprotect(&self, peer: Peer, body: &[u8]) -> Reply {
        self.try_unprotect(peer, body).unwrap_or_else(|reply| reply)
    }

    fn try_unprotect(&self, peer: Peer, body: &[u8]) -> Result<Reply, Reply> {
        let request: UnprotectRequest = parse(body)?;
        self.check_policy(peer, &request.purposes)?;
        let payload = keyward::encoding::base64url_decode(request.payload.trim())
            .map_err(|e| Reply::from_keyward(&e))?;
        let protector = self.provider.protector(request.purposes);
        let (plaintext, key_id, expires) = if request.time_limited {
            let (data, expires) = protector
                .to_time_limited()
                .unprotect(&payload)
                .map_err(|e| Reply::from_keyward(&e))?;
            let (key_id, _) =
                keyward::payload::parse(&payload).map_err(|e| Reply::from_keyward(&e))?;
            (Zeroizing::new(data), key_id, Some(expires))
        } else {
            let opened = protector
                .unprotect_with_key(&payload)
                .map_err(|e| Reply::from_keyward(&e))?;
            let key_id = opened.key_id;
            (Zeroizing::new(opened.data), key_id, None)
        };
        let mut body = json!({
            "plaintext": STANDARD.encode(plaintext.as_slice()),
            "key_id": key_id.to_string(),
        });
        if let Some(expires) = expires {
            body["expires"] = rfc3339(expires);
        }
        Ok(Reply::ok(body))
    }

    /// `POST /v1/login`: the ticket of a valid, unexpired login cookie, as `keyward cookie
    /// decode` prints it; 401 when the header holds no valid login.
    pub fn login(&self, peer: Peer, body: &[u8]) -> Reply {
        self.try_login(peer, body).unwrap_or_else(|reply| reply)
    }

    fn try_login(&self, peer: Peer, body: &[u8]) -> Result<Reply, Reply> {
        let request: LoginRequest = parse(body)?;
        let purposes = [
            COOKIE_AUTHENTICATION_PURPOSE.to_owned(),
            request.scheme.clone(),
            COOKIE_AUTHENTICATION_VERSION_PURPOSE.to_owned(),
        ];
        self.check_policy(peer, &purposes)?;
        let no_login =
            |reason: &str, message: String| Reply::error(StatusCode::UNAUTHORIZED, reason, message);
        let header = request.cookie_header.trim();
        let header = header
            .get(..7)
            .filter(|prefix| prefix.eq_ignore_ascii_case("cookie:"))
            .map_or(header, |_| header[7..].trim_start());
        let mut reader = LoginReader::new(&self.provider, &request.scheme);
        if let Some(name) = request.cookie_name {
            reader = reader.cookie_named(name);
        }
        // Unlike `cookie decode`, a lone cookie of another name is never taken for it.
        let ticket = match reader.read(header, self.provider.now()) {
            Ok(Some(ticket)) => ticket,
            Ok(None) => {
                return Err(no_login(
                    "no_cookie",
                    format!(
                        "the Cookie header has no cookie named {:?}",
                        reader.cookie_name()
                    ),
                ))
            }
            Err(error) => {
                let reason = match &error {
                    aspnetcore::Error::Ticket(
                        TicketError::Unprotect(inner) | TicketError::Encoding(inner),
                    ) => inner.kind().as_str(),
                    aspnetcore::Error::Expired { .. } => Reason::Expired.as_str(),
                    aspnetcore::Error::Cookie(_) => "no_cookie",
                    _ => Reason::Malformed.as_str(),
                };
                return Err(no_login(reason, keyward::error_chain(&error)));
            }
        };
        let json = serde_json::to_value(TicketJson::from(&ticket)).map_err(|e| {
            Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "other",
                format!("cannot render the ticket: {e}"),
            )
        })?;
        Ok(Reply::ok(json))
    }

    /// `GET /v1/health`: the default key, the next rotation and whether the store answers
    /// (a refresh); 503 when there is no default key or the store does not answer.
    pub fn health(&self) -> Reply {
        let store = self.provider.refresh();
        let now = self.provider.now();
        let default_key = self.provider.default_key_at(now);
        let rotation = self.provider.schedule().next_rotation();
        let healthy = store.is_ok() && default_key.is_some();
        let mut store_json = json!({
            "location": crate::printable::printable(&self.provider.location()),
            "reachable": store.is_ok(),
        });
        if let Err(error) = &store {
            store_json["error"] =
                Value::String(crate::printable::printable(&keyward::error_chain(error)));
        }
        Reply {
            status: if healthy {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            },
            body: json!({
                "status": if healthy { "ok" } else { "unhealthy" },
                "default_key": default_key.map(|id| id.to_string()),
                "next_rotation": rotation.map_or(Value::Null, |r| rfc3339(r.at)),
                "store": store_json,
            }),
        }
    }
}
