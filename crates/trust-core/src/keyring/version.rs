//! One key version's record and the keyring's policy: what the keyring file stores about each.

use serde::{Deserialize, Serialize};

use super::state::VersionState;

/// The policy a keyring enforces, stored (and authenticated) in its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Policy {
    /// Seals allowed per version before sealing is refused with
    /// [`crate::provider::KeyError::UsageLimitReached`] and a rotation is required.
    pub max_uses: u64,
    /// Age (seconds since promotion) after which [`super::Keyring::rotation_due`] says yes.
    /// `None`: no scheduled rotation.
    pub max_age_secs: Option<u64>,
    /// Seconds a Staged version must wait before it may be promoted, so every process has
    /// reloaded the keyring (and can decrypt under it) before anything is sealed under it.
    pub min_stage_secs: u64,
    /// Seconds between scheduling a destruction and being allowed to carry it out.
    pub destroy_grace_secs: u64,
}

impl Policy {
    /// 2^32 seals per version. The envelope derives a fresh key per message, so this is not a
    /// nonce-collision bound; it caps how much one version protects (NIST SP 800-38D's figure,
    /// the conservative one operators know).
    pub const DEFAULT_MAX_USES: u64 = 1 << 32;
}

impl Default for Policy {
    /// No scheduled rotation, no staging delay, no destroy grace (the Disabled state, which is
    /// reversible, is the grace period an operator controls explicitly).
    fn default() -> Self {
        Self {
            max_uses: Self::DEFAULT_MAX_USES,
            max_age_secs: None,
            min_stage_secs: 0,
            destroy_grace_secs: 0,
        }
    }
}

/// Everything the keyring file stores about one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct VersionRecord {
    /// The version number, from 1, never reused.
    pub version: u32,
    /// The life-cycle state.
    pub state: VersionState,
    /// When the version was created (Unix seconds).
    pub created_at: i64,
    /// When it became Primary, if ever.
    pub promoted_at: Option<i64>,
    /// When it stopped being Primary, if it was.
    pub demoted_at: Option<i64>,
    /// When it was last retired (Disabled).
    pub retired_at: Option<i64>,
    /// For PendingDestroy: the earliest time the destruction may be carried out.
    pub destroy_after: Option<i64>,
    /// When the material was erased.
    pub destroyed_at: Option<i64>,
    /// Whether the destruction was forced past the live-ciphertext guard.
    pub destroy_forced: bool,
    /// Seals reserved under this version: an upper bound on the messages sealed with it
    /// (blocks are reserved durably before use, so a crash over-counts, never under-counts).
    pub uses: u64,
    /// When a rewrap census reported that no ciphertext under this version remains.
    pub census_clear_at: Option<i64>,
    /// The version key wrapped by the root key (base64), `None` once destroyed.
    pub material: Option<String>,
    /// Ciphertexts that rewrap moved off this version and whose replacement the caller stored
    /// (format version 2; absent while zero). Compared with `uses` by the destroy guard.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub moved: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl VersionRecord {
    /// True when messages may still need this version: it counted more seals (`uses`, an upper
    /// bound) than rewrap moved off it (`moved`), and no explicit census cleared it.
    pub fn may_have_live_ciphertexts(&self) -> bool {
        self.uses > self.moved && self.census_clear_at.is_none()
    }

    /// Seals counted under this version that no rewrap has moved off it yet (an upper bound on
    /// the ciphertexts that still need it).
    pub fn unmoved(&self) -> u64 {
        self.uses.saturating_sub(self.moved)
    }
}
