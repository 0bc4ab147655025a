//! TLS for libpq's `sslmode`: rustls (aws-lc-rs) driven by tokio-rustls inside the runtime the
//! synchronous `postgres` client runs its connection on.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// libpq's `sslmode`, as keyward honours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// TLS when the server offers it (certificate not verified), plain otherwise; the default.
    #[default]
    Prefer,
    /// TLS or nothing; the certificate is not verified unless `sslrootcert=PATH` is given
    /// (then as [`SslMode::VerifyCa`]).
    Require,
    /// TLS with the certificate chain verified up to the roots in `sslrootcert=PATH` (required:
    /// never the system's roots); any host name.
    VerifyCa,
    /// TLS with the chain verified and the certificate issued for the host connected to; roots
    /// from `sslrootcert=PATH`, or the system's (`sslrootcert=system`, or none given).
    VerifyFull,
}

impl SslMode {
    /// Parses libpq's spelling (`allow` is taken as `prefer`: both may end up in plain text,
    /// and `prefer` tries TLS first).
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    /// The mode the `postgres` client negotiates with.
    pub(crate) fn negotiation(self) -> postgres::config::SslMode {
        match self {
            Self::Disable => postgres::config::SslMode::Disable,
            Self::Prefer => postgres::config::SslMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => postgres::config::SslMode::Require,
        }
    }
}

/// Why a TLS configuration could not be built.
#[derive(Debug)]
pub(crate) enum SetupError {
    /// `sslmode` and `sslrootcert` do not go together (the text does not quote the values).
    Configuration(&'static str),
    /// `sslrootcert` could not be read or holds no certificate.
    RootFile(String, Box<dyn std::error::Error + Send + Sync>),
    /// Verification was asked for and the system has no root certificates.
    NoSystemRoots,
    /// rustls refused the configuration.
    Rustls(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Configuration(reason) => f.write_str(reason),
            Self::RootFile(path, _) => write!(f, "reading the root certificates in {path}"),
            Self::NoSystemRoots => f.write_str(
                "certificate verification needs root certificates: the system has none; give sslrootcert=PATH",
            ),
            Self::Rustls(_) => f.write_str("setting up TLS"),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::RootFile(_, e) | Self::Rustls(e) => Some(e.as_ref()),
            Self::Configuration(_) | Self::NoSystemRoots => None,
        }
    }
}

#[derive(Debug)]
struct NoCertificate;

impl fmt::Display for NoCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no PEM certificate in the file")
    }
}

impl std::error::Error for NoCertificate {}

/// `sslrootcert=system`: the system's roots, as PostgreSQL 16's libpq (only with `verify-full`).
const SYSTEM: &str = "system";

/// The rustls client configuration for `mode`, or `None` for plain connections.
///
/// The system's roots vouch for host names, not for a server: without the name check any
/// publicly issued certificate would pass, so only `verify-full` takes them (as PostgreSQL
/// 16's libpq); `verify-ca` needs a root file (as libpq); `sslrootcert` with a mode that does
/// not verify is refused rather than silently ignored.
pub(crate) fn client_config(
    mode: SslMode,
    root_cert: Option<&str>,
) -> Result<Option<MakeRustls>, SetupError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let refused = |reason| Err(SetupError::Configuration(reason));
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, root_cert) {
        (SslMode::Disable | SslMode::Prefer, Some(_)) => {
            return refused(
                "sslrootcert is used only with sslmode=require, verify-ca or verify-full (prefer, the default, does not verify the certificate)",
            )
        }
        (SslMode::Require | SslMode::VerifyCa, Some(SYSTEM)) => {
            return refused(
                "sslrootcert=system is accepted only with sslmode=verify-full: the system's roots vouch for host names, so the name must be checked",
            )
        }
        (SslMode::VerifyCa, None) => {
            return refused(
                "sslmode=verify-ca needs sslrootcert=PATH, the CA certificates that issued the server's certificate",
            )
        }
        (SslMode::Disable, None) => return Ok(None),
        (SslMode::Prefer | SslMode::Require, None) => Arc::new(WithoutName {
            roots: None,
            provider: provider.clone(),
        }),
        (SslMode::Require | SslMode::VerifyCa, Some(path)) => Arc::new(WithoutName {
            roots: Some(file_roots(path)?),
            provider: provider.clone(),
        }),
        (SslMode::VerifyFull, None | Some(SYSTEM)) => webpki(system_roots()?, &provider)?,
        (SslMode::VerifyFull, Some(path)) => webpki(file_roots(path)?, &provider)?,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError::Rustls(Box::new(e)))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(MakeRustls {
        config: Arc::new(config),
    }))
}

fn webpki(
    roots: Arc<RootCertStore>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, SetupError> {
    WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| SetupError::Rustls(Box::new(e)))
}

fn file_roots(path: &str) -> Result<Arc<RootCertStore>, SetupError> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| SetupError::RootFile(path.into(), e);
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(Path::new(path)).map_err(|e| failed(Box::new(e)))? {
        let cert = cert.map_err(|e| failed(Box::new(e)))?;
        roots.add(cert).map_err(|e| failed(Box::new(e)))?;
    }
    if roots.is_empty() {
        return Err(failed(Box::new(NoCertificate)));
    }
    Ok(Arc::new(roots))
}

fn system_roots() -> Result<Arc<RootCertStore>, SetupError> {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(SetupError::NoSystemRoots);
    }
    Ok(Arc::new(roots))
}

/// The verifier of the modes that do not check the host name, as libpq's:
/// - `prefer`, and `require` without `sslrootcert` (`roots: None`): encryption without
///   authentication;
/// - `verify-ca`, and `require` with `sslrootcert=PATH` (`roots: Some`): the chain must lead to
///   a root of that file (never the system's); the name is not checked.
///
/// The handshake's signatures are always checked (the peer holds the certificate's key).
#[derive(Debug)]
struct WithoutName {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for WithoutName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let certificate = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &certificate,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Makes one TLS connector per host the client tries.
#[derive(Clone)]
pub(crate) struct MakeRustls {
    config: Arc<ClientConfig>,
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, io::Error> {
        // Unix-socket hosts come with an empty domain and never reach the handshake.
        Ok(RustlsConnect {
            config: self.config.clone(),
            domain: domain.to_owned(),
        })
    }
}

/// The TLS connector for one host.
pub(crate) struct RustlsConnect {
    config: Arc<ClientConfig>,
    domain: String,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = HandshakeError;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream<S>, HandshakeError>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let name = ServerName::try_from(self.domain)
                .map_err(|e| HandshakeError(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
            tokio_rustls::TlsConnector::from(self.config)
                .connect(name, stream)
                .await
                .map(RustlsStream)
                .map_err(HandshakeError)
        })
    }
}

/// A failed TLS handshake (bad certificate, protocol mismatch, broken connection).
#[derive(Debug)]
pub(crate) struct HandshakeError(io::Error);

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Whether `error` is a failed TLS handshake of ours (for `prefer`'s fallback to plain text).
pub(crate) fn is_handshake_failure(error: &postgres::Error) -> bool {
    let mut cause = std::error::Error::source(error);
    while let Some(e) = cause {
        if e.is::<HandshakeError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// An established TLS session.
pub(crate) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM-SHA-256-PLUS is not offered; channel_binding=prefer (the default) falls back
        // to SCRAM-SHA-256.
        ChannelBinding::none()
    }
}
