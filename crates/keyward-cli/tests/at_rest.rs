//! `--kek-file`, `--passphrase-file`, `--require-encryption` and `keys rewrap`, including a
//! rewrap killed at a random point.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn kek_file(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let kek = keyward::at_rest::Kek::generate();
    std::fs::write(&path, kek.to_base64().as_bytes()).unwrap();
    path.display().to_string()
}

fn kek_ids(keys: &Path) -> Vec<String> {
    std::fs::read_dir(keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("key-"))
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.split("kekId=\"")
                .nth(1)
                .map_or("plain".to_owned(), |r| {
                    r.split('"').next().unwrap().to_owned()
                })
        })
        .collect()
}

#[test]
fn kek_files_encrypt_and_required_encryption_refuses_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let line = failure_line(&keyward(
        &keys,
        "a",
        &["--require-encryption", "protect", "x"],
        None,
    ));
    assert!(line.contains("unencrypted"), "{line}");
    let kek = kek_file(dir.path(), "kek");
    let payload = ok(&keyward(
        &keys,
        "a",
        &["--kek-file", &kek, "protect", "--purpose", "p", "x"],
        None,
    ));
    assert_eq!(kek_ids(&keys).len(), 1);
    assert_ne!(kek_ids(&keys)[0], "plain");
    assert_eq!(
        ok(&keyward(
            &keys,
            "a",
            &[
                "--kek-file",
                &kek,
                "unprotect",
                "--purpose",
                "p",
                payload.trim()
            ],
            None
        )),
        "x"
    );
    let line = failure_line(&keyward(
        &keys,
        "a",
        &["unprotect", "--purpose", "p", payload.trim()],
        None,
    ));
    assert!(line.contains("KekXmlDecryptor"), "{line}");
    let passphrase = dir.path().join("passphrase");
    std::fs::write(&passphrase, "correct horse battery staple\n").unwrap();
    let other = dir.path().join("other");
    let payload = ok(&keyward(
        &other,
        "a",
        &[
            "--passphrase-file",
            passphrase.to_str().unwrap(),
            "protect",
            "y",
        ],
        None,
    ));
    assert_eq!(
        ok(&keyward(
            &other,
            "a",
            &[
                "--passphrase-file",
                passphrase.to_str().unwrap(),
                "unprotect",
                payload.trim()
            ],
            None
        )),
        "y"
    );
}

#[test]
fn a_rewrap_killed_at_any_point_loses_nothing_and_a_rerun_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let (a, b) = (kek_file(dir.path(), "a"), kek_file(dir.path(), "b"));
    let payload = ok(&keyward(
        &keys,
        "app",
        &["--kek-file", &a, "protect", "--purpose", "p", "survives"],
        None,
    ));
    for day in 1..40 {
        ok(&keyward(
            &keys,
            "app",
            &[
                "--kek-file",
                &a,
                "keys",
                "new",
                "--activate-at",
                &format!("+{day}d"),
            ],
            None,
        ));
    }
    let id_a = kek_ids(&keys)[0].clone();
    let mut interrupted_mid_way = 0;
    for (round, delay_ms) in (1u64..=25).map(|i| i * 8).enumerate() {
        // Rotate: B encrypts, A still decrypts. Kill the rewrap part way through.
        let (first, second) = if round % 2 == 0 { (&b, &a) } else { (&a, &b) };
        let mut child = Command::new(BIN)
            .arg("--keys-dir")
            .arg(&keys)
            .args([
                "--application-name",
                "app",
                "--kek-file",
                first,
                "--kek-file",
                second,
                "keys",
                "rewrap",
                "--yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let ids = kek_ids(&keys);
        let moved = ids.iter().filter(|id| **id == ids[0]).count();
        eprintln!("round {round}: killed after {delay_ms} ms with {moved}/40 keys under one KEK");
        if moved != 40 {
            interrupted_mid_way += 1;
        }
        assert_eq!(ids.len(), 40, "round {round}: no key lost");
        assert!(
            ids.iter().all(|id| id != "plain"),
            "round {round}: nothing written in the clear"
        );
        // Every key still opens with the old or the new KEK.
        let table = ok(&keyward(
            &keys,
            "app",
            &["--kek-file", first, "--kek-file", second, "keys", "list"],
            None,
        ));
        assert!(!table.contains("unusable"), "round {round}: {table}");
        // A rerun finishes the job.
        let done = ok(&keyward(
            &keys,
            "app",
            &[
                "--kek-file",
                first,
                "--kek-file",
                second,
                "keys",
                "rewrap",
                "--yes",
            ],
            None,
        ));
        assert!(done.contains("already current"), "{done}");
        let ids = kek_ids(&keys);
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "round {round}: all under one KEK after the rerun"
        );
        assert_ne!(
            ids[0],
            if round % 2 == 0 {
                id_a.clone()
            } else {
                String::new()
            }
        );
        assert_eq!(
            ok(&keyward(
                &keys,
                "app",
                &[
                    "--kek-file",
                    first,
                    "unprotect",
                    "--purpose",
                    "p",
                    payload.trim()
                ],
                None
            )),
            "survives"
        );
    }
    assert!(
        interrupted_mid_way > 0,
        "no round was interrupted mid-way: the test proved nothing"
    );
}

