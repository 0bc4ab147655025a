//! Repository URIs: `file:DIR` (or a plain path), `redis://…`, `postgres://…` and libpq
//! `key=value` strings.

use keyward::KeyRepository;

use crate::error::SetupError;

/// The folder a repository URI names, when it names one (`file:DIR` or a plain path; not
/// Redis or PostgreSQL).
///
/// ```
/// use std::path::PathBuf;
/// assert_eq!(keyward_setup::directory_of_uri("file:/srv/keys"), Some(PathBuf::from("/srv/keys")));
/// assert_eq!(keyward_setup::directory_of_uri("redis://cache:6379"), None);
/// ```
pub fn directory_of_uri(uri: &str) -> Option<std::path::PathBuf> {
    let lower = uri.trim_start().to_ascii_lowercase();
    (!lower.contains("://") && !is_libpq_keywords(uri))
        .then(|| std::path::PathBuf::from(uri.strip_prefix("file:").unwrap_or(uri)))
}

/// Opens a repository from a URI: `file:DIR` or a plain path, `redis://…` (`rediss://`,
/// `redis+unix://`), `postgres://…` or a libpq `key=value` string (`host=db user=app
/// dbname=shop`). No message quotes the URI: the stores name themselves without
/// credentials, an unsupported URI shows by its scheme only, and a string holding
/// `password=` that is no connection string keyward reads is refused without repeating it.
pub fn open_repository(uri: &str, read_only: bool) -> Result<Box<dyn KeyRepository>, SetupError> {
    let lower = uri.trim_start().to_ascii_lowercase();
    if ["redis://", "rediss://", "redis+unix://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
    {
        return Ok(Box::new(keyward_redis::RedisRepository::open(uri)?));
    }
    if lower.starts_with("azblob://") || lower.starts_with("azblob+") {
        return open_azure_blob(uri.trim());
    }
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        // Reading never creates the table (a mistyped name is then an error, not an empty ring).
        let uri = if read_only && !uri.contains("create_table=") {
            format!(
                "{uri}{}create_table=false",
                if uri.contains('?') { '&' } else { '?' }
            )
        } else {
            uri.to_owned()
        };
        return Ok(Box::new(keyward_postgres::PostgresRepository::open(&uri)?));
    }
    if is_libpq_keywords(uri) {
        let uri = if read_only && !uri.contains("create_table=") {
            format!("{} create_table=false", uri.trim_end())
        } else {
            uri.to_owned()
        };
        return Ok(Box::new(keyward_postgres::PostgresRepository::open(&uri)?));
    }
    if holds_password_keyword(uri) {
        // Not a string keyward reads as PostgreSQL's, and never a folder: not repeated.
        return Err(SetupError::Invalid(
            "the repository holds 'password=' but is no connection string keyward reads: use postgres://… or a libpq string that starts with host=, dbname=, user=, port=… (the value is not repeated)"
                .into(),
        ));
    }
    if let Some((scheme, _)) = lower.split_once("://") {
        let scheme = if !scheme.is_empty()
            && scheme.len() <= 16
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            format!("{scheme}://")
        } else {
            "URI".to_owned()
        };
        return Err(SetupError::Invalid(format!(
            "unsupported repository scheme {scheme}: use file:DIR, redis://…, postgres://… or azblob://…"
        )));
    }
    open_directory(
        std::path::PathBuf::from(uri.strip_prefix("file:").unwrap_or(uri)),
        read_only,
    )
}

/// The keywords of a libpq connection string (and keyward's PostgreSQL parameters): a
/// repository whose first word is `KEYWORD=…` for one of these is a PostgreSQL location.
const LIBPQ_KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "connect_timeout",
    "options",
    "application_name",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "channel_binding",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
    "table",
    "schema",
    "create_table",
];

/// Whether `uri` is a libpq `key=value` connection string (`host=db user=app dbname=shop`):
/// its first word is `KEYWORD=…` for a keyword libpq knows. A folder with such a name is
/// still reachable as `file:NAME`.
fn is_libpq_keywords(uri: &str) -> bool {
    uri.split_whitespace()
        .next()
        .and_then(|word| word.split_once('='))
        .is_some_and(|(keyword, _)| LIBPQ_KEYWORDS.contains(&keyword))
}

/// Whether a word of `uri` starts with `password=` (any case): such a string is never taken
/// as a folder (whose messages would show it).
fn holds_password_keyword(uri: &str) -> bool {
    uri.split_whitespace().any(|word| {
        word.get(..9)
            .is_some_and(|start| start.eq_ignore_ascii_case("password="))
    })
}

/// What `doctor` shows of the Azure blob `uri` names: `None` when `uri` is no blob URI.
pub fn inspect_azure_blob(uri: &str) -> Option<Result<keyward_azure::BlobFacts, SetupError>> {
    let lower = uri.trim_start().to_ascii_lowercase();
    if !(lower.starts_with("azblob://") || lower.starts_with("azblob+")) {
        return None;
    }
    Some(azure_blob(uri.trim()).and_then(|blob| Ok(blob.inspect()?)))
}

/// `azblob://CONTAINER/BLOB[?poll=SECONDS]` (the account from
/// `AZURE_STORAGE_CONNECTION_STRING`), or `azblob+https://ACCOUNT.blob.core.windows.net/
/// CONTAINER/BLOB?SAS` (a secret: pass it in `KEYWARD_REPOSITORY`, never as an argument).
fn open_azure_blob(uri: &str) -> Result<Box<dyn KeyRepository>, SetupError> {
    Ok(Box::new(azure_blob(uri)?))
}

