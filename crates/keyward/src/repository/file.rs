//! [`FileSystemRepository`]: one `*.xml` file per element in a directory, as .NET's
//! `FileSystemXmlRepository` keeps them — the embedded default.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::{ElementHandle, GenerationLock, KeyRepository, StoredElement};
use crate::element_tree::XmlElement;
use crate::element_tree::MAX_DOCUMENT_BYTES;
use crate::error::{Error, Result};

/// The lock file taken while deciding whether to create a key (not `*.xml`, so .NET ignores it).
const LOCK_FILE: &str = ".keyward-generation.lock";

/// A key directory shared with .NET: files `key-{id}.xml` and `revocation-….xml`, written
/// with a UTF-8 BOM and an XML declaration, atomically (temporary file, fsync, rename,
/// directory fsync). The directory is created `0700` and files `0600`. Files are read as
/// UTF-8 or UTF-16 by their byte order mark and XML declaration, as .NET reads them (see
/// `docs/key-xml.md`).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let repository = keyward::FileSystemRepository::open(dir.path().join("keys")).unwrap();
/// assert!(repository.directory().ends_with("keys"));
/// ```
#[derive(Debug)]
pub struct FileSystemRepository {
    directory: PathBuf,
}

impl FileSystemRepository {
    /// Opens (creating if needed) a key directory and checks that it can be read and written,
    /// so a misconfigured directory fails now, with its path, rather than at the first key.
    ///
    /// # Errors
    /// [`Error::Io`] naming the directory when it cannot be created, listed or written.
    pub fn open(directory: impl Into<PathBuf>) -> Result<Self> {
        let directory = directory.into();
        create_private_dir(&directory).map_err(|e| Error::io(&directory, e))?;
        fs::read_dir(&directory).map_err(|e| Error::io(&directory, e))?;
        let repository = Self { directory };
        // Opening the lock file for writing proves the directory is writable.
        repository.open_lock_file()?;
        repository.report_permission_problems();
        Ok(repository)
    }

    /// What is unsafe about the directory's ownership and modes: a directory or key file that
    /// others can write (they could plant or replace keys), or a key file that belongs to
    /// another user. Each finding names the path, its owner (uid) and its mode. Empty on
    /// platforms without Unix permissions.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let repository = keyward::FileSystemRepository::open(dir.path().join("keys"))?;
    /// assert!(repository.permission_problems().is_empty());
    /// # Ok::<(), keyward::Error>(())
    /// ```
    pub fn permission_problems(&self) -> Vec<String> {
        permission_problems(&self.directory)
    }

    fn report_permission_problems(&self) {
        for problem in self.permission_problems() {
            tracing::warn!(%problem, "the key directory's permissions let others change keys");
        }
    }

    /// Opens a key directory for reading only: nothing is created or written, and
    /// [`KeyRepository::store_element`] fails.
    ///
    /// # Errors
    /// [`Error::Io`] naming the directory when it cannot be listed.
    pub fn open_read_only(directory: impl Into<PathBuf>) -> Result<ReadOnlyFileSystemRepository> {
        let directory = directory.into();
        fs::read_dir(&directory).map_err(|e| Error::io(&directory, e))?;
        let repository = Self { directory };
        repository.report_permission_problems();
        Ok(ReadOnlyFileSystemRepository(repository))
    }

