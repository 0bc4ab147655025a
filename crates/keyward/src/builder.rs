//! [`ProviderBuilder`]: every setting of a provider, checked when it is built.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Once};

use arc_swap::ArcSwap;
use time::Duration;

use crate::at_rest::{AtRest, EscrowSink, XmlDecryptor, XmlEncryptor};
use crate::clock::{Clock, SystemClock};
use crate::crypto::Algorithm;
use crate::error::{Error, Result};
use crate::key::KeyRing;
use crate::live_ring::LiveRing;
use crate::policy::KeyManagementPolicy;
use crate::process::ProcessLocal;
use crate::provider::Provider;
use crate::repository::{FileSystemRepository, KeyRepository, MemoryRepository};
use crate::subkeys::{SubkeyCache, SubkeyReuse};

/// Where a provider starts.
impl Provider {
    /// Starts configuring a provider.
    pub fn builder() -> ProviderBuilder {
        ProviderBuilder::default()
    }

    /// A provider whose keys live in memory for the life of the process. Its payloads cannot
    /// be unprotected after a restart or on another server; a warning says so once.
    ///
    /// # Errors
    /// Never in practice (the memory repository cannot fail).
    pub fn ephemeral(application_name: impl Into<String>) -> Result<Self> {
        static WARNED: Once = Once::new();
        WARNED.call_once(|| {
            tracing::warn!("using an ephemeral key ring: payloads protected now cannot be unprotected after this process ends");
        });
        Self::builder()
            .application_name(application_name)
            .repository(MemoryRepository::new())
            .build()
    }
}

/// Configures a [`Provider`].
#[derive(Default)]
pub struct ProviderBuilder {
    application_name: Option<String>,
    no_application_discriminator: bool,
    key_directory: Option<PathBuf>,
    repository: Option<Box<dyn KeyRepository>>,
    algorithm: Algorithm,
    clock: Option<Arc<dyn Clock>>,
    policy: KeyManagementPolicy,
    encryptor: Option<Arc<dyn XmlEncryptor>>,
    decryptors: Vec<Arc<dyn XmlDecryptor>>,
    require_encryption: bool,
    accept_unsigned_certificate_keys: bool,
    escrow: Option<EscrowSink>,
    subkey_reuse: SubkeyReuse,
    /// Whether the store's change notifications are left unsubscribed.
    no_change_watch: bool,
}

impl std::fmt::Debug for ProviderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderBuilder")
            .field("application_name", &self.application_name)
            .field("key_directory", &self.key_directory)
            .field("repository", &self.repository)
            .field("algorithm", &self.algorithm)
            .field("policy", &self.policy)
            .field("encryptor", &self.encryptor)
            .field("decryptors", &self.decryptors)
            .field("require_encryption", &self.require_encryption)
            .field(
                "accept_unsigned_certificate_keys",
                &self.accept_unsigned_certificate_keys,
            )
            .field("subkey_reuse", &self.subkey_reuse)
            .finish_non_exhaustive()
    }
}

impl ProviderBuilder {
    /// The application name: the first purpose of every chain, exactly as .NET's
    /// `SetApplicationName(name)` (used verbatim: no trimming). Apps that share payloads
    /// must use the same name.
    #[must_use]
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// Uses no application name, as a .NET provider created without one (for example
    /// `DataProtectionProvider.Create(directory)` with no host).
    #[must_use]
    pub fn no_application_discriminator(mut self) -> Self {
        self.no_application_discriminator = true;
        self
    }

    /// Keeps keys in this directory (created `0700` if missing): the embedded default.
    #[must_use]
    pub fn key_directory(mut self, directory: impl Into<PathBuf>) -> Self {
        self.key_directory = Some(directory.into());
        self
    }

    /// Keeps keys in this repository instead of a directory.
    #[must_use]
    pub fn repository(mut self, repository: impl KeyRepository + 'static) -> Self {
        self.repository = Some(Box::new(repository));
        self
    }

