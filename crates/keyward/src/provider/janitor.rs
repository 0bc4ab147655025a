//! [`Provider::ensure_keys`]: the janitor's guarantee, run from cron, a systemd timer or a
//! Kubernetes CronJob — a usable default key exists, its successor is written at least the
//! propagation window before it activates, and the caller learns when to run again.

use time::OffsetDateTime;

use crate::error::NoDefaultKeyReason;
use crate::error::{Error, Result};
use crate::key::{date, KeyCandidate, KeyId};
use crate::live_ring::{pause_after_conflicts, MAX_RING_CONFLICTS};
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
        let created = self.fill_gaps(dry_run, &|_| {})?;
        let ring = if dry_run {
            std::sync::Arc::new(self.shared.load_ring()?)
        } else {
            self.shared.refresh()?
        };
        let now = self.now();
        let schedule = ring
            .schedule(now)
            .with_change(|c| simulate(c, &created, now));
        if let Some(gap) = schedule.gaps().first() {
            let blocked = ring.creation_blocked(now);
            return Err(Error::NoDefaultKey {
                ring_location: ring.location().to_owned(),
                reason: match (gap.start <= now, blocked) {
                    (true, Some(blocked)) => NoDefaultKeyReason::Blocked(blocked),
                    (false, Some(blocked)) => NoDefaultKeyReason::BlockedFrom {
                        from: gap.start,
                        blocked,
                    },
                    (_, None) => NoDefaultKeyReason::NotSettled { from: gap.start },
                },
            });
        }
        Ok(Ensured {
            created,
            default_key: schedule.default_at(now),
            covered_until: schedule.covered_until(),
            next_run_at: schedule.next_write_at(),
            must_run_by: schedule.must_write_by(),
            dry_run,
        })
    }
}

impl Provider {
    /// Writes (or, in a dry run, plans) the keys the schedule needs now: one per gap within
    /// the horizon, each activated where its gap starts. `pending` applies changes a dry run
    /// has not written (revocations) to the keys before planning. The caller holds the
    /// generation lock unless this is a dry run.
    pub(crate) fn fill_gaps(
        &self,
        dry_run: bool,
        pending: &dyn Fn(&mut Vec<KeyCandidate>),
    ) -> Result<Vec<PlannedKey>> {
        let mut created = Vec::new();
        // Each key fills one gap, and a ring of n keys has at most n + 2 to fill (one per key
        // a revocation takes, a default and its successor). The bound, fixed by the first
        // read, only guards against a plan that never settles (a store writer racing this
        // one).
        let mut limit = MAX_KEYS_PER_RUN;
        // Writes another node's write got ahead of (a store with conditional writes): the
        // plan is made again from a fresh read, a few times at most.
        let mut conflicts = 0;
        for round in 0.. {
            if round >= limit + conflicts {
                break;
            }
            let ring = self.shared.load_ring()?;
            if round == 0 {
                limit = limit.max(ring.keys().count() + 2);
            }
            let now = date::to_ticks_precision(self.now());
            let schedule = ring.schedule(now).with_change(|c| {
                pending(c);
                simulate(c, &created, now);
            });
            let Some(plan) = schedule.next_key() else {
                break;
            };
            if ring.creation_blocked(now).is_some() {
                break;
            }
            let id = if dry_run {
                None
            } else {
                let id = match self
                    .shared
                    .write_planned_key(now, plan.activation, plan.expiration)
                {
                    Err(Error::RingChanged { .. }) if conflicts < MAX_RING_CONFLICTS => {
                        conflicts += 1;
                        tracing::debug!("another node changed the ring first; planning again");
                        pause_after_conflicts(conflicts);
                        continue;
                    }
                    written => written?,
                };
                tracing::info!(key_id = %id, activation = %date::format(plan.activation), expiration = %date::format(plan.expiration), "key created to keep a default key");
                Some(id)
            };
            created.push(PlannedKey {
                id,
                activation: plan.activation,
                expiration: plan.expiration,
            });
        }
        Ok(created)
    }
}

/// The fewest keys one run may write (a default key, its successor, and keys filling gaps
/// that revoked pending keys leave); a larger ring raises it to its key count + 2.
const MAX_KEYS_PER_RUN: usize = 8;

/// Adds the keys a dry run would have created, as candidates.
pub(crate) fn simulate(
    candidates: &mut Vec<KeyCandidate>,
    created: &[PlannedKey],
    now: OffsetDateTime,
) {
    for (index, key) in created.iter().enumerate() {
        if key.id.is_some() {
            continue;
        }
        let mut bytes = [0u8; 16];
        bytes[15] = u8::try_from(index + 1).unwrap_or(u8::MAX);
        candidates.push(KeyCandidate {
            id: KeyId::from_guid_bytes(bytes),
            creation: now,
            activation: key.activation,
            expiration: key.expiration,
            revoked: false,
            usable: true,
        });
    }
}