    /// The key directory.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    fn open_lock_file(&self) -> Result<File> {
        let path = self.directory.join(LOCK_FILE);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        private_mode(&mut options);
        // Never through a symlink: whoever planted one would have keyward create or lock a
        // file of their choosing.
        no_follow(&mut options);
        options.open(&path).map_err(|e| Error::io(path, e))
    }

    fn read_all(&self) -> Result<Vec<StoredElement>> {
        let dir = &self.directory;
        let mut paths = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let path = entry.path();
            let is_xml = path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("xml"));
            // Follow symlinks (Kubernetes secret volumes are made of them), as .NET does.
            let is_file = is_xml
                && fs::metadata(&path)
                    .map_err(|e| Error::io(&path, e))?
                    .is_file();
            if is_xml && is_file {
                paths.push(path);
            }
        }
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let shown = path.display().to_string();
                // A file over the limit, or in an encoding keyward does not read, is an
                // unreadable key; a file that cannot be read at all fails the read.
                let element = match read_bytes_limited(&path) {
                    Ok(bytes) => match crate::element_tree::decode_document(&bytes) {
                        Ok(xml) => {
                            StoredElement::new(shown.clone(), ElementHandle::new(shown), xml)
                        }
                        Err(reason) => StoredElement::unreadable(
                            shown.clone(),
                            ElementHandle::new(shown),
                            reason,
                        ),
                    },
                    Err(e) if e.kind() == io::ErrorKind::InvalidData => StoredElement::unreadable(
                        shown.clone(),
                        ElementHandle::new(shown),
                        e.to_string(),
                    ),
                    Err(e) => return Err(Error::io(&path, e)),
                };
                Ok(element)
            })
            .collect()
    }

    fn write_atomically(&self, element: &XmlElement, friendly_name: &str) -> Result<()> {
        let safe = !friendly_name.is_empty()
            && friendly_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let name = if safe {
            friendly_name.to_owned()
        } else {
            crate::key_id::KeyId::random().to_string()
        };
        let target = self.directory.join(format!("{name}.xml"));
        self.write_file(element, &target, Placement::New)
    }

    /// Writes `element` as the document at `target` (temporary file, fsync, then into place,
    /// directory fsync): readers see the old file or the new one. A new element never
    /// replaces a file: when `target` exists (a file misnamed for another key, a second
    /// revocation of one key), it gets a name of its own beside it.
    fn write_file(&self, element: &XmlElement, target: &Path, placement: Placement) -> Result<()> {
        let temp = self
            .directory
            .join(format!(".{}.tmp", crate::key_id::KeyId::random()));
        let mut contents = String::from("\u{feff}");
        contents.push_str(&element.to_document());
        let written = (|| -> io::Result<()> {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            private_mode(&mut options);
            let mut file = options.open(&temp)?;
            file.write_all(contents.as_bytes())?;
            file.sync_all()?;
            drop(file);
            match placement {
                Placement::Replace => fs::rename(&temp, target)?,
                Placement::New => place_new(&temp, target)?,
            }
            // Make the rename itself durable.
            File::open(&self.directory)?.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(Error::io(target, e));
        }
        Ok(())
    }
}

impl KeyRepository for FileSystemRepository {
    fn load_elements(&self) -> Result<Vec<StoredElement>> {
        self.read_all()
    }

    fn store_element(&self, element: &XmlElement, friendly_name: &str) -> Result<()> {
        self.write_atomically(element, friendly_name)
    }

    fn lock_for_generation(&self) -> Result<GenerationLock> {
        let file = self.open_lock_file()?;
        file.lock()
            .map_err(|e| Error::io(self.directory.join(LOCK_FILE), e))?;
        // Closing the file releases the lock.
        Ok(GenerationLock::new(file))
    }

    fn location(&self) -> String {
        format!("directory {}", self.directory.display())
    }

    fn replace_element(&self, old: &StoredElement, new: &XmlElement) -> Result<()> {
        let path = PathBuf::from(old.handle.as_str());
        if path.parent() != Some(self.directory.as_path()) {
            return Err(Error::io(
                path,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a file of the key directory",
                ),
            ));
        }
        let current = read_limited(&path)?;
        if current != old.xml {
            return Err(Error::io(
                path,
                io::Error::other("the file changed since it was read; nothing replaced"),
            ));
        }
        self.write_file(new, &path, Placement::Replace)
    }

    fn delete_elements(&self, elements: &[StoredElement]) -> Result<()> {
        for element in elements {
            let path = PathBuf::from(element.handle.as_str());
            // Only files of this directory, as load_elements named them.
            if path.parent() != Some(self.directory.as_path()) {
                return Err(Error::io(
                    path,
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "not a file of the key directory",
                    ),
                ));
            }
            // Only while the file still holds the selected text.
            let changed = || {
                Error::io(
                    &path,
                    io::Error::other("the file changed since it was read; not deleted"),
                )
            };
            match read_bytes_limited(&path) {
                Ok(bytes) => match crate::element_tree::decode_document(&bytes) {
                    Ok(current) if current == element.xml => {}
                    // It decoded when it was read: text that no longer decodes changed.
                    _ => return Err(changed()),
                },
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(path, e)),
            }
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        File::open(&self.directory)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| Error::io(&self.directory, e))
    }
}

/// A key directory opened read-only (see [`FileSystemRepository::open_read_only`]).
#[derive(Debug)]
pub struct ReadOnlyFileSystemRepository(FileSystemRepository);

