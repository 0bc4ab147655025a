//! Who may read a file: a user's uid and groups (from `/etc/passwd` and `/etc/group`, or this
//! process's own from `/proc/self/status`), and the Unix permission rule.

use std::collections::BTreeSet;

/// A user as the kernel checks permissions: uid and every group id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name shown in findings.
    pub name: String,
    pub uid: u32,
    /// The primary group.
    pub gid: u32,
    pub groups: BTreeSet<u32>,
}

/// Read, write and search (execute) bits, as asked of one identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Search,
}

impl Identity {
    /// This process's effective user and groups (Linux `/proc/self/status`).
    pub fn current() -> Option<Self> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::split_whitespace)
        };
        // Uid: real effective saved fs — the effective one decides.
        let uid = field("Uid:")?.nth(1)?.parse().ok()?;
        let mut groups: BTreeSet<u32> = field("Groups:")
            .map(|g| g.filter_map(|id| id.parse().ok()).collect())
            .unwrap_or_default();
        let gid = field("Gid:")?.nth(1)?.parse().ok()?;
        groups.insert(gid);
        let name = user_name(uid).unwrap_or_else(|| format!("uid {uid}"));
        Some(Self {
            name,
            uid,
            gid,
            groups,
        })
    }

    /// The user called `name` in `/etc/passwd`, with its groups from `/etc/group`.
    pub fn named(name: &str) -> Option<Self> {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
        Self::from_databases(name, &passwd, &groups)
    }

    /// [`Identity::named`] over the given `passwd` and `group` texts.
    pub fn from_databases(name: &str, passwd: &str, group: &str) -> Option<Self> {
        let (uid, gid) = passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() >= 4 && fields[0] == name)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })?;
        let mut groups: BTreeSet<u32> = group
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                let members = fields.get(3)?;
                members
                    .split(',')
                    .any(|m| m.trim() == name)
                    .then(|| fields.get(2)?.parse().ok())
                    .flatten()
            })
            .collect();
        groups.insert(gid);
        Some(Self {
            name: name.to_owned(),
            uid,
            gid,
            groups,
        })
    }

    /// Whether this identity has `access` to a file with this owner, group and mode (root
    /// reads and writes everything, and searches what anyone may search).
    pub fn may(&self, access: Access, owner: u32, group: u32, mode: u32) -> bool {
        let bits = match access {
            Access::Read => 0o4,
            Access::Write => 0o2,
            Access::Search => 0o1,
        };
        if self.uid == 0 {
            return access != Access::Search || mode & 0o111 != 0;
        }
        let shift = if self.uid == owner {
            6
        } else if self.groups.contains(&group) {
            3
        } else {
            0
        };
        (mode >> shift) & bits != 0
    }
}

/// The name of uid `uid` in `/etc/passwd`.
pub fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 3 && fields[2].parse() == Ok(uid)).then(|| fields[0].to_owned())
    })
}

/// The name of gid `gid` in `/etc/group`.
pub fn group_name(gid: u32) -> Option<String> {
    let group = std::fs::read_to_string("/etc/group").ok()?;
    group.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 3 && fields[2].parse() == Ok(gid)).then(|| fields[0].to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nwww-data:x:33:\nkeys:x:900:alice,bob\nalice:x:1000:\n";

    #[test]
    fn reads_users_and_their_groups() {
        let alice = Identity::from_databases("alice", PASSWD, GROUP).unwrap();
        assert_eq!(alice.uid, 1000);
        assert_eq!(alice.groups, BTreeSet::from([900, 1000]));
        assert!(Identity::from_databases("mallory", PASSWD, GROUP).is_none());
    }

    #[test]
    fn applies_owner_group_and_other_bits() {
        let web = Identity::from_databases("www-data", PASSWD, GROUP).unwrap();
        let alice = Identity::from_databases("alice", PASSWD, GROUP).unwrap();
        // root:root 0600: only the owner (and root) reads it.
        assert!(!web.may(Access::Read, 0, 0, 0o600));
        // alice:keys 0640: alice reads, a member of keys reads, www-data does not.
        assert!(alice.may(Access::Read, 1000, 900, 0o640));
        assert!(!web.may(Access::Read, 1000, 900, 0o640));
        assert!(web.may(Access::Read, 1000, 33, 0o640));
        // Owner bits decide for the owner even when other bits would allow.
        assert!(!alice.may(Access::Read, 1000, 900, 0o044));
        let root = Identity::from_databases("root", PASSWD, GROUP).unwrap();
        assert!(root.may(Access::Read, 1000, 1000, 0o000));
        assert!(!root.may(Access::Search, 1000, 1000, 0o600));
        assert!(web.may(Access::Search, 0, 0, 0o755));
    }
}
