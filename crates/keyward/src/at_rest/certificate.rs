//! X.509 certificates, compatible with .NET's `ProtectKeysWithCertificate` both ways: the
//! W3C XML Encryption shape `EncryptedXml` writes (`EncryptedData` with AES-CBC, the IV in
//! front, the AES key in an `EncryptedKey` for the RSA key of the certificate embedded in
//! `X509Data`).
//!
//! RSA runs on aws-lc-rs (AWS-LC), whose PKCS#1 v1.5 decryption is constant-time; the `rsa`
//! crate was not used because of its open timing advisory (RUSTSEC-2023-0071, "Marvin").
//! keyward encrypts the AES key with RSA-OAEP (`rsa-oaep-mgf1p`), which .NET's decryptor
//! reads; it decrypts both OAEP and the PKCS#1 v1.5 (`rsa-1_5`) that .NET writes.
//!
//! Encryption to a certificate proves nothing about who wrote a key (the certificate is in
//! every stored key), so keyward also signs the keys it encrypts, with RSA-PSS on aws-lc-rs
//! (see `signature.rs`).

use std::fmt;

use aws_lc_rs::rsa::{
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey,
    PrivateDecryptingKey, OAEP_SHA1_MGF1SHA1,
};
use cbc::cipher::{
    block_padding::NoPadding, block_padding::Pkcs7, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit,
};
use roxmltree::Node;

use aws_lc_rs::signature::{
    RsaKeyPair, UnparsedPublicKey, RSA_PSS_2048_8192_SHA256, RSA_PSS_SHA256,
};

use super::signature::{
    signature_element, signed_message, SignedKey, StoredSignature, SIGNATURE_ALGORITHM,
};
use super::{EncryptedElement, XmlDecryptor, XmlEncryptor};
use crate::element_tree::XmlElement;
use crate::encoding::{base64_standard_decode, base64_standard_encode};
use crate::error::AtRestError;
use crate::error::{Error, Result};
use crate::key::KeySignature;
use crate::secret::Secret;

/// .NET's decryptor type for certificate-encrypted keys (keyward writes it too, so .NET nodes
/// pick their `EncryptedXmlDecryptor`).
pub const ENCRYPTED_XML_DECRYPTOR_TYPE: &str = "Microsoft.AspNetCore.DataProtection.XmlEncryption.EncryptedXmlDecryptor, Microsoft.AspNetCore.DataProtection";

const XMLENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
const RSA_OAEP: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";

/// A certificate and its RSA private key.
pub struct Certificate {
    der: Vec<u8>,
    pkcs8: Secret,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({} DER bytes)", self.der.len())
    }
}

