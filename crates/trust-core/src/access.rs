//! Tenant-scoped access control: roles as data, per-member overrides, deny by default.
//!
//! Every request a connector app serves is made by a [`Principal`] (a member of one tenant) and
//! touches a [`Resource`] owned by one tenant. [`AccessControl::authorize`] is the single check
//! to run on every request:
//!
//! ```
//! use trust_core::access::{AccessControl, Principal, Resource, Roles};
//!
//! let mut acl = AccessControl::new(Roles::standard());
//! acl.add_member("acme", "alice", ["agent"])?;
//! acl.add_member("globex", "bob", ["owner"])?;
//!
//! let alice = Principal::new("acme", "alice");
//! let ticket = Resource::new("acme", "ticket", "42");
//! assert!(acl.authorize(&alice, "tickets.reply", &ticket).is_ok());
//! assert!(acl.authorize(&alice, "billing.update", &ticket).is_err()); // not an agent's job
//!
//! // An owner of globex is nobody in acme.
//! let bob = Principal::new("globex", "bob");
//! assert!(acl.authorize(&bob, "tickets.reply", &ticket).is_err());
//! # Ok::<(), trust_core::access::AccessError>(())
//! ```
//!
//! ## The rules, in the order they are applied
//!
//! 1. **Tenant isolation.** If the principal's tenant is not the resource's tenant, the answer
//!    is [`Denied::CrossTenant`] — before roles or overrides are even looked at, so no role, no
//!    allow-override and no wildcard can grant it. There is no "super-admin across tenants" in
//!    this model; platform operators act through their own tooling.
//! 2. **Membership.** A principal that is not a member of its tenant is denied.
//! 3. **Deny overrides** on the member win over everything else.
//! 4. **Allow overrides** on the member, then the permissions of the member's roles.
//! 5. **Deny by default.**
//!
//! ## Roles and actions are data
//!
//! An action is a dotted name such as `tickets.reply` or `billing.update`. A permission is an
//! action, a prefix wildcard (`tickets.*` matches `tickets.reply` and `tickets.notes.add`), or
//! `*`. [`Roles`] maps role names to permissions and can be loaded from JSON
//! (`{"owner": ["*"], "agent": ["tickets.*"]}`), so an app changes what "admin" means without a
//! release. [`Roles::standard`] is the default owner/admin/agent table of docs/access-control.md.

use core::fmt;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::error::{Category, TrustError};

/// Longest tenant id, member id, role name, action or resource field, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// Who is asking: a member of one tenant (typically from a verified session token).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Principal {
    /// The tenant the principal authenticated into.
    pub tenant: String,
    /// The member's id within that tenant.
    pub member: String,
}

impl Principal {
    /// Member `member` of tenant `tenant`.
    pub fn new(tenant: impl Into<String>, member: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            member: member.into(),
        }
    }
}

/// What is being acted on: a record owned by one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Resource {
    /// The owning tenant.
    pub tenant: String,
    /// The kind of record (`ticket`, `credential`, `order`…), for logs.
    pub kind: String,
    /// The record id, for logs.
    pub id: String,
}

impl Resource {
    /// Record `id` of kind `kind`, owned by `tenant`.
    pub fn new(tenant: impl Into<String>, kind: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            kind: kind.into(),
            id: id.into(),
        }
    }
}

/// Role names mapped to permissions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    roles: BTreeMap<String, Permissions>,
}

/// The standard table: owners may do anything in their tenant; admins everything but billing
/// and ownership transfer; agents work tickets and conversations and read customers.
const STANDARD: &[(&str, &[&str])] = &[
    ("owner", &["*"]),
    (
        "admin",
        &[
            "members.*",
            "settings.*",
            "credentials.*",
            "tickets.*",
            "conversations.*",
            "customers.*",
            "audit.read",
        ],
    ),
    ("agent", &["tickets.*", "conversations.*", "customers.read"]),
];

impl Roles {
    /// No roles at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The owner/admin/agent table documented in docs/access-control.md.
    pub fn standard() -> Self {
        let mut roles = Self::empty();
        for (name, perms) in STANDARD {
            // The table above is valid by construction (and tested).
            let _ = roles.define(name, perms.iter().copied());
        }
        roles
    }

