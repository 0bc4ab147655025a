//! The forms authentication ticket (`.ASPXAUTH`): `FormsAuthenticationTicket` in the
//! serialization every mode has used since MS11-100 (Dec 2011), and `FormsAuthentication`'s
//! `Encrypt`/`Decrypt` in both crypto modes (`protection="All"`, the default):
//!
//! * Framework45: `Protect(ticket, "FormsAuthentication.Ticket")`, uppercase hex;
//! * legacy: `EncryptOrDecryptData(ticket || HashData(ticket))`, uppercase hex.
//!
//! Decrypt accepts hex or UrlToken (cookieless), at most 4096 characters, as .NET does. The
//! pre-MS11-100 native format (`UseLegacyFormsAuthenticationTicketCompatibility`) is not read.

use time::OffsetDateTime;

use crate::encoding::{from_hex, upper_hex, url_token_decode};
#[cfg(doc)]
use crate::error::Error;
use crate::error::{MalformedError, Result, SettingError, TicketError};
use crate::framework45;
use crate::kdf::Purpose;
use crate::keys::MachineKeys;
use crate::legacy::{self, PrefixMode};

pub use crate::limits::MAX_TICKET_CHARS;

/// .NET ticks (100 ns since 0001-01-01 UTC) at the Unix epoch.
const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;

/// A `FormsAuthenticationTicket`. Holds personal data: do not log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormsAuthenticationTicket {
    /// `ticket.Version` (the developer's integer, truncated to a byte).
    pub version: u8,
    /// The user name.
    pub name: String,
    /// When it was issued, in .NET ticks (UTC).
    pub issue_utc_ticks: i64,
    /// When it expires, in .NET ticks (UTC).
    pub expiration_utc_ticks: i64,
    /// A persistent cookie (survives the browser session).
    pub is_persistent: bool,
    /// The application's user data.
    pub user_data: String,
    /// The cookie path.
    pub cookie_path: String,
}

impl FormsAuthenticationTicket {
    /// The issue time, if it is one `time` can represent.
    pub fn issued(&self) -> Option<OffsetDateTime> {
        ticks_to_time(self.issue_utc_ticks)
    }

    /// The expiration time, if it is one `time` can represent.
    pub fn expires(&self) -> Option<OffsetDateTime> {
        ticks_to_time(self.expiration_utc_ticks)
    }

    /// Whether the ticket has expired at `now` (.NET: `DateTime.UtcNow > ExpirationUtc`).
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        time_to_ticks(now).is_some_and(|now| now > self.expiration_utc_ticks)
    }

    /// `FormsAuthenticationTicketSerializer.Serialize`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a string longer than the format can carry.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(64 + 2 * (self.name.len() + self.user_data.len()));
        out.push(1);
        out.push(self.version);
        out.extend_from_slice(&self.issue_utc_ticks.to_le_bytes());
        out.push(0xFE);
        out.extend_from_slice(&self.expiration_utc_ticks.to_le_bytes());
        out.push(u8::from(self.is_persistent));
        for text in [&self.name, &self.user_data, &self.cookie_path] {
            let units: Vec<u16> = text.encode_utf16().collect();
            if units.len() > i32::MAX as usize / 2 {
                return Err(SettingError::TicketStringTooLong.into());
            }
            crate::kdf::write_7bit(&mut out, units.len());
            for unit in units {
                out.extend_from_slice(&unit.to_le_bytes());
            }
        }
        out.push(0xFF);
        Ok(out)
    }

    /// `FormsAuthenticationTicketSerializer.Deserialize`: every field checked, nothing after
    /// the footer. Unpaired UTF-16 surrogates (which .NET allows) read as U+FFFD.
    ///
    /// # Errors
    /// [`Error::InvalidContent`] saying which field is wrong.
    pub fn deserialize(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.byte("format version")? != 1 {
            return Err(TicketError::FormatVersion.into());
        }
        let version = reader.byte("version")?;
        let issue_utc_ticks = reader.i64("issue date")?;
        if reader.byte("spacer")? != 0xFE {
            return Err(TicketError::Spacer.into());
        }
        let expiration_utc_ticks = reader.i64("expiration date")?;
        let is_persistent = match reader.byte("persistence flag")? {
            0 => false,
            1 => true,
            _ => return Err(TicketError::PersistenceFlag.into()),
        };
        let name = reader.string("name")?;
        let user_data = reader.string("user data")?;
        let cookie_path = reader.string("cookie path")?;
        if reader.byte("footer")? != 0xFF {
            return Err(TicketError::Footer.into());
        }
        if reader.at != bytes.len() {
            return Err(TicketError::TrailingBytes.into());
        }
        for (ticks, field) in [
            (issue_utc_ticks, "issue date"),
            (expiration_utc_ticks, "expiration date"),
        ] {
            if !(0..=MAX_TICKS).contains(&ticks) {
                return Err(TicketError::DateOutOfRange { field }.into());
            }
        }
        Ok(Self {
            version,
            name,
            issue_utc_ticks,
            expiration_utc_ticks,
            is_persistent,
            user_data,
            cookie_path,
        })
    }
}

