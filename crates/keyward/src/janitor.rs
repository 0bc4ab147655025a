//! [`Provider::ensure_keys`]: the janitor's guarantee, run from cron, a systemd timer or a
//! Kubernetes CronJob — a usable default key exists, its successor is written at least the
//! propagation window before it activates, and the caller learns when to run again.

use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::key::{date, resolve_default_key, KeyCandidate, KeyId};
use crate::provider::Provider;

/// A key [`Provider::ensure_keys`] created (or, in a dry run, would create).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedKey {
    /// The new key's id (in a dry run, `None`: nothing was written).
    pub id: Option<KeyId>,
    /// When it activates.
    pub activation: OffsetDateTime,
    /// When it expires.
    pub expiration: OffsetDateTime,
}

/// What [`Provider::ensure_keys`] did, and when it must run next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ensured {
    /// Keys created (at most two: a default key and its successor).
    pub created: Vec<PlannedKey>,
    /// The default key now (after what was created).
    pub default_key: Option<KeyId>,
    /// Until when the written keys cover protection: the end of the chain of the default key
    /// and its successors already in the ring.
    pub covered_until: OffsetDateTime,
    /// From when a run has work to do again (the successor falls due).
    pub next_run_at: OffsetDateTime,
    /// The last moment a run keeps the guarantee: a successor written then still activates a
    /// full propagation window later.
    pub must_run_by: OffsetDateTime,
    /// Whether this was a dry run (nothing was written).
    pub dry_run: bool,
}

impl Ensured {
    /// Whether the ring was (or, in a dry run, would be) changed.
    pub fn changed(&self) -> bool {
        !self.created.is_empty()
    }
}

impl Provider {
    /// Makes sure a usable default key exists and that its successor is written ahead of use
    /// (the rule automatic generation follows: within refresh period + propagation window of
    /// the default's expiration, activated at that expiration), under the repository's
    /// generation lock. Idempotent: a second run right after the first creates nothing.
    /// Returns what was created and when to run next ([`Ensured::next_run_at`],
    /// [`Ensured::must_run_by`]).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let provider = keyward::Provider::builder()
    ///     .key_directory(dir.path())
    ///     .no_application_discriminator()
    ///     .automatic_key_generation(false)
    ///     .build()?;
    /// let first = provider.ensure_keys(false)?;
    /// assert_eq!(first.created.len(), 1);
    /// let second = provider.ensure_keys(false)?;
    /// assert!(!second.changed());
    /// assert!(second.next_run_at > provider.now());
    /// # Ok::<(), keyward::Error>(())
    /// ```
    ///
    /// # Errors
    /// When no usable default key can be had (keys encrypted at rest with a decryptor keyward
    /// lacks, a mass revocation dated in the future), a read-only provider (unless
    /// `dry_run`), repository errors.
    pub fn ensure_keys(&self, dry_run: bool) -> Result<Ensured> {
        if !dry_run {
            self.shared.check_writable()?;
        }
        let _lock = if dry_run {
            None
        } else {
            Some(self.shared.repository.lock_for_generation()?)
        };
        let mut created = Vec::new();
        // At most a default key and its successor; the bound only guards against a plan that
        // never settles.
        for _ in 0..3 {
            let ring = self.shared.load_ring()?;
            let now = date::to_ticks_precision(self.now());
            let mut candidates = ring.candidates().to_vec();
            simulate(&mut candidates, &created);
            let plan = if dry_run {
                // The ring's own guards (undecryptable keys, a future mass revocation) first.
                ring.plan_new_key(now)
                    .and_then(|_| crate::key::plan_new_key(&candidates, now, &self.shared.policy))
            } else {
                ring.plan_new_key(now)
            };
            let Some(plan) = plan else { break };
            let id = if dry_run {
                None
            } else {
                let id = self
                    .shared
                    .write_key(now, plan.activation, plan.expiration)?;
                tracing::info!(key_id = %id, activation = %date::format(plan.activation), expiration = %date::format(plan.expiration), "key created by ensure");
                Some(id)
            };
            created.push(PlannedKey {
                id,
                activation: plan.activation,
                expiration: plan.expiration,
            });
            if dry_run && created.len() > 1 {
                break;
            }
        }
        let ring = if dry_run {
            std::sync::Arc::new(self.shared.load_ring()?)
        } else {
            self.shared.refresh()?
        };
        let now = self.now();
        let mut candidates = ring.candidates().to_vec();
        if dry_run {
            simulate(&mut candidates, &created);
        }
        let resolver = self.shared.policy.resolver();
        let Some(default_key) = resolve_default_key(&candidates, now, resolver).default_key else {
            return Err(Error::NoDefaultKey {
                ring_location: ring.location().to_owned(),
                reason: ring
                    .undecryptable_decryptor()
                    .map(|d| format!("the ring holds keys encrypted at rest with {d}, which keyward cannot decrypt; create a key explicitly with `keyward keys new` if an unencrypted one beside them is acceptable"))
                    .unwrap_or_else(|| "no key can be created now (is a mass revocation dated in the future?)".into()),
            });
        };
        let covered_until = chain_end(&candidates, default_key, resolver);
        let policy = &self.shared.policy;
        let must_run_by = covered_until - policy.propagation_window;
        // Automatic generation acts strictly inside refresh period + propagation window.
        let next_run_at = (covered_until - policy.propagation_window - policy.refresh_period
            + Duration::minutes(1))
        .max(now)
        .min(must_run_by);
        Ok(Ensured {
            created,
            default_key: Some(default_key),
            covered_until,
            next_run_at,
            must_run_by,
            dry_run,
        })
    }
}

/// Adds the keys a dry run would have created, as candidates.
fn simulate(candidates: &mut Vec<KeyCandidate>, created: &[PlannedKey]) {
    for (index, key) in created.iter().enumerate() {
        if key.id.is_some() {
            continue;
        }
        let mut bytes = [0u8; 16];
        bytes[15] = u8::try_from(index + 1).unwrap_or(u8::MAX);
        candidates.push(KeyCandidate {
            id: KeyId::from_guid_bytes(bytes),
            creation: key.activation.min(key.expiration),
            activation: key.activation,
            expiration: key.expiration,
            revoked: false,
            usable: true,
        });
    }
}

/// The end of the chain of keys that will be the default from `default` on: each key's
/// expiration, as long as another key takes over there.
fn chain_end(
    candidates: &[KeyCandidate],
    default: KeyId,
    resolver: crate::key::ResolverPolicy,
) -> OffsetDateTime {
    let expiration_of = |id: KeyId| candidates.iter().find(|c| c.id == id).map(|c| c.expiration);
    let Some(mut end) = expiration_of(default) else {
        return OffsetDateTime::UNIX_EPOCH;
    };
    for _ in 0..candidates.len() {
        let next = resolve_default_key(candidates, end, resolver)
            .default_key
            .and_then(expiration_of);
        match next {
            Some(expiration) if expiration > end => end = expiration,
            _ => break,
        }
    }
    end
}
