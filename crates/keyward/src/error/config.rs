//! Configuration errors: which setting is wrong, and how.

use std::fmt;

/// A setting of the provider: what a [`ConfigError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Setting {
    /// The application name (or its explicit absence).
    ApplicationName,
    /// Where the key ring is kept: a key directory, a repository, a store's URL.
    Repository,
    /// The algorithm new keys use.
    Algorithm,
    /// The key management policy (lifetimes, windows, refresh).
    KeyPolicy,
    /// Subkey reuse ([`SubkeyReuse`](crate::subkeys::SubkeyReuse)).
    SubkeyReuse,
    /// A key-encryption key or the KEK ring.
    Kek,
    /// A passphrase and its Argon2id cost.
    Passphrase,
    /// An X.509 certificate and its private key.
    Certificate,
    /// Encryption at rest as a whole (an encryptor, or the requirement for one).
    EncryptionAtRest,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ApplicationName => "application name",
            Self::Repository => "repository",
            Self::Algorithm => "algorithm",
            Self::KeyPolicy => "key management policy",
            Self::SubkeyReuse => "subkey reuse",
            Self::Kek => "key-encryption key",
            Self::Passphrase => "passphrase",
            Self::Certificate => "certificate",
            Self::EncryptionAtRest => "encryption at rest",
        })
    }
}