/// `DateTime.MaxValue.Ticks`.
const MAX_TICKS: i64 = 3_155_378_975_999_999_999;

/// .NET ticks as a time (`None` outside what `time` represents).
pub fn ticks_to_time(ticks: i64) -> Option<OffsetDateTime> {
    let nanos = (i128::from(ticks) - i128::from(UNIX_EPOCH_TICKS)) * 100;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// A time as .NET ticks (`None` before year 1 or after 9999).
pub fn time_to_ticks(time: OffsetDateTime) -> Option<i64> {
    let ticks = time.unix_timestamp_nanos() / 100 + i128::from(UNIX_EPOCH_TICKS);
    i64::try_from(ticks)
        .ok()
        .filter(|t| (0..=MAX_TICKS).contains(t))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&[u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(TicketError::Truncated { field })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.take(1, field)?[0])
    }

    fn i64(&mut self, field: &'static str) -> Result<i64> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(self.take(8, field)?);
        Ok(i64::from_le_bytes(raw))
    }

    /// A 7-bit-encoded char count and that many UTF-16LE code units.
    fn string(&mut self, field: &'static str) -> Result<String> {
        let mut count: u32 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte(field)?;
            count |= u32::from(b & 0x7F).checked_shl(shift).unwrap_or(0);
            if shift == 28 && b > 0x07 {
                return Err(TicketError::LengthOutOfRange { field }.into());
            }
            if b & 0x80 == 0 {
                break;
            }
        }
        let bytes_len = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(2))
            .ok_or(TicketError::LengthOutOfRange { field })?;
        let raw = self.take(bytes_len, field)?;
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        Ok(String::from_utf16_lossy(&units))
    }
}

/// `FormsAuthentication.Encrypt`: the cookie value (uppercase hex) in the keys' mode.
///
/// # Errors
/// [`Error::InvalidArgument`] when the keys do not work in their mode.
pub fn encrypt(keys: &MachineKeys, ticket: &FormsAuthenticationTicket) -> Result<String> {
    let serialized = ticket.serialize()?;
    let protected = if keys.mode().is_legacy() {
        let signed = legacy::sign(keys, &serialized, &[]);
        legacy::encrypt(keys, &signed, &[], PrefixMode::Random)?
    } else {
        framework45::protect(
            keys,
            &Purpose::new(Purpose::FORMS_TICKET, Vec::new()),
            &serialized,
        )?
    };
    Ok(upper_hex(&protected))
}

/// `FormsAuthentication.Decrypt`: reads hex (the cookie) or UrlToken (cookieless) in the
/// keys' mode, checks every MAC and parses the ticket. It does not check expiry: see
/// [`FormsAuthenticationTicket::is_expired_at`].
///
/// # Errors
/// [`Error::Malformed`] for a value in neither encoding or too long; [`Error::InvalidPayload`]
/// for other keys or mode, or an altered value; [`Error::InvalidContent`] for a ticket that
/// does not parse.
pub fn decrypt(keys: &MachineKeys, value: &str) -> Result<FormsAuthenticationTicket> {
    let value = value.trim();
    if value.is_empty() {
        return Err(MalformedError::EmptyTicket.into());
    }
    if value.len() > MAX_TICKET_CHARS {
        return Err(MalformedError::TicketTooLong { len: value.len() }.into());
    }
    let bytes = from_hex(value)
        .or_else(|| url_token_decode(value))
        .ok_or(MalformedError::TicketEncoding)?;
    let serialized = if keys.mode().is_legacy() {
        let signed = legacy::decrypt(keys, &bytes, &[])?;
        legacy::verify(keys, &signed, &[])?.to_vec()
    } else {
        framework45::unprotect(
            keys,
            &Purpose::new(Purpose::FORMS_TICKET, Vec::new()),
            &bytes,
        )?
    };
    FormsAuthenticationTicket::deserialize(&serialized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> FormsAuthenticationTicket {
        FormsAuthenticationTicket {
            version: 2,
            name: "ålice".into(),
            issue_utc_ticks: 638_000_000_000_000_000,
            expiration_utc_ticks: 638_000_036_000_000_000,
            is_persistent: true,
            user_data: "roles=admin".into(),
            cookie_path: "/".into(),
        }
    }

    #[test]
    fn serialization_round_trips_and_refuses_trailing_bytes() {
        let bytes = ticket().serialize().unwrap();
        assert_eq!(
            FormsAuthenticationTicket::deserialize(&bytes).unwrap(),
            ticket()
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(FormsAuthenticationTicket::deserialize(&longer).is_err());
        for cut in 0..bytes.len() {
            assert!(FormsAuthenticationTicket::deserialize(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn ticks_convert() {
        let t = ticks_to_time(UNIX_EPOCH_TICKS).unwrap();
        assert_eq!(t, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(time_to_ticks(t), Some(UNIX_EPOCH_TICKS));
        assert_eq!(ticks_to_time(0).unwrap().year(), 1);
    }
}
