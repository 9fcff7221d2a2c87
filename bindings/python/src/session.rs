//! `trust.SessionTokens` (short-lived `tst1.` bearer tokens), `trust.AccessControl` and
//! `trust.RateLimiter`: the per-request checks of a multi-tenant app.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pyo3::prelude::*;
use trust_core::access::{self, Principal, Resource, Roles};
use trust_core::clock::{Clock, FixedClock, SystemClock};
use trust_core::keyring;
use trust_core::ratelimit::{MemoryLimiter, Quota, RateLimitError, RateLimiter as _};
use trust_core::token::{Expect, TokenRequest, Tokens};

use crate::errors::{core, invalid};
use crate::home::native_home;

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SessionTokens>()?;
    m.add_class::<Claims>()?;
    m.add_class::<AccessControl>()?;
    m.add_class::<RateLimiter>()?;
    Ok(())
}

fn clock_at(now: Option<i64>) -> Box<dyn Clock> {
    match now {
        Some(t) => Box::new(FixedClock::at_unix(t)),
        None => Box::new(SystemClock),
    }
}

/// Issues and verifies session tokens (`tst1.…`, HMAC under a keyring of the home).
#[pyclass(frozen, module = "trust")]
pub(crate) struct SessionTokens {
    tokens: Tokens<Arc<keyring::Home>>,
}

/// A verified token's claims.
#[pyclass(frozen, get_all, module = "trust")]
pub(crate) struct Claims {
    tenant: String,
    scopes: Vec<String>,
    audience: Option<String>,
    issued_at: i64,
    expires_at: i64,
    id: String,
    keyring: String,
    version: u32,
}

#[pymethods]
impl Claims {
    fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    fn __repr__(&self) -> String {
        format!(
            "<trust.Claims tenant={:?} scopes={:?} expires_at={}>",
            self.tenant, self.scopes, self.expires_at
        )
    }
}

#[pymethods]
impl SessionTokens {
    #[new]
    fn new(home: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            tokens: Tokens::new(Arc::clone(&native_home(home)?.get().inner)),
        })
    }

    /// A token for `tenant` with `scopes`, valid `ttl` seconds (at most a day), MACed under
    /// keyring `keyring`'s Primary. `now` (Unix seconds) is for tests.
    #[pyo3(signature = (keyring, tenant, scopes, *, ttl, audience=None, now=None))]
    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        py: Python<'_>,
        keyring: &str,
        tenant: String,
        scopes: Vec<String>,
        ttl: u64,
        audience: Option<String>,
        now: Option<i64>,
    ) -> PyResult<String> {
        let mut req = TokenRequest::new(tenant, scopes, Duration::from_secs(ttl));
        if let Some(a) = audience {
            req = req.audience(a);
        }
        let clock = clock_at(now);
        let token = py
            .detach(|| self.tokens.issue(keyring, &req, &*clock))
            .map_err(core)?;
        Ok(token.expose().to_owned())
    }

    /// Verifies `token`: its MAC, its time window, and — when given — its tenant and a scope
    /// it must carry (give both or neither) and its audience. Raises `VerificationError`
    /// (`TOKEN_EXPIRED`, `TOKEN_WRONG_TENANT`, …) otherwise.
    #[pyo3(signature = (token, *, tenant=None, scope=None, audience=None, leeway=None, now=None))]
    #[allow(clippy::too_many_arguments)]
    fn verify(
        &self,
        py: Python<'_>,
        token: &str,
        tenant: Option<String>,
        scope: Option<String>,
        audience: Option<String>,
        leeway: Option<u64>,
        now: Option<i64>,
    ) -> PyResult<Claims> {
        let mut expect = match (tenant, scope) {
            (Some(t), Some(s)) => Expect::new(t, s),
            (None, None) => Expect::any_tenant_any_scope(),
            _ => return Err(invalid("give both tenant= and scope=, or neither")),
        };
        if let Some(a) = audience {
            expect = expect.audience(a);
        }
        if let Some(l) = leeway {
            expect = expect.leeway(Duration::from_secs(l));
        }
        let clock = clock_at(now);
        let c = py
            .detach(|| self.tokens.verify(token, &expect, &*clock))
            .map_err(core)?;
        Ok(Claims {
            tenant: c.tenant,
            scopes: c.scopes,
            audience: c.audience,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
            id: c.id,
            keyring: c.key_ref.keyring.to_string(),
            version: c.key_ref.version,
        })
    }
}

/// Tenant-scoped access control: roles as data, per-member overrides, deny by default.
/// Thread-safe.
#[pyclass(frozen, module = "trust")]
pub(crate) struct AccessControl {
    inner: Mutex<access::AccessControl>,
}

