//! [`Secret`]: key material that is wiped when it is dropped and never printed.

use std::fmt;

use zeroize::Zeroizing;

/// Secret bytes (a master key, a derived key): zeroized on drop, redacted in `Debug`.
///
/// Dropping a `Secret` only overwrites and frees memory: it never panics, never does I/O and
/// never depends on ambient state such as the current user — the lesson of ASP.NET processes
/// killed by a finalizer releasing a key created under another identity.
///
/// ```
/// use keyward::Secret;
/// let secret = Secret::new(vec![1, 2, 3]);
/// assert_eq!(format!("{secret:?}"), "Secret([redacted; 3 bytes])");
/// ```
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Takes ownership of `bytes`; they are wiped when the `Secret` is dropped.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Draws `len` fresh bytes from keyward's CSPRNG (seeded from the operating system).
    pub fn random(len: usize) -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        crate::crypto::rng::fill(&mut bytes);
        Self(bytes)
    }

    /// The secret bytes. Keep the borrow short and never log it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The number of secret bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([redacted; {} bytes])", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_bytes() {
        let secret = Secret::new(vec![0xab; 8]);
        let shown = format!("{secret:?} {secret:#?}");
        assert!(!shown.to_lowercase().contains("ab"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
    }

    #[test]
    fn random_secrets_differ() {
        let a = Secret::random(32);
        let b = Secret::random(32);
        assert_eq!(a.len(), 32);
        assert_ne!(a.expose(), b.expose());
    }
}
