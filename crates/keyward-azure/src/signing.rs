//! Shared Key authorization of Blob service requests (version 2015-02-21 and later): the
//! string to sign, and its HMAC-SHA256 under the account key.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{KeyInit, Mac};

/// What a request signs.
pub(crate) struct Signed<'a> {
    pub method: &'a str,
    pub content_length: usize,
    pub content_type: &'a str,
    pub if_match: &'a str,
    pub if_none_match: &'a str,
    /// `x-ms-*` headers, lowercase names.
    pub ms_headers: &'a [(&'a str, String)],
    /// `/ACCOUNT` + the request's URL path.
    pub resource: String,
    /// The query parameters (name, decoded value).
    pub query: &'a [(&'a str, &'a str)],
}

impl Signed<'_> {
    fn string_to_sign(&self) -> String {
        let length = if self.content_length == 0 {
            String::new()
        } else {
            self.content_length.to_string()
        };
        let mut text = format!(
            "{}\n\n\n{length}\n\n{}\n\n\n{}\n{}\n\n\n",
            self.method, self.content_type, self.if_match, self.if_none_match
        );
        let mut headers: Vec<&(&str, String)> = self.ms_headers.iter().collect();
        headers.sort_by(|a, b| a.0.cmp(b.0));
        for (name, value) in headers {
            text.push_str(&format!("{name}:{}\n", value.trim()));
        }
        text.push_str(&self.resource);
        let mut query: Vec<&(&str, &str)> = self.query.iter().collect();
        query.sort_by(|a, b| a.0.cmp(b.0));
        for (name, value) in query {
            text.push_str(&format!("\n{}:{value}", name.to_ascii_lowercase()));
        }
        text
    }

    /// The `Authorization` header's value.
    pub fn authorization(&self, account: &str, key: &[u8]) -> String {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
            .expect("HMAC takes a key of any length");
        mac.update(self.string_to_sign().as_bytes());
        let signature = STANDARD.encode(mac.finalize().into_bytes());
        format!("SharedKey {account}:{signature}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_string_to_sign_has_the_documented_shape() {
        let headers = [
            ("x-ms-version", "2021-12-02".to_owned()),
            ("x-ms-date", "Mon, 07 Dec 2026 16:00:00 GMT".to_owned()),
            ("x-ms-blob-type", "BlockBlob".to_owned()),
        ];
        let signed = Signed {
            method: "PUT",
            content_length: 12,
            content_type: "application/xml; charset=utf-8",
            if_match: "\"0x1\"",
            if_none_match: "",
            ms_headers: &headers,
            resource: "/acct/acct/keys/ring.xml".into(),
            query: &[("restype", "container")],
        };
        assert_eq!(
            signed.string_to_sign(),
            "PUT\n\n\n12\n\napplication/xml; charset=utf-8\n\n\n\"0x1\"\n\n\n\nx-ms-blob-type:BlockBlob\nx-ms-date:Mon, 07 Dec 2026 16:00:00 GMT\nx-ms-version:2021-12-02\n/acct/acct/keys/ring.xml\nrestype:container"
        );
    }
}
