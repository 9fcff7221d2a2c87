//! `SessionTokens`, `AccessControl` and `RateLimiter`: the per-request checks of a
//! multi-tenant app.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use napi::Result;
use napi_derive::napi;
use trust_core::access::{self, Principal, Resource, Roles};
use trust_core::clock::{Clock, FixedClock, SystemClock};
use trust_core::keyring;
use trust_core::ratelimit::{MemoryLimiter, Quota, RateLimitError, RateLimiter as _};
use trust_core::token::{Expect, TokenRequest, Tokens};

use crate::{Home, core, invalid};

fn clock_at(now: Option<i64>) -> Box<dyn Clock> {
    match now {
        Some(t) => Box::new(FixedClock::at_unix(t)),
        None => Box::new(SystemClock),
    }
}

fn non_negative(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| invalid(&format!("{what} must be >= 0")))
}

/// Options of `SessionTokens.issue`.
#[napi(object)]
pub struct IssueOptions {
    /// Lifetime in seconds (at most a day).
    pub ttl: i64,
    pub audience: Option<String>,
    /// Unix seconds (tests).
    pub now: Option<i64>,
}

/// Options of `SessionTokens.verify`: `tenant` and `scope` together or neither.
#[napi(object)]
pub struct ExpectOptions {
    pub tenant: Option<String>,
    pub scope: Option<String>,
    pub audience: Option<String>,
    /// Clock skew allowed, seconds (default 30, at most 300).
    pub leeway: Option<i64>,
    /// Unix seconds (tests).
    pub now: Option<i64>,
}

/// A verified token's claims.
#[napi(object)]
pub struct Claims {
    pub tenant: String,
    pub scopes: Vec<String>,
    pub audience: Option<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub id: String,
    pub keyring: String,
    pub version: u32,
}

/// Issues and verifies session tokens (`tst1.…`, HMAC under a keyring of the home).
#[napi]
pub struct SessionTokens {
    tokens: Tokens<Arc<keyring::Home>>,
}

#[napi]
impl SessionTokens {
    #[napi(constructor)]
    pub fn new(home: &Home) -> Self {
        Self {
            tokens: Tokens::new(Arc::clone(&home.inner)),
        }
    }

    /// A token for `tenant` with `scopes`, MACed under keyring `keyring`'s Primary.
    #[napi]
    pub fn issue(
        &self,
        keyring: String,
        tenant: String,
        scopes: Vec<String>,
        options: IssueOptions,
    ) -> Result<String> {
        let ttl = non_negative(options.ttl, "ttl")?;
        let mut req = TokenRequest::new(tenant, scopes, Duration::from_secs(ttl));
        if let Some(a) = options.audience {
            req = req.audience(a);
        }
        let token = self
            .tokens
            .issue(&keyring, &req, &*clock_at(options.now))
            .map_err(core)?;
        Ok(token.expose().to_owned())
    }