impl KeyRepository for ReadOnlyFileSystemRepository {
    fn load_elements(&self) -> Result<Vec<StoredElement>> {
        self.0.read_all()
    }

    fn store_element(&self, _element: &XmlElement, friendly_name: &str) -> Result<()> {
        Err(Error::io(
            self.0.directory.join(format!("{friendly_name}.xml")),
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the key directory was opened read-only",
            ),
        ))
    }

    fn lock_for_generation(&self) -> Result<GenerationLock> {
        Ok(GenerationLock::new(()))
    }

    fn location(&self) -> String {
        format!("directory {} (read-only)", self.0.directory.display())
    }
}

/// A key file's text: at most [`MAX_DOCUMENT_BYTES`] bytes are read (the limit applies to
/// the bytes on disk, before decoding), then decoded as UTF-8 or UTF-16 by its byte order
/// mark and XML declaration (see `element_tree::decode_document`).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read or is over the limit, [`Error::KeyXml`] when
/// its encoding is not one keyward reads.
fn read_limited(path: &Path) -> Result<String> {
    let bytes = read_bytes_limited(path).map_err(|e| Error::io(path, e))?;
    crate::element_tree::decode_document(&bytes).map_err(|reason| Error::KeyXml {
        location: path.display().to_string(),
        reason,
    })
}

/// The bytes of a file, refused when larger than [`MAX_DOCUMENT_BYTES`] (never more than one
/// byte past the limit is read).
fn read_bytes_limited(path: &Path) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than the {MAX_DOCUMENT_BYTES}-byte limit for a key document"),
        ));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if path.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> io::Result<()> {
    fs::create_dir_all(path)
}

#[cfg(unix)]
fn private_mode(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(0o600);
}

#[cfg(not(unix))]
fn private_mode(_options: &mut OpenOptions) {}

#[cfg(unix)]
fn no_follow(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(libc::O_NOFOLLOW);
}

#[cfg(not(unix))]
fn no_follow(_options: &mut OpenOptions) {}

/// See [`FileSystemRepository::permission_problems`].
#[cfg(unix)]
fn permission_problems(directory: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut problems = Vec::new();
    // Who this process runs as: the owner of /proc/self is the effective user (Linux). Not
    // the lock file's owner: whoever planted a lock file beforehand would pass for us.
    let me = fs::metadata("/proc/self").ok().map(|m| m.uid());
    let describe = |path: &Path, meta: &fs::Metadata, what: &str| {
        format!(
            "{} {what} (owner uid {}, mode {:03o})",
            path.display(),
            meta.uid(),
            meta.mode() & 0o7777
        )
    };
    if let Ok(meta) = fs::metadata(directory) {
        // Group- or world-writable (the sticky bit included: others can still add key files).
        if meta.mode() & 0o022 != 0 {
            problems.push(describe(directory, &meta, "is writable by others"));
        }
        if me.is_some_and(|uid| uid != meta.uid()) {
            problems.push(describe(directory, &meta, "belongs to another user"));
        }
    }
    let Ok(entries) = fs::read_dir(directory) else {
        return problems;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_xml = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("xml"));
        let Some(meta) = is_xml.then(|| fs::metadata(&path).ok()).flatten() else {
            continue;
        };
        if meta.mode() & 0o022 != 0 {
            problems.push(describe(&path, &meta, "is writable by others"));
        }
        if me.is_some_and(|uid| uid != meta.uid()) {
            problems.push(describe(&path, &meta, "belongs to another user"));
        }
    }
    problems.sort();
    problems
}

#[cfg(not(unix))]
fn permission_problems(_directory: &Path) -> Vec<String> {
    Vec::new()
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;

/// Whether a write may replace the file at its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// A new element: never over an existing file.
    New,
    /// A replacement of the element read from the target.
    Replace,
}

/// Moves `temp` to `target`, or beside it under a fresh name when `target` exists: a hard
/// link fails rather than replace (where links are unsupported, a checked rename).
fn place_new(temp: &Path, target: &Path) -> io::Result<()> {
    let mut destination = target.to_path_buf();
    for _ in 0..4 {
        match fs::hard_link(temp, &destination) {
            Ok(()) => return fs::remove_file(temp),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let stem = target
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                destination =
                    target.with_file_name(format!("{stem}-{}.xml", crate::key_id::KeyId::random()));
            }
            // A file system without hard links: rename, after checking the name is free.
            Err(_) if !destination.exists() => return fs::rename(temp, &destination),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free file name for the element",
    ))
}
