//! Tests of the file-system repository.

use super::*;

#[test]
fn store_is_atomic_private_and_readable() {
    let dir = tempfile::tempdir().unwrap();
    let repo = FileSystemRepository::open(dir.path().join("k")).unwrap();
    repo.store_element(&XmlElement::new("key").attr("id", "x"), "key-abc")
        .unwrap();
    repo.store_element(&XmlElement::new("odd"), "bad name/../x")
        .unwrap();
    let loaded = repo.load_elements().unwrap();
    assert_eq!(loaded.len(), 2);
    let key_file = repo.directory().join("key-abc.xml");
    let bytes = fs::read(&key_file).unwrap();
    assert!(
        bytes.starts_with(b"\xef\xbb\xbf<?xml"),
        "BOM and declaration"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key_file), 0o600);
        assert_eq!(mode(repo.directory()), 0o700);
    }
    let leftovers: Vec<_> = fs::read_dir(repo.directory())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[cfg(unix)]
#[test]
fn symlinked_key_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("secret-volume");
    fs::create_dir(&elsewhere).unwrap();
    fs::write(elsewhere.join("key-a.xml"), "<key />").unwrap();
    let repo = FileSystemRepository::open(dir.path().join("k")).unwrap();
    std::os::unix::fs::symlink(
        elsewhere.join("key-a.xml"),
        repo.directory().join("key-a.xml"),
    )
    .unwrap();
    let loaded = repo.load_elements().unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].xml, "<key />");
}

#[test]
#[cfg(unix)]
fn a_symlinked_lock_file_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    fs::create_dir(&keys).unwrap();
    let target = dir.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, keys.join(LOCK_FILE)).unwrap();
    let err = FileSystemRepository::open(&keys).unwrap_err().to_string();
    assert!(err.contains(LOCK_FILE), "{err}");
    assert!(
        !target.exists(),
        "keyward created a file through the symlink"
    );
}

#[test]
#[cfg(unix)]
fn permissions_others_could_abuse_are_reported_with_owner_and_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let repo = FileSystemRepository::open(dir.path().join("keys")).unwrap();
    repo.store_element(&XmlElement::new("key"), "key-a")
        .unwrap();
    assert!(repo.permission_problems().is_empty());
    // The sticky bit does not help: others can still add key files.
    fs::set_permissions(repo.directory(), fs::Permissions::from_mode(0o1777)).unwrap();
    let key_file = repo.directory().join("key-a.xml");
    fs::set_permissions(&key_file, fs::Permissions::from_mode(0o666)).unwrap();
    let problems = repo.permission_problems().join("\n");
    assert!(
        problems.contains("mode 1777") && problems.contains("mode 666"),
        "{problems}"
    );
    assert!(problems.contains("owner uid"), "{problems}");
    // Another owner (tests may run as root, which can give a file away).
    if std::os::unix::fs::chown(&key_file, Some(12_345), None).is_ok() {
        let problems = repo.permission_problems().join("\n");
        assert!(
            problems.contains("belongs to another user") && problems.contains("12345"),
            "{problems}"
        );
    }
}

#[test]
fn a_file_where_the_directory_should_be_fails_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    fs::write(&not_a_dir, b"x").unwrap();
    let err = FileSystemRepository::open(&not_a_dir).unwrap_err();
    assert!(err.to_string().contains("file"), "{err}");
}

#[test]
fn a_new_element_never_replaces_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let repo = FileSystemRepository::open(dir.path().join("k")).unwrap();
    // A file named for one key that holds another (hand-copied, misnamed).
    let misnamed = repo.directory().join("key-abc.xml");
    fs::write(&misnamed, "<key id=\"other\"/>").unwrap();
    repo.store_element(&XmlElement::new("key").attr("id", "abc"), "key-abc")
        .unwrap();
    assert_eq!(
        fs::read_to_string(&misnamed).unwrap(),
        "<key id=\"other\"/>"
    );
    let loaded = repo.load_elements().unwrap();
    assert_eq!(loaded.len(), 2, "both elements are kept");
    assert!(loaded.iter().any(|e| e.xml.contains("\"abc\"")));
    // A second revocation of one key keeps the first too.
    repo.store_element(
        &XmlElement::new("revocation").attr("n", "1"),
        "revocation-abc",
    )
    .unwrap();
    repo.store_element(
        &XmlElement::new("revocation").attr("n", "2"),
        "revocation-abc",
    )
    .unwrap();
    assert_eq!(repo.load_elements().unwrap().len(), 4);
    let leftovers = fs::read_dir(repo.directory())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
}