#[test]
fn certificates_read_dotnet_key_rings_and_encrypt_new_keys() {
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(testdata_dir().join("vectors/aspnetcore.json")).unwrap(),
    )
    .unwrap();
    let v = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["inputs"]["key_xml_file"] == "keys/cert-encrypted-aspnetcore.xml")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    use base64::Engine as _;
    let pfx = dir.path().join("cert.pfx");
    std::fs::write(
        &pfx,
        base64::engine::general_purpose::STANDARD
            .decode(v["inputs"]["pfx_base64"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let password = dir.path().join("password");
    std::fs::write(
        &password,
        format!("{}\n", v["inputs"]["pfx_password"].as_str().unwrap()),
    )
    .unwrap();
    let (pfx, password) = (pfx.display().to_string(), password.display().to_string());
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    std::fs::copy(
        testdata_dir().join("vectors/keys/cert-encrypted-aspnetcore.xml"),
        keys.join("key-9c15d488-4417-49ab-ae39-ed2f36a9ebe3.xml"),
    )
    .unwrap();
    // The real .NET payload, through its certificate-encrypted key.
    let output = std::process::Command::new(BIN)
        .arg("--keys-dir")
        .arg(&keys)
        .args([
            "--no-application-name",
            "--certificate",
            &pfx,
            "--certificate-password-file",
            &password,
        ])
        .args([
            "unprotect",
            "--purpose",
            "Test trimming",
            v["inputs"]["protected_base64url"].as_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        ok(&output),
        v["expected"]["plaintext_utf8"].as_str().unwrap()
    );
    // New keys are encrypted with the certificate (.NET's EncryptedXml shape).
    let fresh = dir.path().join("fresh");
    let payload = ok(&keyward(
        &fresh,
        "a",
        &[
            "--certificate",
            &pfx,
            "--certificate-password-file",
            &password,
            "protect",
            "z",
        ],
        None,
    ));
    let file = std::fs::read_dir(&fresh)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "xml"))
        .unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.contains("EncryptedXmlDecryptor")
            && text.contains("<X509Certificate>")
            && !text.contains("<masterKey")
    );
    assert_eq!(
        ok(&keyward(
            &fresh,
            "a",
            &[
                "--certificate",
                &pfx,
                "--certificate-password-file",
                &password,
                "unprotect",
                payload.trim()
            ],
            None
        )),
        "z"
    );
}

