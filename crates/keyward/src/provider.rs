//! [`Provider`] and [`ProviderBuilder`]: the root of keyward — one key ring, one application.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use time::{Duration, OffsetDateTime};

use crate::clock::{Clock, SystemClock};
use crate::crypto::Algorithm;
use crate::error::{Error, Result};
use crate::key::{date, xml, KeyId, KeyInfo, KeyRing, ResolverPolicy};
use crate::protector::Protector;
use crate::repository::{FileSystemRepository, KeyRepository};
use crate::secret::Secret;

/// The lifetime of new keys unless configured: 90 days, as .NET.
pub const DEFAULT_KEY_LIFETIME: Duration = Duration::days(90);

/// The shortest key lifetime allowed (.NET's minimum): 7 days.
pub const MIN_KEY_LIFETIME: Duration = Duration::days(7);

/// What every protector of a provider shares: the repository, the current key ring snapshot
/// and the policy.
#[derive(Debug)]
pub(crate) struct Shared {
    repository: Box<dyn KeyRepository>,
    clock: Arc<dyn Clock>,
    algorithm: Algorithm,
    key_lifetime: Duration,
    policy: ResolverPolicy,
    /// The current snapshot: readers never lock; a reload swaps in a new `Arc`.
    ring: ArcSwap<KeyRing>,
}

impl Shared {
    pub(crate) fn ring(&self) -> arc_swap::Guard<Arc<KeyRing>> {
        self.ring.load()
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn load_ring(&self) -> Result<KeyRing> {
        let elements = self.repository.load_elements()?;
        KeyRing::from_elements(
            &elements,
            self.repository.location(),
            self.clock.now(),
            self.policy,
        )
    }

    fn reload(&self) -> Result<Arc<KeyRing>> {
        let ring = Arc::new(self.load_ring()?);
        self.ring.store(Arc::clone(&ring));
        Ok(ring)
    }

    /// Returns a ring with a default key, creating a key (under the repository's generation
    /// lock, after re-reading the ring) only when there is still none.
    pub(crate) fn ensure_default_key(&self) -> Result<Arc<KeyRing>> {
        let _lock = self.repository.lock_for_generation()?;
        let ring = self.reload()?;
        if ring.default_key().is_some() {
            return Ok(ring);
        }
        let now = date::to_ticks_precision(self.clock.now());
        let id = self.write_new_key(now, now, now + self.key_lifetime)?;
        tracing::info!(key_id = %id, location = %self.repository.location(), "created a key: the ring had no usable default key");
        let ring = self.reload()?;
        match ring.default_key() {
            Some(_) => Ok(ring),
            None => Err(Error::NoDefaultKey {
                ring_location: self.repository.location(),
                reason: format!(
                    "the key {{{id}}} was created but is not usable as the default key"
                ),
            }),
        }
    }

    fn write_new_key(
        &self,
        creation: OffsetDateTime,
        activation: OffsetDateTime,
        expiration: OffsetDateTime,
    ) -> Result<KeyId> {
        let id = KeyId::random();
        let master_key = Secret::random(64);
        let element = xml::key_element(
            id,
            creation,
            activation,
            expiration,
            self.algorithm,
            &master_key,
        );
        self.repository
            .store_element(&element, &format!("key-{id}"))?;
        Ok(id)
    }
}

/// The data-protection provider: owns the key ring of one application and hands out
/// [`Protector`]s. Cheap to clone; clones share the ring.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use keyward::Provider;
/// let provider = Provider::builder()
///     .application_name("shop")
///     .key_directory(dir.path().join("keys"))
///     .build()?;
/// let orders = provider.protector(["Orders", "v1"]);
/// let token = orders.protect_str("order 42")?;
/// assert!(token.starts_with("CfDJ8"));
/// assert_eq!(orders.unprotect_str(&token)?, "order 42");
/// # Ok::<(), keyward::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Provider {
    shared: Arc<Shared>,
    root_purposes: Vec<String>,
}

impl Provider {
    /// Starts configuring a provider.
    pub fn builder() -> ProviderBuilder {
        ProviderBuilder::default()
    }

