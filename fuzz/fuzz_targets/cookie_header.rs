//! Cookie headers and chunked login cookies: `CookieHeader` (parsing, look-ups, candidates,
//! chunk names, reassembly) and `percent_decode` on arbitrary text. Never panics; a header is
//! refused only for holding more than `MAX_COOKIES` cookies; a reassembled value splits back
//! into chunks that reassemble to it.
#![no_main]

use keyward_aspnetcore::{
    percent_decode, ChunkingCookieManager, CookieError, CookieHeader, DEFAULT_COOKIE_ATTRIBUTES,
    MAX_COOKIES,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let header = String::from_utf8_lossy(data);
    let cookies = match CookieHeader::parse(&header) {
        Ok(cookies) => cookies,
        Err(error) => {
            assert!(matches!(
                error,
                CookieError::TooManyCookies { max: MAX_COOKIES }
            ));
            assert!(header.matches('=').count() > MAX_COOKIES);
            return;
        }
    };
    assert!(cookies.len() <= MAX_COOKIES);
    assert!(cookies.candidates().count() <= cookies.len());
    let manager = ChunkingCookieManager::new();
    for (name, value) in cookies.iter().take(4) {
        assert!(cookies.contains(name));
        let _ = percent_decode(value);
        let _ = cookies.chunk_count(name);
        assert!(cookies.chunk_names(name).len() <= cookies.len());
        if let Ok(Some(value)) = cookies.reassemble(name) {
            if value.starts_with("chunks-") {
                continue; // a marker as a value is not a round trip
            }
            if let Ok(chunks) = manager.try_split(name, &value, DEFAULT_COOKIE_ATTRIBUTES) {
                let again: Vec<(&str, &str)> = chunks
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                let back = manager.reassemble(name, again.iter().copied());
                assert_eq!(back.ok().flatten().as_deref(), Some(value.as_str()));
            }
        }
    }
});