    /// Defines (or redefines) `role` with `permissions`.
    ///
    /// # Errors
    /// [`AccessError::InvalidName`] for a bad role name or permission pattern.
    pub fn define<'a>(
        &mut self,
        role: &str,
        permissions: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), AccessError> {
        check_name(role)?;
        let mut set = Permissions::default();
        for p in permissions {
            set.add(p)?;
        }
        self.roles.insert(role.to_owned(), set);
        Ok(())
    }

    /// True when `role` is defined.
    pub fn contains(&self, role: &str) -> bool {
        self.roles.contains_key(role)
    }

    /// Loads a table from JSON: an object of role name → array of permissions.
    ///
    /// # Errors
    /// [`AccessError::InvalidRoles`] when the JSON has another shape, [`AccessError::InvalidName`]
    /// for a bad name or pattern.
    pub fn from_json(json: &str) -> Result<Self, AccessError> {
        let table: BTreeMap<String, Vec<String>> =
            serde_json::from_str(json).map_err(|_| AccessError::InvalidRoles)?;
        let mut roles = Self::empty();
        for (name, perms) in &table {
            roles.define(name, perms.iter().map(String::as_str))?;
        }
        Ok(roles)
    }

    fn allows(&self, role: &str, action: &str) -> bool {
        self.roles.get(role).is_some_and(|p| p.matches(action))
    }
}

/// A set of permission patterns: exact actions, `prefix.*` wildcards, or `*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Permissions {
    any: bool,
    exact: BTreeSet<String>,
    /// Prefixes *with* their trailing dot (`tickets.`).
    prefixes: BTreeSet<String>,
}

impl Permissions {
    fn add(&mut self, pattern: &str) -> Result<(), AccessError> {
        if pattern == "*" {
            self.any = true;
        } else if let Some(prefix) = pattern.strip_suffix(".*") {
            check_action(prefix)?;
            self.prefixes.insert(format!("{prefix}."));
        } else {
            check_action(pattern)?;
            self.exact.insert(pattern.to_owned());
        }
        Ok(())
    }

    fn remove(&mut self, pattern: &str) {
        if pattern == "*" {
            self.any = false;
        } else if let Some(prefix) = pattern.strip_suffix(".*") {
            self.prefixes.remove(&format!("{prefix}."));
        } else {
            self.exact.remove(pattern);
        }
    }

    fn matches(&self, action: &str) -> bool {
        self.any
            || self.exact.contains(action)
            || self.prefixes.iter().any(|p| action.starts_with(p.as_str()))
    }
}

#[derive(Clone, Debug, Default)]
struct Member {
    roles: BTreeSet<String>,
    allow: Permissions,
    deny: Permissions,
}

/// Tenants, their members, and the role table: everything [`Self::authorize`] decides on.
#[derive(Clone, Debug, Default)]
pub struct AccessControl {
    roles: Roles,
    /// tenant → member → membership. Memberships exist only inside a tenant: the same member
    /// id in two tenants is two unrelated memberships.
    tenants: HashMap<String, HashMap<String, Member>>,
}

impl AccessControl {
    /// An empty directory using `roles`.
    pub fn new(roles: Roles) -> Self {
        Self {
            roles,
            tenants: HashMap::new(),
        }
    }