    /// A protector for a purpose chain. The application name, if set, comes first, exactly as
    /// in .NET, so `protector(["Orders"])` here equals .NET's `CreateProtector("Orders")` on a
    /// provider configured with `SetApplicationName`.
    pub fn protector<I, S>(&self, purposes: I) -> Protector
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut chain = self.root_purposes.clone();
        chain.extend(purposes.into_iter().map(Into::into));
        Protector::new(Arc::clone(&self.shared), chain)
    }

    /// Every key of the ring, oldest first.
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.shared.ring().keys().map(|k| k.info.clone()).collect()
    }

    /// The key the ring would protect with at `at` (`None` if no key qualifies).
    pub fn default_key_at(&self, at: OffsetDateTime) -> Option<KeyId> {
        self.shared
            .ring()
            .resolve(at, self.shared.policy)
            .default_key
    }

    /// The current time on the provider's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.shared.now()
    }

    /// Re-reads the key ring from the repository. On failure the current ring stays in use.
    ///
    /// # Errors
    /// When the repository cannot be read or holds invalid XML.
    pub fn reload(&self) -> Result<()> {
        self.shared.reload().map(drop)
    }

    /// Makes sure the ring has a default key, creating one (active now, for the configured
    /// lifetime) if it has none, and returns its id.
    ///
    /// # Errors
    /// When the repository cannot be read or written.
    pub fn ensure_default_key(&self) -> Result<KeyId> {
        let ring = self.shared.ensure_default_key()?;
        ring.default_key()
            .map(|k| k.info.id)
            .ok_or_else(|| Error::NoDefaultKey {
                ring_location: ring.location().to_owned(),
                reason: "no key qualifies".into(),
            })
    }

    /// Writes a new key with the given activation and expiration and reloads the ring.
    ///
    /// # Errors
    /// When the expiration is not after the activation, or the repository fails.
    pub fn create_key(
        &self,
        activation: OffsetDateTime,
        expiration: OffsetDateTime,
    ) -> Result<KeyId> {
        if expiration <= activation {
            return Err(Error::Configuration(
                "a key's expiration must come after its activation".into(),
            ));
        }
        let now = date::to_ticks_precision(self.shared.now());
        let activation = date::to_ticks_precision(activation);
        let id = self.shared.write_new_key(
            now.min(activation),
            activation,
            date::to_ticks_precision(expiration),
        )?;
        tracing::info!(key_id = %id, "created a key");
        self.shared.reload()?;
        Ok(id)
    }

    /// Where the key ring lives.
    pub fn location(&self) -> String {
        self.shared.repository.location()
    }

    /// The application name (the first purpose of every chain), if one is set.
    pub fn application_name(&self) -> Option<&str> {
        self.root_purposes.first().map(String::as_str)
    }
}

/// Configures a [`Provider`].
#[derive(Debug, Default)]
pub struct ProviderBuilder {
    application_name: Option<String>,
    no_application_discriminator: bool,
    key_directory: Option<PathBuf>,
    repository: Option<Box<dyn KeyRepository>>,
    algorithm: Algorithm,
    clock: Option<Arc<dyn Clock>>,
    key_lifetime: Option<Duration>,
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

    /// The lifetime of new keys (default 90 days, at least 7).
    #[must_use]
    pub fn key_lifetime(mut self, lifetime: Duration) -> Self {
        self.key_lifetime = Some(lifetime);
        self
    }

    /// Opens the repository, reads the key ring and returns the provider. Configuration and
    /// repository problems are reported here, naming the directory or store.
    ///
    /// # Errors
    /// [`Error::Configuration`] when the application name is neither set nor explicitly
    /// omitted, or no repository is given; [`Error::Io`] and [`Error::KeyXml`] when the key
    /// ring cannot be read.
    pub fn build(self) -> Result<Provider> {
        let root_purposes = match (self.application_name, self.no_application_discriminator) {
            (Some(_), true) => {
                return Err(Error::Configuration(
                    "set an application name or no_application_discriminator(), not both".into(),
                ))
            }
            (Some(name), false) => vec![name],
            (None, true) => Vec::new(),
            (None, false) => {
                return Err(Error::Configuration(
                    "set the application name (the .NET app's SetApplicationName value) or call no_application_discriminator()".into(),
                ))
            }
        };
        let key_lifetime = self.key_lifetime.unwrap_or(DEFAULT_KEY_LIFETIME);
        if key_lifetime < MIN_KEY_LIFETIME {
            return Err(Error::Configuration(
                "the new key lifetime must be at least 7 days".into(),
            ));
        }
        let repository: Box<dyn KeyRepository> = match (self.repository, self.key_directory) {
            (Some(repository), None) => repository,
            (None, Some(directory)) => Box::new(FileSystemRepository::open(directory)?),
            (Some(_), Some(_)) => {
                return Err(Error::Configuration(
                    "set a key directory or a repository, not both".into(),
                ))
            }
            (None, None) => {
                return Err(Error::Configuration(
                    "set a key directory or a repository".into(),
                ))
            }
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let policy = ResolverPolicy::default();
        let elements = repository.load_elements()?;
        let ring = KeyRing::from_elements(&elements, repository.location(), clock.now(), policy)?;
        let shared = Shared {
            repository,
            clock,
            algorithm: self.algorithm,
            key_lifetime,
            policy,
            ring: ArcSwap::from_pointee(ring),
        };
        Ok(Provider {
            shared: Arc::new(shared),
            root_purposes,
        })
    }
}