/// `keyward --keys-dir KEYS --no-application-name --certificate PFX … ARGS` (errors logged
/// only).
fn with_certificate(keys: &Path, pfx: &str, password: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .env_remove("KEYWARD_KEYS_DIR")
        .env_remove("KEYWARD_APPLICATION_NAME")
        .env("KEYWARD_LOG", "error")
        .arg("--keys-dir")
        .arg(keys)
        .args([
            "--no-application-name",
            "--certificate",
            pfx,
            "--certificate-password-file",
            password,
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn keys_trust_signs_a_dotnet_key_that_required_encryption_refused_and_doctor_names_it() {
    use base64::Engine as _;
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(testdata_dir().join("vectors/aspnetcore.json")).unwrap(),
    )
    .unwrap();
    let v = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["inputs"]["key_xml_file"] == "keys/cert-encrypted-aspnetcore.xml")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pfx = dir.path().join("cert.pfx");
    std::fs::write(
        &pfx,
        base64::engine::general_purpose::STANDARD
            .decode(v["inputs"]["pfx_base64"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, v["inputs"]["pfx_password"].as_str().unwrap()).unwrap();
    let (pfx, password) = (pfx.display().to_string(), password.display().to_string());
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let id = "9c15d488-4417-49ab-ae39-ed2f36a9ebe3";
    std::fs::copy(
        testdata_dir().join("vectors/keys/cert-encrypted-aspnetcore.xml"),
        keys.join(format!("key-{id}.xml")),
    )
    .unwrap();
    let payload = v["inputs"]["protected_base64url"].as_str().unwrap();
    let plaintext = v["expected"]["plaintext_utf8"].as_str().unwrap();
    let unprotect = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend(["unprotect", "--purpose", "Test trimming", payload]);
        with_certificate(&keys, &pfx, &password, &args)
    };

    // Required encryption: .NET's key (unsigned) is not used; the refusal says how to trust it.
    let refused = unprotect(&["--require-encryption"]);
    let line = failure_line(&refused);
    assert!(line.contains("no keyward signature"), "{line}");
    assert!(line.contains(&format!("keys trust {id}")), "{line}");
    // doctor names it, with the command.
    let doctor = with_certificate(
        &keys,
        &pfx,
        &password,
        &["--require-encryption", "doctor", "--json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "keys.unsigned_certificate_key")
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        finding["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("keys trust {id}")),
        "{finding}"
    );
    // Accepting unsigned keys opens it without writing anything.
    assert_eq!(
        ok(&unprotect(&[
            "--require-encryption",
            "--accept-unsigned-certificate-keys"
        ])),
        plaintext
    );
    // Without required encryption it is used (doctor still names it).
    assert_eq!(ok(&unprotect(&[])), plaintext);

    // keys trust signs it; then every node requiring encryption uses it.
    let trusted = ok(&with_certificate(
        &keys,
        &pfx,
        &password,
        &["keys", "trust", id],
    ));
    assert!(trusted.contains(&format!("trusted {id}")), "{trusted}");
    assert_eq!(ok(&unprotect(&["--require-encryption"])), plaintext);
    let again = ok(&with_certificate(
        &keys,
        &pfx,
        &password,
        &["keys", "trust", id],
    ));
    assert!(
        again.contains("already carries a valid signature"),
        "{again}"
    );
    let doctor = with_certificate(
        &keys,
        &pfx,
        &password,
        &["--require-encryption", "doctor", "--json"],
    );
    assert!(
        !String::from_utf8_lossy(&doctor.stdout).contains("keys.unsigned_certificate_key"),
        "{}",
        String::from_utf8_lossy(&doctor.stdout)
    );
    // Without a certificate there is nothing to trust with.
    let output = Command::new(BIN)
        .env("KEYWARD_LOG", "error")
        .arg("--keys-dir")
        .arg(&keys)
        .args(["--no-application-name", "keys", "trust", id])
        .output()
        .unwrap();
    assert!(failure_line(&output).contains("--certificate"));
}