fn azure_blob(uri: &str) -> Result<keyward_azure::AzureBlobRepository, SetupError> {
    let (address, poll) = split_poll(uri)?;
    let location = if let Some(rest) = address.strip_prefix("azblob://") {
        let (container, blob) = rest
            .split_once('/')
            .ok_or_else(|| SetupError::Invalid("azblob://CONTAINER/BLOB names no blob".into()))?;
        let connection = std::env::var("AZURE_STORAGE_CONNECTION_STRING").map_err(|_| {
            SetupError::Invalid(
                "azblob://: set AZURE_STORAGE_CONNECTION_STRING (UseDevelopmentStorage=true for Azurite), or use azblob+https://…?SAS".into(),
            )
        })?;
        let connection = zeroize::Zeroizing::new(connection);
        keyward_azure::BlobLocation::from_connection_string(&connection, container, blob)?
    } else {
        let url = address
            .split_once('+')
            .map_or(address.as_str(), |(_, url)| url);
        keyward_azure::BlobLocation::from_sas_url(url)?
    };
    let mut repository = keyward_azure::AzureBlobRepository::new(location)?;
    if let Some(poll) = poll {
        repository = repository.with_poll_interval(poll);
    }
    Ok(repository)
}

/// Takes keyward's `poll=SECONDS` out of a blob URI (the rest of a SAS query stays).
fn split_poll(
    uri: &str,
) -> Result<(zeroize::Zeroizing<String>, Option<std::time::Duration>), SetupError> {
    let Some((address, query)) = uri.split_once('?') else {
        return Ok((zeroize::Zeroizing::new(uri.to_owned()), None));
    };
    let mut poll = None;
    let mut rest = Vec::new();
    for part in query.split('&') {
        match part.strip_prefix("poll=") {
            Some(seconds) => {
                let seconds: f64 = seconds
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| SetupError::Invalid("poll= takes a number of seconds".into()))?;
                poll = Some(std::time::Duration::from_secs_f64(seconds));
            }
            None => rest.push(part),
        }
    }
    let address = if rest.is_empty() {
        address.to_owned()
    } else {
        format!("{address}?{}", rest.join("&"))
    };
    Ok((zeroize::Zeroizing::new(address), poll))
}

/// Opens a key directory (read-only: it must exist, and is never written). A path that
/// names something other than a directory is refused, saying what it is.
pub fn open_directory(
    directory: std::path::PathBuf,
    read_only: bool,
) -> Result<Box<dyn KeyRepository>, SetupError> {
    if let Ok(metadata) = std::fs::metadata(&directory) {
        if !metadata.is_dir() {
            let what = if metadata.is_file() {
                "is a file, not a directory"
            } else {
                "is not a directory"
            };
            return Err(SetupError::Invalid(format!(
                "{} {what}: the key repository must be the folder that holds the key files",
                directory.display()
            )));
        }
    }
    if read_only {
        if !directory.is_dir() {
            return Err(SetupError::Invalid(format!(
                "no key directory at {}",
                directory.display()
            )));
        }
        Ok(Box::new(keyward::FileSystemRepository::open_read_only(
            directory,
        )?))
    } else {
        Ok(Box::new(keyward::FileSystemRepository::open(directory)?))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;

    fn error(uri: &str) -> String {
        match open_repository(uri, true) {
            Err(error) => error.to_string(),
            Ok(_) => panic!("{uri} opened"),
        }
    }

    #[test]
    fn an_unsupported_scheme_is_named_without_the_rest_of_the_uri() {
        let message = error("ftp://user:hunter2@host/keys");
        assert!(message.contains("ftp://"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn a_password_in_something_that_is_no_connection_string_is_not_repeated() {
        let message = error("mydb password=hunter2");
        assert!(message.contains("password="), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn a_folder_opens_and_a_missing_one_is_refused_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let message = error(&format!("file:{}", missing.display()));
        assert!(message.contains("no key directory"), "{message}");
        assert!(open_repository(&format!("file:{}", dir.path().display()), true).is_ok());
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(error(file.to_str().unwrap()).contains("is a file"));
    }

    #[test]
    fn blob_uris_are_parsed_and_their_secrets_never_repeated() {
        let message = error(
            "azblob+https://shop.blob.core.windows.net/keys/ring.xml?sv=1&sig=SECRETSIG&poll=x",
        );
        assert!(message.contains("poll="), "{message}");
        assert!(!message.contains("SECRETSIG"), "{message}");
        let message = error("azblob://keys");
        assert!(message.contains("names no blob"), "{message}");
        let (address, poll) = split_poll("azblob://keys/ring.xml?poll=2.5").unwrap();
        assert_eq!(address.as_str(), "azblob://keys/ring.xml");
        assert_eq!(poll, Some(std::time::Duration::from_millis(2500)));
        let opened = open_repository(
            "azblob+https://shop.blob.core.windows.net/keys/ring.xml?sv=1&sig=SECRETSIG",
            true,
        )
        .unwrap();
        assert_eq!(opened.location(), "azure blob shop/keys/ring.xml");
    }

    #[test]
    fn libpq_strings_are_no_folders() {
        assert!(is_libpq_keywords("host=db user=app dbname=shop"));
        assert!(!is_libpq_keywords("/srv/keys"));
        assert_eq!(directory_of_uri("host=db dbname=shop"), None);
    }
}
