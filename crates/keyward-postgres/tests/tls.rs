//! `sslmode` against a private PostgreSQL instance that accepts TLS only (`hostssl`, and
//! `hostnossl … reject`), with a CA and a server certificate for `localhost` made here with the
//! openssl CLI.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Instance, Setup};
use keyward::Error;
use keyward_conformance::unique_name;
use keyward_postgres::PostgresRepository;

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA (`ca.crt`), another CA (`other-ca.crt`) and a server certificate for `localhost` signed
/// by the first (`server.crt`, `server.key`).
fn make_certificates(dir: &Path) {
    for name in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-new",
                "-nodes",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
                "-days",
                "2",
                "-subj",
                &format!("/CN=keyward test {name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-nodes",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    // PostgreSQL refuses a key others can read.
    let _ = Command::new("chmod")
        .arg("600")
        .arg(dir.join("server.key"))
        .status();
}

fn tls_only_instance() -> Option<Instance> {
    if Command::new("openssl").arg("version").output().is_err() {
        keyward_conformance::support::missing("the openssl CLI", "it does not run");
        return None;
    }
    Instance::create_with(|dir| {
        make_certificates(dir);
        Setup {
            options: format!(
                "-c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
                dir.display()
            ),
            hba: Some(
                "local all all trust\n\
                 hostssl all all 127.0.0.1/32 trust\n\
                 hostssl all all ::1/128 trust\n\
                 hostnossl all all 0.0.0.0/0 reject\n\
                 hostnossl all all ::/0 reject\n"
                    .into(),
            ),
        }
    })
}

fn open(url: &str, query: &str) -> keyward::Result<PostgresRepository> {
    PostgresRepository::open(&format!(
        "{url}?table={}&{query}",
        unique_name("keyward_tls")
    ))
}

fn failure(url: &str, query: &str) -> String {
    match open(url, query) {
        Ok(_) => panic!("{query} connected"),
        Err(err) => {
            assert!(matches!(err, Error::Repository { .. }), "{err}");
            err.chain()
        }
    }
}

#[test]
fn sslmode_is_honoured() {
    let Some(instance) = tls_only_instance() else {
        return;
    };
    let dir = instance.dir().display().to_string();
    let ca = format!("{dir}/ca.crt");
    let other_ca = format!("{dir}/other-ca.crt");
    let by_address = instance.url_for("127.0.0.1");
    let by_name = instance.url_for("localhost");

    let plain = failure(&by_address, "sslmode=disable");
    assert!(plain.contains("no encryption"), "{plain}");

    open(&by_address, "sslmode=require").unwrap();
    open(&by_address, "").unwrap(); // prefer, the default, takes TLS when it is offered
    open(&by_address, "sslmode=prefer").unwrap();
    open(&by_address, &format!("sslmode=verify-ca&sslrootcert={ca}")).unwrap();
    open(&by_name, &format!("sslmode=verify-full&sslrootcert={ca}")).unwrap();

    let wrong_name = failure(
        &by_address,
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    assert!(wrong_name.contains("not valid for name"), "{wrong_name}");
    let wrong_ca = failure(
        &by_address,
        &format!("sslmode=verify-ca&sslrootcert={other_ca}"),
    );
    assert!(wrong_ca.contains("UnknownIssuer"), "{wrong_ca}");
    // libpq: require with a root certificate verifies like verify-ca.
    let require_wrong_ca = failure(
        &by_address,
        &format!("sslmode=require&sslrootcert={other_ca}"),
    );
    assert!(
        require_wrong_ca.contains("UnknownIssuer"),
        "{require_wrong_ca}"
    );
    let wrong_ca_full = failure(
        &by_name,
        &format!("sslmode=verify-full&sslrootcert={other_ca}"),
    );
    assert!(wrong_ca_full.contains("UnknownIssuer"), "{wrong_ca_full}");

    // Percent-encoded paths, and the key=value form.
    open(
        &by_name,
        &format!("sslmode=verify-full&sslrootcert={}", ca.replace('/', "%2F")),
    )
    .unwrap();
    PostgresRepository::open(&format!(
        "host=localhost port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert='{ca}' table={}",
        instance.port,
        unique_name("keyward_tls")
    ))
    .unwrap();
    let missing = failure(
        &by_address,
        "sslmode=verify-ca&sslrootcert=/nonexistent/ca.crt",
    );
    assert!(missing.contains("/nonexistent/ca.crt"), "{missing}");
}

fn configuration_error(url: &str) -> String {
    match PostgresRepository::open(url) {
        Ok(_) => panic!("{url} connected"),
        Err(Error::Configuration(reason)) => reason.to_string(),
        Err(err) => panic!("{url}: not a configuration error: {}", err.chain()),
    }
}

/// libpq refuses `verify-ca` without a root file, and PostgreSQL 16 takes `sslrootcert=system`
/// only with `verify-full`: the system's roots vouch for names, so without the name check any
/// publicly issued certificate would pass. No server needed: refused before connecting.
#[test]
fn system_roots_are_trusted_only_with_a_name_check() {
    let base = "postgres://u@127.0.0.1:1/db";
    for query in [
        "sslmode=verify-ca",
        "sslmode=verify-ca&sslrootcert=system",
        "sslmode=require&sslrootcert=system",
        // sslrootcert is not used by prefer (the default) or disable: refused, not ignored.
        "sslmode=prefer&sslrootcert=/etc/ssl/ca.pem",
        "sslmode=allow&sslrootcert=/etc/ssl/ca.pem",
        "sslrootcert=/etc/ssl/ca.pem",
        "sslmode=disable&sslrootcert=/etc/ssl/ca.pem",
    ] {
        let reason = configuration_error(&format!("{base}?{query}"));
        assert!(reason.contains("sslrootcert"), "{query}: {reason}");
    }
    configuration_error("host=127.0.0.1 port=1 sslmode=verify-ca");
    // verify-full checks the name: the system's roots are fine (connecting fails: port 1).
    for query in [
        "sslmode=verify-full&sslrootcert=system",
        "sslmode=verify-full",
    ] {
        let err = PostgresRepository::open(&format!("{base}?{query}"))
            .map(drop)
            .expect_err(query);
        assert!(matches!(err, Error::Repository { .. }), "{query}: {err}");
    }
}

/// A `sslmode` keyward does not read must not be overridden by keyward's default (`prefer`):
/// against a server without TLS, each of these connected in plain text.
#[test]
fn a_hidden_sslmode_is_never_downgraded() {
    let Some(instance) = Instance::create() else {
        return;
    };
    let port = instance.port;
    let url = instance.url_for("127.0.0.1");
    // Sanity: the server takes plain text, and refuses sslmode=require.
    open(&url, "sslmode=disable").unwrap();
    failure(&url, "sslmode=require");
    // A percent-encoded key: the client decodes it, so keyward does too.
    let encoded = failure(&url, "ssl%6Dode=require");
    assert!(encoded.contains("TLS"), "{encoded}");
    // A '?' in the password hides the query from keyward's splitter, not from the client's.
    let reason = configuration_error(&format!(
        "postgres://postgres:p?w@127.0.0.1:{port}/postgres?sslmode=require"
    ));
    assert!(reason.contains("sslmode"), "{reason}");
    // A key=value string keyward cannot split (a trailing backslash) is refused.
    configuration_error(&format!(
        "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=require password=pw\\"
    ));
}
