//! Findings of the adversarial review, each as an attack or accident replayed against a
//! provider: a store writer planting keys, a store that lost keys, a notification flood, a
//! key replaced under its id.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use keyward::at_rest::{Kek, KekRing};
use keyward::store::{ChangeCallback, GenerationLock, Notification, StoredElement, XmlElement};
use keyward::time::macros::datetime;
use keyward::time::{Duration, OffsetDateTime};
use keyward::Clock as _;
use keyward::{
    Algorithm, Error, KeyId, KeyRepository, ManualClock, MemoryRepository, Provider, Secret,
    SubkeyReuse, DEFAULT_DESERIALIZER_TYPE,
};

const START: OffsetDateTime = datetime!(2026-03-01 00:00 UTC);

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(START))
}

fn date(at: OffsetDateTime) -> String {
    at.format(&keyward::time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A plaintext key element as .NET writes it, for a store writer to plant.
fn plaintext_key(
    id: KeyId,
    activation: OffsetDateTime,
    algorithm: Algorithm,
    master: &[u8],
) -> String {
    format!(
        r#"<key id="{id}" version="1"><creationDate>{c}</creationDate><activationDate>{a}</activationDate><expirationDate>{e}</expirationDate><descriptor deserializerType="{DEFAULT_DESERIALIZER_TYPE}">{d}</descriptor></key>"#,
        c = date(activation),
        a = date(activation),
        e = date(activation + Duration::days(90)),
        d = keyward::testing::descriptor_xml(algorithm, master),
    )
}

/// A repository shared between the provider under test and the test (the store writer).
#[derive(Debug)]
struct Handle<R>(Arc<R>);

impl<R: KeyRepository> KeyRepository for Handle<R> {
    fn load_elements(&self) -> keyward::Result<Vec<StoredElement>> {
        self.0.load_elements()
    }
    fn store_element(&self, element: &XmlElement, name: &str) -> keyward::Result<()> {
        self.0.store_element(element, name)
    }
    fn lock_for_generation(&self) -> keyward::Result<GenerationLock> {
        self.0.lock_for_generation()
    }
    fn location(&self) -> String {
        self.0.location()
    }
    fn watch(&self, on_change: ChangeCallback) -> keyward::Result<bool> {
        self.0.watch(on_change)
    }
    fn replace_element(&self, old: &StoredElement, new: &XmlElement) -> keyward::Result<()> {
        self.0.replace_element(old, new)
    }
    fn delete_elements(&self, elements: &[StoredElement]) -> keyward::Result<()> {
        self.0.delete_elements(elements)
    }
}

fn plant(repository: &MemoryRepository, xml: &str, name: &str) {
    repository
        .store_element(&keyward::store::parse_element(xml).unwrap(), name)
        .unwrap();
}

fn builder(
    repository: &Arc<MemoryRepository>,
    clock: &Arc<ManualClock>,
) -> keyward::ProviderBuilder {
    Provider::builder()
        .application_name("shop")
        .repository(Handle(Arc::clone(repository)))
        .clock(Arc::clone(clock) as Arc<dyn keyward::Clock>)
}

/// A payload made with the planted key by a provider that sees only that key.
fn forge(planted: &str, algorithm: Algorithm, clock: &Arc<ManualClock>) -> Vec<u8> {
    let store = Arc::new(MemoryRepository::new());
    plant(&store, planted, "planted");
    builder(&store, clock)
        .automatic_key_generation(false)
        .algorithm(algorithm)
        .minimum_key_size(algorithm.key_size())
        .build()
        .unwrap()
        .protector(["orders"])
        .protect(b"forged")
        .unwrap()
}

fn kek_ring() -> KekRing {
    KekRing::new(vec![Kek::new(Secret::new(vec![7; 32])).unwrap()]).unwrap()
}

/// Finding 2: with encryption at rest required, a plaintext key planted with a newer
/// activation is listed as unusable, never becomes the default, and its payloads are refused.
#[test]
fn a_planted_plaintext_key_is_unusable_where_encryption_is_required() {
    let clock = clock();
    let store = Arc::new(MemoryRepository::new());
    let node = builder(&store, &clock)
        .key_encryption_keys(kek_ring())
        .require_encryption_at_rest()
        .build()
        .unwrap();
    let orders = node.protector(["orders"]);
    let genuine = orders.protect(b"genuine").unwrap();
    let encrypted_key = node.default_key_at(clock.now()).unwrap();

    clock.advance(Duration::hours(1));
    let planted_id = KeyId::random();
    let planted = plaintext_key(
        planted_id,
        clock.now() - Duration::minutes(1),
        Algorithm::AES_256_CBC_HMACSHA256,
        &[0x41; 64],
    );
    plant(&store, &planted, "key-planted");
    node.refresh().unwrap();

    // The planted key is never the default (the node may rotate to a new encrypted key).
    let default = node.default_key_at(clock.now()).unwrap();
    assert_ne!(default, planted_id, "the planted key became the default");
    let default_info = node.keys().into_iter().find(|k| k.id == default).unwrap();
    assert!(default_info.unusable_reason.is_none());
    let _ = encrypted_key;
    let listed = node
        .keys()
        .into_iter()
        .find(|k| k.id == planted_id)
        .unwrap();
    assert!(listed.unusable_reason.unwrap().contains("unencrypted"));
    let forged = forge(&planted, Algorithm::AES_256_CBC_HMACSHA256, &clock);
    assert!(
        matches!(orders.unprotect(&forged), Err(Error::KeyNotEncrypted(id)) if id == planted_id)
    );
    // New payloads use an encrypted key, and old ones read.
    let fresh = orders.protect(b"new").unwrap();
    assert_eq!(fresh[4..20], default.to_guid_bytes());
    assert_eq!(orders.unprotect(&genuine).unwrap(), b"genuine");

    // A read-only consumer configured with only a decryptor refuses the planted key too.
    let consumer = builder(&store, &clock)
        .xml_decryptor(Arc::new(kek_ring()))
        .read_only(true)
        .build()
        .unwrap();
    assert_ne!(consumer.default_key_at(clock.now()), Some(planted_id));
    assert!(matches!(
        consumer.protector(["orders"]).unprotect(&forged),
        Err(Error::KeyNotEncrypted(id)) if id == planted_id
    ));
}

/// Finding 2: a key below the minimum key size never becomes the default, and unprotects
/// only where that is explicitly allowed.
#[test]
fn a_planted_weaker_key_never_becomes_the_default() {
    let clock = clock();
    let store = Arc::new(MemoryRepository::new());
    let node = builder(&store, &clock).build().unwrap();
    let orders = node.protector(["orders"]);
    orders.protect(b"x").unwrap();
    let strong_key = node.default_key_at(clock.now()).unwrap();

    clock.advance(Duration::hours(1));
    let weak_id = KeyId::random();
    let aes128 = Algorithm::Cbc {
        key_size: keyward::AesKeySize::Aes128,
        validation: keyward::ValidationAlgorithm::HmacSha256,
    };
    let planted = plaintext_key(
        weak_id,
        clock.now() - Duration::minutes(1),
        aes128,
        &[0x42; 64],
    );
    plant(&store, &planted, "key-weak");
    node.refresh().unwrap();
    let default = node.default_key_at(clock.now()).unwrap();
    assert_ne!(default, weak_id, "the weaker key became the default");
    let _ = strong_key;
    let forged = forge(&planted, aes128, &clock);
    let err = orders.unprotect(&forged).unwrap_err().to_string();
    assert!(err.contains("below keyward's minimum key size"), "{err}");

    // A .NET ring that holds AES-128 keys: they read, and still never protect.
    let tolerant = builder(&store, &clock)
        .unprotect_with_weaker_keys(true)
        .build()
        .unwrap();
    assert_eq!(
        tolerant.protector(["orders"]).unprotect(&forged).unwrap(),
        b"forged"
    );
    assert_ne!(tolerant.default_key_at(clock.now()), Some(weak_id));
}

/// Issue 20, item 7: a key below the minimum key size (a .NET app configured for AES-128) is
/// named for what it is — below keyward's minimum, AES-256 — with the settings that let it
/// unprotect, and the promise that it never protects; not "an unsupported algorithm".
#[test]
fn a_weaker_key_is_named_below_keywards_minimum_with_the_way_to_read_it() {
    let clock = clock();
    let store = Arc::new(MemoryRepository::new());
    let aes128 = Algorithm::Cbc {
        key_size: keyward::AesKeySize::Aes128,
        validation: keyward::ValidationAlgorithm::HmacSha256,
    };
    let weak_id = KeyId::random();
    let planted = plaintext_key(
        weak_id,
        clock.now() - Duration::minutes(1),
        aes128,
        &[0x42; 64],
    );
    plant(&store, &planted, "key-weak");
    let node = builder(&store, &clock)
        .automatic_key_generation(false)
        .read_only(true)
        .build()
        .unwrap();
    let forged = forge(&planted, aes128, &clock);
    let error = node.protector(["orders"]).unprotect(&forged).unwrap_err();
    assert!(
        matches!(error, Error::KeyBelowMinimumSize { key_id, .. } if key_id == weak_id),
        "{error:?}"
    );
    let message = error.to_string();
    for part in [
        "AES-128",
        "below keyward's minimum key size (AES-256)",
        "--allow-weaker-keys",
        "unprotect_with_weaker_keys",
        "never protect",
    ] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    assert!(!message.contains("unsupported algorithm"), "{message}");
    let listed = node.keys();
    let reason = listed[0].unusable_reason.as_deref().unwrap();
    for part in [
        "AES-128",
        "below keyward's minimum key size (AES-256)",
        "--allow-weaker-keys",
        "unprotect_with_weaker_keys",
        "never protect",
    ] {
        assert!(reason.contains(part), "{part:?} not in {reason}");
    }

    // Allowed to unprotect: the note says so, and that it never protects.
    let tolerant = builder(&store, &clock)
        .automatic_key_generation(false)
        .read_only(true)
        .unprotect_with_weaker_keys(true)
        .build()
        .unwrap();
    let note = tolerant.keys()[0].note.clone().unwrap();
    assert!(
        note.contains("below keyward's minimum key size (AES-256)") && note.contains("never"),
        "{note}"
    );
    let refused = tolerant.protector(["orders"]).protect(b"x").unwrap_err();
    assert!(matches!(refused, Error::NoDefaultKey { .. }), "{refused:?}");
}

/// Finding 3: a key kept from memory after the store lost it is bound by the store's
/// revocations; an id only nodes hold can be revoked; deleting other keys keeps the
/// revocation of an absent key.
#[test]
fn revocations_bind_keys_kept_from_memory() {
    let clock = clock();
    let store = Arc::new(MemoryRepository::new());
    let node = builder(&store, &clock).build().unwrap();
    let orders = node.protector(["orders"]);
    let payload = orders.protect(b"before").unwrap();
    let key = node.default_key_at(clock.now()).unwrap();

    // Another writer revokes everything and the store loses the key element.
    clock.advance(Duration::minutes(1));
    let revoke_all = format!(
        r#"<revocation version="1"><revocationDate>{}</revocationDate><key id="*" /><reason>incident</reason></revocation>"#,
        date(clock.now())
    );
    plant(&store, &revoke_all, "revocation-all");
    let key_element: Vec<StoredElement> = store
        .load_elements()
        .unwrap()
        .into_iter()
        .filter(|e| e.xml.contains(&key.to_string()))
        .collect();
    store.delete_elements(&key_element).unwrap();
    node.refresh().unwrap();
    assert!(
        matches!(orders.unprotect(&payload), Err(Error::KeyRevoked(id)) if id == key),
        "a key kept from memory ignored the store's revocation"
    );

    // An operator's provider that never saw the key can still revoke it by id.
    let other = KeyId::random();
    let operator = builder(&store, &clock).build().unwrap();
    operator
        .revoke_key(other, "held only in memory elsewhere")
        .unwrap();
    assert!(store
        .load_elements()
        .unwrap()
        .iter()
        .any(|e| e.xml.contains(&other.to_string())));

    // Deleting old keys leaves that revocation alone (the key is absent, not deleted).
    clock.advance(Duration::days(120));
    orders.protect(b"rotate").unwrap();
    let now = clock.now();
    let deletion = node
        .delete_keys(|k| k.expiration < now - Duration::days(3), false)
        .unwrap();
    assert!(!deletion.keys.is_empty());
    assert!(
        store
            .load_elements()
            .unwrap()
            .iter()
            .any(|e| e.xml.contains(&other.to_string())),
        "the revocation of a key absent from the store was deleted"
    );
}

/// A repository that counts loads and lets the test fire change notifications.
#[derive(Default)]
struct Flooded {
    inner: MemoryRepository,
    loads: AtomicUsize,
    callback: Mutex<Option<ChangeCallback>>,
}

impl std::fmt::Debug for Flooded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Flooded")
    }
}

