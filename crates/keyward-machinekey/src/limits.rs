//! The size limits of the inputs keyward-machinekey reads (a leaf: the errors name them).

/// The largest configuration file read (4 MiB).
pub const MAX_CONFIG_BYTES: usize = 4 << 20;

/// The longest ticket value `FormsAuthentication.Decrypt` reads (characters).
pub const MAX_TICKET_CHARS: usize = 4096;

/// The largest protected value accepted (16 MiB): bounds the work hostile input can cause.
pub const MAX_PROTECTED_BYTES: usize = 16 << 20;
