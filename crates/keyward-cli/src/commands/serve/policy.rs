//! The policy file: which purpose chains each peer may use.
//!
//! ```json
//! {
//!   "peers": [
//!     { "user": "web",   "purposes": [["Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationMiddleware"], "Orders"] },
//!     { "uid": 1001,     "purposes": [["Billing", "v1"]] },
//!     { "token": true,   "purposes": ["Billing"] }
//!   ]
//! }
//! ```
//!
//! A prefix is a list of whole purposes (a string is a list of one): `["Billing"]` allows
//! `["Billing"]` and `["Billing", "v1"]`, never `["BillingReports"]`. Purposes are those after
//! the application name, as requests send them; `/v1/login` uses the cookie handler's chain
//! (`…CookieAuthenticationMiddleware`, the scheme, `v2`). With a policy, a peer it does not
//! name may use no purpose at all; `/v1/health` and `/metrics` stay open to every admitted
//! peer (they hold no secret).

use std::path::Path;

use serde::Deserialize;

use super::access::{uid_of, Admission, Peer};
use crate::commands::CliError;

/// The policy, with user names resolved to uids.
#[derive(Debug, Default)]
pub struct Policy {
    rules: Vec<(Subject, Vec<Vec<String>>)>,
}

/// Whom a rule is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    Uid(u32),
    Token,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    peers: Vec<PeerRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerRule {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    uid: Option<u32>,
    #[serde(default)]
    token: bool,
    purposes: Vec<PrefixJson>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PrefixJson {
    One(String),
    Chain(Vec<String>),
}

impl Policy {
    /// Reads and checks the policy file: each rule names exactly one peer, and that peer
    /// must be admitted (a rule for a peer that cannot connect is a mistake worth hearing
    /// about now).
    pub fn load(path: &Path, admission: &Admission, tcp: bool) -> Result<Self, CliError> {
        let text = std::fs::read(path).map_err(CliError::reading(path))?;
        let file: PolicyFile = serde_json::from_slice(&text)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        let invalid = |what: String| CliError::Usage(format!("{}: {what}", path.display()));
        let mut rules = Vec::new();
        for (index, rule) in file.peers.into_iter().enumerate() {
            let subject = match (&rule.user, rule.uid, rule.token) {
                (Some(name), None, false) => Subject::Uid(uid_of(name)?),
                (None, Some(uid), false) => Subject::Uid(uid),
                (None, None, true) => Subject::Token,
                _ => {
                    return Err(invalid(format!(
                    "peers[{index}] must name exactly one of \"user\", \"uid\" or \"token\": true"
                )))
                }
            };
            match subject {
                Subject::Uid(uid) if !admission.admits_uid(uid) => {
                    return Err(invalid(format!(
                        "peers[{index}] is for uid {uid}, which is not admitted (add --allow-user or --allow-uid)"
                    )))
                }
                Subject::Token if !tcp => {
                    return Err(invalid(format!(
                        "peers[{index}] is for the token, but keyward serves no TCP (--listen)"
                    )))
                }
                _ => {}
            }
            let prefixes: Vec<Vec<String>> = rule
                .purposes
                .into_iter()
                .map(|prefix| match prefix {
                    PrefixJson::One(purpose) => vec![purpose],
                    PrefixJson::Chain(chain) => chain,
                })
                .collect();
            if prefixes.iter().any(Vec::is_empty) {
                return Err(invalid(format!(
                    "peers[{index}] has an empty purpose prefix (it would allow every purpose; list the purposes instead)"
                )));
            }
            rules.push((subject, prefixes));
        }
        Ok(Self { rules })
    }

    /// Whether `peer` may use the purpose chain `purposes`.
    pub fn allows(&self, peer: Peer, purposes: &[String]) -> bool {
        let subject = match peer {
            Peer::User(uid) => Subject::Uid(uid),
            Peer::Tcp => Subject::Token,
            Peer::RefusedUser(_) => return false,
        };
        self.rules
            .iter()
            .filter(|(s, _)| *s == subject)
            .flat_map(|(_, prefixes)| prefixes)
            .any(|prefix| purposes.starts_with(prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str, admission: &Admission) -> Result<Policy, CliError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        std::fs::write(&path, json).unwrap();
        Policy::load(&path, admission, true)
    }

    fn admission(uids: &[u32]) -> Admission {
        let mut args = crate::serve_args::ServeArgs {
            socket: None,
            listen: None,
            token_file: None,
            allow_users: Vec::new(),
            allow_uids: uids.to_vec(),
            policy: None,
            ready_file: None,
            refresh_period: None,
            max_body: 1,
        };
        args.allow_uids = uids.to_vec();
        Admission::from_args(&args).unwrap()
    }

    fn chain(purposes: &[&str]) -> Vec<String> {
        purposes.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn a_prefix_is_made_of_whole_purposes() {
        let admission = admission(&[1001, 1002]);
        let policy = policy(
            r#"{"peers": [{"uid": 1001, "purposes": ["Billing", ["Orders", "v1"]]}]}"#,
            &admission,
        )
        .unwrap();
        let peer = Peer::User(1001);
        assert!(policy.allows(peer, &chain(&["Billing"])));
        assert!(policy.allows(peer, &chain(&["Billing", "v2"])));
        assert!(policy.allows(peer, &chain(&["Orders", "v1", "x"])));
        assert!(!policy.allows(peer, &chain(&["BillingReports"])));
        assert!(!policy.allows(peer, &chain(&["Orders"])));
        assert!(!policy.allows(peer, &chain(&[])));
        // A peer the policy does not name may use nothing.
        assert!(!policy.allows(Peer::User(1002), &chain(&["Billing"])));
        assert!(!policy.allows(Peer::Tcp, &chain(&["Billing"])));
    }

    #[test]
    fn mistakes_in_the_file_are_refused() {
        let admission = admission(&[1001]);
        for (json, expected) in [
            (
                r#"{"peers": [{"uid": 7, "purposes": ["A"]}]}"#,
                "not admitted",
            ),
            (
                r#"{"peers": [{"uid": 1001, "token": true, "purposes": ["A"]}]}"#,
                "exactly one",
            ),
            (r#"{"peers": [{"uid": 1001, "purposes": [[]]}]}"#, "empty"),
            (
                r#"{"peers": [{"uid": 1001, "purpose": ["A"]}]}"#,
                "unknown field",
            ),
            ("not json", "expected"),
        ] {
            let error = policy(json, &admission).unwrap_err().to_string();
            assert!(error.contains(expected), "{json}: {error}");
        }
    }
}