    /// The role table.
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// Adds `member` to `tenant` (creating the tenant) with `roles`, or adds the roles to an
    /// existing membership.
    ///
    /// # Errors
    /// [`AccessError::InvalidName`], or [`AccessError::UnknownRole`] for a role not in the table.
    pub fn add_member<'a>(
        &mut self,
        tenant: &str,
        member: &str,
        roles: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), AccessError> {
        check_name(tenant)?;
        check_name(member)?;
        let roles: Vec<&str> = roles.into_iter().collect();
        for r in &roles {
            if !self.roles.contains(r) {
                return Err(AccessError::UnknownRole);
            }
        }
        let m = self
            .tenants
            .entry(tenant.to_owned())
            .or_default()
            .entry(member.to_owned())
            .or_default();
        m.roles.extend(roles.into_iter().map(str::to_owned));
        Ok(())
    }

    /// Removes `member` from `tenant` with all its roles and overrides.
    pub fn remove_member(&mut self, tenant: &str, member: &str) {
        if let Some(t) = self.tenants.get_mut(tenant) {
            t.remove(member);
        }
    }

    /// Takes `role` away from a member.
    pub fn revoke_role(&mut self, tenant: &str, member: &str, role: &str) {
        if let Some(m) = self.member_mut(tenant, member) {
            m.roles.remove(role);
        }
    }

    /// Lets one member do `pattern` (an action, `prefix.*` or `*`) in its own tenant, whatever
    /// its roles say — unless a deny override also matches.
    ///
    /// # Errors
    /// [`AccessError::UnknownMember`], [`AccessError::InvalidName`].
    pub fn allow(&mut self, tenant: &str, member: &str, pattern: &str) -> Result<(), AccessError> {
        let m = self
            .member_mut(tenant, member)
            .ok_or(AccessError::UnknownMember)?;
        m.deny.remove(pattern);
        m.allow.add(pattern)
    }

    /// Forbids one member `pattern`, whatever its roles and allow overrides say.
    ///
    /// # Errors
    /// [`AccessError::UnknownMember`], [`AccessError::InvalidName`].
    pub fn deny(&mut self, tenant: &str, member: &str, pattern: &str) -> Result<(), AccessError> {
        let m = self
            .member_mut(tenant, member)
            .ok_or(AccessError::UnknownMember)?;
        m.allow.remove(pattern);
        m.deny.add(pattern)
    }

    fn member_mut(&mut self, tenant: &str, member: &str) -> Option<&mut Member> {
        self.tenants.get_mut(tenant)?.get_mut(member)
    }

    /// May `principal` do `action` on `resource`? `Ok(())` only when a rule grants it.
    ///
    /// # Errors
    /// [`Denied`], saying which rule refused (for logs; show users a generic "forbidden").
    pub fn authorize(
        &self,
        principal: &Principal,
        action: &str,
        resource: &Resource,
    ) -> Result<(), Denied> {
        // Rule 1 first, and on its own: nothing below can override it.
        if principal.tenant != resource.tenant {
            return Err(Denied::CrossTenant);
        }
        if check_action(action).is_err() {
            return Err(Denied::InvalidAction);
        }
        let member = self
            .tenants
            .get(&principal.tenant)
            .and_then(|t| t.get(&principal.member))
            .ok_or(Denied::NotAMember)?;
        if member.deny.matches(action) {
            return Err(Denied::Override);
        }
        if member.allow.matches(action) || member.roles.iter().any(|r| self.roles.allows(r, action))
        {
            return Ok(());
        }
        Err(Denied::NoPermission)
    }
}

fn check_name(s: &str) -> Result<(), AccessError> {
    if !s.is_empty() && s.len() <= MAX_NAME_LEN && s.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(AccessError::InvalidName)
    }
}

/// An action: dot-separated segments of `[a-z0-9_-]`, no empty segment.
fn check_action(s: &str) -> Result<(), AccessError> {
    let ok = !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(AccessError::InvalidName)
    }
}

/// Why [`AccessControl::authorize`] refused.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// The resource belongs to another tenant than the principal's.
    CrossTenant,
    /// The principal is not a member of its tenant.
    NotAMember,
    /// A deny override on the member matches the action.
    Override,
    /// No role or allow override grants the action.
    NoPermission,
    /// The action name is not well-formed.
    InvalidAction,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CrossTenant => "access denied: the resource belongs to another tenant",
            Self::NotAMember => "access denied: not a member of this tenant",
            Self::Override => "access denied by a per-member override",
            Self::NoPermission => "access denied: no role grants this action",
            Self::InvalidAction => "access denied: malformed action name",
        })
    }
}

impl std::error::Error for Denied {}

impl TrustError for Denied {
    fn category(&self) -> Category {
        Category::Refused
    }
    fn code(&self) -> &'static str {
        match self {
            Self::CrossTenant => "ACCESS_CROSS_TENANT",
            Self::NotAMember => "ACCESS_NOT_A_MEMBER",
            Self::Override => "ACCESS_DENIED_OVERRIDE",
            Self::NoPermission => "ACCESS_NO_PERMISSION",
            Self::InvalidAction => "ACCESS_INVALID_ACTION",
        }
    }
}

/// A change to the directory or role table was invalid.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessError {
    /// A tenant, member or role name, action or pattern is empty, too long or has bad bytes.
    InvalidName,
    /// The role is not in the role table.
    UnknownRole,
    /// No such member in that tenant.
    UnknownMember,
    /// The role table JSON is not an object of string arrays.
    InvalidRoles,
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidName => "invalid tenant, member, role or action name",
            Self::UnknownRole => "no such role in the role table",
            Self::UnknownMember => "no such member in that tenant",
            Self::InvalidRoles => "the role table must be a JSON object of string arrays",
        })
    }
}

impl std::error::Error for AccessError {}