impl AccessControl {
    fn with<T>(&self, f: impl FnOnce(&mut access::AccessControl) -> T) -> T {
        // A panic cannot leave the table half-changed (every change is one insert/remove).
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[pymethods]
impl AccessControl {
    /// With `roles_json` (`{"owner": ["*"], "agent": ["tickets.*"]}`), or the standard
    /// owner/admin/agent table.
    #[new]
    #[pyo3(signature = (roles_json=None))]
    fn new(roles_json: Option<&str>) -> PyResult<Self> {
        let roles = match roles_json {
            Some(json) => Roles::from_json(json).map_err(core)?,
            None => Roles::standard(),
        };
        Ok(Self {
            inner: Mutex::new(access::AccessControl::new(roles)),
        })
    }

    /// Adds `member` to `tenant` with `roles` (roles are added to an existing member's).
    fn add_member(&self, tenant: &str, member: &str, roles: Vec<String>) -> PyResult<()> {
        self.with(|acl| acl.add_member(tenant, member, roles.iter().map(String::as_str)))
            .map_err(core)
    }

    /// Removes `member` from `tenant` (no-op when absent).
    fn remove_member(&self, tenant: &str, member: &str) {
        self.with(|acl| acl.remove_member(tenant, member));
    }

    /// Takes `role` away from the member.
    fn revoke_role(&self, tenant: &str, member: &str, role: &str) {
        self.with(|acl| acl.revoke_role(tenant, member, role));
    }

    /// Grants the member `pattern` (`tickets.reply`, `tickets.*`, `*`) beyond their roles.
    fn allow(&self, tenant: &str, member: &str, pattern: &str) -> PyResult<()> {
        self.with(|acl| acl.allow(tenant, member, pattern))
            .map_err(core)
    }

    /// Denies the member `pattern`, whatever their roles say.
    fn deny(&self, tenant: &str, member: &str, pattern: &str) -> PyResult<()> {
        self.with(|acl| acl.deny(tenant, member, pattern))
            .map_err(core)
    }

    /// Raises `RefusedError` (`ACCESS_CROSS_TENANT`, `ACCESS_NO_PERMISSION`, …) unless
    /// (`tenant`, `member`) may do `action` on the resource (`resource_tenant`, `kind`, `id`).
    fn authorize(
        &self,
        tenant: &str,
        member: &str,
        action: &str,
        resource_tenant: &str,
        kind: &str,
        id: &str,
    ) -> PyResult<()> {
        let who = Principal::new(tenant, member);
        let what = Resource::new(resource_tenant, kind, id);
        self.with(|acl| acl.authorize(&who, action, &what))
            .map_err(core)
    }

    /// As `authorize`, as a bool.
    fn is_allowed(
        &self,
        tenant: &str,
        member: &str,
        action: &str,
        resource_tenant: &str,
        kind: &str,
        id: &str,
    ) -> bool {
        let who = Principal::new(tenant, member);
        let what = Resource::new(resource_tenant, kind, id);
        self.with(|acl| acl.authorize(&who, action, &what).is_ok())
    }
}

/// A GCRA rate limiter per (tenant, route), in memory. Thread-safe.
#[pyclass(frozen, module = "trust")]
pub(crate) struct RateLimiter {
    inner: MemoryLimiter<Arc<dyn Clock>>,
}

#[pymethods]
impl RateLimiter {
    /// `rate` requests per `period` seconds sustained, bursts of `burst` (default `rate`).
    /// `now` pins the clock (Unix seconds) for tests.
    #[new]
    #[pyo3(signature = (rate, *, period=1.0, burst=None, now=None))]
    fn new(rate: u32, period: f64, burst: Option<u32>, now: Option<i64>) -> PyResult<Self> {
        let period = Duration::try_from_secs_f64(period)
            .map_err(|_| invalid("period must be a positive number of seconds"))?;
        let mut quota = Quota::per(rate, period).map_err(core)?;
        if let Some(b) = burst {
            quota = quota.burst(b).map_err(core)?;
        }
        let clock: Arc<dyn Clock> = match now {
            Some(t) => Arc::new(FixedClock::at_unix(t)),
            None => Arc::new(SystemClock),
        };
        Ok(Self {
            inner: MemoryLimiter::new(quota, clock),
        })
    }

    /// Spends `cost` of (tenant, route)'s budget; returns 0.0 when admitted, else the seconds
    /// to wait before the same request would pass (nothing spent). Raises `UsageError`
    /// when `cost` exceeds the burst (it never would pass).
    #[pyo3(signature = (tenant, route, cost=1))]
    fn check(&self, tenant: &str, route: &str, cost: u32) -> PyResult<f64> {
        match self.inner.check(tenant, route, cost) {
            Ok(()) => Ok(0.0),
            Err(RateLimitError::Limited { retry_after }) => Ok(retry_after.as_secs_f64()),
            Err(e) => Err(core(e)),
        }
    }
}