impl Certificate {
    /// From a PKCS#12 (`.pfx`) file's bytes and its password.
    ///
    /// # Errors
    /// [`Error::Configuration`] when the file cannot be opened with the password, holds no
    /// private key with a certificate, or the key is not RSA.
    pub fn from_pkcs12(pfx: &[u8], password: &str) -> Result<Self> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            pfx,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| Error::Configuration(crate::error::ConfigError::Pkcs12(Box::new(e))))?;
        let (_, chain) = store.private_key_chain().ok_or_else(|| {
            Error::Configuration(crate::error::ConfigError::CertificateFileIncomplete(
                "the PKCS#12 file holds no private key",
            ))
        })?;
        let der = chain
            .certs()
            .first()
            .ok_or_else(|| {
                Error::Configuration(crate::error::ConfigError::CertificateFileIncomplete(
                    "the PKCS#12 file holds no certificate for its key",
                ))
            })?
            .as_der()
            .to_vec();
        Self::from_parts(der, Secret::new(chain.key().as_der().to_vec()))
    }

    /// From PEM text holding a `CERTIFICATE` and an unencrypted `PRIVATE KEY` (PKCS#8).
    ///
    /// # Errors
    /// [`Error::Configuration`] when either block is missing or invalid.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let block = |label: &str| -> Option<Vec<u8>> {
            let begin = format!("-----BEGIN {label}-----");
            let end = format!("-----END {label}-----");
            let start = pem.find(&begin)? + begin.len();
            let stop = start + pem[start..].find(&end)?;
            // Line breaks and indentation skipped by the reader (which wipes its copy).
            base64_standard_decode(&pem[start..stop]).ok()
        };
        let der = block("CERTIFICATE").ok_or_else(|| {
            Error::Configuration(crate::error::ConfigError::CertificateFileIncomplete(
                "no CERTIFICATE block in the PEM",
            ))
        })?;
        let key = block("PRIVATE KEY").ok_or_else(|| {
            Error::Configuration(crate::error::ConfigError::CertificateFileIncomplete(
                "no unencrypted PKCS#8 PRIVATE KEY block in the PEM",
            ))
        })?;
        // From here the key is a `Secret` (wiped on drop, on every path).
        Self::from_parts(der, Secret::new(key))
    }

    fn from_parts(der: Vec<u8>, pkcs8: Secret) -> Result<Self> {
        let certificate = Self { der, pkcs8 };
        // The private key must belong to the certificate: what keyward encrypts to the
        // certificate's key must open with this private key (else .NET could not read it).
        let probe = Secret::random(32);
        let public = OaepPublicEncryptingKey::new(certificate.public_key()?).map_err(|_| {
            Error::Configuration(crate::error::ConfigError::CertificateCannotEncrypt)
        })?;
        let mut sealed = vec![0u8; public.ciphertext_size()];
        let sealed = public
            .encrypt(&OAEP_SHA1_MGF1SHA1, probe.expose(), &mut sealed, None)
            .map_err(|_| Error::EncryptionFailed("RSA-OAEP refused to encrypt"))?
            .to_vec();
        let mut opened = zeroize::Zeroizing::new(vec![0u8; sealed.len()]);
        let matches = OaepPrivateDecryptingKey::new(certificate.private_key()?)
            .ok()
            .and_then(|k| {
                k.decrypt(&OAEP_SHA1_MGF1SHA1, &sealed, &mut opened, None)
                    .ok()
                    .map(|p| p == probe.expose())
            })
            .unwrap_or(false);
        if !matches {
            return Err(Error::Configuration(
                crate::error::ConfigError::KeyNotOfCertificate,
            ));
        }
        Ok(certificate)
    }

    /// The RSA public key in the certificate (SubjectPublicKeyInfo).
    fn public_key(&self) -> Result<aws_lc_rs::rsa::PublicEncryptingKey> {
        let (_, parsed) = x509_parser::parse_x509_certificate(&self.der)
            .map_err(|e| Error::Configuration(crate::error::ConfigError::NotX509(Box::new(e))))?;
        aws_lc_rs::rsa::PublicEncryptingKey::from_der(parsed.public_key().raw)
            .map_err(|e| Error::Configuration(crate::error::ConfigError::NotRsa(Box::new(e))))
    }

    fn private_key(&self) -> Result<PrivateDecryptingKey> {
        PrivateDecryptingKey::from_pkcs8(self.pkcs8.expose()).map_err(|e| {
            Error::Configuration(crate::error::ConfigError::PrivateKeyNotRsa(Box::new(e)))
        })
    }

    /// The certificate (DER).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate's SHA-1 thumbprint (upper-case hex), as Windows and .NET show it.
    pub fn thumbprint(&self) -> String {
        super::describe::thumbprint(&self.der)
    }

    /// The certificate's SubjectPublicKeyInfo (DER).
    fn subject_public_key_info(&self) -> Option<Vec<u8>> {
        let (_, parsed) = x509_parser::parse_x509_certificate(&self.der).ok()?;
        Some(parsed.public_key().raw.to_vec())
    }
}

/// Certificates: the first encrypts, every one decrypts (so certificates can rotate).
#[derive(Debug)]
pub struct CertificateEncryptor {
    certificates: Vec<Certificate>,
}

