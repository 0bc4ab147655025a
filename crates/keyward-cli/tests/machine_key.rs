//! `keyward machine-key decode | encode | check | bridge` over web.config files written into a
//! temporary directory, with keys and values from testdata/vectors/legacy-machinekey.json.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn vector(id: &str) -> Value {
    keyward_testdata::vectors_in("vectors/legacy-machinekey.json")
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no vector {id}"))
        .clone()
}

fn keyward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .env_remove("KEYWARD_APPLICATION_NAME")
        .env_remove("KEYWARD_REPOSITORY")
        .env("KEYWARD_LOG", "off")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, machine_key: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("<?xml version=\"1.0\"?>\n<configuration>\n  <system.web>\n    {machine_key}\n  </system.web>\n</configuration>\n"),
    )
    .unwrap();
    path.display().to_string()
}

fn element(v: &Value, mode: &str) -> String {
    format!(
        "<machineKey validationKey=\"{}\" decryptionKey=\"{}\" validation=\"{}\" decryption=\"{}\" compatibilityMode=\"{mode}\" />",
        v["validationKey"].as_str().unwrap(),
        v["decryptionKey"].as_str().unwrap(),
        v["validation"].as_str().unwrap(),
        v["decryption"].as_str().unwrap(),
    )
}

#[test]
fn decode_prints_a_vector_forms_ticket_and_encode_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for (id, mode) in [
        ("lac-fx45-hmacsha512-aes256", "Framework45"),
        ("lac-sp2-hmacsha256-aes192", "Framework20SP2"),
    ] {
        let v = vector(id);
        let config = write(dir.path(), &format!("{id}.config"), &element(&v, mode));
        let out = keyward(&[
            "machine-key",
            "decode",
            "--config",
            &config,
            "forms-ticket",
            v["ticket_hex"].as_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let expected = &v["expected"];
        for field in [
            "name",
            "user_data",
            "cookie_path",
            "persistent",
            "version",
            "issue_utc_ticks",
            "expiration_utc_ticks",
        ] {
            assert_eq!(json[field], expected[field], "{id} {field}");
        }
        assert_eq!(json["compatibility_mode"], mode);
        // encode → decode: the same ticket.
        let ticket_file = dir.path().join(format!("{id}.json"));
        std::fs::write(&ticket_file, &out.stdout).unwrap();
        let encoded = keyward(&[
            "machine-key",
            "encode",
            "forms-ticket",
            "--config",
            &config,
            "--json",
            ticket_file.to_str().unwrap(),
        ]);
        assert!(encoded.status.success(), "{}", text(&encoded.stderr));
        let cookie = text(&encoded.stdout).trim().to_owned();
        assert_ne!(cookie, v["ticket_hex"].as_str().unwrap());
        let again = keyward(&[
            "machine-key",
            "decode",
            "--config",
            &config,
            "forms-ticket",
            &cookie,
        ]);
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(
            serde_json::from_slice::<Value>(&again.stdout).unwrap(),
            json
        );
    }
}

#[test]
fn decode_viewstate_and_protect() {
    let dir = tempfile::tempdir().unwrap();
    let v = vector("bs-vs45-hmacsha256-aes256-viewstateuserkey");
    let config = write(dir.path(), "vs.config", &element(&v, "Framework45"));
    let out = keyward(&[
        "machine-key",
        "decode",
        "--config",
        &config,
        "viewstate",
        "--template-source-directory",
        "/mac/vsk/test",
        "--type",
        "test_default_aspx",
        "--view-state-user-key",
        "gni5hmwi11rclr1hvj2q55kh",
        v["viewstate"].as_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["protection"], "framework45");
    assert!(json["base64"].as_str().unwrap().starts_with("/wE"));
    // Without the ViewStateUserKey it does not validate.
    let out = keyward(&[
        "machine-key",
        "decode",
        "--config",
        &config,
        "viewstate",
        "--template-source-directory",
        "/mac/vsk/test",
        "--type",
        "test_default_aspx",
        v["viewstate"].as_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("MAC"), "{}", text(&out.stderr));

    let v = vector("bs-vs-legacy-sha1-viewstateuserkey");
    let legacy = format!(
        "<machineKey validationKey=\"{}\" decryptionKey=\"00112233445566778899AABBCCDDEEFF0011223344556677\" validation=\"SHA1\" decryption=\"AES\" compatibilityMode=\"Framework20SP1\" />",
        v["validationKey"].as_str().unwrap()
    );
    let config = write(dir.path(), "legacy.config", &legacy);
    let out = keyward(&[
        "machine-key",
        "decode",
        "--config",
        &config,
        "viewstate",
        "--generator",
        v["generator"].as_str().unwrap(),
        "--view-state-user-key",
        v["viewStateUserKey"].as_str().unwrap(),
        v["viewstate"].as_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let v = vector("lld-antixsrf-machinekey-protect");
    let config = write(dir.path(), "protect.config", &element(&v, "Framework45"));
    let out = keyward(&[
        "machine-key",
        "decode",
        "--config",
        &config,
        "protect",
        "--purpose",
        "System.Web.Helpers.AntiXsrf.AntiForgeryToken.v1",
        v["protected"].as_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["length"], 18);
}

#[test]
fn check_reports_each_kind_of_problem_and_passes_a_good_farm() {
    let dir = tempfile::tempdir().unwrap();
    let vk = "A".repeat(128);
    let dk = "B".repeat(64);
    let good = format!("<machineKey validationKey=\"{vk}\" decryptionKey=\"{dk}\" validation=\"HMACSHA256\" decryption=\"AES\" compatibilityMode=\"Framework45\" />");
    let a = write(dir.path(), "web1.config", &good);
    let b = write(dir.path(), "web2.config", &good);
    let out = keyward(&["machine-key", "check", &a, &b]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // All is well: one line says so.
    assert_eq!(text(&out.stdout), "ok: 2 configs, same keys, no finding\n");
    let one = keyward(&["machine-key", "check", &a]);
    assert!(one.status.success());
    assert_eq!(text(&one.stdout), "ok: 1 config, no finding\n");

    let cases: &[(&str, String, &str)] = &[
        ("auto.config", format!("<machineKey validationKey=\"AutoGenerate,IsolateApps\" decryptionKey=\"{dk}\" validation=\"HMACSHA256\" decryption=\"AES\" compatibilityMode=\"Framework45\" />"), "auto-generate"),
        ("isolate.config", format!("<machineKey validationKey=\"{vk}\" decryptionKey=\"AutoGenerate,IsolateByAppId\" validation=\"HMACSHA256\" decryption=\"AES\" compatibilityMode=\"Framework45\" />"), "isolate-apps"),
        ("mode.config", format!("<machineKey validationKey=\"{vk}\" decryptionKey=\"{dk}\" validation=\"HMACSHA256\" decryption=\"AES\" />"), "implicit-mode"),
        ("md5.config", format!("<machineKey validationKey=\"{vk}\" decryptionKey=\"{dk}\" validation=\"MD5\" decryption=\"AES\" compatibilityMode=\"Framework20SP1\" />"), "weak-algorithm"),
        ("des.config", format!("<machineKey validationKey=\"{vk}\" decryptionKey=\"0011223344556677\" validation=\"HMACSHA256\" decryption=\"DES\" compatibilityMode=\"Framework45\" />"), "weak-algorithm"),
        ("short.config", format!("<machineKey validationKey=\"0011223344556677\" decryptionKey=\"{dk}\" validation=\"HMACSHA256\" decryption=\"AES\" compatibilityMode=\"Framework20SP2\" />"), "short-key"),
        ("badlen.config", format!("<machineKey validationKey=\"{vk}\" decryptionKey=\"00112233445566778899\" validation=\"HMACSHA256\" decryption=\"AES\" compatibilityMode=\"Framework45\" />"), "bad-key-length"),
        ("fx45md5.config", format!("<machineKey validationKey=\"{vk}\" decryptionKey=\"{dk}\" validation=\"MD5\" decryption=\"AES\" compatibilityMode=\"Framework45\" />"), "bad-algorithm"),
        ("none.config", String::new(), "no-machine-key"),
        ("differs.config", format!("<machineKey validationKey=\"{}\" decryptionKey=\"{dk}\" validation=\"HMACSHA256\" decryption=\"AES\" compatibilityMode=\"Framework45\" />", "C".repeat(128)), "differs"),
    ];
    for (name, element, code) in cases {
        let file = write(dir.path(), name, element);
        let out = keyward(&["machine-key", "check", &a, &file]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out.stdout));
        let stdout = text(&out.stdout);
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&file) && l.contains(&format!(": {code}: "))),
            "{name}: expected {code} in\n{stdout}"
        );
        assert!(
            !stdout.contains(&vk) && !stdout.contains(&dk),
            "a key was printed"
        );
        let json = keyward(&["machine-key", "check", "--json", &a, &file]);
        assert_eq!(json.status.code(), Some(1));
        let json: Value = serde_json::from_slice(&json.stdout).unwrap();
        assert!(json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == *code));
    }
    let broken = dir.path().join("broken.config");
    std::fs::write(&broken, "<configuration><system.web>").unwrap();
    let out = keyward(&["machine-key", "check", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains(": unreadable: "));
}

#[test]
fn decode_refuses_auto_generate_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "auto.config", "<machineKey validationKey=\"AutoGenerate,IsolateApps\" decryptionKey=\"AutoGenerate,IsolateApps\" />");
    let out = keyward(&[
        "machine-key",
        "decode",
        "--config",
        &config,
        "forms-ticket",
        "00",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("registry"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bridge_makes_a_core_cookie_that_cookie_decode_reads() {
    let dir = tempfile::tempdir().unwrap();
    let v = vector("lac-fx45-hmacsha512-aes256");
    let config = write(dir.path(), "web.config", &element(&v, "Framework45"));
    let keys = dir.path().join("keys");
    let keys = keys.to_str().unwrap();
    // The vector's ticket is valid from 15:20 to 16:20 UTC on 2019-06-26.
    let now = "2019-06-26T15:30:00Z";
    let global = [
        "--application-name",
        "shop",
        "--keys-dir",
        keys,
        "--now",
        now,
    ];
    let mut args: Vec<&str> = global.to_vec();
    args.extend([
        "machine-key",
        "bridge",
        "--config",
        &config,
        v["ticket_hex"].as_str().unwrap(),
    ]);
    let out = keyward(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cookie = text(&out.stdout);
    assert!(cookie.starts_with(".AspNetCore.Cookies="), "{cookie}");
    let mut args: Vec<&str> = global.to_vec();
    let header = cookie.trim().to_owned();
    args.extend(["cookie", "decode", &header]);
    let out = keyward(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let claims = json["identities"][0]["claims"].as_array().unwrap();
    assert_eq!(claims[0]["value"], "test@example.com");
    assert_eq!(claims[1]["value"], v["expected"]["user_data"]);
    assert_eq!(json["expires"], "2019-06-26T16:20:10Z");
    assert_eq!(json["persistent"], false);
    // An expired ticket is refused.
    let mut args: Vec<&str> = vec![
        "--application-name",
        "shop",
        "--keys-dir",
        keys,
        "--now",
        "2019-06-27T00:00:00Z",
    ];
    args.extend([
        "machine-key",
        "bridge",
        "--config",
        &config,
        v["ticket_hex"].as_str().unwrap(),
    ]);
    let out = keyward(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("expired"),
        "{}",
        text(&out.stderr)
    );
}

/// A MAC-only `<machineKey>`: a validationKey, and no usable decryptionKey (absent, or
/// `AutoGenerate`), as a farm that only MACs its ViewState has.
fn mac_only(v: &Value, decryption_key: Option<&str>) -> String {
    format!(
        "<machineKey validationKey=\"{}\"{} validation=\"{}\" compatibilityMode=\"Framework20SP1\" />",
        v["validationKey"].as_str().unwrap(),
        decryption_key.map_or(String::new(), |k| format!(" decryptionKey=\"{k}\"")),
        v["validation"].as_str().unwrap(),
    )
}

#[test]
fn a_mac_only_machine_key_decodes_mac_only_viewstate() {
    let dir = tempfile::tempdir().unwrap();
    for (n, decryption_key) in [None, Some("AutoGenerate"), Some("AutoGenerate,IsolateApps")]
        .into_iter()
        .enumerate()
    {
        for (id, user_key) in [
            ("bs-vs-legacy-noenc-sha1", None),
            ("bs-vs-legacy-noenc-sha256", None),
            ("bs-vs-legacy-noenc-md5", None),
            (
                "bs-vs-legacy-sha1-viewstateuserkey",
                Some("xwrpnizumzekndin03addnmm"),
            ),
        ] {
            let v = vector(id);
            let config = write(
                dir.path(),
                &format!("{id}-{n}.config"),
                &mac_only(&v, decryption_key),
            );
            let mut args = vec![
                "machine-key",
                "decode",
                "--config",
                &config,
                "viewstate",
                "--generator",
                v["generator"].as_str().unwrap(),
            ];
            if let Some(key) = user_key {
                args.extend(["--view-state-user-key", key]);
            }
            args.push(v["viewstate"].as_str().unwrap());
            let out = keyward(&args);
            assert!(
                out.status.success(),
                "{id} {decryption_key:?}: {}",
                text(&out.stderr)
            );
            let json: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(json["protection"], "mac-only (readable by anyone)", "{id}");
            assert!(json["base64"].as_str().unwrap().starts_with("/wE"), "{id}");
        }
    }
    // What needs the decryption key says so, in one line: an encrypted ViewState, a forms
    // ticket.
    let v = vector("bs-vs-legacy-aes-sha1");
    let config = write(
        dir.path(),
        "enc.config",
        &mac_only(&v, Some("AutoGenerate,IsolateApps")),
    );
    let out = keyward(&[
        "machine-key",
        "decode",
        "--config",
        &config,
        "viewstate",
        "--generator",
        v["generator"].as_str().unwrap(),
        v["viewstate"].as_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    // One failure line (beside the warning that the vector's SHA1 validation is weak).
    let failures: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("keyward: warning:"))
        .collect();
    assert_eq!(failures.len(), 1, "{stderr}");
    assert!(stderr.contains("decryptionKey"), "{stderr}");
    let out = keyward(&[
        "machine-key",
        "decode",
        "--config",
        &config,
        "forms-ticket",
        "00",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("decryptionKey") && stderr.contains("registry"),
        "{stderr}"
    );
}

#[test]
fn an_expired_ticket_is_named_with_an_rfc3339_time() {
    let dir = tempfile::tempdir().unwrap();
    let v = vector("lac-fx45-hmacsha512-aes256");
    let config = write(dir.path(), "web.config", &element(&v, "Framework45"));
    let keys = dir.path().join("keys");
    let out = keyward(&[
        "--application-name",
        "shop",
        "--keys-dir",
        keys.to_str().unwrap(),
        "--now",
        "2019-06-27T00:00:00Z",
        "machine-key",
        "bridge",
        "--config",
        &config,
        v["ticket_hex"].as_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("the ticket expired at 2019-06-26T16:20:10.3633638Z:"),
        "{stderr}"
    );
}

/// The stderr lines that mention `needle`.
fn lines_with(stderr: &[u8], needle: &str) -> usize {
    text(stderr).lines().filter(|l| l.contains(needle)).count()
}

/// MD5, SHA1, DES and 3DES: generate, encode and bridge refuse them without --allow-weak
/// and say which algorithm and that --allow-weak accepts it; decode and check warn.
#[test]
fn weak_algorithms_need_allow_weak_and_are_named() {
    // generate: a weak choice is refused, one line naming it and --allow-weak.
    for (args, weak) in [
        (
            &[
                "--framework",
                "2.0",
                "--validation",
                "MD5",
                "--decryption",
                "DES",
            ][..],
            "MD5",
        ),
        (&["--framework", "4.5", "--validation", "SHA1"][..], "SHA1"),
        (&["--framework", "4.5", "--decryption", "3DES"][..], "3DES"),
        (&["--framework", "4.5", "--decryption", "DES"][..], "DES"),
    ] {
        let mut all = vec!["machine-key", "generate"];
        all.extend_from_slice(args);
        let out = keyward(&all);
        assert_ne!(out.status.code(), Some(0), "{args:?} was accepted");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(weak) && stderr.contains("--allow-weak"),
            "{args:?}: {stderr}"
        );
        all.push("--allow-weak");
        let out = keyward(&all);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("<machineKey"));
        assert_eq!(lines_with(&out.stderr, weak), 1, "{}", text(&out.stderr));
    }
    // The strong defaults need nothing.
    let out = keyward(&["machine-key", "generate", "--framework", "4.5"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");

    // A weak web.config: encode and bridge refuse it, decode and check warn.
    let dir = tempfile::tempdir().unwrap();
    let weak = format!(
        "<machineKey validationKey=\"{}\" decryptionKey=\"0011223344556677\" validation=\"MD5\" decryption=\"DES\" compatibilityMode=\"Framework20SP1\" />",
        "A".repeat(128)
    );
    let config = write(dir.path(), "weak.config", &weak);
    let ticket = dir.path().join("ticket.json");
    std::fs::write(
        &ticket,
        r#"{"name": "alice", "issued": "2019-06-26T15:20:00Z", "expires": "2019-06-26T16:20:00Z"}"#,
    )
    .unwrap();
    let encode = |extra: &[&str]| {
        let mut args = vec![
            "machine-key",
            "encode",
            "forms-ticket",
            "--config",
            &config,
            "--json",
            ticket.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        keyward(&args)
    };
    let out = encode(&[]);
    assert_ne!(out.status.code(), Some(0), "encode accepted MD5/DES");
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("MD5") && stderr.contains("DES") && stderr.contains("--allow-weak"),
        "{stderr}"
    );
    let out = encode(&["--allow-weak"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let value = text(&out.stdout).trim().to_owned();

    let out = keyward(&[
        "machine-key",
        "decode",
        "--config",
        &config,
        "forms-ticket",
        &value,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["name"], "alice");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("MD5") && stderr.contains("DES"),
        "{stderr}"
    );

    let out = keyward(&["machine-key", "check", &config]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(lines_with(&out.stderr, "warning"), 1, "{stderr}");
    assert!(stderr.contains("MD5") && stderr.contains("DES"), "{stderr}");

    let keys = dir.path().join("keys");
    let bridge = |extra: &[&str]| {
        let mut args = vec![
            "--application-name",
            "shop",
            "--keys-dir",
            keys.to_str().unwrap(),
            "--now",
            "2019-06-26T15:30:00Z",
            "machine-key",
            "bridge",
            "--config",
            &config,
        ];
        args.extend_from_slice(extra);
        args.push(&value);
        keyward(&args)
    };
    let out = bridge(&[]);
    assert_ne!(out.status.code(), Some(0), "bridge accepted MD5/DES");
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("MD5") && stderr.contains("--allow-weak"),
        "{stderr}"
    );
    let out = bridge(&["--allow-weak"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with(".AspNetCore.Cookies="));
}

/// A web.config that cannot be read is one finding that names the file once and says why.
#[test]
fn check_names_an_unreadable_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.config");
    let file = missing.to_str().unwrap();
    let out = keyward(&["machine-key", "check", file]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!("{file}: unreadable: web.config: cannot read: ")),
        "{stdout}"
    );
    assert_eq!(stdout.matches(file).count(), 1, "{stdout}");
}