impl TrustError for AccessError {
    fn category(&self) -> Category {
        Category::Usage
    }
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidName => "ACCESS_INVALID_NAME",
            Self::UnknownRole => "ACCESS_UNKNOWN_ROLE",
            Self::UnknownMember => "ACCESS_UNKNOWN_MEMBER",
            Self::InvalidRoles => "ACCESS_INVALID_ROLES",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn acl() -> AccessControl {
        let mut acl = AccessControl::new(Roles::standard());
        acl.add_member("acme", "olga", ["owner"]).unwrap();
        acl.add_member("acme", "adam", ["admin"]).unwrap();
        acl.add_member("acme", "alice", ["agent"]).unwrap();
        acl.add_member("globex", "gary", ["owner"]).unwrap();
        acl
    }

    fn r(tenant: &str) -> Resource {
        Resource::new(tenant, "ticket", "1")
    }

    #[test]
    fn standard_roles() {
        let acl = acl();
        let p = |m: &str| Principal::new("acme", m);
        let table = [
            ("olga", "billing.update", true),
            ("olga", "anything.at.all", true),
            ("adam", "members.invite", true),
            ("adam", "credentials.rotate", true),
            ("adam", "billing.update", false),
            ("adam", "audit.read", true),
            ("adam", "audit.export", false),
            ("alice", "tickets.reply", true),
            ("alice", "tickets.notes.add", true),
            ("alice", "customers.read", true),
            ("alice", "customers.delete", false),
            ("alice", "credentials.read", false),
            ("alice", "ticketsx.reply", false),
        ];
        for (m, action, ok) in table {
            assert_eq!(
                acl.authorize(&p(m), action, &r("acme")).is_ok(),
                ok,
                "{m} {action}"
            );
        }
    }

    #[test]
    fn cross_tenant_is_refused_first() {
        let mut acl = acl();
        acl.allow("globex", "gary", "*").unwrap();
        let gary = Principal::new("globex", "gary");
        assert_eq!(
            acl.authorize(&gary, "tickets.read", &r("acme")),
            Err(Denied::CrossTenant)
        );
        // Even a malformed action gets the cross-tenant answer (rule 1 comes first).
        assert_eq!(
            acl.authorize(&gary, "", &r("acme")),
            Err(Denied::CrossTenant)
        );
        // The same member id in two tenants are two memberships.
        acl.add_member("globex", "alice", ["owner"]).unwrap();
        let alice_g = Principal::new("globex", "alice");
        assert_eq!(
            acl.authorize(&alice_g, "tickets.read", &r("acme")),
            Err(Denied::CrossTenant)
        );
        assert!(
            acl.authorize(&alice_g, "billing.update", &r("globex"))
                .is_ok()
        );
    }

    #[test]
    fn overrides_and_default_deny() {
        let mut acl = acl();
        let alice = Principal::new("acme", "alice");
        assert_eq!(
            acl.authorize(&alice, "reports.read", &r("acme")),
            Err(Denied::NoPermission)
        );
        acl.allow("acme", "alice", "reports.read").unwrap();
        assert!(acl.authorize(&alice, "reports.read", &r("acme")).is_ok());
        acl.deny("acme", "alice", "tickets.delete").unwrap();
        assert_eq!(
            acl.authorize(&alice, "tickets.delete", &r("acme")),
            Err(Denied::Override)
        );
        assert!(acl.authorize(&alice, "tickets.reply", &r("acme")).is_ok());
        // Deny wins over allow on the same member; a later allow replaces the deny.
        acl.allow("acme", "alice", "*").unwrap();
        acl.deny("acme", "alice", "billing.*").unwrap();
        assert_eq!(
            acl.authorize(&alice, "billing.update", &r("acme")),
            Err(Denied::Override)
        );
        acl.allow("acme", "alice", "billing.*").unwrap();
        assert!(acl.authorize(&alice, "billing.update", &r("acme")).is_ok());
        // Removal.
        acl.remove_member("acme", "alice");
        assert_eq!(
            acl.authorize(&alice, "tickets.reply", &r("acme")),
            Err(Denied::NotAMember)
        );
        let adam = Principal::new("acme", "adam");
        acl.revoke_role("acme", "adam", "admin");
        assert_eq!(
            acl.authorize(&adam, "members.invite", &r("acme")),
            Err(Denied::NoPermission)
        );
        assert_eq!(
            acl.authorize(&Principal::new("nowhere", "x"), "a", &r("nowhere")),
            Err(Denied::NotAMember)
        );
    }

