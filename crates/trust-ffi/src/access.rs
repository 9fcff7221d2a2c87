//! Tenant-scoped access control: roles as data, per-member overrides, deny by default.
//!
//! A `trust_access` is trust-core's `access::AccessControl`: a role table (role → action
//! patterns such as `tickets.*`), members per tenant with their roles, and per-member allow and
//! deny overrides. `trust_access_authorize` answers "may this member of this tenant do this
//! action on this resource": never across tenants, never for a non-member, a deny override
//! beats everything, otherwise a role or an allow override must grant it. The refusal's code
//! says which rule refused (for logs; show users a generic "forbidden").

use std::sync::{Mutex, PoisonError};

use trust_core::access::{AccessControl, Principal, Resource, Roles};

use crate::boundary::{
    Failure, boundary, ffi_free, into_handle, try_out, try_ref, try_slices, try_str,
};
use crate::error::trust_error;
use crate::status::trust_status;

/// An access-control table.
///
/// Opaque; made by `trust_access_new`, freed by `trust_access_free`. Thread-safe: every
/// function may be called from any number of threads at once (changes are serialized).
#[allow(non_camel_case_types)]
pub struct trust_access {
    inner: Mutex<AccessControl>,
}

impl trust_access {
    fn with<T>(&self, f: impl FnOnce(&mut AccessControl) -> T) -> T {
        // Every change is one insert or remove: a panic cannot leave the table half-changed.
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Makes a table with the role table `roles_json` (`{"owner": ["*"], "agent": ["tickets.*"]}`),
/// or, for length 0, the standard one (owner: `*`; admin: members, settings, credentials,
/// tickets, conversations, customers and `audit.read`; agent: tickets, conversations and
/// `customers.read`; see docs/access-control.md).
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`ACCESS_INVALID_ROLES`, `ACCESS_INVALID_NAME`).
///
/// # Safety
/// `roles_json` points to `roles_json_len` readable bytes (NULL with 0); `access_out` points to
/// writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_access_new(
    roles_json: *const u8,
    roles_json_len: usize,
    access_out: *mut *mut trust_access,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let json = try_str!(roles_json, roles_json_len);
        let out = try_out!(access_out);
        let roles = if json.is_empty() {
            Roles::standard()
        } else {
            Roles::from_json(json)?
        };
        out.set(into_handle(trust_access {
            inner: Mutex::new(AccessControl::new(roles)),
        }));
        Ok(())
    })
}

/// Frees the table. NULL is a no-op.
///
/// # Safety
/// `access` is NULL or a live handle, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_access_free(access: *mut trust_access) {
    ffi_free!(access);
}

/// Adds `member` to `tenant` with `role_count` roles (`roles[i]`, each with its length; added
/// to an existing member's).
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`ACCESS_UNKNOWN_ROLE`, `ACCESS_INVALID_NAME`); the table
/// is then unchanged.
///
/// # Safety
/// `access` is a live handle; text pointers point to their lengths in readable bytes; `roles`
/// and `role_lens` point to `role_count` elements each (NULL when 0); `err_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_access_add_member(
    access: *const trust_access,
    tenant: *const u8,
    tenant_len: usize,
    member: *const u8,
    member_len: usize,
    roles: *const *const u8,
    role_lens: *const usize,
    role_count: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let access = try_ref!(access);
        let tenant = try_str!(tenant, tenant_len);
        let member = try_str!(member, member_len);
        let roles = try_slices!(roles, role_lens, role_count);
        let roles = roles
            .iter()
            .map(|r| core::str::from_utf8(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                Failure::new(
                    trust_status::TrustInvalidUtf8,
                    "INVALID_UTF8",
                    "a role is not valid UTF-8",
                )
            })?;
        access.with(|acl| acl.add_member(tenant, member, roles.iter().copied()))?;
        Ok(())
    })
}

/// What a member change does.
#[derive(Clone, Copy)]
enum Change {
    Remove,
    Revoke,
    Allow,
    Deny,
}

