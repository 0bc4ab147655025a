//! Why a ring has no usable default key, and why no key can be written to it.

use std::fmt;

use time::OffsetDateTime;

use crate::date;

/// Why no key can be written to a ring (automatic rotation, `ensure`, `revoke`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreationBlocked {
    /// A mass revocation dated in the future revokes every key created before it.
    FutureMassRevocation {
        /// Its date.
        date: OffsetDateTime,
    },
    /// The ring's keys are plaintext, and this node requires encryption at rest: an
    /// encrypted key would strand the nodes that read the ring as it is.
    StrandedPlaintext,
    /// The ring holds keys encrypted with a decryptor keyward cannot use; keyward will not
    /// add an unencrypted key beside them.
    Undecryptable {
        /// The `decryptorType` the keys name.
        decryptor_type: String,
    },
}

/// Why a ring whose keys are all plaintext cannot take a key from a node that requires
/// encryption at rest.
const STRANDED_PLAINTEXT: &str = "its keys are stored unencrypted and this node requires encryption at rest, so it neither uses them nor adds an encrypted key beside them (that key would become the default of every node, and .NET nodes or nodes without the decryptor could not read it); re-encrypt the ring first with `keyward <at-rest options> keys rewrap` (a certificate keeps .NET working given the certificate with its private key; a KEK or passphrase locks .NET out), or leave encryption off on this node";

impl fmt::Display for CreationBlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FutureMassRevocation { date: when } => write!(
                f,
                "a mass revocation is dated in the future ({}): every key created before then is revoked; delete that revocation from the store",
                date::format(*when)
            ),
            Self::StrandedPlaintext => f.write_str(STRANDED_PLAINTEXT),
            Self::Undecryptable { decryptor_type } => write!(
                f,
                "the ring holds keys encrypted at rest with {decryptor_type}, which keyward cannot decrypt; it will not add an unencrypted key beside them (create one explicitly with `keyward keys new` if that is acceptable)"
            ),
        }
    }
}

/// Why a ring has no usable default key ([`Error::NoDefaultKey`](crate::error::Error::NoDefaultKey)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoDefaultKeyReason {
    /// No key in the ring qualifies (protect on a ring that has none).
    NoKeyQualifies,
    /// No key qualifies as the default key, and none may be created now.
    NoKeyQualifiesAsDefault,
    /// The node is read-only.
    ReadOnly,
    /// Automatic key generation is disabled.
    AutomaticGenerationDisabled,
    /// No key can be written.
    Blocked(CreationBlocked),
    /// None from a future instant on, and no key can be written.
    BlockedFrom {
        /// Where the gap starts.
        from: OffsetDateTime,
        /// Why no key can be written.
        blocked: CreationBlocked,
    },
    /// None from an instant on, although keys were written (another writer?).
    NotSettled {
        /// Where the gap starts.
        from: OffsetDateTime,
    },
    /// A revocation that would open a gap no key can fill; nothing was revoked.
    RevocationWouldLeaveNone {
        /// Where the gap would start.
        from: OffsetDateTime,
        /// Why no key can be written.
        blocked: CreationBlocked,
    },
    /// No key was created.
    NotCreated(CreationBlocked),
}

impl fmt::Display for NoDefaultKeyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoKeyQualifies => f.write_str("no key qualifies"),
            Self::NoKeyQualifiesAsDefault => f.write_str("no key qualifies as the default key"),
            Self::ReadOnly => f.write_str(
                "this node is read-only: another node or `keyward keys new` must create a key",
            ),
            Self::AutomaticGenerationDisabled => f.write_str(
                "automatic key generation is disabled: create a key with `keyward keys new`",
            ),
            Self::Blocked(blocked) => blocked.fmt(f),
            Self::BlockedFrom { from, blocked } => {
                write!(f, "none from {} on: {blocked}", date::format(*from))
            }
            Self::NotSettled { from } => write!(
                f,
                "none from {} on, and the keys written do not settle it (is another writer changing the ring?)",
                date::format(*from)
            ),
            Self::RevocationWouldLeaveNone { from, blocked } => write!(
                f,
                "the revocation would leave none from {}, and no key can be written to replace it: {blocked}; nothing was revoked",
                date::format(*from)
            ),
            Self::NotCreated(blocked) => write!(f, "no key was created: {blocked}"),
        }
    }
}
