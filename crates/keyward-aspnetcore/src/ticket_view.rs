//! [`TicketView`]: a serialized ticket read without copying its strings, for the per-request
//! read path; [`TicketView::to_ticket`] makes the owned [`AuthenticationTicket`].
//!
//! Reading is the same whichever form is wanted: [`TicketSerializer::deserialize`] is this
//! view made owned, so both accept and refuse exactly the same bytes.
//!
//! [`TicketSerializer::deserialize`]: crate::TicketSerializer::deserialize
//!
//! The reader itself ([`TicketView::parse`]) is in `serializer/read.rs`, beside the writer.

use time::OffsetDateTime;

use crate::claims::{Claim, ClaimsIdentity, ClaimsPrincipal};
use crate::properties::{parse_rfc1123, AuthenticationProperties, EXPIRES_KEY, ISSUED_KEY};
use crate::ticket::AuthenticationTicket;

/// A ticket whose strings borrow from the serialized bytes (see
/// [`TicketView::parse`]). Cheap to build: a few vectors, no string copies.
///
/// ```
/// use keyward_aspnetcore::{
///     AuthenticationProperties, AuthenticationTicket, Claim, ClaimsIdentity, ClaimsPrincipal,
///     TicketSerializer, TicketView, NAME_CLAIM_TYPE,
/// };
/// let mut identity = ClaimsIdentity::new("Cookies");
/// identity.claims.push(Claim::new(NAME_CLAIM_TYPE, "alice"));
/// let ticket = AuthenticationTicket::new(
///     "Cookies",
///     ClaimsPrincipal::new(identity),
///     AuthenticationProperties::new(),
/// );
/// let bytes = TicketSerializer::serialize(&ticket)?;
/// let view = TicketView::parse(&bytes)?;
/// assert_eq!(view.name(), Some("alice"));
/// assert_eq!(view.to_ticket(), ticket);
/// # Ok::<(), keyward_aspnetcore::TicketError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TicketView<'a> {
    /// The authentication scheme.
    pub scheme: &'a str,
    /// The principal's identities, in order.
    pub identities: Vec<IdentityView<'a>>,
    /// The ticket's properties (`.issued`, `.expires`, …), in the order they were written.
    pub properties: Vec<(&'a str, &'a str)>,
}

/// A `ClaimsIdentity` of a [`TicketView`].
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityView<'a> {
    /// The authentication type (empty when none).
    pub authentication_type: &'a str,
    /// The claim type that holds the name.
    pub name_claim_type: &'a str,
    /// The claim type that holds roles.
    pub role_claim_type: &'a str,
    /// The bootstrap context, if any (never empty).
    pub bootstrap_context: Option<&'a str>,
    /// The identity acting for this one, if any.
    pub actor: Option<Box<IdentityView<'a>>>,
    /// The claims, in order.
    pub claims: Vec<ClaimView<'a>>,
}

/// A `Claim` of an [`IdentityView`].
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimView<'a> {
    /// The claim type.
    pub claim_type: &'a str,
    /// The value.
    pub value: &'a str,
    /// The value type.
    pub value_type: &'a str,
    /// The issuer.
    pub issuer: &'a str,
    /// The original issuer.
    pub original_issuer: &'a str,
    /// The claim's properties, in the order they were written (keys distinct).
    pub properties: Vec<(&'a str, &'a str)>,
}

impl std::fmt::Debug for TicketView<'_> {
    // Claims are personal data: only the scheme and the counts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketView")
            .field("scheme", &self.scheme)
            .field("identities", &self.identities.len())
            .field("claims", &self.claims().count())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for IdentityView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityView")
            .field("authentication_type", &self.authentication_type)
            .field("claims", &self.claims.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ClaimView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimView")
            .field("claim_type", &self.claim_type)
            .finish_non_exhaustive()
    }
}

impl<'a> TicketView<'a> {
    /// The first identity's name (its name claim), as .NET's `User.Identity.Name`.
    pub fn name(&self) -> Option<&'a str> {
        self.identities.first().and_then(IdentityView::name)
    }

    /// Every claim of every identity, in order (actors' claims excluded, as .NET).
    pub fn claims(&self) -> impl Iterator<Item = &ClaimView<'a>> {
        self.identities.iter().flat_map(|i| i.claims.iter())
    }

    /// The first claim of type `claim_type` in any identity (ASCII case ignored, as .NET).
    pub fn find_first(&self, claim_type: &str) -> Option<&ClaimView<'a>> {
        self.claims()
            .find(|c| c.claim_type.eq_ignore_ascii_case(claim_type))
    }

    /// The value of property `key`, if set.
    pub fn property(&self, key: &str) -> Option<&'a str> {
        self.properties
            .iter()
            .find(|(k, _)| *k == key)
            .map(|&(_, value)| value)
    }

    /// When the ticket was issued (`.issued`), if set and readable.
    pub fn issued_utc(&self) -> Option<OffsetDateTime> {
        self.property(ISSUED_KEY).and_then(parse_rfc1123)
    }

    /// When the ticket expires (`.expires`), if set and readable.
    pub fn expires_utc(&self) -> Option<OffsetDateTime> {
        self.property(EXPIRES_KEY).and_then(parse_rfc1123)
    }

    /// The owned ticket, every string copied.
    pub fn to_ticket(&self) -> AuthenticationTicket {
        let mut properties = AuthenticationProperties::new();
        for &(key, value) in &self.properties {
            properties.insert(key, value);
        }
        AuthenticationTicket {
            scheme: self.scheme.to_owned(),
            principal: ClaimsPrincipal {
                identities: self
                    .identities
                    .iter()
                    .map(IdentityView::to_identity)
                    .collect(),
            },
            properties,
        }
    }
}

impl<'a> IdentityView<'a> {
    /// The value of the first claim of the name claim type (ASCII case ignored, as .NET).
    pub fn name(&self) -> Option<&'a str> {
        self.claims
            .iter()
            .find(|c| c.claim_type.eq_ignore_ascii_case(self.name_claim_type))
            .map(|c| c.value)
    }

    /// The owned identity, every string copied.
    pub fn to_identity(&self) -> ClaimsIdentity {
        ClaimsIdentity {
            authentication_type: (!self.authentication_type.is_empty())
                .then(|| self.authentication_type.to_owned()),
            name_claim_type: self.name_claim_type.to_owned(),
            role_claim_type: self.role_claim_type.to_owned(),
            label: None,
            bootstrap_context: self.bootstrap_context.map(str::to_owned),
            actor: self.actor.as_ref().map(|a| Box::new(a.to_identity())),
            claims: self.claims.iter().map(ClaimView::to_claim).collect(),
        }
    }
}

impl ClaimView<'_> {
    /// The owned claim, every string copied.
    pub fn to_claim(&self) -> Claim {
        Claim {
            claim_type: self.claim_type.to_owned(),
            value: self.value.to_owned(),
            value_type: self.value_type.to_owned(),
            issuer: self.issuer.to_owned(),
            original_issuer: self.original_issuer.to_owned(),
            properties: self
                .properties
                .iter()
                .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }
}
