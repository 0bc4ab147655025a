//! Where the blob is and how to sign for it: `azblob://CONTAINER/BLOB` with the account from a
//! connection string, or a SAS URL. No message or `Debug` output shows a key or a signature.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

use crate::error::invalid;

/// Azurite's (and the storage emulator's) well-known development account and key.
const DEV_ACCOUNT: &str = "devstoreaccount1";
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const DEV_BLOB_ENDPOINT: &str = "http://127.0.0.1:10000/devstoreaccount1";

/// How requests are authorized.
pub(crate) enum Credential {
    /// Shared Key: the account's key signs each request.
    SharedKey(Zeroizing<Vec<u8>>),
    /// A shared access signature: appended to each request's query.
    Sas(Zeroizing<String>),
}

/// One blob and the right to use it.
pub struct BlobLocation {
    /// `scheme://host[:port][/account]`: what container and blob names follow.
    pub(crate) endpoint: String,
    pub(crate) account: String,
    pub(crate) container: String,
    pub(crate) blob: String,
    pub(crate) credential: Credential,
}

impl std::fmt::Debug for BlobLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

impl BlobLocation {
    /// The blob named by a connection string (`AccountName=…;AccountKey=…`, with
    /// `BlobEndpoint`/`EndpointSuffix`/`DefaultEndpointsProtocol`, or
    /// `UseDevelopmentStorage=true` for Azurite) and a container and blob name.
    pub fn from_connection_string(
        connection_string: &str,
        container: &str,
        blob: &str,
    ) -> keyward::Result<Self> {
        let mut account = None;
        let mut key = None;
        let mut protocol = "https".to_owned();
        let mut suffix = "core.windows.net".to_owned();
        let mut endpoint = None;
        let mut sas = None;
        let mut development = false;
        for part in connection_string
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let Some((name, value)) = part.split_once('=') else {
                return Err(invalid(
                    "the connection string has a part without '=' (the value is not repeated)",
                ));
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "accountname" => account = Some(value.trim().to_owned()),
                "accountkey" => key = Some(Zeroizing::new(value.trim().to_owned())),
                "defaultendpointsprotocol" => protocol = value.trim().to_ascii_lowercase(),
                "endpointsuffix" => suffix = value.trim().to_owned(),
                "blobendpoint" => endpoint = Some(value.trim().trim_end_matches('/').to_owned()),
                "sharedaccesssignature" => {
                    sas = Some(Zeroizing::new(
                        value.trim().trim_start_matches('?').to_owned(),
                    ))
                }
                "usedevelopmentstorage" => development = value.trim().eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        if development {
            account.get_or_insert_with(|| DEV_ACCOUNT.to_owned());
            key.get_or_insert_with(|| Zeroizing::new(DEV_KEY.to_owned()));
            endpoint.get_or_insert_with(|| DEV_BLOB_ENDPOINT.to_owned());
        }
        let account = account
            .filter(|a| !a.is_empty())
            .ok_or_else(|| invalid("the connection string names no AccountName"))?;
        let endpoint = endpoint.unwrap_or_else(|| format!("{protocol}://{account}.blob.{suffix}"));
        let credential = match (key, sas) {
            (Some(key), _) => Credential::SharedKey(Zeroizing::new(
                STANDARD
                    .decode(key.as_bytes())
                    .map_err(|_| invalid("the connection string's AccountKey is not base64"))?,
            )),
            (None, Some(sas)) => Credential::Sas(sas),
            (None, None) => {
                return Err(invalid(
                    "the connection string has neither AccountKey nor SharedAccessSignature",
                ))
            }
        };
        Self::new(endpoint, account, container, blob, credential)
    }

    /// The blob of a SAS URL: `https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB?sv=…&sig=…`
    /// (or an emulator's `http://127.0.0.1:10000/ACCOUNT/CONTAINER/BLOB?…`).
    pub fn from_sas_url(url: &str) -> keyward::Result<Self> {
        let (address, query) = url
            .split_once('?')
            .ok_or_else(|| invalid("the SAS URL has no query (no signature)"))?;
        if !query.contains("sig=") {
            return Err(invalid("the SAS URL's query holds no signature (sig=)"));
        }
        let (scheme, rest) = address
            .split_once("://")
            .ok_or_else(|| invalid("the SAS URL is not an http(s) URL"))?;
        if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
            return Err(invalid("the SAS URL is not an http(s) URL"));
        }
        let mut segments: Vec<&str> = rest.split('/').collect();
        let host = segments.remove(0);
        let (account, prefix) = match host.split_once(".blob.") {
            Some((account, _)) => (account.to_owned(), format!("{scheme}://{host}")),
            // An emulator: the account is the first path segment.
            None if !segments.is_empty() => {
                let account = segments.remove(0).to_owned();
                (account.clone(), format!("{scheme}://{host}/{account}"))
            }
            None => return Err(invalid("the SAS URL names no account")),
        };
        let [container, blob @ ..] = segments.as_slice() else {
            return Err(invalid("the SAS URL names no container and blob"));
        };
        if blob.is_empty() {
            return Err(invalid("the SAS URL names no blob"));
        }
        Self::new(
            prefix,
            account,
            container,
            &blob.join("/"),
            Credential::Sas(Zeroizing::new(query.to_owned())),
        )
    }

