//! The few Blob service calls the repository makes, over a blocking HTTP client: get (with
//! `If-None-Match`), put (with `If-Match` or `If-None-Match: *`) and create the container.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

use crate::error::failed;
use crate::location::{BlobLocation, Credential};
use crate::signing::Signed;

/// The service version keyward speaks (Azurite and Azure both accept it).
const VERSION: &str = "2021-12-02";

/// What .NET writes, and what keyward writes.
pub(crate) const CONTENT_TYPE: &str = "application/xml; charset=utf-8";

/// The answer to a read.
pub(crate) enum Read {
    /// Unchanged since the ETag given.
    NotModified,
    /// No such blob (or container).
    NotFound,
    /// The blob, its ETag and content type.
    Found {
        etag: String,
        body: Vec<u8>,
        content_type: String,
    },
}

/// The condition of a write.
pub(crate) enum Condition<'a> {
    /// Only while the blob still has this ETag.
    IfMatch(&'a str),
    /// Only if there is no blob yet.
    IfAbsent,
}

/// The answer to a write.
pub(crate) enum Write {
    /// Written; the new ETag.
    Stored(String),
    /// The condition failed (409 or 412): another writer was first.
    Changed,
    /// The container does not exist.
    NoContainer,
}

/// The HTTP client of one blob.
pub(crate) struct BlobClient {
    agent: ureq::Agent,
    pub(crate) location: BlobLocation,
    max_bytes: u64,
}

fn rfc1123(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    at.format(&format).unwrap_or_default()
}

