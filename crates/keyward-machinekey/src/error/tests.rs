use std::error::Error as _;

use super::*;
use crate::MachineKeyConfig;

/// The messages are the ones the text-built errors printed (the CLI prints them).
#[test]
fn messages_keep_their_text() {
    let cases: [(Error, &str); 6] = [
        (
            SettingError::Unrecognized {
                kind: Unrecognized::Framework,
                value: "9.9".into(),
            }
            .into(),
            "invalid machineKey setting: unknown framework \"9.9\": use 1.1, 2.0, 4.0 or 4.5",
        ),
        (
            SettingError::ValidationNotAccepted {
                framework: Framework::V4_5,
                validation: MachineKeyValidation::Md5,
            }
            .into(),
            "invalid machineKey setting: ASP.NET 4.5 does not accept validation=\"MD5\": use one of SHA1, HMACSHA256, HMACSHA384, HMACSHA512",
        ),
        (
            SettingError::KeySize {
                cipher: MachineKeyDecryption::Des,
                key_len: 20,
            }
            .into(),
            "invalid machineKey setting: a 20-byte decryptionKey does not fit DES (AES takes 16, 24 or 32 bytes, 3DES 16 or 24, DES 8)",
        ),
        (
            MalformedError::TooShort {
                len: 10,
                minimum: 64,
                mac_len: 32,
            }
            .into(),
            "malformed value: 10 bytes is shorter than the 64 of an IV, one cipher block and a 32-byte MAC",
        ),
        (
            TicketError::Truncated { field: "name" }.into(),
            "invalid content: not a forms ticket: it ends inside the name",
        ),
        (
            ConfigError::EmptyKey {
                attribute: "validationKey",
            }
            .into(),
            "web.config: validationKey is empty",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
}

/// Reading a file that is not there names it, and keeps the I/O error as a cause.
#[test]
fn an_unreadable_file_keeps_its_io_error() {
    let path = std::path::Path::new("/nonexistent/keyward/web.config");
    let error = MachineKeyConfig::read(path).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("web.config: /nonexistent/keyward/web.config: cannot read: "),
        "{error}"
    );
    let problem = error.source().unwrap();
    let io = problem
        .source()
        .unwrap()
        .downcast_ref::<std::io::Error>()
        .unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}

/// XML that does not parse keeps the parser's error as a cause.
#[test]
fn bad_xml_keeps_the_parser_error() {
    let error = MachineKeyConfig::parse("<configuration><system.web>").unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("web.config: not well-formed XML (DTDs are refused): "),
        "{text}"
    );
    let parser = error.source().unwrap().source().unwrap();
    assert!(text.ends_with(&parser.to_string()), "{text}");
    assert!(parser.downcast_ref::<roxmltree::Error>().is_some());
}
