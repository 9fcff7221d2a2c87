//! Loading a module once per process, finding the token, and a pool of logged-in sessions that
//! heals itself.
//!
//! A PKCS#11 module is initialized once per process (`C_Initialize` a second time fails), so
//! contexts are shared through a process-wide registry keyed by module path. A `Session` may be
//! used by one thread at a time (cryptoki makes it `Send` but not `Sync`), so each operation
//! takes a session out of a small pool and puts it back; a pool that is empty opens one more.
//! Login state belongs to the application, not the session: logging in once logs every session
//! in, and `CKR_USER_ALREADY_LOGGED_IN` is success.
//!
//! ## Recovery
//!
//! Sessions die: the token is pulled and re-inserted, another part of the process calls
//! `C_Finalize`, `C_Logout` or `C_CloseAllSessions`, an HSM restarts. An operation that fails
//! because its session or login is gone is retried once on a fresh session:
//!
//! * *login lost* (`CKR_USER_NOT_LOGGED_IN`, or the key handle vanished because private objects
//!   are hidden again): log in on the same session, find the key again, retry;
//! * *session lost* (`CKR_SESSION_HANDLE_INVALID`, `CKR_SESSION_CLOSED`, `CKR_DEVICE_REMOVED`,
//!   `CKR_TOKEN_NOT_PRESENT`, `CKR_CRYPTOKI_NOT_INITIALIZED`): forget the session (it is never
//!   closed: its handle number may already belong to a new session), re-initialize the module
//!   if needed, find the token's slot again (it may have moved), open, log in, retry.
//!
//! Re-initializing takes an exclusive lock per module and bumps an *epoch*; pooled sessions from
//! an older epoch are forgotten unused, so a stale handle number can never reach a session
//! another thread opened after the reset. A token that looks absent when a key is opened is
//! also worth one reload: SoftHSM keeps a torn view of a token whose files another process
//! rewrote (every login rewrites them) until the module is re-initialized.
//!
//! This crate therefore *owns* each module it loads in its process: it may finalize and
//! re-initialize it. Code that drives the same module through another PKCS#11 binding in the
//! same process must not run concurrently with it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use secrecy::ExposeSecret as _;

use crate::error::Pkcs11Error;
use crate::uri::Pkcs11Uri;

/// Most idle sessions kept per key (more are closed when returned).
const MAX_IDLE: usize = 16;

/// One loaded module: its context and the epoch of its current initialization.
///
/// The epoch lock is per *module*, not per key: a reset finalizes every session of the process
/// on that module, so every key's pooled sessions must be forgotten, and no operation of any
/// key may be in flight while it happens.
pub(crate) struct Module {
    ctx: Pkcs11,
    epoch: RwLock<u64>,
}

fn poisoned() -> Pkcs11Error {
    Pkcs11Error::Device {
        reason: "a PKCS#11 lock is poisoned".into(),
    }
}

impl Module {
    fn epoch(&self) -> Result<u64, Pkcs11Error> {
        self.epoch.read().map(|e| *e).map_err(|_| poisoned())
    }

    /// Finalizes and re-initializes the module, unless another thread already did since
    /// epoch `seen`. Waits for every operation on the module to finish first.
    fn reset(&self, seen: u64) -> Result<(), Pkcs11Error> {
        let mut epoch = self.epoch.write().map_err(|_| poisoned())?;
        if *epoch == seen {
            // Already finalized (the reason we are here) is fine.
            let _ = self.ctx.clone().finalize();
            initialize(&self.ctx).map_err(|e| Pkcs11Error::from_ck(&e))?;
            *epoch += 1;
        }
        Ok(())
    }
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Arc<Module>>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Arc<Module>>>> = OnceLock::new();
    MODULES.get_or_init(Mutex::default)
}

