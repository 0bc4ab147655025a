//! The application name ASP.NET Core derives when an app never calls `SetApplicationName`:
//! its content root, by the rule of its .NET version (`HostingApplicationDiscriminator`).
//!
//! ```
//! use keyward::discriminator::{application_name_from_content_root, ContentRootRule};
//!
//! // .NET ≥ 7 appends the platform's directory separator.
//! assert_eq!(
//!     application_name_from_content_root("/srv/shop", ContentRootRule::Net7).as_deref(),
//!     Some("/srv/shop/")
//! );
//! assert_eq!(
//!     application_name_from_content_root(r"C:\inetpub\shop", ContentRootRule::Net7).as_deref(),
//!     Some(r"C:\inetpub\shop\")
//! );
//! // .NET ≤ 5 (and .NET 6 with a Startup class) used the path as the host gave it.
//! assert_eq!(
//!     application_name_from_content_root("/srv/shop", ContentRootRule::Net5).as_deref(),
//!     Some("/srv/shop")
//! );
//! ```

/// Which .NET version's rule derives the application name from the content root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentRootRule {
    /// .NET 7 and later: the trimmed content root with a trailing directory separator
    /// appended when it ends with neither `/` nor `\`.
    #[default]
    Net7,
    /// .NET 6 minimal hosting (`WebApplication`): the content root as the host reported it,
    /// which ended with a separator; one is appended if the given path lacks it.
    Net6,
    /// .NET 5 and earlier, and .NET 6 with the generic host and a `Startup` class: the
    /// content root as-is (trimmed), normally without a trailing separator.
    Net5,
}

/// The application name (the first purpose of every chain) a .NET app with content root
/// `content_root` uses when it never called `SetApplicationName`. `None` when the path is
/// empty after trimming (.NET then uses no application name). The separator appended is the
/// one of the platform the path belongs to: `\` for a Windows path (`C:\…`, `\\server\…`,
/// or a path with backslashes and no slash), else `/`.
pub fn application_name_from_content_root(
    content_root: &str,
    rule: ContentRootRule,
) -> Option<String> {
    let trimmed = content_root.trim();
    if trimmed.is_empty() {
        return None;
    }
    match rule {
        ContentRootRule::Net5 => Some(trimmed.to_owned()),
        ContentRootRule::Net6 | ContentRootRule::Net7 => {
            if trimmed.ends_with(['/', '\\']) {
                Some(trimmed.to_owned())
            } else {
                Some(format!("{trimmed}{}", separator_of(trimmed)))
            }
        }
    }
}

/// Whether an application name looks like a content root that lacks the trailing separator
/// .NET ≥ 7 appends (an absolute path not ending in `/` or `\`): the usual reason payloads
/// of an unconfigured .NET app fail to open.
pub fn looks_like_content_root_without_separator(application_name: &str) -> bool {
    let name = application_name.trim();
    let absolute = name.starts_with('/') || name.starts_with(r"\\") || is_drive_path(name);
    absolute && name.len() > 1 && !name.ends_with(['/', '\\'])
}

fn is_drive_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'\\'
}

fn separator_of(path: &str) -> char {
    if is_drive_path(path)
        || path.starts_with(r"\\")
        || (path.contains('\\') && !path.contains('/'))
    {
        '\\'
    } else {
        '/'
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule() {
        use ContentRootRule::*;
        let cases = [
            ("/tmp/approot", Net7, Some("/tmp/approot/")),
            ("/tmp/approot/", Net7, Some("/tmp/approot/")),
            ("  /tmp/approot  ", Net7, Some("/tmp/approot/")),
            (r"C:\sites\shop", Net7, Some(r"C:\sites\shop\")),
            (r"\\server\share\shop", Net7, Some(r"\\server\share\shop\")),
            (r"C:\sites\shop\", Net6, Some(r"C:\sites\shop\")),
            ("/srv/app", Net6, Some("/srv/app/")),
            ("/srv/app", Net5, Some("/srv/app")),
            ("/srv/app/", Net5, Some("/srv/app/")),
            ("   ", Net7, None),
            ("", Net5, None),
        ];
        for (root, rule, expected) in cases {
            assert_eq!(
                application_name_from_content_root(root, rule).as_deref(),
                expected,
                "{root:?} {rule:?}"
            );
        }
    }

    #[test]
    fn spots_a_missing_separator() {
        assert!(looks_like_content_root_without_separator("/tmp/approot"));
        assert!(looks_like_content_root_without_separator(r"C:\sites\shop"));
        assert!(!looks_like_content_root_without_separator("/tmp/approot/"));
        assert!(!looks_like_content_root_without_separator("shop"));
        assert!(!looks_like_content_root_without_separator("/"));
    }
}