    /// Verifies `token` (MAC, time window, and the tenant/scope/audience given); throws a
    /// `VerificationError` (`TOKEN_EXPIRED`, `TOKEN_WRONG_TENANT`, …) otherwise.
    #[napi]
    pub fn verify(&self, token: String, options: Option<ExpectOptions>) -> Result<Claims> {
        let o = options.unwrap_or(ExpectOptions {
            tenant: None,
            scope: None,
            audience: None,
            leeway: None,
            now: None,
        });
        let mut expect = match (o.tenant, o.scope) {
            (Some(t), Some(s)) => Expect::new(t, s),
            (None, None) => Expect::any_tenant_any_scope(),
            _ => return Err(invalid("give both tenant and scope, or neither")),
        };
        if let Some(a) = o.audience {
            expect = expect.audience(a);
        }
        if let Some(l) = o.leeway {
            expect = expect.leeway(Duration::from_secs(non_negative(l, "leeway")?));
        }
        let c = self
            .tokens
            .verify(&token, &expect, &*clock_at(o.now))
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

/// The resource a request touches.
#[napi(object)]
pub struct ResourceRef {
    pub tenant: String,
    pub kind: String,
    pub id: String,
}

/// Tenant-scoped access control: roles as data, per-member overrides, deny by default.
#[napi]
pub struct AccessControl {
    inner: Mutex<access::AccessControl>,
}

impl AccessControl {
    fn with<T>(&self, f: impl FnOnce(&mut access::AccessControl) -> T) -> T {
        // Every change is one insert or remove: a panic cannot leave it half-done.
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[napi]
impl AccessControl {
    /// With a role table as JSON (`{"owner": ["*"], "agent": ["tickets.*"]}`), or the
    /// standard owner/admin/agent table.
    #[napi(constructor)]
    pub fn new(roles_json: Option<String>) -> Result<Self> {
        let roles = match roles_json {
            Some(json) => Roles::from_json(&json).map_err(core)?,
            None => Roles::standard(),
        };
        Ok(Self {
            inner: Mutex::new(access::AccessControl::new(roles)),
        })
    }

    #[napi]
    pub fn add_member(&self, tenant: String, member: String, roles: Vec<String>) -> Result<()> {
        self.with(|acl| acl.add_member(&tenant, &member, roles.iter().map(String::as_str)))
            .map_err(core)
    }

    #[napi]
    pub fn remove_member(&self, tenant: String, member: String) {
        self.with(|acl| acl.remove_member(&tenant, &member));
    }

    #[napi]
    pub fn revoke_role(&self, tenant: String, member: String, role: String) {
        self.with(|acl| acl.revoke_role(&tenant, &member, &role));
    }

    #[napi]
    pub fn allow(&self, tenant: String, member: String, pattern: String) -> Result<()> {
        self.with(|acl| acl.allow(&tenant, &member, &pattern))
            .map_err(core)
    }

    #[napi]
    pub fn deny(&self, tenant: String, member: String, pattern: String) -> Result<()> {
        self.with(|acl| acl.deny(&tenant, &member, &pattern))
            .map_err(core)
    }

    /// Throws a `RefusedError` (`ACCESS_CROSS_TENANT`, `ACCESS_NO_PERMISSION`, …) unless
    /// (`tenant`, `member`) may do `action` on `resource`.
    #[napi]
    pub fn authorize(
        &self,
        tenant: String,
        member: String,
        action: String,
        resource: ResourceRef,
    ) -> Result<()> {
        let who = Principal::new(tenant, member);
        let what = Resource::new(resource.tenant, resource.kind, resource.id);
        self.with(|acl| acl.authorize(&who, &action, &what))
            .map_err(core)
    }
}

/// Options of `new RateLimiter(rate, options)`.
#[napi(object)]
pub struct QuotaOptions {
    /// Seconds per `rate` requests (default 1).
    pub period: Option<f64>,
    /// Largest burst (default `rate`).
    pub burst: Option<u32>,
    /// Pins the clock (Unix seconds), for tests.
    pub now: Option<i64>,
}

/// A GCRA rate limiter per (tenant, route), in memory.
#[napi]
pub struct RateLimiter {
    inner: MemoryLimiter<Arc<dyn Clock>>,
}

#[napi]
impl RateLimiter {
    #[napi(constructor)]
    pub fn new(rate: u32, options: Option<QuotaOptions>) -> Result<Self> {
        let (period, burst, now) = options.map_or((1.0, None, None), |o| {
            (o.period.unwrap_or(1.0), o.burst, o.now)
        });
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

    /// Spends `cost` (default 1); returns 0 when admitted, else the seconds to wait (nothing
    /// spent). Throws when `cost` exceeds the burst.
    #[napi]
    pub fn check(&self, tenant: String, route: String, cost: Option<u32>) -> Result<f64> {
        match self.inner.check(&tenant, &route, cost.unwrap_or(1)) {
            Ok(()) => Ok(0.0),
            Err(RateLimitError::Limited { retry_after }) => Ok(retry_after.as_secs_f64()),
            Err(e) => Err(core(e)),
        }
    }
}