/// The body shared by the four member changes.
///
/// # Safety
/// As for `trust_access_remove_member`.
#[allow(clippy::too_many_arguments)] // the C parameters, pointer and length each
unsafe fn change(
    access: *const trust_access,
    tenant: *const u8,
    tenant_len: usize,
    member: *const u8,
    member_len: usize,
    arg: *const u8,
    arg_len: usize,
    what: Change,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let access = try_ref!(access);
        let tenant = try_str!(tenant, tenant_len);
        let member = try_str!(member, member_len);
        let arg = try_str!(arg, arg_len);
        access.with(|acl| match what {
            Change::Remove => {
                acl.remove_member(tenant, member);
                Ok(())
            }
            Change::Revoke => {
                acl.revoke_role(tenant, member, arg);
                Ok(())
            }
            Change::Allow => acl.allow(tenant, member, arg),
            Change::Deny => acl.deny(tenant, member, arg),
        })?;
        Ok(())
    })
}

/// Removes `member` from `tenant` (a no-op when absent).
///
/// # Safety
/// `access` is a live handle; text pointers point to their lengths in readable bytes; `err_out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_access_remove_member(
    access: *const trust_access,
    tenant: *const u8,
    tenant_len: usize,
    member: *const u8,
    member_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    // SAFETY: forwarded caller contract; no role argument (NULL with 0).
    unsafe {
        change(
            access,
            tenant,
            tenant_len,
            member,
            member_len,
            core::ptr::null(),
            0,
            Change::Remove,
            err_out,
        )
    }
}

/// Takes `role` away from the member (a no-op when they do not have it).
///
/// # Safety
/// As for `trust_access_remove_member`; `role` points to `role_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_access_revoke_role(
    access: *const trust_access,
    tenant: *const u8,
    tenant_len: usize,
    member: *const u8,
    member_len: usize,
    role: *const u8,
    role_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        change(
            access,
            tenant,
            tenant_len,
            member,
            member_len,
            role,
            role_len,
            Change::Revoke,
            err_out,
        )
    }
}

/// Grants the member `pattern` (`tickets.reply`, `tickets.*`, `*`) beyond their roles.
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`ACCESS_UNKNOWN_MEMBER`, `ACCESS_INVALID_NAME`).
///
/// # Safety
/// As for `trust_access_remove_member`; `pattern` points to `pattern_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_access_allow(
    access: *const trust_access,
    tenant: *const u8,
    tenant_len: usize,
    member: *const u8,
    member_len: usize,
    pattern: *const u8,
    pattern_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        change(
            access,
            tenant,
            tenant_len,
            member,
            member_len,
            pattern,
            pattern_len,
            Change::Allow,
            err_out,
        )
    }
}

/// Denies the member `pattern`, whatever their roles and allow overrides say.
///
/// Errors: as `trust_access_allow`.
///
/// # Safety
/// As for `trust_access_allow`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_access_deny(
    access: *const trust_access,
    tenant: *const u8,
    tenant_len: usize,
    member: *const u8,
    member_len: usize,
    pattern: *const u8,
    pattern_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        change(
            access,
            tenant,
            tenant_len,
            member,
            member_len,
            pattern,
            pattern_len,
            Change::Deny,
            err_out,
        )
    }
}

/// Returns `TRUST_OK` when member `member` of `tenant` may do `action` (`tickets.reply`) on the
/// resource (`resource_tenant`, `kind`, `id`), else `TRUST_REFUSED` with the rule that refused
/// as the code: `ACCESS_CROSS_TENANT`, `ACCESS_NOT_A_MEMBER`, `ACCESS_DENIED_OVERRIDE` (a deny),
/// `ACCESS_NO_PERMISSION`, `ACCESS_INVALID_ACTION`.
///
/// # Safety
/// `access` is a live handle; text pointers point to their lengths in readable bytes; `err_out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_access_authorize(
    access: *const trust_access,
    tenant: *const u8,
    tenant_len: usize,
    member: *const u8,
    member_len: usize,
    action: *const u8,
    action_len: usize,
    resource_tenant: *const u8,
    resource_tenant_len: usize,
    kind: *const u8,
    kind_len: usize,
    id: *const u8,
    id_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let access = try_ref!(access);
        let tenant = try_str!(tenant, tenant_len);
        let member = try_str!(member, member_len);
        let action = try_str!(action, action_len);
        let resource_tenant = try_str!(resource_tenant, resource_tenant_len);
        let kind = try_str!(kind, kind_len);
        let id = try_str!(id, id_len);
        let who = Principal::new(tenant, member);
        let what = Resource::new(resource_tenant, kind, id);
        access.with(|acl| acl.authorize(&who, action, &what))?;
        Ok(())
    })
}
