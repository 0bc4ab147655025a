//! [`Provider::revoke`]: revocation that never opens a gap silently. It says which keys a
//! revocation takes and which gaps in the default key that would open, then writes the
//! revocation and the keys that fill those gaps, or refuses and writes nothing.

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::key::{date, xml, KeyCandidate, KeyId, KeyInfo};
use crate::provider::janitor::PlannedKey;
use crate::provider::Provider;
use crate::schedule::Gap;

/// What a revocation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationTarget {
    /// One key, by id.
    Key(KeyId),
    /// Every key created strictly before the date (.NET's `RevokeAllKeys`). Keys whose
    /// creation date lies in the future (which a date cannot reach: a store writer may plant
    /// one) are revoked by id as well.
    CreatedBefore(OffsetDateTime),
}

/// What [`Provider::revoke`] did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationPlan {
    /// The keys the revocation takes that were not revoked yet.
    pub revoked: Vec<KeyInfo>,
    /// Keys dated in the future, revoked by id beside a revocation by date.
    pub future_dated: Vec<KeyInfo>,
    /// Whether the id names no key of the ring (revoked all the same: nodes that hold the key
    /// in memory stop using it).
    pub unknown_key: bool,
    /// The gaps the revocation alone would open (instants without a usable default key).
    pub gaps: Vec<Gap>,
    /// The keys written (in a dry run: that would be) to fill them.
    pub replacements: Vec<PlannedKey>,
    /// Whether this was a dry run (nothing was written).
    pub dry_run: bool,
}

impl Provider {
    /// Revokes a key, or every key created before a date, and writes the keys the ring then
    /// needs so that it never lacks a default key: a revoked default key is replaced at once,
    /// a revoked successor by a key activated when it would have been. With `dry_run`,
    /// nothing is written and the plan says what would be.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use keyward::revocation::RevocationTarget;
    /// let provider = keyward::Provider::builder()
    ///     .key_directory(dir.path())
    ///     .no_application_discriminator()
    ///     .automatic_key_generation(false)
    ///     .build()?;
    /// let first = provider.ensure_keys(false)?.default_key.unwrap();
    /// let plan = provider.revoke(RevocationTarget::Key(first), "leaked", false)?;
    /// assert_eq!(plan.revoked[0].id, first);
    /// assert_eq!(plan.replacements.len(), 1);
    /// assert_ne!(provider.default_key_at(provider.now()), Some(first));
    /// # Ok::<(), keyward::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a date in the future; [`Error::NoDefaultKey`] when the
    /// revocation would leave the ring without a default key and no key may be written (keys
    /// encrypted at rest that keyward cannot read, a mass revocation dated in the future):
    /// nothing is written then. Repository errors; a read-only provider (unless `dry_run`).
    pub fn revoke(
        &self,
        target: RevocationTarget,
        reason: &str,
        dry_run: bool,
    ) -> Result<RevocationPlan> {
        let _lock = if dry_run {
            None
        } else {
            self.shared.check_writable()?;
            Some(self.shared.repository.lock_for_generation()?)
        };
        let now = date::to_ticks_precision(self.now());
        if let RevocationTarget::CreatedBefore(before) = target {
            if before > now {
                return Err(Error::InvalidArgument(
                    crate::error::ArgumentError::FutureMassRevocation,
                ));
            }
        }
        let ring = self.shared.load_ring()?;
        let skew = self.shared.policy.max_clock_skew;
        let unrevoked = || ring.keys().map(|k| &k.info).filter(|k| !k.revoked);
        let (revoked, future_dated): (Vec<KeyInfo>, Vec<KeyInfo>) = match target {
            RevocationTarget::Key(id) => (
                unrevoked().filter(|k| k.id == id).cloned().collect(),
                Vec::new(),
            ),
            RevocationTarget::CreatedBefore(before) => (
                unrevoked()
                    .filter(|k| k.creation < before)
                    .cloned()
                    .collect(),
                unrevoked()
                    .filter(|k| k.creation > now.saturating_add(skew))
                    .cloned()
                    .collect(),
            ),
        };
        let unknown_key = matches!(target, RevocationTarget::Key(id) if !ring.contains(&id));
        let taken: Vec<KeyId> = revoked.iter().chain(&future_dated).map(|k| k.id).collect();
        let revoke_taken = |candidates: &mut Vec<KeyCandidate>| {
            for candidate in candidates.iter_mut().filter(|c| taken.contains(&c.id)) {
                candidate.revoked = true;
            }
        };
        let gaps = ring.schedule(now).with_change(revoke_taken).gaps();
        if let (Some(gap), Some(blocked)) = (gaps.first(), ring.creation_blocked(now)) {
            return Err(Error::NoDefaultKey {
                ring_location: ring.location().to_owned(),
                reason: crate::error::NoDefaultKeyReason::RevocationWouldLeaveNone {
                    from: gap.start,
                    blocked,
                },
            });
        }
        drop(ring);
        let replacements = if dry_run {
            self.fill_gaps(true, &revoke_taken)?
        } else {
            self.write_revocations(target, &future_dated, now, reason)?;
            let written = self.fill_gaps(false, &|_| {})?;
            self.shared.refresh()?;
            written
        };
        Ok(RevocationPlan {
            revoked,
            future_dated,
            unknown_key,
            gaps,
            replacements,
            dry_run,
        })
    }

    /// Writes the revocation elements: one by id, or one by date plus one by id for each key
    /// dated in the future.
    fn write_revocations(
        &self,
        target: RevocationTarget,
        future_dated: &[KeyInfo],
        now: OffsetDateTime,
        reason: &str,
    ) -> Result<()> {
        match target {
            RevocationTarget::Key(id) => self.write_revocation(id, now, reason),
            RevocationTarget::CreatedBefore(before) => {
                let before = date::to_ticks_precision(before);
                let element = xml::mass_revocation_element(before, reason);
                self.shared
                    .repository
                    .store_element(&element, &xml::mass_revocation_name(before))?;
                tracing::info!(created_before = %date::format(before), %reason, "all keys created before the date revoked");
                future_dated
                    .iter()
                    .try_for_each(|key| self.write_revocation(key.id, now, reason))
            }
        }
    }

    fn write_revocation(&self, key_id: KeyId, now: OffsetDateTime, reason: &str) -> Result<()> {
        let element = xml::revocation_element(key_id, now, reason);
        self.shared
            .repository
            .store_element(&element, &format!("revocation-{key_id}"))?;
        tracing::info!(%key_id, %reason, "key revoked");
        Ok(())
    }
}