impl CertificateEncryptor {
    /// Certificates; the first encrypts.
    ///
    /// # Errors
    /// [`Error::Configuration`] for an empty list.
    pub fn new(certificates: Vec<Certificate>) -> Result<Self> {
        if certificates.is_empty() {
            return Err(Error::Configuration(
                crate::error::ConfigError::NoCertificate,
            ));
        }
        Ok(Self { certificates })
    }
}

impl CertificateEncryptor {
    /// Signs a key with the first certificate's private key (RSA-PSS, SHA-256): the
    /// `<keywardSignature>` element to add to the `<key>`.
    ///
    /// # Errors
    /// [`Error::Configuration`] when the private key cannot sign (RSA-PSS needs 2048 to 8192
    /// bits); [`Error::EncryptionFailed`] when signing fails.
    pub(crate) fn sign_key(&self, key: &SignedKey<'_>) -> Result<XmlElement> {
        let certificate = &self.certificates[0];
        let pair = RsaKeyPair::from_pkcs8(certificate.pkcs8.expose())
            .map_err(|_| Error::Configuration(crate::error::ConfigError::CertificateCannotSign))?;
        let message = signed_message(key);
        let mut signature = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            &RSA_PSS_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            &message,
            &mut signature,
        )
        .map_err(|_| Error::EncryptionFailed("RSA-PSS refused to sign the key"))?;
        Ok(signature_element(&certificate.thumbprint(), &signature))
    }

    /// Checks a key's stored signature against the configured certificates.
    pub(crate) fn verify_key(
        &self,
        stored: Option<&StoredSignature>,
        key: &SignedKey<'_>,
    ) -> KeySignature {
        let Some(stored) = stored else {
            return KeySignature::Unsigned;
        };
        let invalid = |reason: &'static str| KeySignature::Invalid { reason };
        if stored.algorithm != SIGNATURE_ALGORITHM {
            return invalid("its algorithm is not RSA-PSS-SHA256");
        }
        let Some(certificate) = self.certificates.iter().find(|c| {
            c.thumbprint()
                .eq_ignore_ascii_case(stored.certificate.trim())
        }) else {
            return invalid("it names a certificate that is not configured");
        };
        let Ok(value) = &stored.value else {
            return invalid("it is not base64");
        };
        let Some(public_key) = certificate.subject_public_key_info() else {
            return invalid("the certificate's public key cannot be read");
        };
        let message = signed_message(key);
        match UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, public_key).verify(&message, value)
        {
            Ok(()) => KeySignature::Signed {
                thumbprint: certificate.thumbprint(),
            },
            Err(_) => invalid(
                "it does not match the key (its id, dates, algorithm or master key differ from what was signed)",
            ),
        }
    }
}

fn is(node: Node<'_, '_>, namespace: &str, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(namespace)
}

fn child<'a, 'i>(node: Node<'a, 'i>, namespace: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is(*c, namespace, name))
}

fn cipher_value(node: Node<'_, '_>) -> Option<Vec<u8>> {
    let value = child(child(node, XMLENC, "CipherData")?, XMLENC, "CipherValue")?;
    base64_standard_decode(&super::element_text(value)).ok()
}

fn algorithm<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    child(node, XMLENC, "EncryptionMethod")?.attribute("Algorithm")
}

/// AES-CBC with the IV in front; the padding is ISO 10126 (.NET) or PKCS#7 (keyward): only
/// the last byte (the pad length) is checked.
fn aes_cbc_decrypt(key: &[u8], data: &[u8]) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    if data.len() < 32 || !data.len().is_multiple_of(16) {
        return None;
    }
    let (iv, body) = data.split_at(16);
    // Wiped on every path, failures included.
    let mut plaintext = zeroize::Zeroizing::new(body.to_vec());
    let ok = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded::<NoPadding>(&mut plaintext)
            .is_ok(),
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded::<NoPadding>(&mut plaintext)
            .is_ok(),
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded::<NoPadding>(&mut plaintext)
            .is_ok(),
        _ => false,
    };
    let pad = usize::from(*plaintext.last()?);
    if !ok || pad == 0 || pad > 16 {
        return None;
    }
    let kept = plaintext.len() - pad;
    plaintext.truncate(kept);
    Some(plaintext)
}