impl KeyRepository for Flooded {
    fn load_elements(&self) -> keyward::Result<Vec<StoredElement>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load_elements()
    }
    fn store_element(&self, element: &XmlElement, name: &str) -> keyward::Result<()> {
        self.inner.store_element(element, name)
    }
    fn lock_for_generation(&self) -> keyward::Result<GenerationLock> {
        self.inner.lock_for_generation()
    }
    fn location(&self) -> String {
        "flooded".into()
    }
    fn watch(&self, on_change: ChangeCallback) -> keyward::Result<bool> {
        *self.callback.lock().unwrap() = Some(on_change);
        Ok(true)
    }
}

/// Finding 8: however fast a store says "changed", the ring is reloaded at most once per
/// minimum interval (250 ms by default; 500 ms here).
#[test]
fn change_notifications_cannot_drive_reloads_faster_than_the_minimum_interval() {
    let repository = Arc::new(Flooded::default());
    let provider = Provider::builder()
        .application_name("shop")
        .repository(Handle(Arc::clone(&repository)))
        .min_refresh_interval(std::time::Duration::from_millis(500))
        .build()
        .unwrap();
    provider.protector(["p"]).protect(b"x").unwrap();
    let callback = repository
        .callback
        .lock()
        .unwrap()
        .clone()
        .expect("watching");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let before = repository.loads.load(Ordering::SeqCst);
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_millis(2500) {
        callback(Notification::Changed);
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let reloads = repository.loads.load(Ordering::SeqCst) - before;
    assert!(
        (1..=7).contains(&reloads),
        "{reloads} reloads in 2.7 s of notifications"
    );
}

/// Finding 8: a key replaced under its own id (a store writer, a restore from backup) is
/// never served by the KDF prefix, issuing subkeys or cached subkeys of its predecessor.
#[test]
fn a_key_replaced_under_its_id_never_meets_its_predecessors_derivations() {
    let clock = clock();
    let store = Arc::new(MemoryRepository::new());
    let id = KeyId::random();
    let original = plaintext_key(
        id,
        START - Duration::days(1),
        Algorithm::AES_256_CBC_HMACSHA256,
        &[1; 64],
    );
    plant(&store, &original, "key");
    let node = builder(&store, &clock).build().unwrap();
    let orders = node.protector(["orders"]);
    orders.protect(b"primes the caches").unwrap();

    let stored = store.load_elements().unwrap();
    let replacement = plaintext_key(
        id,
        START - Duration::days(1),
        Algorithm::AES_256_GCM,
        &[2; 64],
    );
    store
        .replace_element(
            &stored[0],
            &keyward::store::parse_element(&replacement).unwrap(),
        )
        .unwrap();
    node.refresh().unwrap();
    let payload = orders.protect(b"after the replacement").unwrap();

    let reader = builder(&store, &clock)
        .subkey_reuse(SubkeyReuse::PerPayload)
        .read_only(true)
        .build()
        .unwrap();
    assert_eq!(
        reader.protector(["orders"]).unprotect(&payload).unwrap(),
        b"after the replacement"
    );
}

/// Review follow-up: the minimum interval between reloads never delays the reload an
/// `unprotect` waits for when it meets an unknown key id (that reload has its own throttle).
#[test]
fn an_unknown_key_reload_is_not_held_back_by_the_minimum_interval() {
    let clock = clock();
    let store = Arc::new(MemoryRepository::new());
    let policy = keyward::KeyManagementPolicy {
        min_refresh_interval: std::time::Duration::from_secs(30),
        unknown_key_refresh_interval: std::time::Duration::ZERO,
        ..Default::default()
    };
    let reader = builder(&store, &clock).policy(policy).build().unwrap();
    let orders = reader.protector(["orders"]);
    orders.protect(b"first key").unwrap();

    // A payload under a key no store holds: the refresher reloads once (and fails to find it).
    let elsewhere = builder(&Arc::new(MemoryRepository::new()), &clock)
        .build()
        .unwrap();
    let foreign = elsewhere.protector(["orders"]).protect(b"x").unwrap();
    assert!(matches!(
        orders.unprotect(&foreign),
        Err(Error::KeyNotFound { .. })
    ));

    // Another node adds a key to the shared store and protects with it at once.
    let writer = builder(&store, &clock).build().unwrap();
    clock.advance(Duration::minutes(1));
    let new_key = writer
        .create_key(
            clock.now() - Duration::seconds(1),
            clock.now() + Duration::days(90),
        )
        .unwrap();
    let payload = writer.protector(["orders"]).protect(b"new key").unwrap();
    assert_eq!(payload[4..20], new_key.to_guid_bytes());
    let started = std::time::Instant::now();
    assert_eq!(orders.unprotect(&payload).unwrap(), b"new key");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

/// Review follow-up: `keys rewrap` must not turn a planted plaintext key into a trusted,
/// encrypted one. A plaintext key created after the ring's first encrypted key is left alone
/// unless named.
#[test]
fn rewrap_leaves_plaintext_keys_planted_after_encryption_began() {
    let clock = clock();
    let store = Arc::new(MemoryRepository::new());
    let node = builder(&store, &clock)
        .key_encryption_keys(kek_ring())
        .build()
        .unwrap();
    node.protector(["orders"]).protect(b"x").unwrap(); // creates the first encrypted key
                                                       // Created before encryption began: a plaintext key (legitimate, to be rewrapped). (A node
                                                       // that requires encryption on a ring holding only plaintext keys creates no key at all:
                                                       // `requiring_encryption_never_strands_plaintext_rings`.)
    let old_id = KeyId::random();
    plant(
        &store,
        &plaintext_key(
            old_id,
            START - Duration::days(10),
            Algorithm::AES_256_CBC_HMACSHA256,
            &[3; 64],
        ),
        "key-old",
    );
    clock.advance(Duration::hours(2));
    let planted_id = KeyId::random();
    plant(
        &store,
        &plaintext_key(
            planted_id,
            clock.now(),
            Algorithm::AES_256_CBC_HMACSHA256,
            &[4; 64],
        ),
        "key-planted",
    );
    let maintenance = builder(&store, &clock)
        .key_encryption_keys(kek_ring())
        .automatic_key_generation(false)
        .build()
        .unwrap();
    let report = maintenance.rewrap_keys(false, |_, _| {}).unwrap();
    assert_eq!(report.rewrapped, [old_id]);
    assert_eq!(report.suspect, [planted_id]);
    let listed = |id: KeyId| {
        maintenance.refresh().unwrap();
        maintenance.keys().into_iter().find(|k| k.id == id).unwrap()
    };
    assert!(
        listed(old_id).unusable_reason.is_none(),
        "the old key is encrypted and usable"
    );
    assert!(
        listed(planted_id).unusable_reason.is_some(),
        "the planted key stays unusable"
    );

    let trusted = maintenance
        .rewrap_keys_trusting(false, &[planted_id], |_, _| {})
        .unwrap();
    assert_eq!(trusted.rewrapped, [planted_id]);
    assert!(listed(planted_id).unusable_reason.is_none());
}

/// Issue 20: a node given a KEK on a ring that holds only plaintext keys (a ring .NET reads)
/// neither protects nor creates a key: an encrypted key would become every node's default and
/// leave .NET nodes without one. It says what to run instead; nothing is written.
#[test]
fn requiring_encryption_never_strands_plaintext_rings() {
    let clock = clock();
    let store = Arc::new(MemoryRepository::new());
    plant(
        &store,
        &plaintext_key(
            KeyId::random(),
            START - Duration::days(10),
            Algorithm::AES_256_CBC_HMACSHA256,
            &[3; 64],
        ),
        "key-dotnet",
    );
    let node = builder(&store, &clock)
        .key_encryption_keys(kek_ring())
        .require_encryption_at_rest()
        .build()
        .unwrap();
    let refused = node.protector(["orders"]).protect(b"x").unwrap_err();
    assert!(refused.to_string().contains("keys rewrap"), "{refused}");
    let lifetime = Duration::days(90);
    let created = node.create_next_key(lifetime).unwrap_err();
    assert!(
        created.to_string().contains("no key was created"),
        "{created}"
    );
    assert_eq!(
        store.load_elements().unwrap().len(),
        1,
        "nothing was written"
    );
}