    fn new(
        endpoint: String,
        account: String,
        container: &str,
        blob: &str,
        credential: Credential,
    ) -> keyward::Result<Self> {
        let valid_container = (3..=63).contains(&container.len())
            && container
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_container {
            return Err(invalid(
                "the container name must be 3 to 63 lowercase letters, digits or hyphens",
            ));
        }
        if blob.is_empty() || blob.len() > 1024 || blob.chars().any(char::is_control) {
            return Err(invalid(
                "the blob name must be 1 to 1024 characters, no control characters",
            ));
        }
        Ok(Self {
            endpoint,
            account,
            container: container.to_owned(),
            blob: blob.to_owned(),
            credential,
        })
    }

    /// `azure blob ACCOUNT/CONTAINER/BLOB`: for messages (no key, no signature).
    pub fn display(&self) -> String {
        format!(
            "azure blob {}/{}/{}",
            self.account, self.container, self.blob
        )
    }

    /// The blob's URL path after the endpoint, percent-encoded.
    pub(crate) fn blob_path(&self) -> String {
        format!("/{}/{}", self.container, encode_path(&self.blob))
    }
}

/// Percent-encodes a blob name for a URL path (`/` kept: it names virtual folders).
fn encode_path(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;

    #[test]
    fn development_storage_is_azurite() {
        let at =
            BlobLocation::from_connection_string("UseDevelopmentStorage=true", "keys", "ring.xml")
                .unwrap();
        assert_eq!(at.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
        assert_eq!(at.display(), "azure blob devstoreaccount1/keys/ring.xml");
        assert!(matches!(at.credential, Credential::SharedKey(_)));
    }

    #[test]
    fn an_account_connection_string_builds_its_endpoint_and_hides_its_key() {
        let at = BlobLocation::from_connection_string(
            "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net",
            "keys",
            "dp/keys.xml",
        )
        .unwrap();
        assert_eq!(at.endpoint, "https://shop.blob.core.windows.net");
        assert_eq!(at.blob_path(), "/keys/dp/keys.xml");
        assert!(!format!("{at:?}").contains("c2VjcmV0"));
        let error = BlobLocation::from_connection_string(
            "AccountName=shop;AccountKey=!!secret!!",
            "keys",
            "b",
        )
        .unwrap_err()
        .to_string();
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn a_sas_url_names_account_container_and_blob() {
        let at = BlobLocation::from_sas_url(
            "https://shop.blob.core.windows.net/keys/ring.xml?sv=2022-11-02&sp=rw&sig=SECRETSIG",
        )
        .unwrap();
        assert_eq!(
            (at.account.as_str(), at.container.as_str(), at.blob.as_str()),
            ("shop", "keys", "ring.xml")
        );
        assert!(!format!("{at:?}").contains("SECRETSIG"));
        assert!(
            BlobLocation::from_sas_url("https://shop.blob.core.windows.net/keys/ring.xml").is_err()
        );
        assert!(BlobLocation::from_sas_url(
            "https://shop.blob.core.windows.net/Keys/ring.xml?sig=x"
        )
        .is_err());
    }
}