impl BlobClient {
    /// A client for `location`; reads larger than `max_bytes` are refused before parsing.
    pub(crate) fn new(location: BlobLocation, max_bytes: u64) -> keyward::Result<Self> {
        let mut roots = Vec::new();
        for cert in rustls_native_certs::load_native_certs().certs {
            roots.push(ureq::tls::Certificate::from_der(cert.as_ref()).to_owned());
        }
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::new_with_certs(&roots))
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .tls_config(tls)
            .build();
        Ok(Self {
            agent: ureq::Agent::new_with_config(config),
            location,
            max_bytes,
        })
    }

    fn store(&self) -> String {
        self.location.display()
    }

    /// The URL of `path` (after the endpoint) with `query`, and the SAS when there is one.
    fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}{path}", self.location.endpoint);
        let mut parts: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if let Credential::Sas(sas) = &self.location.credential {
            parts.push(sas.to_string());
        }
        if !parts.is_empty() {
            url.push('?');
            url.push_str(&parts.join("&"));
        }
        url
    }

    /// The headers of a request: version, date, and the Shared Key signature when signing.
    #[allow(clippy::too_many_arguments)] // One request's signed parts.
    fn headers(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        content_length: usize,
        content_type: &str,
        if_match: &str,
        if_none_match: &str,
        extra: &[(&'static str, String)],
    ) -> Vec<(&'static str, String)> {
        let mut ms: Vec<(&'static str, String)> = vec![
            ("x-ms-version", VERSION.to_owned()),
            ("x-ms-date", rfc1123(OffsetDateTime::now_utc())),
        ];
        ms.extend(extra.iter().cloned());
        let mut headers = ms.clone();
        if let Credential::SharedKey(key) = &self.location.credential {
            let endpoint_path = self
                .location
                .endpoint
                .split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
                .unwrap_or_default();
            let ms_refs: Vec<(&str, String)> = ms.iter().map(|(k, v)| (*k, v.clone())).collect();
            let signed = Signed {
                method,
                content_length,
                content_type,
                if_match,
                if_none_match,
                ms_headers: &ms_refs,
                resource: format!("/{}{endpoint_path}{path}", self.location.account),
                query,
            };
            headers.push((
                "authorization",
                signed.authorization(&self.location.account, key),
            ));
        }
        headers
    }

    /// A transport failure, for messages: the client's text may quote the request URL, which
    /// holds the SAS signature when there is one; that part is never shown.
    fn io_error(&self, doing: &str, error: &ureq::Error) -> keyward::Error {
        let mut text = error.to_string();
        if let Credential::Sas(sas) = &self.location.credential {
            text = text.replace(sas.as_str(), "[SAS]");
        }
        failed(&self.store(), format!("{doing}: {text}"))
    }

    /// Reads the blob; with `etag`, a blob still at that ETag answers `NotModified`.
    pub(crate) fn get(&self, etag: Option<&str>) -> keyward::Result<Read> {
        let path = self.location.blob_path();
        let if_none_match = etag.unwrap_or("");
        let mut request = self.agent.get(self.url(&path, &[]));
        for (name, value) in self.headers("GET", &path, &[], 0, "", "", if_none_match, &[]) {
            request = request.header(name, value);
        }
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        let mut response = request
            .call()
            .map_err(|e| self.io_error("reading the blob", &e))?;
        match response.status().as_u16() {
            304 => Ok(Read::NotModified),
            404 => Ok(Read::NotFound),
            200 => {
                let header = |name: &str| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let etag = header("etag")
                    .ok_or_else(|| failed(&self.store(), "the blob came without an ETag"))?;
                let content_type = header("content-type").unwrap_or_default();
                if let Some(length) = header("content-length").and_then(|l| l.parse::<u64>().ok()) {
                    if length > self.max_bytes {
                        return Err(failed(
                            &self.store(),
                            format!(
                                "the blob is {length} bytes; at most {} are read",
                                self.max_bytes
                            ),
                        ));
                    }
                }
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(self.max_bytes)
                    .read_to_vec()
                    .map_err(|e| self.io_error("reading the blob", &e))?;
                Ok(Read::Found {
                    etag,
                    body,
                    content_type,
                })
            }
            status => Err(failed(
                &self.store(),
                format!("reading the blob: HTTP {status}"),
            )),
        }
    }

    /// Writes the blob under `condition`.
    pub(crate) fn put(&self, body: &[u8], condition: Condition<'_>) -> keyward::Result<Write> {
        let path = self.location.blob_path();
        let (if_match, if_none_match) = match condition {
            Condition::IfMatch(etag) => (etag, ""),
            Condition::IfAbsent => ("", "*"),
        };
        let extra = [("x-ms-blob-type", "BlockBlob".to_owned())];
        let mut request = self.agent.put(self.url(&path, &[]));
        for (name, value) in self.headers(
            "PUT",
            &path,
            &[],
            body.len(),
            CONTENT_TYPE,
            if_match,
            if_none_match,
            &extra,
        ) {
            request = request.header(name, value);
        }
        request = request.header("Content-Type", CONTENT_TYPE);
        if !if_match.is_empty() {
            request = request.header("If-Match", if_match);
        }
        if !if_none_match.is_empty() {
            request = request.header("If-None-Match", if_none_match);
        }
        let mut response = request
            .send(body)
            .map_err(|e| self.io_error("writing the blob", &e))?;
        let status = response.status().as_u16();
        let code = response
            .headers()
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let _ = response.body_mut().read_to_vec();
        match (status, code.as_str()) {
            (200 | 201, _) => Ok(Write::Stored(etag.unwrap_or_default())),
            (404, "ContainerNotFound") => Ok(Write::NoContainer),
            (409 | 412, _) => Ok(Write::Changed),
            (status, code) => Err(failed(
                &self.store(),
                format!("writing the blob: HTTP {status} {code}"),
            )),
        }
    }

    /// Creates the container (an existing one is fine).
    pub(crate) fn create_container(&self) -> keyward::Result<()> {
        let path = format!("/{}", self.location.container);
        let query = [("restype", "container")];
        let mut request = self.agent.put(self.url(&path, &query));
        for (name, value) in self.headers("PUT", &path, &query, 0, "", "", "", &[]) {
            request = request.header(name, value);
        }
        let response = request
            .send_empty()
            .map_err(|e| self.io_error("creating the container", &e))?;
        match response.status().as_u16() {
            201 | 409 => Ok(()),
            status => Err(failed(
                &self.store(),
                format!("creating the container: HTTP {status}"),
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;

    #[test]
    fn a_transport_error_quoting_the_url_never_shows_the_signature() {
        let location = BlobLocation::from_sas_url(
            "https://shop.blob.core.windows.net/keys/ring.xml?sv=1&sig=SECRETSIG",
        )
        .unwrap();
        let client = BlobClient::new(location, 1024).unwrap();
        let url = client.url(&client.location.blob_path(), &[]);
        assert!(
            url.contains("SECRETSIG"),
            "the request carries the SAS: {url}"
        );
        let error = client.io_error("reading the blob", &ureq::Error::BadUri(url));
        let text = keyward::error_chain(&error);
        assert!(!text.contains("SECRETSIG"), "{text}");
        assert!(text.contains("[SAS]"), "{text}");
    }
}
