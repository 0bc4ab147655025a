//! An axum service that reads the login cookie of an ASP.NET Core app sharing its key ring:
//! see README.md beside this file.
//!
//! `cargo run -p keyward-axum --example shared-login`. Settings (environment):
//! - `KEYWARD_KEYS_DIR`: the key directory the .NET app persists to (default `./shared-keys`);
//! - `KEYWARD_REPOSITORY`: a `redis://host:port/db?key=NAME` URL instead (.NET's
//!   `PersistKeysToStackExchangeRedis`);
//! - `APPLICATION_NAME`: the .NET app's `SetApplicationName` (default `shop`);
//! - `KEYWARD_READ_ONLY=1`: never write to the ring (a ring .NET manages, or a test ring);
//! - `SECURE_COOKIES=0`: cookies written here without `Secure` (plain-HTTP development);
//! - `LISTEN`: the address (default `127.0.0.1:3001`).

use std::net::SocketAddr;

use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use keyward::Provider;
use keyward_axum::keyward_aspnetcore::{
    AuthenticationProperties, AuthenticationTicket, Claim, ClaimsIdentity, ClaimsPrincipal,
    NAME_CLAIM_TYPE,
};
use keyward_axum::{AspNetCoreLogin, AspNetCoreUser, LoginCookies, LoginError};

#[derive(Clone)]
struct AppState {
    login: AspNetCoreLogin,
}

impl FromRef<AppState> for AspNetCoreLogin {
    fn from_ref(state: &AppState) -> Self {
        state.login.clone()
    }
}

fn env_flag(name: &str) -> Option<bool> {
    std::env::var(name)
        .ok()
        .map(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,keyward_axum=debug".into()),
        )
        .init();
    let application = std::env::var("APPLICATION_NAME").unwrap_or_else(|_| "shop".into());
    let listen: SocketAddr = std::env::var("LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:3001".into())
        .parse()?;

    // Building a provider reads the ring (file or Redis I/O): before the runtime starts.
    let builder = Provider::builder()
        .application_name(&application)
        .read_only(env_flag("KEYWARD_READ_ONLY").unwrap_or(false));
    let builder = match std::env::var("KEYWARD_REPOSITORY") {
        Ok(url) => builder.repository(keyward_redis::RedisRepository::open(&url)?),
        Err(_) => builder.key_directory(
            std::env::var_os("KEYWARD_KEYS_DIR").unwrap_or_else(|| "shared-keys".into()),
        ),
    };
    let provider = builder.build()?;
    tracing::info!(ring = %provider.location(), %application, "key ring read");

    let login = AspNetCoreLogin::new(&provider).secure(env_flag("SECURE_COOKIES").unwrap_or(true));
    let app = Router::new()
        .route("/", get(home))
        .route("/me", get(me))
        .route("/demo-signin/{name}", get(demo_sign_in))
        .route("/signout", get(sign_out))
        .with_state(AppState { login });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        tracing::info!(%listen, "serving");
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })?;
    Ok(())
}

/// Anyone: says who is signed in, if anyone.
async fn home(user: Option<AspNetCoreUser>) -> String {
    match user {
        Some(user) => format!(
            "signed in (by the .NET app or here) as {}\n",
            user.name().unwrap_or("(no name)")
        ),
        None => "not signed in\n".into(),
    }
}

/// Signed-in users only (401 otherwise): the user's claims and ticket dates.
async fn me(user: AspNetCoreUser) -> String {
    let mut out = format!("name: {}\n", user.name().unwrap_or("(no name)"));
    for claim in user.claims() {
        out.push_str(&format!("claim {} = {}\n", claim.claim_type, claim.value));
    }
    let properties = &user.ticket().properties;
    for (key, value) in properties.iter() {
        out.push_str(&format!("property {key} = {value}\n"));
    }
    out
}

/// DEMO ONLY: signs anyone in by name, with no password. A real service signs in after it
/// has authenticated the user. The .NET app accepts this cookie as its own login. When the
/// ring has no usable default key (a read-only node on a ring whose keys all expired, or
/// an empty one), the answer is 503 with the reason: the service cannot sign anyone in until
/// a key exists, but nothing is broken.
async fn demo_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<(LoginCookies, String), (StatusCode, String)> {
    let mut identity = ClaimsIdentity::new(state.login.scheme());
    identity
        .claims
        .push(Claim::new(NAME_CLAIM_TYPE, name.clone()));
    let ticket = AuthenticationTicket::new(
        state.login.scheme(),
        ClaimsPrincipal::new(identity),
        AuthenticationProperties::new(),
    );
    let cookies = state.login.sign_in(&headers, ticket).map_err(refusal)?;
    Ok((cookies, format!("signed in as {name}\n")))
}

/// A login that could not be written, as the answer: 503 and the reason when the ring has
/// no usable default key (the cause is the store's state, not a bug; the reason names no
/// secret), 500 otherwise.
fn refusal(error: LoginError) -> (StatusCode, String) {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(error) = cause {
        if let Some(keyward::Error::NoDefaultKey { reason, .. }) =
            error.downcast_ref::<keyward::Error>()
        {
            tracing::warn!(%reason, "no usable default key: cannot sign in");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot sign in: the key ring has no usable default key ({reason})\n"),
            );
        }
        cause = error.source();
    }
    tracing::error!(%error, "the login cookie could not be written");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "the login cookie could not be written\n".into(),
    )
}

/// Signs out here and in the .NET app: the cookie and all its chunks are removed.
async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> (LoginCookies, &'static str) {
    (state.login.sign_out(&headers), "signed out\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read-only node on an empty ring: /demo-signin answers 503 with the reason.
    #[tokio::test]
    async fn demo_sign_in_without_a_usable_default_key_is_503_with_the_reason() {
        let dir = std::env::temp_dir().join(format!(
            "shared-login-test-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let provider = Provider::builder()
            .application_name("shop")
            .read_only(true)
            .key_directory(&dir)
            .build()
            .expect("a read-only provider");
        let state = AppState {
            login: AspNetCoreLogin::new(&provider),
        };
        let answer = demo_sign_in(State(state), HeaderMap::new(), Path("bob".into())).await;
        let _ = std::fs::remove_dir_all(&dir);
        let Err((status, body)) = answer else {
            panic!("signed in without a key");
        };
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("no usable default key"), "{body}");
        assert!(body.contains("read-only"), "{body}");
    }
}
