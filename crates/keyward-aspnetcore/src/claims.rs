//! Claims, identities and principals: the parts of `System.Security.Claims` a login ticket
//! carries, with .NET's defaults.

use std::collections::BTreeMap;

/// `ClaimTypes.Name`: the default name claim type of an identity.
pub const NAME_CLAIM_TYPE: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";

/// `ClaimTypes.Role`: the default role claim type of an identity.
pub const ROLE_CLAIM_TYPE: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";

/// `ClaimTypes.NameIdentifier`: the usual user-id claim.
pub const NAME_IDENTIFIER_CLAIM_TYPE: &str =
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier";

/// `ClaimValueTypes.String`: the default value type of a claim.
pub const STRING_VALUE_TYPE: &str = "http://www.w3.org/2001/XMLSchema#string";

/// `ClaimsIdentity.DefaultIssuer`: the default issuer of a claim.
pub const DEFAULT_ISSUER: &str = "LOCAL AUTHORITY";

/// One statement about the subject (`System.Security.Claims.Claim`).
///
/// ```
/// use keyward_aspnetcore::{Claim, STRING_VALUE_TYPE};
/// let claim = Claim::new("permission", "orders:read");
/// assert_eq!(claim.value_type, STRING_VALUE_TYPE);
/// assert_eq!(claim.issuer, "LOCAL AUTHORITY");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The claim type (a URI such as [`NAME_CLAIM_TYPE`], or any string).
    pub claim_type: String,
    /// The value.
    pub value: String,
    /// The value's type ([`STRING_VALUE_TYPE`] unless set).
    pub value_type: String,
    /// Who issued it ([`DEFAULT_ISSUER`] unless set).
    pub issuer: String,
    /// Who issued it first (the issuer unless set).
    pub original_issuer: String,
    /// Extra properties. They are written in key order (.NET writes its dictionary's
    /// insertion order, which is the same for the usual single property).
    pub properties: BTreeMap<String, String>,
}

impl Claim {
    /// A claim with .NET's defaults: a string value issued by `LOCAL AUTHORITY`, no
    /// properties.
    pub fn new(claim_type: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            claim_type: claim_type.into(),
            value: value.into(),
            value_type: STRING_VALUE_TYPE.to_owned(),
            issuer: DEFAULT_ISSUER.to_owned(),
            original_issuer: DEFAULT_ISSUER.to_owned(),
            properties: BTreeMap::new(),
        }
    }

    /// The same claim with another issuer (the original issuer too, as .NET's constructor
    /// does when it is not given).
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self.original_issuer.clone_from(&self.issuer);
        self
    }

    /// The same claim with another value type.
    #[must_use]
    pub fn with_value_type(mut self, value_type: impl Into<String>) -> Self {
        self.value_type = value_type.into();
        self
    }
}

/// One identity of a principal (`System.Security.Claims.ClaimsIdentity`): how it was
/// authenticated and its claims.
///
/// ```
/// use keyward_aspnetcore::{Claim, ClaimsIdentity, NAME_CLAIM_TYPE};
/// let mut identity = ClaimsIdentity::new("Cookies");
/// identity.claims.push(Claim::new(NAME_CLAIM_TYPE, "alice"));
/// assert_eq!(identity.name(), Some("alice"));
/// assert!(identity.is_authenticated());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsIdentity {
    /// The authentication type (`None` is written as `""`, and `""` reads back as `None`).
    pub authentication_type: Option<String>,
    /// The claim type [`ClaimsIdentity::name`] looks for ([`NAME_CLAIM_TYPE`] by default).
    pub name_claim_type: String,
    /// The claim type of roles ([`ROLE_CLAIM_TYPE`] by default).
    pub role_claim_type: String,
    /// A label. The ticket format does not carry it (as in .NET): it is not serialized and is
    /// `None` after reading.
    pub label: Option<String>,
    /// A string bootstrap context. Only a non-empty one is serialized, as in .NET.
    pub bootstrap_context: Option<String>,
    /// The identity acting on this one's behalf (delegation), serialized recursively.
    pub actor: Option<Box<ClaimsIdentity>>,
    /// The claims, in order.
    pub claims: Vec<Claim>,
}

impl ClaimsIdentity {
    /// An identity with .NET's default name and role claim types and no claims.
    pub fn new(authentication_type: impl Into<String>) -> Self {
        Self {
            authentication_type: Some(authentication_type.into()),
            name_claim_type: NAME_CLAIM_TYPE.to_owned(),
            role_claim_type: ROLE_CLAIM_TYPE.to_owned(),
            label: None,
            bootstrap_context: None,
            actor: None,
            claims: Vec::new(),
        }
    }