impl XmlDecryptor for CertificateEncryptor {
    fn type_name(&self) -> &str {
        super::type_name_of(ENCRYPTED_XML_DECRYPTOR_TYPE)
    }

    fn as_certificates(&self) -> Option<&CertificateEncryptor> {
        Some(self)
    }

    fn decrypt(
        &self,
        _key_id: crate::key_id::KeyId,
        encrypted: &str,
    ) -> Result<zeroize::Zeroizing<String>> {
        let fail = |reason: &'static str| Error::AtRest(AtRestError::Malformed(reason));
        let doc =
            super::parse(encrypted).ok_or_else(|| fail("the EncryptedData element is not XML"))?;
        let data = doc.root_element();
        if !is(data, XMLENC, "EncryptedData") {
            return Err(fail("not an xmlenc EncryptedData element"));
        }
        let encrypted_key = child(data, XMLDSIG, "KeyInfo")
            .and_then(|k| child(k, XMLENC, "EncryptedKey"))
            .ok_or_else(|| fail("no KeyInfo/EncryptedKey"))?;
        let embedded = child(encrypted_key, XMLDSIG, "KeyInfo")
            .and_then(|k| child(k, XMLDSIG, "X509Data"))
            .and_then(|x| child(x, XMLDSIG, "X509Certificate"))
            .ok_or_else(|| fail("no X509Data/X509Certificate in the EncryptedKey"))?;
        let embedded = base64_standard_decode(&super::element_text(embedded)).map_err(|e| {
            Error::AtRest(AtRestError::NotBase64 {
                what: "the X509Certificate",
                source: e,
            })
        })?;
        let certificate = self
            .certificates
            .iter()
            .find(|c| c.der == embedded)
            .ok_or_else(|| {
                Error::AtRest(AtRestError::WrongSecret(
                    "the key was encrypted for a certificate that is not configured",
                ))
            })?;
        // From here on every failure gives the same answer: AES-CBC carries no MAC, and
        // distinct errors (padding, encoding, element) would be a decryption oracle.
        let opaque = || {
            Error::AtRest(AtRestError::WrongSecret(
                "the configured certificate does not decrypt this EncryptedData",
            ))
        };
        let plaintext = (|| {
            let wrapped = cipher_value(encrypted_key)?;
            let mut session = zeroize::Zeroizing::new(vec![0u8; 1024]);
            let private_key = certificate.private_key().ok()?;
            let session_len = match algorithm(encrypted_key) {
                Some(RSA_1_5) => Pkcs1PrivateDecryptingKey::new(private_key)
                    .ok()
                    .and_then(|k| k.decrypt(&wrapped, &mut session).ok().map(|p| p.len())),
                Some(RSA_OAEP) => OaepPrivateDecryptingKey::new(private_key)
                    .ok()
                    .and_then(|k| {
                        k.decrypt(&OAEP_SHA1_MGF1SHA1, &wrapped, &mut session, None)
                            .ok()
                            .map(|p| p.len())
                    }),
                _ => None,
            }?;
            session.truncate(session_len);
            let expected = match algorithm(data) {
                Some("http://www.w3.org/2001/04/xmlenc#aes256-cbc") => 32,
                Some("http://www.w3.org/2001/04/xmlenc#aes192-cbc") => 24,
                Some("http://www.w3.org/2001/04/xmlenc#aes128-cbc") => 16,
                _ => return None,
            };
            if session.len() != expected {
                return None;
            }
            let body = cipher_value(data)?;
            let plaintext = aes_cbc_decrypt(&session, &body)?;
            let text = zeroize::Zeroizing::new(std::str::from_utf8(&plaintext).ok()?.to_owned());
            crate::key::xml::master_key_from_xml(&text).ok()?;
            Some(text)
        })();
        plaintext.ok_or_else(opaque)
    }
}