    /// The algorithm of keys this provider creates (default: AES-256-CBC + HMACSHA256). A
    /// payload is always unprotected with its own key's algorithm.
    #[must_use]
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The whole key-management policy.
    #[must_use]
    pub fn policy(mut self, policy: KeyManagementPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The lifetime of new keys (default 90 days, at least 7).
    #[must_use]
    pub fn key_lifetime(mut self, lifetime: Duration) -> Self {
        self.policy.key_lifetime = lifetime;
        self
    }

    /// How long before activation new keys are written (default 2 days).
    #[must_use]
    pub fn propagation_window(mut self, window: Duration) -> Self {
        self.policy.propagation_window = window;
        self
    }

    /// The tolerated clock difference between nodes (default 5 minutes).
    #[must_use]
    pub fn max_clock_skew(mut self, skew: Duration) -> Self {
        self.policy.max_clock_skew = skew;
        self
    }

    /// How often the ring is re-read (default 24 hours, minus up to 20 % jitter).
    #[must_use]
    pub fn refresh_period(mut self, period: Duration) -> Self {
        self.policy.refresh_period = period;
        self
    }

    /// The weakest AES key size a key may have to be used (default AES-256): weaker keys
    /// never become the default key, and unprotect only with
    /// [`unprotect_with_weaker_keys`](Self::unprotect_with_weaker_keys).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use keyward::{AesKeySize, Provider};
    /// // A .NET ring that still holds AES-128 keys: read them, never protect with them.
    /// let provider = Provider::builder()
    ///     .application_name("shop")
    ///     .key_directory(dir.path())
    ///     .unprotect_with_weaker_keys(true)
    ///     .build()?;
    /// # Ok::<(), keyward::Error>(())
    /// ```
    #[must_use]
    pub fn minimum_key_size(mut self, size: crate::crypto::AesKeySize) -> Self {
        self.policy.minimum_key_size = size;
        self
    }

    /// Lets keys below the minimum key size unprotect (never protect). Default off.
    #[must_use]
    pub fn unprotect_with_weaker_keys(mut self, allowed: bool) -> Self {
        self.policy.unprotect_with_weaker_keys = allowed;
        self
    }

    /// The least time between two reloads of the ring, whatever the rate of the store's
    /// change notifications (default 250 ms, at most one hour).
    #[must_use]
    pub fn min_refresh_interval(mut self, interval: std::time::Duration) -> Self {
        self.policy.min_refresh_interval = interval;
        self
    }

    /// Whether to subscribe to the store's change notifications (Redis pub/sub, PostgreSQL
    /// `LISTEN`) on a thread of the repository's (default on). A short-lived process (a
    /// command-line tool, a job) turns it off: it gains nothing from pushed reloads, and a
    /// watcher still connecting while the process exits would race the TLS library's
    /// teardown.
    #[must_use]
    pub fn watch_changes(mut self, enabled: bool) -> Self {
        self.no_change_watch = !enabled;
        self
    }

    /// Turns automatic key generation off (default on): keys then come only from
    /// [`Provider::create_key`], the CLI, or another node.
    #[must_use]
    pub fn automatic_key_generation(mut self, enabled: bool) -> Self {
        self.policy.automatic_key_generation = enabled;
        self
    }

    /// Encrypts new master keys at rest with `encryptor` (which is also used by
    /// [`Provider::rewrap_keys`]).
    #[must_use]
    pub fn xml_encryptor(mut self, encryptor: Arc<dyn XmlEncryptor>) -> Self {
        self.encryptor = Some(encryptor);
        self
    }

    /// Adds a decryptor for master keys encrypted at rest (chosen by each key's
    /// `decryptorType`).
    #[must_use]
    pub fn xml_decryptor(mut self, decryptor: Arc<dyn XmlDecryptor>) -> Self {
        self.decryptors.push(decryptor);
        self
    }

    /// Encrypts with the first KEK and decrypts with any of them.
    #[must_use]
    pub fn key_encryption_keys(self, keks: crate::at_rest::KekRing) -> Self {
        let keks = Arc::new(keks);
        self.xml_encryptor(keks.clone()).xml_decryptor(keks)
    }

    /// Encrypts with the first certificate (as .NET's `ProtectKeysWithCertificate`) and
    /// decrypts with any of them (`UnprotectKeysWithAnyCertificate`).
    #[must_use]
    pub fn certificates(self, certificates: crate::at_rest::CertificateEncryptor) -> Self {
        let certificates = Arc::new(certificates);
        self.xml_encryptor(certificates.clone())
            .xml_decryptor(certificates)
    }

    /// Encrypts and decrypts master keys with a passphrase (Argon2id-derived KEKs).
    #[must_use]
    pub fn passphrase(self, passphrase: crate::at_rest::PassphraseEncryptor) -> Self {
        let passphrase = Arc::new(passphrase);
        self.xml_encryptor(passphrase.clone())
            .xml_decryptor(passphrase)
    }

    /// Uses certificate-encrypted keys without a valid keyward signature even though
    /// encryption at rest is required (default off: such keys are listed unusable). For rings
    /// ASP.NET Core nodes keep writing to (.NET never signs): it accepts the weakness that
    /// anyone who can write to the store can plant a key encrypted to the certificate (whose
    /// public part is in every stored key), which then becomes the default key. To trust
    /// .NET's keys one by one instead, use [`Provider::trust_certificate_key`]. Without
    /// [`ProviderBuilder::require_encryption_at_rest`], unsigned keys are used anyway.
    #[must_use]
    pub fn accept_unsigned_certificate_keys(mut self, accept: bool) -> Self {
        self.accept_unsigned_certificate_keys = accept;
        self
    }

    /// Refuses to store a master key unencrypted (default: store it, with a warning once
    /// per process, as .NET does without an XML encryptor).
    #[must_use]
    pub fn require_encryption_at_rest(mut self) -> Self {
        self.require_encryption = true;
        self
    }

    /// Calls `escrow` with every new key's `<masterKey>` element before it is encrypted.
    #[must_use]
    pub fn key_escrow(mut self, escrow: EscrowSink) -> Self {
        self.escrow = Some(escrow);
        self
    }

    /// A read-only provider never writes to the repository (default off).
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.policy.read_only = read_only;
        self
    }

