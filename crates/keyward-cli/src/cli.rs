//! The command line: global options and subcommands (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// keyward: data protection compatible with ASP.NET Core — keys, protect, unprotect.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalOptions {
    /// The key directory (shared with .NET's PersistKeysToFileSystem).
    #[arg(
        long,
        global = true,
        env = "KEYWARD_KEYS_DIR",
        value_name = "DIR",
        default_value_os_t = default_keys_dir()
    )]
    pub keys_dir: PathBuf,

    /// The key repository: file:DIR (or a plain path), redis://[user:pass@]host:port/db?key=NAME,
    /// postgres://user@host:port/db?table=NAME&schema=NAME, azblob://CONTAINER/BLOB (account
    /// from AZURE_STORAGE_CONNECTION_STRING) or azblob+https://ACCOUNT.blob.core.windows.net/
    /// CONTAINER/BLOB?SAS. Wins over --keys-dir. A URI with a password or a SAS belongs in
    /// KEYWARD_REPOSITORY, not in an argument other local users can read; keyward never prints
    /// it (nor its value in --help).
    #[arg(
        long,
        global = true,
        env = "KEYWARD_REPOSITORY",
        hide_env_values = true,
        value_name = "URI"
    )]
    pub repository: Option<String>,

    /// The application name: the .NET app's SetApplicationName value (the first purpose).
    /// `inspect --try-known-purposes` takes several (repeat the option).
    #[arg(
        long,
        global = true,
        env = "KEYWARD_APPLICATION_NAME",
        value_name = "NAME"
    )]
    pub application_name: Vec<String>,

    /// Use no application name (a .NET provider created without one).
    #[arg(long, global = true)]
    pub no_application_name: bool,

    /// The content root of a .NET app that never called SetApplicationName: the application
    /// name is derived from it as .NET does (≥ 7: the path with a trailing separator).
    #[arg(
        long,
        global = true,
        env = "KEYWARD_CONTENT_ROOT",
        value_name = "DIR",
        conflicts_with_all = ["application_name", "no_application_name"]
    )]
    pub content_root: Option<String>,

    /// Which .NET version's rule derives the application name from --content-root.
    #[arg(long, global = true, value_enum, default_value_t = ContentRootRuleArg::Net7, requires = "content_root")]
    pub content_root_rule: ContentRootRuleArg,

    /// Use the key folder .NET uses when an app configures none, in .NET's order: Azure App
    /// Service's $HOME/ASP.NET/DataProtection-Keys (WEBSITE_INSTANCE_ID set), else the user
    /// profile's (LOCALAPPDATA, USERPROFILE, then $HOME/.aspnet/DataProtection-Keys; Windows:
    /// %LOCALAPPDATA%\ASP.NET\DataProtection-Keys). `doctor` says which and why. Wins over
    /// --keys-dir.
    #[arg(long, global = true, conflicts_with = "repository")]
    pub dotnet_default_keys: bool,

    /// A key-encryption key file (base64 of 32 bytes); repeat to add more: the first encrypts
    /// new keys, all decrypt. KEYWARD_KEK may also hold one (base64), used after the files.
    #[arg(long = "kek-file", global = true, value_name = "FILE")]
    pub kek_files: Vec<std::path::PathBuf>,

    /// A file holding a passphrase that encrypts (and decrypts) master keys at rest.
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<std::path::PathBuf>,

    /// A certificate with its RSA private key: PKCS#12 (.pfx) or PEM (CERTIFICATE + PRIVATE
    /// KEY); repeat to add more: the first encrypts new keys, all decrypt.
    #[arg(long = "certificate", global = true, value_name = "FILE")]
    pub certificates: Vec<std::path::PathBuf>,

    /// The password of the PKCS#12 certificate at the same position (repeatable);
    /// KEYWARD_CERTIFICATE_PASSWORD serves those without one.
    #[arg(long = "certificate-password-file", global = true, value_name = "FILE")]
    pub certificate_password_files: Vec<std::path::PathBuf>,

    /// Refuse to store any key unencrypted; certificate-encrypted keys without keyward's
    /// signature are then unusable (see `keys trust` and --accept-unsigned-certificate-keys).
    #[arg(long, global = true)]
    pub require_encryption: bool,

    /// With --require-encryption: use certificate-encrypted keys without keyward's signature
    /// (rings ASP.NET Core nodes keep writing to). Accepts the weakness that anyone who can
    /// write to the store can plant a key encrypted to the certificate, which then becomes the
    /// default key; `keys trust KEY_ID` trusts .NET's keys one by one instead.
    #[arg(long, global = true)]
    pub accept_unsigned_certificate_keys: bool,

    /// The algorithm of keys keyward creates (a payload always uses its own key's).
    #[arg(long, global = true, env = "KEYWARD_ALGORITHM", value_enum, default_value_t = AlgorithmArg::Cbc)]
    pub algorithm: AlgorithmArg,

    /// Let keys below AES-256 (AES-128/192, as some .NET apps configure) unprotect. They
    /// never become the default key, so they never protect.
    #[arg(long, global = true)]
    pub allow_weaker_keys: bool,

    /// Run as if the time were TIME (RFC 3339): for planning, and for tests. Every command
    /// then sees this fixed clock.
    #[arg(
        long,
        global = true,
        env = "KEYWARD_NOW",
        value_name = "TIME",
        hide = true
    )]
    pub now: Option<String>,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Colour when stdout is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `--content-root-rule` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContentRootRuleArg {
    /// .NET 7 and later: the content root with a trailing separator.
    Net7,
    /// .NET 6 minimal hosting (WebApplication): the content root as reported, with its
    /// trailing separator.
    Net6,
    /// .NET 5 and earlier, or .NET 6 with a Startup class: the content root as-is.
    Net5,
}