impl XmlEncryptor for CertificateEncryptor {
    fn as_certificates(&self) -> Option<&CertificateEncryptor> {
        Some(self)
    }

    fn encrypt(
        &self,
        _key_id: crate::key_id::KeyId,
        master_key: &XmlElement,
    ) -> Result<EncryptedElement> {
        let certificate = &self.certificates[0];
        let fail = |reason: &'static str| Error::AtRest(AtRestError::Primitive(reason));
        let session = Secret::random(32);
        let mut iv = [0u8; 16];
        crate::crypto::rng::fill(&mut iv);
        let plaintext = zeroize::Zeroizing::new(master_key.to_compact());
        let padded = (plaintext.len() / 16 + 1) * 16;
        let mut body = vec![0u8; 16 + padded];
        body[..16].copy_from_slice(&iv);
        body[16..16 + plaintext.len()].copy_from_slice(plaintext.as_bytes());
        cbc::Encryptor::<aes::Aes256>::new_from_slices(session.expose(), &iv)
            .map_err(|_| fail("AES key setup failed"))?
            .encrypt_padded::<Pkcs7>(&mut body[16..], plaintext.len())
            .map_err(|_| fail("AES-CBC failed"))?;
        let public = OaepPublicEncryptingKey::new(certificate.public_key()?)
            .map_err(|_| fail("the certificate's key cannot encrypt"))?;
        let mut wrapped = vec![0u8; public.ciphertext_size()];
        let wrapped = public
            .encrypt(&OAEP_SHA1_MGF1SHA1, session.expose(), &mut wrapped, None)
            .map_err(|_| fail("RSA-OAEP failed"))?
            .to_vec();
        let cipher_data = |bytes: &[u8]| {
            XmlElement::new("CipherData")
                .child(XmlElement::new("CipherValue").text(base64_standard_encode(bytes)))
        };
        let element = XmlElement::new("EncryptedData")
            .attr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
            .attr("xmlns", XMLENC)
            .child(
                XmlElement::new("EncryptionMethod")
                    .attr("Algorithm", "http://www.w3.org/2001/04/xmlenc#aes256-cbc"),
            )
            .child(
                XmlElement::new("KeyInfo").attr("xmlns", XMLDSIG).child(
                    XmlElement::new("EncryptedKey")
                        .attr("xmlns", XMLENC)
                        .child(XmlElement::new("EncryptionMethod").attr("Algorithm", RSA_OAEP))
                        .child(
                            XmlElement::new("KeyInfo").attr("xmlns", XMLDSIG).child(
                                XmlElement::new("X509Data").child(
                                    XmlElement::new("X509Certificate")
                                        .text(base64_standard_encode(&certificate.der)),
                                ),
                            ),
                        )
                        .child(cipher_data(&wrapped)),
                ),
            )
            .child(cipher_data(&body));
        Ok(EncryptedElement {
            decryptor_type: ENCRYPTED_XML_DECRYPTOR_TYPE.into(),
            element,
        })
    }

    fn is_current(
        &self,
        _key_id: crate::key_id::KeyId,
        decryptor_type: &str,
        encrypted: &str,
    ) -> bool {
        if super::type_name_of(decryptor_type) != self.type_name() {
            return false;
        }
        let current = &self.certificates[0].der;
        super::parse(encrypted).is_some_and(|doc| {
            doc.descendants()
                .find(|n| is(*n, XMLDSIG, "X509Certificate"))
                .and_then(|n| base64_standard_decode(&super::element_text(n)).ok())
                .is_some_and(|der| der == *current)
        })
    }
}
