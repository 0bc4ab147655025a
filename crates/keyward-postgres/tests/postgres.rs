//! The PostgreSQL repository against a real server (`KEYWARD_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). Each test uses its own table. In CI a missing
//! server fails.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use keyward::{KeyRepository, Provider};
use keyward_conformance::support::postgres_url as url;
use keyward_conformance::{reachable, unique_name, Capabilities};
use keyward_postgres::{PostgresOptions, PostgresRepository};

fn repository(table: &str) -> Option<PostgresRepository> {
    reachable(
        "PostgreSQL",
        PostgresRepository::open_with(
            &url(),
            PostgresOptions {
                table: table.to_owned(),
                ..PostgresOptions::default()
            },
        ),
    )
}

// Every conformance check on a fresh table.
keyward_conformance::repository_tests!(
    || repository(&unique_name("keyward_test")),
    Capabilities {
        ordered: true,
        deletes: true,
    }
);

#[test]
fn rows_have_the_ef_core_shape_and_single_line_xml() {
    let table = unique_name("keyward_test");
    let Some(repo) = repository(&table) else {
        return;
    };
    let provider = Provider::builder()
        .application_name("a")
        .repository(repo)
        .build()
        .unwrap();
    let payload = provider.protector(["p"]).protect(b"x").unwrap();
    let mut client = postgres::Client::connect(&url(), postgres::NoTls).unwrap();
    let columns: Vec<(String, String)> = client
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        columns,
        [
            ("Id".into(), "integer".into()),
            ("FriendlyName".into(), "text".into()),
            ("Xml".into(), "text".into())
        ]
    );
    let rows = client
        .query(
            &format!("SELECT \"FriendlyName\", \"Xml\" FROM \"{table}\""),
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), 1);
    let (name, xml): (String, String) = (rows[0].get(0), rows[0].get(1));
    assert!(name.starts_with("key-"), "{name}");
    assert!(
        xml.starts_with("<key id=\"") && !xml.contains('\n'),
        "{xml}"
    );
    let other = Provider::builder()
        .application_name("a")
        .repository(repository(&table).unwrap())
        .build()
        .unwrap();
    assert_eq!(other.protector(["p"]).unprotect(&payload).unwrap(), b"x");
    assert_eq!(
        repository(&table).unwrap().load_elements().unwrap().len(),
        1
    );
}

#[test]
fn an_unreachable_store_is_named_at_open() {
    let err = PostgresRepository::open("postgres://u:hunter2@127.0.0.1:1/db").unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("127.0.0.1:1") && !message.contains("hunter2"),
        "{message}"
    );
}

#[test]
fn pushed_refresh_reaches_another_node_quickly() {
    let table = unique_name("keyward_test");
    let Some(a) = repository(&table) else { return };
    let took =
        keyward_conformance::pushed_refresh_reaches_another_node(a, repository(&table).unwrap());
    eprintln!("revocation reached the other node in {took:?}");
}

#[test]
fn table_creation_can_be_turned_off() {
    let table = unique_name("keyward_test_absent");
    let base = url();
    let separator = if base.contains('?') { '&' } else { '?' };
    let Some(_) = repository(&unique_name("probe")) else {
        return;
    };
    let err = PostgresRepository::open(&format!(
        "{base}{separator}table={table}&create_table=false"
    ))
    .unwrap_err();
    assert!(err.to_string().contains(&table), "{err}");
}

#[test]
fn a_failure_keeps_the_servers_error_as_its_source() {
    let Some(_) = repository(&unique_name("probe")) else {
        return;
    };
    let table = unique_name("keyward_test_absent");
    let err = PostgresRepository::open_with(
        &url(),
        PostgresOptions {
            table: table.clone(),
            create_table: false,
            ..PostgresOptions::default()
        },
    )
    .unwrap_err();
    let source = std::error::Error::source(&err).expect("the client's error is the source");
    let client = source
        .downcast_ref::<postgres::Error>()
        .expect("a postgres::Error");
    assert_eq!(
        client.code(),
        Some(&postgres::error::SqlState::UNDEFINED_TABLE)
    );
    let chain = err.chain();
    assert!(
        chain.contains("reading the table") && chain.contains(&format!("{table}\" does not exist")),
        "{chain}"
    );

    // Unreachable: the operating system's reason is in the chain.
    let err = PostgresRepository::open("postgres://u@127.0.0.1:1/db").unwrap_err();
    let chain = err.chain();
    assert!(chain.contains("refused"), "{chain}");
}