/// A third-party error kept whole as a cause.
pub type BoxedCause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How a setting is wrong ([`Error::Configuration`](crate::error::Error::Configuration)).
/// [`setting`](Self::setting) names the setting; the message says what is wrong with it.
///
/// ```
/// use keyward::error::{ConfigError, Setting};
/// let err = keyward::at_rest::Kek::from_base64("c2hvcnQ=").unwrap_err();
/// let keyward::Error::Configuration(config) = &err else { panic!("{err}") };
/// assert_eq!(config.setting(), Setting::Kek);
/// assert!(matches!(config, ConfigError::KekLength { len: 5 }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Both an application name and `no_application_discriminator()`.
    #[error("set an application name or no_application_discriminator(), not both")]
    ApplicationNameTwice,
    /// Neither an application name nor `no_application_discriminator()`.
    #[error("set the application name (the .NET app's SetApplicationName value) or call no_application_discriminator()")]
    ApplicationNameMissing,
    /// The algorithm for new keys is weaker than the minimum key size.
    #[error(
        "new keys would use {key_bits}-bit AES, below the minimum key size ({minimum_bits} bits)"
    )]
    AlgorithmBelowMinimum {
        /// The algorithm's AES key size in bits.
        key_bits: usize,
        /// The minimum in bits.
        minimum_bits: usize,
    },
    /// Both a key directory and a repository.
    #[error("set a key directory or a repository, not both")]
    RepositoryTwice,
    /// Neither a key directory nor a repository.
    #[error("set a key directory or a repository")]
    RepositoryMissing,
    /// A store's URL or connection string holds a parameter keyward cannot use (the text
    /// names the parameter, never a password).
    #[error("{0}")]
    StoreParameter(#[source] BoxedCause),
    /// A key management policy value is out of range.
    #[error("{0}")]
    KeyPolicy(&'static str),
    /// `SubkeyReuse::Bounded`'s `max_payloads` is zero or above its limit.
    #[error("subkey reuse: max_payloads must be 1 to {max} (got {got})")]
    SubkeyMaxPayloads {
        /// The value given.
        got: u32,
        /// The largest value allowed.
        max: u32,
    },
    /// `SubkeyReuse::Bounded`'s `max_age` is zero or above its limit.
    #[error("subkey reuse: max_age must be above zero and at most {max:?} (got {got:?})")]
    SubkeyMaxAge {
        /// The value given.
        got: std::time::Duration,
        /// The largest value allowed.
        max: std::time::Duration,
    },
    /// A key-encryption key that is not 32 bytes.
    #[error("a key-encryption key is 32 bytes, not {len}")]
    KekLength {
        /// Its length in bytes.
        len: usize,
    },
    /// A key-encryption key's text that is not base64.
    #[error("the key-encryption key is not base64: {0}")]
    KekNotBase64(#[source] super::Base64Error),
    /// A KEK ring without a KEK.
    #[error("a KEK ring needs at least one KEK")]
    NoKek,
    /// An empty passphrase.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// Argon2id refuses the cost parameters.
    #[error("Argon2id parameters: {0}")]
    Argon2Parameters(#[source] BoxedCause),
    /// A PKCS#12 file that cannot be opened with the password.
    #[error("cannot open the PKCS#12 file: {0}")]
    Pkcs12(#[source] BoxedCause),
    /// A certificate file (PKCS#12 or PEM) that lacks a part.
    #[error("{0}")]
    CertificateFileIncomplete(&'static str),
    /// A certificate that is not X.509 DER.
    #[error("the certificate is not X.509 DER: {0}")]
    NotX509(#[source] BoxedCause),
    /// A certificate whose key is not RSA.
    #[error("the certificate's key is not RSA: {0}")]
    NotRsa(#[source] BoxedCause),
    /// A private key that is not a usable RSA key.
    #[error("the certificate's private key is not a usable RSA key: {0}")]
    PrivateKeyNotRsa(#[source] BoxedCause),
    /// A certificate's key that cannot encrypt.
    #[error("the certificate's key cannot encrypt")]
    CertificateCannotEncrypt,
    /// A private key that does not belong to its certificate.
    #[error("the private key does not belong to the certificate")]
    KeyNotOfCertificate,
    /// No certificate in a certificate list.
    #[error("configure at least one certificate")]
    NoCertificate,
    /// A private key that cannot make keyward's RSA-PSS signature.
    #[error("the certificate's private key cannot sign keys (RSA-PSS needs an RSA key of 2048 to 8192 bits)")]
    CertificateCannotSign,
    /// Trusting a key without the certificate it is encrypted to.
    #[error("trusting a key needs the certificate it is encrypted to, with its private key (--certificate, ProviderBuilder::certificates)")]
    TrustNeedsCertificate,
    /// Storing keys in the clear on a node that requires encryption at rest.
    #[error("this node requires encryption at rest: it cannot store keys in the clear")]
    EncryptionRequired,
    /// Rewrapping without an XML encryptor.
    #[error("rewrapping needs an XML encryptor (a KEK, passphrase or certificate)")]
    RewrapNeedsEncryptor,
}

impl ConfigError {
    /// The setting this error is about.
    pub fn setting(&self) -> Setting {
        match self {
            Self::ApplicationNameTwice | Self::ApplicationNameMissing => Setting::ApplicationName,
            Self::AlgorithmBelowMinimum { .. } => Setting::Algorithm,
            Self::RepositoryTwice | Self::RepositoryMissing | Self::StoreParameter(_) => {
                Setting::Repository
            }
            Self::KeyPolicy(_) => Setting::KeyPolicy,
            Self::SubkeyMaxPayloads { .. } | Self::SubkeyMaxAge { .. } => Setting::SubkeyReuse,
            Self::KekLength { .. } | Self::KekNotBase64(_) | Self::NoKek => Setting::Kek,
            Self::EmptyPassphrase | Self::Argon2Parameters(_) => Setting::Passphrase,
            Self::Pkcs12(_)
            | Self::CertificateFileIncomplete(_)
            | Self::NotX509(_)
            | Self::NotRsa(_)
            | Self::PrivateKeyNotRsa(_)
            | Self::CertificateCannotEncrypt
            | Self::KeyNotOfCertificate
            | Self::NoCertificate
            | Self::CertificateCannotSign
            | Self::TrustNeedsCertificate => Setting::Certificate,
            Self::EncryptionRequired | Self::RewrapNeedsEncryptor => Setting::EncryptionAtRest,
        }
    }
}

/// A store's parameter error from its text (the store crates' URL and connection-string
/// checks): the text names the parameter, never a secret.
impl From<ConfigError> for crate::error::Error {
    fn from(error: ConfigError) -> Self {
        crate::error::Error::Configuration(error)
    }
}