fn initialize(ctx: &Pkcs11) -> Result<(), CkError> {
    // OS locking: the module serializes itself with native mutexes, as our threads expect.
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The process-wide module at `path`, loading and initializing it once.
pub(crate) fn module(path: &Path) -> Result<Arc<Module>, Pkcs11Error> {
    let mut modules = registry().lock().map_err(|_| poisoned())?;
    if let Some(m) = modules.get(path) {
        return Ok(Arc::clone(m));
    }
    let load_err = |e: &CkError| Pkcs11Error::ModuleLoad {
        reason: format!("{}: {e}", path.display()),
    };
    if !path.is_file() {
        return Err(Pkcs11Error::ModuleLoad {
            reason: format!("{}: no such file", path.display()),
        });
    }
    let ctx = Pkcs11::new(path).map_err(|e| load_err(&e))?;
    initialize(&ctx).map_err(|e| load_err(&e))?;
    let m = Arc::new(Module {
        ctx,
        epoch: RwLock::new(0),
    });
    modules.insert(path.to_path_buf(), Arc::clone(&m));
    Ok(m)
}

/// How an operation failed, for the retry decision.
enum Loss {
    Login,
    Session,
    NotInitialized,
}

fn loss(e: &CkError) -> Option<Loss> {
    let CkError::Pkcs11(rv, _) = e else {
        return None;
    };
    Some(match rv {
        RvError::UserNotLoggedIn | RvError::KeyHandleInvalid | RvError::ObjectHandleInvalid => {
            Loss::Login
        }
        RvError::SessionHandleInvalid
        | RvError::SessionClosed
        | RvError::DeviceRemoved
        | RvError::TokenNotPresent => Loss::Session,
        RvError::CryptokiNotInitialized => Loss::NotInitialized,
        _ => return None,
    })
}

/// Generates the key in a read-write, logged-in session when it is absent.
pub(crate) type CreateKey<'a> = dyn Fn(&Session) -> Result<ObjectHandle, Pkcs11Error> + 'a;

struct Pooled {
    session: Session,
    key: ObjectHandle,
    epoch: u64,
}

/// A failed operation: either the token could not be reached (already classified) or the
/// operation itself failed (the caller decides what the return value means).
pub(crate) enum OpError {
    Token(Pkcs11Error),
    Op(CkError),
}

/// One key in one token, with its pool of sessions.
pub(crate) struct TokenKey {
    module: Arc<Module>,
    ctx: Pkcs11,
    uri: Pkcs11Uri,
    pin: AuthPin,
    /// Finds the key in a logged-in session (the class and key type differ per use).
    template: Vec<Attribute>,
    pool: Mutex<Vec<Pooled>>,
    operations: AtomicU64,
}

impl TokenKey {
    /// Loads the module, finds the token, logs in and finds the key (or creates it with
    /// `create` when absent and `create` is given).
    pub(crate) fn open(
        uri: &Pkcs11Uri,
        pin: AuthPin,
        template: Vec<Attribute>,
        create: Option<&CreateKey<'_>>,
    ) -> Result<Self, Pkcs11Error> {
        let module = module(&uri.module_path)?;
        let token = Self {
            ctx: module.ctx.clone(),
            module,
            uri: uri.clone(),
            pin,
            template,
            pool: Mutex::default(),
            operations: AtomicU64::new(0),
        };
        // A token that looks absent or fails oddly may be a stale or torn view of it (see
        // `slot`): reload the module and try again, a few times with a back-off.
        let mut delay = Duration::from_millis(20);
        let mut attempt = 0;
        loop {
            let seen = token.module.epoch()?;
            match token.connect(create) {
                Ok(()) => return Ok(token),
                Err(e @ (Pkcs11Error::TokenAbsent | Pkcs11Error::Device { .. })) => {
                    attempt += 1;
                    if attempt > 4 {
                        return Err(e);
                    }
                    token.module.reset(seen)?;
                    std::thread::sleep(delay);
                    delay *= 2;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Finds the slot, creates the key if asked and absent, and pools a first session.
    fn connect(&self, create: Option<&CreateKey<'_>>) -> Result<(), Pkcs11Error> {
        // Held throughout: a reset by another key must not finalize the module under us.
        let epoch = self.module.epoch.read().map_err(|_| poisoned())?;
        let slot = self.slot()?;
        if let Some(create) = create {
            // Key generation needs a read-write session; it is closed again right after.
            let session = self
                .ctx
                .open_rw_session(slot)
                .map_err(|e| Pkcs11Error::from_ck(&e))?;
            self.login(&session)?;
            match self.find_key(&session) {
                Ok(_) => {}
                Err(Pkcs11Error::KeyAbsent) => {
                    create(&session)?;
                }
                Err(e) => return Err(e),
            }
        }
        let first = self.open_session(*epoch)?;
        self.put(first);
        Ok(())
    }

    /// The URI this key was opened from.
    pub(crate) fn uri(&self) -> &Pkcs11Uri {
        &self.uri
    }

    /// How many cryptographic operations were sent to the token (retries included).
    pub(crate) fn operations(&self) -> u64 {
        self.operations.load(Ordering::Relaxed)
    }

    /// The slot holding the token the URI names, waiting briefly for one that is absent.
    ///
    /// A token can vanish for a moment: a re-inserted USB token takes a moment to appear, and
    /// SoftHSM answers `CKR_GENERAL_ERROR` to `C_GetTokenInfo` (or leaves the slot out) when
    /// it read the token's files while another process rewrote them — a state that lasts
    /// until the module is re-initialized. So an absent token is looked for again with a short
    /// back-off here, and callers re-initialize the module once before reporting it absent.
    fn slot(&self) -> Result<Slot, Pkcs11Error> {
        let mut delay = Duration::from_millis(10);
        for _ in 0..3 {
            match self.find_slot() {
                Err(Pkcs11Error::TokenAbsent) => std::thread::sleep(delay),
                other => return other,
            }
            delay *= 2;
        }
        self.find_slot()
    }

    /// The slot holding the token the URI names; exactly one must match.
    fn find_slot(&self) -> Result<Slot, Pkcs11Error> {
        let slots = self
            .ctx
            .get_slots_with_token()
            .map_err(|e| Pkcs11Error::from_ck(&e))?;
        let mut found = None;
        for slot in slots {
            if let Some(id) = self.uri.slot_id {
                if slot.id() != id {
                    continue;
                }
            }
            let Ok(info) = self.ctx.get_token_info(slot) else {
                continue;
            };
            let matches = |want: &Option<String>, got: &str| {
                want.as_deref().is_none_or(|w| w == got.trim_end())
            };
            if matches(&self.uri.token, info.label())
                && matches(&self.uri.serial, info.serial_number())
                && matches(&self.uri.manufacturer, info.manufacturer_id())
                && matches(&self.uri.model, info.model())
            {
                if found.is_some() {
                    return Err(Pkcs11Error::Ambiguous);
                }
                found = Some(slot);
            }
        }
        found.ok_or(Pkcs11Error::TokenAbsent)
    }

    fn login(&self, session: &Session) -> Result<(), Pkcs11Error> {
        if self.pin.expose_secret().is_empty() {
            return Err(Pkcs11Error::NoPin);
        }
        match session.login(UserType::User, Some(&self.pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(e) => Err(Pkcs11Error::from_ck(&e)),
        }
    }

    /// The one object matching the template in a logged-in session.
    pub(crate) fn find_key(&self, session: &Session) -> Result<ObjectHandle, Pkcs11Error> {
        let found = session
            .find_objects(&self.template)
            .map_err(|e| Pkcs11Error::from_ck(&e))?;
        match found.as_slice() {
            [] => Err(Pkcs11Error::KeyAbsent),
            [one] => Ok(*one),
            _ => Err(Pkcs11Error::Ambiguous),
        }
    }

    fn open_session(&self, epoch: u64) -> Result<Pooled, Pkcs11Error> {
        let slot = self.slot()?;
        // Not closed on drop: a session we give up on after a loss may share its handle number
        // with a live one; only sessions known good are closed (see `Drop`).
        let session = self
            .ctx
            .open_ro_session_no_drop(slot)
            .map_err(|e| Pkcs11Error::from_ck(&e))?;
        let ready = self.login(&session).and_then(|()| self.find_key(&session));
        match ready {
            Ok(key) => Ok(Pooled {
                session,
                key,
                epoch,
            }),
            Err(e) => {
                let _ = session.close();
                Err(e)
            }
        }
    }

    fn take(&self, epoch: u64) -> Result<Pooled, Pkcs11Error> {
        let idle = self.pool.lock().ok().and_then(|mut p| p.pop());
        match idle {
            Some(p) if p.epoch == epoch => Ok(p),
            // From before a reset: its handle is meaningless now; forget it.
            Some(_) | None => self.open_session(epoch),
        }
    }

    fn put(&self, pooled: Pooled) {
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < MAX_IDLE {
                pool.push(pooled);
                return;
            }
        }
        let _ = pooled.session.close();
    }

    /// Runs `op` on a pooled session with the key's handle, healing a lost login, session or
    /// module once (see the module docs).
    pub(crate) fn run<T>(
        &self,
        op: impl Fn(&Session, ObjectHandle) -> Result<T, CkError>,
    ) -> Result<T, OpError> {
        let mut healed = false;
        loop {
            // `Some(epoch)`: the module must be reset (seen at `epoch`) before the retry.
            let reset = {
                let epoch_guard = self
                    .module
                    .epoch
                    .read()
                    .map_err(|_| OpError::Token(poisoned()))?;
                let epoch = *epoch_guard;
                let mut pooled = match self.take(epoch) {
                    Ok(p) => p,
                    Err(Pkcs11Error::TokenAbsent) if !healed => {
                        drop(epoch_guard);
                        self.module.reset(epoch).map_err(OpError::Token)?;
                        healed = true;
                        continue;
                    }
                    Err(e) => return Err(OpError::Token(e)),
                };
                self.operations.fetch_add(1, Ordering::Relaxed);
                match op(&pooled.session, pooled.key) {
                    Ok(v) => {
                        self.put(pooled);
                        return Ok(v);
                    }
                    Err(e) => match (loss(&e), healed) {
                        (None, _) => {
                            self.put(pooled);
                            return Err(OpError::Op(e));
                        }
                        (Some(_), true) => {
                            // Still lost after one reopen: report the token as gone.
                            return Err(OpError::Token(Pkcs11Error::from_ck(&e)));
                        }
                        (Some(Loss::Login), false) => {
                            self.login(&pooled.session).map_err(OpError::Token)?;
                            pooled.key = self.find_key(&pooled.session).map_err(OpError::Token)?;
                            self.put(pooled);
                            None
                        }
                        // Forget the dead session (no close: see `open_session`).
                        (Some(Loss::Session), false) => None,
                        (Some(Loss::NotInitialized), false) => Some(epoch),
                    },
                }
            };
            if let Some(seen) = reset {
                self.module.reset(seen).map_err(OpError::Token)?;
            }
            healed = true;
        }
    }
}

impl Drop for TokenKey {
    fn drop(&mut self) {
        let epoch = self.module.epoch().unwrap_or(u64::MAX);
        if let Ok(mut pool) = self.pool.lock() {
            for p in pool.drain(..) {
                if p.epoch == epoch {
                    let _ = p.session.close();
                }
            }
        }
    }
}
