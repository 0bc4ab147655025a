//! [`Provider`]: the root of keyward — one key ring, one application — and what applications
//! ask of it. Its operator actions live beside it: `admin` (create, delete, trust, rewrap),
//! `revocation`, `janitor` (`ensure_keys` and gap filling) and `export` (export and import);
//! settings are in `builder.rs`, the ring and its refresh protocol in `live_ring.rs`.

pub(crate) mod admin;
pub(crate) mod export;
pub(crate) mod janitor;
pub mod revocation;
pub(crate) mod rewrap;
pub(crate) mod trust;

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::key::{KeyId, KeyInfo};
use crate::live_ring::LiveRing;
use crate::policy::KeyManagementPolicy;
use crate::protector::Protector;
use crate::schedule::Schedule;

/// The lifetime of new keys unless configured: 90 days, as .NET.
pub const DEFAULT_KEY_LIFETIME: Duration = Duration::days(90);

pub use crate::policy::MIN_KEY_LIFETIME;

/// The data-protection provider: owns the key ring of one application and hands out
/// [`Protector`]s. Cheap to clone; clones share the ring and its refresh thread.
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
    pub(crate) shared: Arc<LiveRing>,
    pub(crate) root_purposes: Vec<String>,
}

impl Provider {
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

    /// The `<key>` elements the ring skipped because their id, dates or structure could not be
    /// read (keys whose descriptor or master key is unusable are in [`Provider::keys`], with
    /// [`KeyInfo::unusable_reason`]).
    pub fn unreadable_keys(&self) -> Vec<crate::key::UnreadableKey> {
        self.shared.ring().unreadable().to_vec()
    }

    /// The key the ring would protect with at `at` (`None` if no key qualifies): the planning
    /// view, computed from the keys the ring holds now.
    pub fn default_key_at(&self, at: OffsetDateTime) -> Option<KeyId> {
        self.shared.ring().resolve(at).default_key
    }

    /// The ring's schedule from now on: the default key at every instant, the gaps without
    /// one, and when the next key must be written (see [`Schedule`]).
    pub fn schedule(&self) -> Schedule {
        self.shared.ring().schedule(self.now())
    }

    /// What the ring knows of a key id (for tools that explain a payload): the key with its
    /// status now, a `<key>` element the ring holds but cannot read, or nothing.
    ///
    /// ```
    /// use keyward::{KeyLookup, KeyStatus};
    /// let provider = keyward::Provider::ephemeral("shop")?;
    /// let id = provider.ensure_default_key()?;
    /// assert!(matches!(provider.lookup(id), KeyLookup::Known { status: KeyStatus::Default, .. }));
    /// assert!(matches!(provider.lookup(keyward::KeyId::random()), KeyLookup::Unknown));
    /// # Ok::<(), keyward::Error>(())
    /// ```
    pub fn lookup(&self, id: KeyId) -> KeyLookup {
        let ring = self.shared.ring();
        let now = self.now();
        if let Some(key) = ring.get(&id) {
            let default = ring.default_key_at(now).map(|k| k.info.id);
            return KeyLookup::Known {
                status: key.info.status_at(now, default),
                info: Box::new(key.info.clone()),
            };
        }
        match ring.unreadable_key(&id) {
            Some(unreadable) => KeyLookup::Unreadable(Box::new(unreadable.clone())),
            None => KeyLookup::Unknown,
        }
    }

    /// The mass revocations the store holds ("every key created before DATE"): each date
    /// with the stored element it is in.
    pub fn mass_revocations(&self) -> Vec<(OffsetDateTime, String)> {
        let ring = self.shared.ring();
        ring.sources()
            .iter()
            .flat_map(|source| {
                source.contents.iter().filter_map(|content| match content {
                    crate::key::ElementContent::RevokeAllBefore(date) => {
                        Some((*date, source.location.clone()))
                    }
                    _ => None,
                })
            })
            .collect()
    }

    /// The current time on the provider's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.shared.now()
    }

    /// The key-management policy.
    pub fn policy(&self) -> KeyManagementPolicy {
        self.shared.policy
    }

    /// Re-reads the key ring now, creating the next key if it is due (the refresh thread does
    /// this on its own every refresh period). On failure the current ring stays in use and no
    /// key is created.
    ///
    /// # Errors
    /// When the repository cannot be read or written, or holds invalid XML.
    pub fn refresh(&self) -> Result<()> {
        self.shared.refresh().map(drop)
    }

    /// Makes sure the ring has a default key now, creating one if it has none and this
    /// provider may, and returns its id.
    ///
    /// # Errors
    /// When the repository fails, or no key qualifies and none may be created.
    pub fn ensure_default_key(&self) -> Result<KeyId> {
        let ring = self.shared.ensure_default_key()?;
        ring.default_key_at(self.now())
            .map(|k| k.info.id)
            .ok_or_else(|| Error::NoDefaultKey {
                ring_location: ring.location().to_owned(),
                reason: crate::error::NoDefaultKeyReason::NoKeyQualifies,
            })
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

/// What [`Provider::lookup`] found for a key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLookup {
    /// The ring holds the key.
    Known {
        /// Its status now.
        status: crate::key::KeyStatus,
        /// What is known about it (never its secret).
        info: Box<KeyInfo>,
    },
    /// The ring holds a `<key>` element with this id that it cannot read (the reason says
    /// why).
    Unreadable(Box<crate::key::UnreadableKey>),
    /// No key of the ring has this id.
    Unknown,
}