impl From<ContentRootRuleArg> for keyward::discriminator::ContentRootRule {
    fn from(rule: ContentRootRuleArg) -> Self {
        match rule {
            ContentRootRuleArg::Net7 => Self::Net7,
            ContentRootRuleArg::Net6 => Self::Net6,
            ContentRootRuleArg::Net5 => Self::Net5,
        }
    }
}

/// `--algorithm` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmArg {
    /// AES-256-CBC + HMACSHA256 (the .NET default).
    Cbc,
    /// AES-256-GCM.
    Gcm,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Protect TEXT (or the bytes of stdin); prints base64url without padding.
    Protect(ProtectArgs),
    /// Unprotect PAYLOAD (or stdin); writes the plaintext bytes exactly.
    Unprotect(UnprotectArgs),
    /// Inspect and manage keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Classic ASP.NET `<machineKey>` elements.
    #[command(name = "machine-key", subcommand)]
    MachineKey(MachineKeyCommand),
    /// Check a key ring and explain what is wrong: exit 0 healthy, 1 warnings, 2 errors.
    Doctor(DoctorArgs),
    /// Show what a payload or cookie holds: its envelope, its key's status, and (with
    /// --purpose or --try-known-purposes) whether and how it opens.
    Inspect(InspectArgs),
    /// ASP.NET Core login cookies: decode one into its ticket (JSON), or encode a ticket
    /// into a cookie.
    #[command(subcommand)]
    Cookie(CookieCommand),
    /// Serve the key ring to local programs in any language: HTTP/1.1 + JSON on a Unix
    /// socket (peers by uid) or loopback TCP (bearer token): protect, unprotect, login
    /// cookies, health, metrics.
    Serve(crate::serve_args::ServeArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write a page for every command into a directory.
    Man {
        /// Write keyward.1 and a page per command (keyward-keys-list.1, …) into DIR, and
        /// print their paths.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `keyward doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The user the service runs as: key files it cannot read are reported.
    #[arg(long, value_name = "NAME")]
    pub service_user: Option<String>,
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `keyward inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A payload (base64url or base64), a cookie value, or a whole `Cookie:` header; without
    /// it, stdin is read.
    pub payload: Option<String>,
    /// Unprotect under this purpose chain (after the application name; repeat for a chain).
    #[arg(long = "purpose", value_name = "P")]
    pub purposes: Vec<String>,
    /// The payload is time-limited (with --purpose).
    #[arg(long)]
    pub time_limited: bool,
    /// Try the purpose chains ASP.NET Core uses (cookie authentication, antiforgery, session,
    /// TempData, OpenID Connect) under each --application-name, and say which one opens it.
    #[arg(long, conflicts_with = "purposes")]
    pub try_known_purposes: bool,
    /// An authentication scheme to try with --try-known-purposes (repeatable; default:
    /// Cookies, Identity.Application, Identity.External, Identity.TwoFactorUserId, and the
    /// OpenID Connect and Microsoft Account schemes).
    #[arg(long = "scheme", value_name = "NAME")]
    pub schemes: Vec<String>,
    /// The cookie to read from a `Cookie:` header (default: the only one, or the first that
    /// holds a payload).
    #[arg(long, value_name = "NAME")]
    pub cookie: Option<String>,
    /// Show the plaintext when it opens (default: its size and a UTF-8 preview of at most 80
    /// characters; secrets in payloads deserve care).
    #[arg(long)]
    pub show_plaintext: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `keyward cookie …`: the login cookie of ASP.NET Core's cookie authentication.
#[derive(Debug, Subcommand)]
pub enum CookieCommand {
    /// Unprotect a login cookie and print its ticket as JSON (never writes to the ring).
    Decode(CookieDecodeArgs),
    /// Make a login cookie from a ticket in JSON (the shape `decode` prints): one value line,
    /// or `name=value` lines when it needs chunks.
    Encode(CookieEncodeArgs),
}

/// `keyward cookie decode`.
#[derive(Debug, Args)]
pub struct CookieDecodeArgs {
    /// The authentication scheme (a purpose of the cookie's protector).
    #[arg(long, value_name = "NAME", default_value = "Cookies")]
    pub scheme: String,
    /// The cookie to read from a header (default: `.AspNetCore.<scheme>`, or the only
    /// cookie).
    #[arg(long, value_name = "NAME")]
    pub cookie_name: Option<String>,
    /// A whole `Cookie:` header, `name=value` pairs (chunks included) or the bare value;
    /// without it, stdin is read.
    pub cookie: Option<String>,
}

/// `keyward cookie encode`.
#[derive(Debug, Args)]
pub struct CookieEncodeArgs {
    /// The ticket as JSON (`-`: stdin).
    #[arg(long, value_name = "FILE")]
    pub json: PathBuf,
    /// The authentication scheme (a purpose of the cookie's protector).
    #[arg(long, value_name = "NAME", default_value = "Cookies")]
    pub scheme: String,
    /// The cookie's name, for chunks (default: `.AspNetCore.<scheme>`).
    #[arg(long, value_name = "NAME")]
    pub cookie_name: Option<String>,
}

/// `keyward protect`.
#[derive(Debug, Args)]
pub struct ProtectArgs {
    /// A purpose, after the application name (repeat for a chain).
    #[arg(long = "purpose", value_name = "P")]
    pub purposes: Vec<String>,

    /// The text to protect; without it, stdin's bytes are protected.
    pub text: Option<String>,

    /// Make a time-limited payload that expires after DURATION (90d, 2h, 30m, 1d12h; more
    /// than zero).
    #[arg(
        long,
        value_name = "DURATION",
        conflicts_with = "expires_at",
        allow_hyphen_values = true
    )]
    pub expires_in: Option<String>,

    /// Make a time-limited payload that expires at TIME (RFC 3339, or +30d / -2h).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub expires_at: Option<String>,
}

/// `keyward unprotect`.
#[derive(Debug, Args)]
pub struct UnprotectArgs {
    /// A purpose, after the application name (repeat for a chain).
    #[arg(long = "purpose", value_name = "P")]
    pub purposes: Vec<String>,

    /// The payload (base64url); without it, stdin is read (surrounding whitespace ignored).
    pub payload: Option<String>,

    /// The payload is time-limited (made with --expires-in / --expires-at, or .NET's
    /// ToTimeLimitedDataProtector); fails with "expired" once it has.
    #[arg(long)]
    pub time_limited: bool,
}

/// `keyward keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List keys: id, status, algorithm, creation, activation and expiration.
    List {
        /// Show statuses and the default key as they will be at TIME (RFC 3339, +30d, -2h).
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        at: Option<String>,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a key.
    New {
        /// When the key becomes usable (default: one propagation window after it is written,
        /// or now on a ring without a usable default key).
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        activate_at: Option<String>,
        /// How long it protects after activation.
        #[arg(
            long,
            value_name = "DURATION",
            default_value = "90d",
            allow_hyphen_values = true
        )]
        lifetime: String,
        /// Say when the key would activate and expire, and any gap it would leave; write
        /// nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Revoke one key, or every key created before a time.
    Revoke {
        /// The key id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Revoke every key created before --before.
        #[arg(long, requires = "before")]
        all: bool,
        /// With --all: keys created strictly before TIME are revoked.
        #[arg(
            long,
            value_name = "TIME",
            requires = "all",
            allow_hyphen_values = true
        )]
        before: Option<String>,
        /// Why (recorded in the revocation element).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// Revoke an id that no key of the ring has (nodes that still hold such a key in
        /// memory stop using it).
        #[arg(long)]
        allow_unknown: bool,
        /// Show the keys it would revoke, the gaps that would open and the keys that would
        /// be written to fill them; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy every key and revocation from one repository to another (idempotent).
    ///
    /// Each URI comes from its option, its file option, or its environment variable
    /// (KEYWARD_MIGRATE_FROM, KEYWARD_MIGRATE_TO), in that order: a URI holding a password
    /// needs no argument other local users could read.
    Migrate {
        /// The source repository URI (as --repository takes it); default: the first line of
        /// --from-file, else KEYWARD_MIGRATE_FROM.
        #[arg(long, value_name = "URI")]
        from: Option<String>,
        /// A file whose first line is the source repository URI.
        #[arg(long, value_name = "PATH", conflicts_with = "from")]
        from_file: Option<PathBuf>,
        /// The target repository URI (as --repository takes it); default: the first line of
        /// --to-file, else KEYWARD_MIGRATE_TO.
        #[arg(long, value_name = "URI")]
        to: Option<String>,
        /// A file whose first line is the target repository URI.
        #[arg(long, value_name = "PATH", conflicts_with = "to")]
        to_file: Option<PathBuf>,
        /// Only list what would be copied.
        #[arg(long)]
        dry_run: bool,
    },
    /// Trust certificate-encrypted keys a .NET node wrote: check that the configured
    /// certificate (--certificate) decrypts each, then sign it with the certificate, so a node
    /// with --require-encryption uses it. .NET reads the key as before. Trust only keys you
    /// know your farm wrote: a planted key becomes as trusted as keyward's own.
    Trust {
        /// The keys to trust.
        #[arg(required = true, value_name = "KEY_ID")]
        ids: Vec<keyward::KeyId>,
    },
    /// Re-encrypt every key with the current encryptor (--kek-file or --passphrase-file),
    /// one key at a time, atomically.
    Rewrap {
        /// Only list what would be re-encrypted.
        #[arg(long)]
        dry_run: bool,
        /// Also encrypt this plaintext key although it was created after the ring's first
        /// encrypted key (such keys are suspect: a store writer may have planted them).
        #[arg(long = "trust-plaintext", value_name = "KEY_ID")]
        trust_plaintext: Vec<keyward::KeyId>,
        /// Store every key in the clear again, as .NET writes keys without an XML encryptor
        /// (give the decryptor: --kek-file, --passphrase-file or --certificate). For a ring
        /// ASP.NET Core nodes must read. Needs --yes.
        #[arg(long, conflicts_with = "trust_plaintext")]
        to_plaintext: bool,
        /// Confirm a change of at-rest form that changes who can read the keys (to plaintext,
        /// or to a KEK or passphrase, which .NET cannot read).
        #[arg(long)]
        yes: bool,
    },
    /// The janitor for cron and CronJobs: make sure a default key exists and its successor is
    /// written ahead of use; optionally delete long-expired keys; say when to run next.
    Ensure {
        /// Also delete keys that expired before TIME (never the default or a recent key).
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        delete_expired_before: Option<String>,
        /// Only say what would be done.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A picture of the ring over time: each key from creation through activation to
    /// expiration, revocations, the default key, now and the next rotation.
    Timeline {
        /// Also write a self-contained HTML page with an SVG picture to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Print JSON (the bars and events) instead of the terminal picture.
        #[arg(long)]
        json: bool,
        /// The terminal picture's width in columns (default: the terminal's, else 100).
        #[arg(long, value_name = "COLUMNS")]
        width: Option<usize>,
        /// Colour: auto (when stdout is a terminal), always, never.
        #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
        color: ColorArg,
    },
    /// Write the whole ring (keys and revocations) to one file, for backup and escrow.
    Export {
        /// The file to write (default: stdout).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Write master keys stored in the clear as they are (without it, a plaintext key is
        /// refused unless --kek-file, --passphrase-file or --certificate wraps it for the file).
        #[arg(long)]
        allow_plaintext: bool,
        /// Print a JSON summary on stdout (with --output).
        #[arg(long, requires = "output")]
        json: bool,
        /// Replace FILE if it exists.
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Read a file made by `keys export` into the ring: idempotent by key id; an existing key
    /// is never replaced.
    Import {
        /// The export file.
        file: PathBuf,
        /// Only say what would be imported.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete keys (their payloads can never be unprotected again).
    Delete {
        /// The key to delete.
        #[arg(
            long,
            value_name = "ID",
            required_unless_present = "expired_before",
            conflicts_with = "expired_before"
        )]
        id: Option<String>,
        /// Delete every key that expired before TIME.
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        expired_before: Option<String>,
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `keyward machine-key …`.
#[derive(Debug, Subcommand)]
pub enum MachineKeyCommand {
    /// Print a `<machineKey>` element with fresh keys, ready for web.config.
    Generate {
        /// The .NET Framework generation: 1.1, 2.0, 4.0 or 4.5.
        #[arg(long, default_value = "4.5")]
        framework: String,
        /// The validation algorithm (default: SHA1 for 1.1/2.0, HMACSHA256 for 4.0/4.5).
        #[arg(long, value_name = "ALG")]
        validation: Option<String>,
        /// The decryption algorithm: AES, 3DES or DES (default: 3DES for 1.1, else AES).
        #[arg(long, value_name = "ALG")]
        decryption: Option<String>,
        /// Print JSON (the element and its parts).
        #[arg(long)]
        json: bool,
        /// Accept a weak algorithm (MD5, SHA1, DES, 3DES; SHA1 is the 1.1/2.0 default, and
        /// 1.1 has nothing else), for servers that cannot move to HMACSHA256 and AES yet.
        #[arg(long)]
        allow_weak: bool,
    },
    /// Read a value a classic ASP.NET app protected with its machineKey (forms ticket,
    /// ViewState, MachineKey.Protect output); prints JSON.
    Decode(MachineKeyDecodeArgs),
    /// Make a value with a web.config's machineKey.
    #[command(subcommand)]
    Encode(MachineKeyEncodeCommand),
    /// Check web.config files: the same keys everywhere, no AutoGenerate/IsolateApps, strong
    /// enough keys and algorithms, an explicit compatibilityMode. One finding per line; exit
    /// status 1 on any finding.
    Check(MachineKeyCheckArgs),
    /// Turn a valid .ASPXAUTH forms ticket into the equivalent ASP.NET Core login cookie
    /// (protected with the key ring of the global options); prints Set-Cookie name=value lines.
    Bridge(MachineKeyBridgeArgs),
}

/// `keyward machine-key decode`.
#[derive(Debug, Args)]
pub struct MachineKeyDecodeArgs {
    /// The web.config (or machine.config, or a file with the <machineKey> element).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// What the value is.
    #[command(subcommand)]
    pub kind: MachineKeyDecodeKind,
}

/// What `machine-key decode` reads.
#[derive(Debug, Subcommand)]
pub enum MachineKeyDecodeKind {
    /// A forms authentication ticket (.ASPXAUTH cookie value: hex, or UrlToken when cookieless).
    FormsTicket {
        /// The value.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// A __VIEWSTATE value (base64), given the page's purposes: Framework45 needs
    /// --template-source-directory and --type, legacy crypto --generator.
    Viewstate {
        /// The page's TemplateSourceDirectory (e.g. / or /shop/admin).
        #[arg(long, value_name = "PATH")]
        template_source_directory: Option<String>,
        /// The page's type name (e.g. DEFAULT_ASPX).
        #[arg(long = "type", value_name = "NAME")]
        page_type: Option<String>,
        /// The page's ViewStateUserKey, when it sets one.
        #[arg(long, value_name = "KEY")]
        view_state_user_key: Option<String>,
        /// The page's __VIEWSTATEGENERATOR (8 hex digits).
        #[arg(long, value_name = "HEX")]
        generator: Option<String>,
        /// The value.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// MachineKey.Protect output (hex, UrlToken, base64url or base64) for the given purposes.
    Protect {
        /// A purpose passed to MachineKey.Protect (repeat, in order).
        #[arg(long = "purpose", value_name = "PURPOSE")]
        purposes: Vec<String>,
        /// The value.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
}

/// What `machine-key encode` makes.
#[derive(Debug, Subcommand)]
pub enum MachineKeyEncodeCommand {
    /// A forms authentication ticket from JSON (the shape `decode forms-ticket` prints; name
    /// is required; issued defaults to now, expires to 30 minutes later); prints the cookie
    /// value.
    FormsTicket {
        /// The web.config holding the machineKey.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The ticket as JSON (`-`: stdin).
        #[arg(long, value_name = "FILE")]
        json: PathBuf,
        /// Accept a machineKey with a weak algorithm (MD5, SHA1, DES, 3DES).
        #[arg(long)]
        allow_weak: bool,
    },
}

/// `keyward machine-key check`.
#[derive(Debug, Args)]
pub struct MachineKeyCheckArgs {
    /// The web.config files (every server's, or every app's that shares a login).
    #[arg(required = true, value_name = "WEB_CONFIG")]
    pub files: Vec<PathBuf>,
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `keyward machine-key bridge`.
#[derive(Debug, Args)]
pub struct MachineKeyBridgeArgs {
    /// The classic app's web.config (its machineKey reads the ticket).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The ASP.NET Core authentication scheme.
    #[arg(long, value_name = "NAME", default_value = "Cookies")]
    pub scheme: String,
    /// The ASP.NET Core cookie name.
    #[arg(long, value_name = "NAME", default_value = ".AspNetCore.Cookies")]
    pub cookie_name: String,
    /// Print JSON (the login carried over and the cookies) instead of name=value lines.
    #[arg(long)]
    pub json: bool,
    /// Accept a machineKey with a weak algorithm (MD5, SHA1, DES, 3DES).
    #[arg(long)]
    pub allow_weak: bool,
    /// The .ASPXAUTH value.
    #[arg(allow_hyphen_values = true)]
    pub value: String,
}

/// The platform data directory + `keyward/keys` (`~/.local/share/keyward/keys` on Linux).
pub fn default_keys_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("keyward")
        .join("keys")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_the_contract() {
        let cli = Cli::try_parse_from([
            "keyward",
            "--keys-dir",
            "/k",
            "--application-name",
            "A",
            "unprotect",
            "--purpose",
            "x",
            "--purpose",
            "y",
            "CfDJ8",
        ])
        .unwrap();
        assert_eq!(cli.global.keys_dir, PathBuf::from("/k"));
        let Command::Unprotect(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.purposes, ["x", "y"]);
        assert_eq!(args.payload.as_deref(), Some("CfDJ8"));
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains(&default_keys_dir().display().to_string()),
            "{help}"
        );
    }
}
