//! Classic ASP.NET `<machineKey>` for web farms and migrations: generate explicit keys, read
//! and check `web.config` files, and read and make what the keys protect — forms
//! authentication tickets (`.ASPXAUTH`), ViewState, `MachineKey.Protect` output and resource
//! URLs — in both crypto modes (Framework45 and the legacy Framework20SP1/SP2), outside IIS.
//!
//! The layouts are those of `docs/spec/machinekey.md`, checked against
//! the known-answer vectors in `testdata/vectors/legacy-machinekey.json`.
//!
//! ```
//! use keyward_machinekey::{forms_ticket, CompatibilityMode, FormsAuthenticationTicket, MachineKeys};
//! let keys = MachineKeys::from_hex(
//!     "HMACSHA256", &"AB".repeat(64), "AES", &"CD".repeat(32), CompatibilityMode::Framework45,
//! )?;
//! let ticket = FormsAuthenticationTicket {
//!     version: 2, name: "alice".into(), issue_utc_ticks: 638_000_000_000_000_000,
//!     expiration_utc_ticks: 638_000_036_000_000_000, is_persistent: false,
//!     user_data: String::new(), cookie_path: "/".into(),
//! };
//! let cookie = forms_ticket::encrypt(&keys, &ticket)?;
//! assert_eq!(forms_ticket::decrypt(&keys, &cookie)?, ticket);
//! # Ok::<(), keyward_machinekey::Error>(())
//! ```
//!
//! Every MAC is checked in constant time before anything is decrypted or parsed; every
//! input is bounded and no input panics. Keys are [`keyward::Secret`]s (zeroized, never
//! printed). The primitives are RustCrypto's (`aes`, `des`, `cbc`, `hmac`, `sha1`, `sha2`,
//! `md-5`); nothing is hand-rolled.

#![forbid(unsafe_code)]

mod algorithms;
pub mod check;
pub mod config;
pub mod encoding;
mod error;
pub mod forms_ticket;
pub mod framework45;
mod generate;
mod kdf;
mod keys;
pub mod legacy;
mod limits;
pub mod login;
mod names;
mod primitives;
pub mod resource;
pub mod viewstate;

pub use algorithms::{Framework, MachineKeyDecryption, MachineKeyValidation};
pub use config::{KeySetting, MachineKeyConfig};
pub use error::{
    ConfigError, ContentError, Error, MalformedError, Result, SettingError, TicketError,
    Unrecognized,
};
pub use forms_ticket::FormsAuthenticationTicket;
pub use generate::MachineKey;
pub use kdf::{derive_key, Purpose};
pub use keys::{parse_decryption, CompatibilityMode, MachineKeys};
pub use login::LoginParts;