    /// How many payloads `protect` issues under one key modifier (default
    /// [`SubkeyReuse::DEFAULT`]: 65 536 payloads or 60 s); [`SubkeyReuse::PerPayload`] derives
    /// new subkeys for every payload, as ASP.NET Core does. Payloads are readable by every
    /// reader either way. See [`SubkeyReuse`] for the bound and what it reveals.
    #[must_use]
    pub fn subkey_reuse(mut self, reuse: SubkeyReuse) -> Self {
        self.subkey_reuse = reuse;
        self
    }

    /// Opens the repository, reads the key ring (creating the first or next key if due and
    /// allowed), starts the refresh thread and returns the provider. Configuration and
    /// repository problems are reported here, naming the directory or store.
    ///
    /// # Errors
    /// [`Error::Configuration`] when the application name is neither set nor explicitly
    /// omitted, no repository is given, or the policy is out of range; [`Error::Io`] and
    /// [`Error::KeyXml`] when the key ring cannot be read.
    pub fn build(self) -> Result<Provider> {
        crate::metrics::describe_once();
        let root_purposes = match (self.application_name, self.no_application_discriminator) {
            (Some(_), true) => {
                return Err(Error::Configuration(
                    crate::error::ConfigError::ApplicationNameTwice,
                ))
            }
            (Some(name), false) => vec![name],
            (None, true) => Vec::new(),
            (None, false) => {
                return Err(Error::Configuration(
                    crate::error::ConfigError::ApplicationNameMissing,
                ))
            }
        };
        self.policy.validate()?;
        self.subkey_reuse.validate()?;
        if self.algorithm.key_size().bytes() < self.policy.minimum_key_size.bytes() {
            return Err(Error::Configuration(
                crate::error::ConfigError::AlgorithmBelowMinimum {
                    key_bits: self.algorithm.key_size().bytes() * 8,
                    minimum_bits: self.policy.minimum_key_size.bytes() * 8,
                },
            ));
        }
        let repository: Box<dyn KeyRepository> = match (self.repository, self.key_directory) {
            (Some(repository), None) => repository,
            (None, Some(directory)) if self.policy.read_only => {
                Box::new(FileSystemRepository::open_read_only(directory)?)
            }
            (None, Some(directory)) => Box::new(FileSystemRepository::open(directory)?),
            (Some(_), Some(_)) => {
                return Err(Error::Configuration(
                    crate::error::ConfigError::RepositoryTwice,
                ))
            }
            (None, None) => {
                return Err(Error::Configuration(
                    crate::error::ConfigError::RepositoryMissing,
                ))
            }
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let at_rest = AtRest {
            encryptor: self.encryptor,
            decryptors: self.decryptors,
            require_encryption: self.require_encryption,
            accept_unsigned_certificate_keys: self.accept_unsigned_certificate_keys,
            escrow: self.escrow,
            ..AtRest::default()
        };
        let empty = KeyRing::from_elements(
            &[],
            repository.location(),
            clock.now(),
            self.policy,
            &at_rest,
        )?;
        // Registers the fork handler (once per process): a forked child then restarts the
        // provider's threads and connections on its first call.
        let _ = crate::crypto::fork::generation();
        let generation = crate::crypto::fork::current();
        let shared = Arc::new_cyclic(|me| LiveRing {
            repository,
            clock,
            algorithm: self.algorithm,
            policy: self.policy,
            at_rest,
            ring: ArcSwap::from_pointee(empty),
            ring_version: std::sync::atomic::AtomicU64::new(0),
            loaded: std::sync::atomic::AtomicBool::new(false),
            process: ArcSwap::from_pointee(ProcessLocal::new(HashSet::new())),
            generation: AtomicU64::new(generation),
            claimed: AtomicU64::new(generation),
            me: me.clone(),
            watch_changes: !self.no_change_watch,
            subkey_reuse: self.subkey_reuse,
            subkeys: SubkeyCache::new(),
        });
        shared.refresh()?;
        shared.start_background()?;
        Ok(Provider {
            shared,
            root_purposes,
        })
    }
}
