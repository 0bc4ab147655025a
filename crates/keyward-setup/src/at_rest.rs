//! At-rest keys from files: key-encryption keys, a passphrase, certificates.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyward::at_rest::{Certificate, CertificateEncryptor, Kek, KekRing, PassphraseEncryptor};
use keyward::ProviderBuilder;
use zeroize::Zeroizing;

use crate::error::SetupError;

/// Where a provider's at-rest keys come from. Secrets come from files (or values read from
/// the environment by the caller), never from an argument's value.
///
/// - KEKs: each file holds the base64 of 32 bytes; the first encrypts new keys, all decrypt.
/// - A passphrase file: encrypts (and decrypts) master keys; with KEKs too, the KEKs encrypt
///   and both decrypt.
/// - Certificates (PKCS#12 or PEM with the private key): the first encrypts new keys when no
///   KEK or passphrase is given; all always decrypt.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let kek = dir.path().join("kek");
/// # std::fs::write(&kek, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")?;
/// let files = keyward_setup::AtRestFiles {
///     kek_files: vec![kek],
///     ..Default::default()
/// };
/// let builder = files.apply(keyward::Provider::builder())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct AtRestFiles {
    /// Key-encryption key files, in order.
    pub kek_files: Vec<PathBuf>,
    /// One more KEK (base64) after the files, e.g. from `KEYWARD_KEK`.
    pub extra_kek: Option<Zeroizing<String>>,
    /// A file holding a passphrase.
    pub passphrase_file: Option<PathBuf>,
    /// Certificate files, in order.
    pub certificates: Vec<PathBuf>,
    /// The password file of the PKCS#12 certificate at the same position.
    pub certificate_password_files: Vec<PathBuf>,
    /// The password of PKCS#12 certificates without a password file (e.g. from
    /// `KEYWARD_CERTIFICATE_PASSWORD`).
    pub certificate_password: Option<Zeroizing<String>>,
    /// Refuse to store any key unencrypted.
    pub require_encryption: bool,
    /// With `require_encryption`: use certificate-encrypted keys without keyward's signature.
    pub accept_unsigned_certificate_keys: bool,
}

impl std::fmt::Debug for AtRestFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtRestFiles")
            .field("kek_files", &self.kek_files)
            .field("extra_kek", &self.extra_kek.as_ref().map(|_| "[set]"))
            .field("passphrase_file", &self.passphrase_file)
            .field("certificates", &self.certificates)
            .field(
                "certificate_password_files",
                &self.certificate_password_files,
            )
            .field(
                "certificate_password",
                &self.certificate_password.as_ref().map(|_| "[set]"),
            )
            .field("require_encryption", &self.require_encryption)
            .field(
                "accept_unsigned_certificate_keys",
                &self.accept_unsigned_certificate_keys,
            )
            .finish()
    }
}

fn read(path: &Path) -> Result<Zeroizing<String>, SetupError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(SetupError::reading(path))
}

impl AtRestFiles {
    /// Reads the files and configures `builder` with what they hold.
    pub fn apply(&self, mut builder: ProviderBuilder) -> Result<ProviderBuilder, SetupError> {
        let mut keks = Vec::new();
        for path in &self.kek_files {
            keks.push(
                Kek::from_base64(&read(path)?)
                    .map_err(|e| SetupError::Invalid(format!("{}: {e}", path.display())))?,
            );
        }
        if let Some(value) = &self.extra_kek {
            keks.push(
                Kek::from_base64(value)
                    .map_err(|e| SetupError::Invalid(format!("KEYWARD_KEK: {e}")))?,
            );
        }
        let keks_or_passphrase = !keks.is_empty() || self.passphrase_file.is_some();
        if let Some(path) = &self.passphrase_file {
            builder = builder.passphrase(PassphraseEncryptor::new(&read(path)?)?);
        }
        if !keks.is_empty() {
            if self.passphrase_file.is_some() {
                // Both decrypt; the KEKs encrypt.
                let ring = Arc::new(KekRing::new(keks)?);
                builder = builder.xml_encryptor(ring.clone()).xml_decryptor(ring);
            } else {
                builder = builder.key_encryption_keys(KekRing::new(keks)?);
            }
        }
        if !self.certificates.is_empty() {
            let encryptor = Arc::new(CertificateEncryptor::new(self.read_certificates()?)?);
            // A KEK or passphrase given too keeps encrypting; certificates always decrypt.
            builder = if keks_or_passphrase {
                builder.xml_decryptor(encryptor)
            } else {
                builder
                    .xml_encryptor(encryptor.clone())
                    .xml_decryptor(encryptor)
            };
        }
        if self.require_encryption {
            builder = builder.require_encryption_at_rest();
        }
        Ok(builder.accept_unsigned_certificate_keys(self.accept_unsigned_certificate_keys))
    }

    fn read_certificates(&self) -> Result<Vec<Certificate>, SetupError> {
        let mut certificates = Vec::new();
        for (index, path) in self.certificates.iter().enumerate() {
            let bytes = std::fs::read(path).map_err(SetupError::reading(path))?;
            let certificate = if bytes.starts_with(b"-----BEGIN") {
                Certificate::from_pem(&String::from_utf8_lossy(&bytes))
            } else {
                let password = match self.certificate_password_files.get(index) {
                    Some(file) => read(file)?,
                    None => self.certificate_password.clone().unwrap_or_default(),
                };
                Certificate::from_pkcs12(&bytes, password.trim_end_matches(['\r', '\n']))
            }
            .map_err(|e| SetupError::Invalid(format!("{}: {e}", path.display())))?;
            certificates.push(certificate);
        }
        Ok(certificates)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;

    #[test]
    fn a_kek_file_encrypts_new_keys() {
        let dir = tempfile::tempdir().unwrap();
        let kek = dir.path().join("kek");
        std::fs::write(&kek, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n").unwrap();
        let keys = dir.path().join("keys");
        let files = AtRestFiles {
            kek_files: vec![kek],
            require_encryption: true,
            ..Default::default()
        };
        let provider = files
            .apply(keyward::Provider::builder())
            .unwrap()
            .application_name("shop")
            .key_directory(&keys)
            .build()
            .unwrap();
        provider.ensure_default_key().unwrap();
        let xml = std::fs::read_dir(&keys)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect::<String>();
        assert!(xml.contains("encryptedSecret"), "{xml}");
    }

    #[test]
    fn a_missing_or_bad_file_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let missing = AtRestFiles {
            kek_files: vec![dir.path().join("missing")],
            ..Default::default()
        };
        let message = missing
            .apply(keyward::Provider::builder())
            .err()
            .unwrap()
            .to_string();
        assert!(message.starts_with("cannot read "), "{message}");
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "not base64 at all").unwrap();
        let files = AtRestFiles {
            kek_files: vec![bad.clone()],
            ..Default::default()
        };
        let message = files
            .apply(keyward::Provider::builder())
            .err()
            .unwrap()
            .to_string();
        assert!(message.contains(bad.to_str().unwrap()), "{message}");
    }

    #[test]
    fn debug_shows_no_secret() {
        let files = AtRestFiles {
            extra_kek: Some(Zeroizing::new("SECRETKEK".into())),
            certificate_password: Some(Zeroizing::new("SECRETPASSWORD".into())),
            ..Default::default()
        };
        let text = format!("{files:?}");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
