//! `protect`'s fast path: the subkeys a protector is issuing, used without reading the key
//! ring while the snapshot they were issued under is current and the clock is inside their
//! window (see `Issuing::with_fast_window`).

use time::OffsetDateTime;

use super::Protector;
use crate::error::Result;
use crate::key::KeyRing;
use crate::payload::{self, HEADER_LEN};
use crate::subkeys::SubkeyReuse;

impl Protector {
    /// `protect` without reading the key ring: under the subkeys this protector is issuing,
    /// while the snapshot they were issued under is current and the clock is inside their
    /// window ([`Issuing::take_fast`]). `Ok(false)` when that does not hold: the full path
    /// decides. (A ring installed while a modifier is issued ends its fast path: the full
    /// path serves the rest of that modifier's budget or age.)
    pub(super) fn protect_fast(&self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        if self.shared.subkey_reuse == SubkeyReuse::PerPayload {
            return Ok(false);
        }
        let issuing = self.issuing.load();
        let Some(current) = issuing.as_deref().filter(|i| {
            i.take_fast(
                self.shared.ring_version(),
                self.shared.now_unix_nanos_bounds(),
            )
        }) else {
            return Ok(false);
        };
        let derived = &current.derived;
        let start = out.len();
        out.reserve_exact(HEADER_LEN + derived.subkeys.body_len(plaintext.len()));
        out.extend_from_slice(&payload::header(derived.key_id));
        derived
            .subkeys
            .encrypt_body(&derived.key_modifier, plaintext, out)
            .inspect_err(|_| out.truncate(start))?;
        Ok(true)
    }

    /// When subkeys issued now under `ring`'s default key may be used without reading the
    /// ring again (the modifier's own age bound is added by `Issuing`): in the span where its
    /// default key holds without resolving again, and before a refresh is due. `None` when
    /// the default key was resolved outside the ring's cached span.
    pub(super) fn fast_span(
        &self,
        ring: &KeyRing,
        now: OffsetDateTime,
    ) -> Option<(OffsetDateTime, OffsetDateTime)> {
        let (at, until) = ring.default_key_span();
        (at <= now && now < until).then(|| (at, until.min(ring.refresh_at())))
    }
}