    /// The value of the first claim of type [`ClaimsIdentity::name_claim_type`] (compared
    /// ignoring ASCII case, as .NET's `FindFirst`).
    pub fn name(&self) -> Option<&str> {
        self.find_first(&self.name_claim_type)
            .map(|c| c.value.as_str())
    }

    /// The first claim of type `claim_type` (ASCII case ignored, as .NET).
    pub fn find_first(&self, claim_type: &str) -> Option<&Claim> {
        self.claims
            .iter()
            .find(|c| c.claim_type.eq_ignore_ascii_case(claim_type))
    }

    /// Whether it has a role claim with value `role` (ordinal comparison, as .NET).
    pub fn has_role(&self, role: &str) -> bool {
        self.claims
            .iter()
            .any(|c| c.claim_type.eq_ignore_ascii_case(&self.role_claim_type) && c.value == role)
    }

    /// Whether it is authenticated: its authentication type is not empty (.NET's
    /// `IsAuthenticated`).
    pub fn is_authenticated(&self) -> bool {
        self.authentication_type
            .as_deref()
            .is_some_and(|t| !t.is_empty())
    }
}

/// The user: one or more identities (`System.Security.Claims.ClaimsPrincipal`).
///
/// ```
/// use keyward_aspnetcore::{Claim, ClaimsIdentity, ClaimsPrincipal, NAME_CLAIM_TYPE};
/// let mut identity = ClaimsIdentity::new("Cookies");
/// identity.claims.push(Claim::new(NAME_CLAIM_TYPE, "alice"));
/// let user = ClaimsPrincipal::new(identity);
/// assert_eq!(user.name(), Some("alice"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimsPrincipal {
    /// The identities, the primary one first.
    pub identities: Vec<ClaimsIdentity>,
}

impl ClaimsPrincipal {
    /// A principal with one identity.
    pub fn new(identity: ClaimsIdentity) -> Self {
        Self {
            identities: vec![identity],
        }
    }

    /// The primary identity: the first (.NET picks the first `ClaimsIdentity`).
    pub fn identity(&self) -> Option<&ClaimsIdentity> {
        self.identities.first()
    }

    /// The primary identity's name.
    pub fn name(&self) -> Option<&str> {
        self.identity().and_then(ClaimsIdentity::name)
    }

    /// Every claim of every identity, in order (actors' claims excluded, as .NET).
    pub fn claims(&self) -> impl Iterator<Item = &Claim> {
        self.identities.iter().flat_map(|i| i.claims.iter())
    }

    /// The first claim of type `claim_type` in any identity (ASCII case ignored).
    pub fn find_first(&self, claim_type: &str) -> Option<&Claim> {
        self.identities
            .iter()
            .find_map(|i| i.find_first(claim_type))
    }

    /// Whether any identity has the role `role`.
    pub fn is_in_role(&self, role: &str) -> bool {
        self.identities.iter().any(|i| i.has_role(role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_dotnets() {
        let claim = Claim::new("t", "v");
        assert_eq!(claim.original_issuer, DEFAULT_ISSUER);
        let claim = claim.with_issuer("https://idp");
        assert_eq!(claim.original_issuer, "https://idp");
        let id = ClaimsIdentity::new("Cookies");
        assert_eq!(id.name_claim_type, NAME_CLAIM_TYPE);
        assert_eq!(id.role_claim_type, ROLE_CLAIM_TYPE);
        assert_eq!(id.name(), None);
    }

    #[test]
    fn names_and_roles_follow_the_identitys_claim_types() {
        let mut id = ClaimsIdentity::new("Cookies");
        id.name_claim_type = "sub".into();
        id.role_claim_type = "role".into();
        id.claims.push(Claim::new(NAME_CLAIM_TYPE, "ignored"));
        id.claims.push(Claim::new("SUB", "alice"));
        id.claims.push(Claim::new("role", "admin"));
        assert_eq!(id.name(), Some("alice"));
        let user = ClaimsPrincipal::new(id);
        assert!(user.is_in_role("admin"));
        assert!(!user.is_in_role("Admin"));
        assert_eq!(user.claims().count(), 3);
    }

    #[test]
    fn an_empty_authentication_type_is_anonymous() {
        let mut id = ClaimsIdentity::new("");
        assert!(!id.is_authenticated());
        id.authentication_type = None;
        assert!(!id.is_authenticated());
    }
}
