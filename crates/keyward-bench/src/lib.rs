//! Benchmarks of keyward beside the primitive floor and peer crates; see `benches/` and
//! `BENCHMARKS.md` at the repository root. This library holds only shared fixtures.

use base64::Engine as _;
use keyward::store::XmlElement;
use keyward::time;
use keyward::{KeyRepository, MemoryRepository};

/// The payload sizes every entry is measured at.
pub const SIZES: [usize; 4] = [32, 256, 4096, 65_536];

/// The purposes every entry protects under (application name + two purposes).
pub const PURPOSES: [&str; 2] = ["Orders", "v1"];

/// A protector for [`PURPOSES`] of application `bench`, on a fresh in-memory key ring.
///
/// # Errors
/// When the provider cannot be built (it can: a memory repository does not fail).
///
/// ```
/// let protector = keyward_bench::protector(keyward::Algorithm::AES_256_GCM, keyward::SubkeyReuse::DEFAULT)?;
/// assert_eq!(protector.unprotect(&protector.protect(b"x")?)?, b"x");
/// # Ok::<(), keyward::Error>(())
/// ```
pub fn protector(
    algorithm: keyward::Algorithm,
    reuse: keyward::SubkeyReuse,
) -> keyward::Result<keyward::Protector> {
    let provider = keyward::Provider::builder()
        .application_name("bench")
        .repository(MemoryRepository::new())
        .algorithm(algorithm)
        .subkey_reuse(reuse)
        .build()?;
    Ok(provider.protector(PURPOSES))
}

/// A memory repository holding `count` unencrypted AES-256-CBC keys written as .NET writes
/// them, all created and activated in the past, expiring far in the future.
///
/// ```
/// let provider = keyward::Provider::builder()
///     .application_name("bench")
///     .repository(keyward_bench::repository_with_keys(3))
///     .read_only(true)
///     .build()
///     .unwrap();
/// assert_eq!(provider.keys().len(), 3);
/// let protector = provider.protector(["p"]);
/// assert_eq!(protector.unprotect(&protector.protect(b"x").unwrap()).unwrap(), b"x");
/// ```
pub fn repository_with_keys(count: usize) -> MemoryRepository {
    let repository = MemoryRepository::new();
    for i in 0..count {
        let id = keyward::KeyId::random();
        let secret = keyward::Secret::random(64);
        let padded = base64::engine::general_purpose::STANDARD.encode(secret.expose());
        // Older keys are activated earlier, so the newest one is the default.
        let minutes = i64::try_from(i).unwrap_or(i64::MAX);
        let date = (time::OffsetDateTime::UNIX_EPOCH
            + time::Duration::days(18_262)
            + time::Duration::minutes(minutes))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "2020-01-01T00:00:00Z".into());
        let element = XmlElement::new("key")
            .attr("id", id.to_string())
            .attr("version", "1")
            .child(XmlElement::new("creationDate").text(date.clone()))
            .child(XmlElement::new("activationDate").text(date))
            .child(XmlElement::new("expirationDate").text("2099-01-01T00:00:00Z"))
            .child(
                XmlElement::new("descriptor")
                    .attr("deserializerType", keyward::DEFAULT_DESERIALIZER_TYPE)
                    .child(
                        XmlElement::new("descriptor")
                            .child(XmlElement::new("encryption").attr("algorithm", "AES_256_CBC"))
                            .child(XmlElement::new("validation").attr("algorithm", "HMACSHA256"))
                            .child(
                                XmlElement::new("masterKey")
                                    .attr("p4:requiresEncryption", "true")
                                    .attr("xmlns:p4", keyward::DATA_PROTECTION_NAMESPACE)
                                    .child(XmlElement::new("value").text(padded)),
                            ),
                    ),
            );
        if let Err(error) = repository.store_element(&element, &format!("key-{id}")) {
            unreachable!("the memory repository cannot fail: {error}");
        }
    }
    repository
}
