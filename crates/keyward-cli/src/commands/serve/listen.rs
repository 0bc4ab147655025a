//! The listeners: the Unix socket (mode 0660, peers by `SO_PEERCRED`) and loopback TCP,
//! the accept loop, readiness (`--ready-file`, systemd's `NOTIFY_SOCKET`) and graceful
//! shutdown on SIGTERM or SIGINT.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

use super::access::Peer;
use super::http::{handle, Service};
use crate::commands::CliError;
use crate::serve_args::ServeArgs;

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves until SIGTERM or SIGINT, then drains the connections and removes the socket and
/// ready files.
pub async fn serve(service: Arc<Service>, args: &ServeArgs) -> Result<(), CliError> {
    let unix = match &args.socket {
        Some(path) => Some(bind_unix(path)?),
        None => None,
    };
    let tcp =
        match args.listen {
            Some(address) => Some(TcpListener::bind(address).await.map_err(|source| {
                CliError::Usage(format!("cannot listen on {address}: {source}"))
            })?),
            None => None,
        };
    let _socket_file = args.socket.clone().map(RemoveOnDrop);
    if let Some(path) = &args.socket {
        tracing::info!("listening on unix:{}", path.display());
    }
    if let Some(listener) = &tcp {
        if let Ok(address) = listener.local_addr() {
            tracing::info!("listening on http://{address} (bearer token required)");
        }
    }
    let _ready_file = announce_ready(args.ready_file.as_deref())?;

    let graceful = GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = accept_unix(unix.as_ref()) => match accepted {
                Ok((stream, peer)) => spawn_connection(stream, peer, &service, &graceful),
                Err(error) => accept_failed(&error).await,
            },
            accepted = accept_tcp(tcp.as_ref()) => match accepted {
                Ok(stream) => spawn_connection(stream, Peer::Tcp, &service, &graceful),
                Err(error) => accept_failed(&error).await,
            },
            () = &mut shutdown => break,
        }
    }
    drop(unix);
    drop(tcp);
    notify_systemd("STOPPING=1");
    tracing::info!("shutting down: draining requests in flight");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}: stopping anyway");
    }
    Ok(())
}

async fn accept_failed(error: &std::io::Error) {
    // Out of file descriptors and the like: say so, and give the system a moment.
    tracing::warn!("accepting a connection failed: {error}");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

async fn accept_unix(
    listener: Option<&UnixListener>,
) -> std::io::Result<(tokio::net::UnixStream, Peer)> {
    let Some(listener) = listener else {
        return std::future::pending().await;
    };
    let (stream, _) = listener.accept().await?;
    let uid = stream.peer_cred()?.uid();
    Ok((stream, Peer::User(uid)))
}

async fn accept_tcp(listener: Option<&TcpListener>) -> std::io::Result<tokio::net::TcpStream> {
    let Some(listener) = listener else {
        return std::future::pending().await;
    };
    let (stream, _) = listener.accept().await?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

fn spawn_connection<I>(io: I, peer: Peer, service: &Arc<Service>, graceful: &GracefulShutdown)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = match peer {
        Peer::User(uid) if !service.admission.admits_uid(uid) => {
            tracing::info!("refused a connection from uid {uid}: not admitted");
            Peer::RefusedUser(uid)
        }
        other => other,
    };
    let service = Arc::clone(service);
    let handler =
        hyper::service::service_fn(move |request| handle(Arc::clone(&service), peer, request));
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(io), handler);
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!("connection ended with an error: {error}");
        }
    });
}

/// Binds the socket with mode 0660. A socket file nobody listens on (left by a crash) is
/// replaced; a live one, or a file that is not a socket, is an error.
fn bind_unix(path: &Path) -> Result<UnixListener, CliError> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_socket() => {
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => {
                    return Err(CliError::Usage(format!(
                        "{}: another process is listening on this socket",
                        path.display()
                    )))
                }
                Err(_) => std::fs::remove_file(path).map_err(CliError::writing(path))?,
            }
        }
        Ok(_) => {
            return Err(CliError::Usage(format!(
                "{}: exists and is not a socket; keyward will not replace it",
                path.display()
            )))
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(CliError::reading(path)(error)),
    }
    // Created 0660 from the start: no moment in which other users may connect.
    let previous = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o117));
    let bound = UnixListener::bind(path);
    nix::sys::stat::umask(previous);
    let listener = bound.map_err(CliError::writing(path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(CliError::writing(path))?;
    Ok(listener)
}

/// Writes the ready file (this process's id) and tells systemd, once listening.
fn announce_ready(path: Option<&Path>) -> Result<Option<RemoveOnDrop>, CliError> {
    notify_systemd("READY=1");
    let Some(path) = path else { return Ok(None) };
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, format!("{}\n", std::process::id()))
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(CliError::writing(path))?;
    Ok(Some(RemoveOnDrop(path.to_owned())))
}

/// Sends `state` to systemd's notification socket when `NOTIFY_SOCKET` names one.
fn notify_systemd(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = (|| -> std::io::Result<()> {
        let datagram = std::os::unix::net::UnixDatagram::unbound()?;
        let bytes = socket.as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            #[cfg(target_os = "linux")]
            {
                use std::os::linux::net::SocketAddrExt;
                let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                datagram.send_to_addr(state.as_bytes(), &address)?;
                return Ok(());
            }
            #[cfg(not(target_os = "linux"))]
            return Err(std::io::Error::from(ErrorKind::Unsupported));
        }
        datagram.send_to(state.as_bytes(), PathBuf::from(socket.clone()))?;
        Ok(())
    })();
    if let Err(error) = sent {
        tracing::warn!("cannot notify systemd ({state}): {error}");
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!("cannot watch for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// A file removed when the server stops.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        // Best effort: a file already gone is what we wanted.
        let _ = std::fs::remove_file(&self.0);
    }
}