    #[test]
    fn roles_are_data() {
        let roles =
            Roles::from_json(r#"{"owner":["*"],"viewer":["tickets.read","reports.*"]}"#).unwrap();
        let mut acl = AccessControl::new(roles);
        acl.add_member("acme", "v", ["viewer"]).unwrap();
        let v = Principal::new("acme", "v");
        assert!(
            acl.authorize(&v, "reports.monthly.read", &r("acme"))
                .is_ok()
        );
        assert!(acl.authorize(&v, "tickets.reply", &r("acme")).is_err());
        assert_eq!(
            acl.add_member("acme", "w", ["agent"]),
            Err(AccessError::UnknownRole)
        );
        for bad in [
            r#"{"x":"*"}"#,
            "[]",
            r#"{"x":["Tickets.read"]}"#,
            r#"{"x":["a..b"]}"#,
        ] {
            assert!(Roles::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_inputs() {
        let mut acl = acl();
        assert_eq!(
            acl.add_member("", "m", ["owner"]),
            Err(AccessError::InvalidName)
        );
        assert_eq!(
            acl.add_member("t", "a b", ["owner"]),
            Err(AccessError::InvalidName)
        );
        assert_eq!(
            acl.allow("acme", "nobody", "x"),
            Err(AccessError::UnknownMember)
        );
        assert_eq!(
            acl.deny("acme", "alice", "x.*.y"),
            Err(AccessError::InvalidName)
        );
        let alice = Principal::new("acme", "alice");
        assert_eq!(
            acl.authorize(&alice, "Tickets.reply", &r("acme")),
            Err(Denied::InvalidAction)
        );
        assert_eq!(Denied::CrossTenant.category().exit_code(), 5);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Add(usize, usize, usize),
        Allow(usize, usize, usize),
        Deny(usize, usize, usize),
        Define(usize, usize),
        Remove(usize, usize),
    }

    const TENANTS: [&str; 3] = ["a", "b", "c"];
    const MEMBERS: [&str; 3] = ["m1", "m2", "shared"];
    const ROLES: [&str; 4] = ["owner", "admin", "agent", "custom"];
    const PATTERNS: [&str; 6] = [
        "*",
        "tickets.*",
        "tickets.read",
        "billing.update",
        "a.b.*",
        "x",
    ];

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..3usize, 0..3usize, 0..4usize).prop_map(|(t, m, r)| Op::Add(t, m, r)),
            (0..3usize, 0..3usize, 0..6usize).prop_map(|(t, m, p)| Op::Allow(t, m, p)),
            (0..3usize, 0..3usize, 0..6usize).prop_map(|(t, m, p)| Op::Deny(t, m, p)),
            (0..4usize, 0..6usize).prop_map(|(r, p)| Op::Define(r, p)),
            (0..3usize, 0..3usize).prop_map(|(t, m)| Op::Remove(t, m)),
        ]
    }

    proptest! {
        /// No sequence of grants lets a member of one tenant act on another tenant's resource,
        /// and the answer for a same-tenant request never depends on other tenants' data.
        #[test]
        fn no_grant_crosses_tenants(ops in proptest::collection::vec(op(), 0..40)) {
            let mut roles = Roles::standard();
            roles.define("custom", []).unwrap();
            let mut acl = AccessControl::new(roles);
            for op in &ops {
                let _ = match *op {
                    Op::Add(t, m, r) => acl.add_member(TENANTS[t], MEMBERS[m], [ROLES[r]]),
                    Op::Allow(t, m, p) => acl.allow(TENANTS[t], MEMBERS[m], PATTERNS[p]),
                    Op::Deny(t, m, p) => acl.deny(TENANTS[t], MEMBERS[m], PATTERNS[p]),
                    Op::Define(r, p) => {
                        let mut roles = acl.roles.clone();
                        roles.define(ROLES[r], [PATTERNS[p]]).unwrap();
                        acl.roles = roles;
                        Ok(())
                    }
                    Op::Remove(t, m) => { acl.remove_member(TENANTS[t], MEMBERS[m]); Ok(()) }
                };
            }
            for pt in TENANTS {
                for rt in TENANTS {
                    if pt == rt { continue; }
                    for m in MEMBERS {
                        for action in ["tickets.read", "billing.update", "x", "a.b.c", "members.invite"] {
                            prop_assert_eq!(
                                acl.authorize(&Principal::new(pt, m), action, &Resource::new(rt, "k", "1")),
                                Err(Denied::CrossTenant)
                            );
                        }
                    }
                }
            }
        }
    }
}
