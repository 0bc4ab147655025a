//! Who may talk to the sidecar: Unix-socket peers by their uid (`SO_PEERCRED`), TCP clients
//! by a bearer token. Access control has no "off" switch: without `--allow-user`/`--allow-uid`
//! only the user running keyward is admitted, and TCP always needs the token.

use std::collections::BTreeSet;
use std::path::Path;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::commands::CliError;
use crate::serve_args::ServeArgs;

/// The shortest token accepted: a guessable token would make TCP access control theatre.
const MIN_TOKEN_CHARS: usize = 16;

/// Who a connection comes from, decided when it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A Unix-socket peer whose uid is admitted.
    User(u32),
    /// A Unix-socket peer whose uid is not admitted: every request is answered 403.
    RefusedUser(u32),
    /// A loopback TCP client: each request must carry the token.
    Tcp,
}

/// The admitted uids and the TCP token.
pub struct Admission {
    uids: BTreeSet<u32>,
    token: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("uids", &self.uids)
            .field("token", &self.token.as_ref().map(|_| "[set]"))
            .finish()
    }
}

impl Admission {
    /// From `--allow-user`, `--allow-uid` and `--token-file`; a TCP address that is not
    /// loopback is refused here.
    pub fn from_args(args: &ServeArgs) -> Result<Self, CliError> {
        let mut uids: BTreeSet<u32> = args.allow_uids.iter().copied().collect();
        for name in &args.allow_users {
            uids.insert(uid_of(name)?);
        }
        if uids.is_empty() {
            uids.insert(nix::unistd::geteuid().as_raw());
        }
        if let Some(address) = args.listen {
            if !address.ip().is_loopback() {
                return Err(CliError::Usage(format!(
                    "--listen {address}: only a loopback address (127.0.0.1, ::1) is served; put a proxy with TLS in front for anything else"
                )));
            }
        }
        let token = match &args.token_file {
            Some(path) => Some(read_token(path)?),
            None => None,
        };
        Ok(Self { uids, token })
    }

    /// Whether a Unix-socket peer running as `uid` is admitted.
    pub fn admits_uid(&self, uid: u32) -> bool {
        self.uids.contains(&uid)
    }

    /// Whether an `Authorization` header value carries the token (compared in constant
    /// time). Without a token file nothing is accepted.
    pub fn accepts_authorization(&self, header: Option<&[u8]>) -> bool {
        let (Some(token), Some(header)) = (&self.token, header) else {
            return false;
        };
        let Some(presented) = strip_bearer(header) else {
            return false;
        };
        bool::from(presented.ct_eq(token.as_slice()))
    }
}

/// The credentials of `Bearer CREDENTIALS` (the scheme is case-insensitive).
fn strip_bearer(header: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = header.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| rest.trim_ascii())
}

/// The token: the file's first line without surrounding white space.
fn read_token(path: &Path) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(CliError::reading(path))?);
    let token = text.lines().next().unwrap_or("").trim();
    if token.chars().count() < MIN_TOKEN_CHARS || token.bytes().any(|b| b.is_ascii_control()) {
        return Err(CliError::Usage(format!(
            "{}: the token must be one line of at least {MIN_TOKEN_CHARS} printable characters (e.g. `openssl rand -hex 32`)",
            path.display()
        )));
    }
    Ok(Zeroizing::new(token.as_bytes().to_vec()))
}

/// The uid of a user name, from the system's user database.
pub fn uid_of(name: &str) -> Result<u32, CliError> {
    match nix::unistd::User::from_name(name) {
        Ok(Some(user)) => Ok(user.uid.as_raw()),
        Ok(None) => Err(CliError::Usage(format!("no user named {name:?}"))),
        Err(error) => Err(CliError::Usage(format!(
            "cannot look up the user {name:?}: {error}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_token(token: &str) -> Admission {
        Admission {
            uids: BTreeSet::new(),
            token: Some(Zeroizing::new(token.as_bytes().to_vec())),
        }
    }

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let admission = with_token("0123456789abcdef");
        assert!(admission.accepts_authorization(Some(b"Bearer 0123456789abcdef")));
        assert!(admission.accepts_authorization(Some(b"bearer 0123456789abcdef ")));
        assert!(!admission.accepts_authorization(Some(b"Bearer 0123456789abcdeF")));
        assert!(!admission.accepts_authorization(Some(b"Bearer 0123456789abcde")));
        assert!(!admission.accepts_authorization(Some(b"Basic 0123456789abcdef")));
        assert!(!admission.accepts_authorization(Some(b"Bearer")));
        assert!(!admission.accepts_authorization(None));
    }

    #[test]
    fn no_token_file_accepts_nothing() {
        let admission = Admission {
            uids: BTreeSet::new(),
            token: None,
        };
        assert!(!admission.accepts_authorization(Some(b"Bearer anything-at-all-here")));
    }

    #[test]
    fn a_short_token_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "short\n").unwrap();
        let error = read_token(&path).unwrap_err().to_string();
        assert!(error.contains("at least 16"), "{error}");
        std::fs::write(&path, "0123456789abcdef0123\nsecond line\n").unwrap();
        assert_eq!(
            read_token(&path).unwrap().as_slice(),
            b"0123456789abcdef0123"
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let text = format!("{:?}", with_token("0123456789abcdef"));
        assert!(!text.contains("0123456789abcdef"), "{text}");
    }
}
