//! What can go wrong between us and a token, in an operator's terms.

use core::fmt;

use cryptoki::error::{Error as CkError, RvError};
use trust_core::error::{Category, TrustError};
use trust_core::root::{BackendError, RootKeyError};

use crate::uri::UriError;

/// A PKCS#11 failure. Messages name the module, token or object and the PKCS#11 return value,
/// never a PIN.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pkcs11Error {
    /// The URI was refused.
    Uri(UriError),
    /// The module (shared library) could not be loaded or initialized.
    ModuleLoad {
        /// The module path and why.
        reason: String,
    },
    /// No token matching the URI is present.
    TokenAbsent,
    /// The PIN was not accepted.
    WrongPin,
    /// The PIN is locked (too many wrong attempts) or expired.
    PinLocked,
    /// No PIN was given (`TRUST_PKCS11_PIN` or a PIN file).
    NoPin,
    /// The key the URI names is not in the token.
    KeyAbsent,
    /// More than one object matches the URI.
    Ambiguous,
    /// The object exists but is unfit: extractable, not sensitive, not AES-256, not Ed25519.
    Unfit(&'static str),
    /// The token does not offer a mechanism this crate needs.
    Mechanism(&'static str),
    /// Any other PKCS#11 failure (device error, out of memory…), with the function and code.
    Device {
        /// What failed (`C_Encrypt: CKR_DEVICE_ERROR`).
        reason: String,
    },
}

impl Pkcs11Error {
    /// Classifies a cryptoki error raised while logging in or finding the token.
    pub(crate) fn from_ck(e: &CkError) -> Self {
        match e {
            CkError::LibraryLoading(_) => Self::ModuleLoad {
                reason: e.to_string(),
            },
            CkError::Pkcs11(rv, _) => match rv {
                RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange => {
                    Self::WrongPin
                }
                RvError::PinLocked | RvError::PinExpired => Self::PinLocked,
                RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::DeviceRemoved
                | RvError::SlotIdInvalid => Self::TokenAbsent,
                _ => Self::Device {
                    reason: e.to_string(),
                },
            },
            _ => Self::Device {
                reason: e.to_string(),
            },
        }
    }
}

impl fmt::Display for Pkcs11Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Uri(e) => e.fmt(f),
            Self::ModuleLoad { reason } => write!(f, "cannot load the PKCS#11 module: {reason}"),
            Self::TokenAbsent => f.write_str("no PKCS#11 token matching the URI is present"),
            Self::WrongPin => f.write_str("the PKCS#11 token did not accept the PIN"),
            Self::PinLocked => f.write_str("the PKCS#11 token's user PIN is locked or expired"),
            Self::NoPin => f.write_str("no PKCS#11 PIN was given"),
            Self::KeyAbsent => f.write_str("the PKCS#11 token holds no key matching the URI"),
            Self::Ambiguous => f.write_str("more than one PKCS#11 object matches the URI"),
            Self::Unfit(why) => write!(f, "the PKCS#11 key is not fit to be a root: {why}"),
            Self::Mechanism(m) => write!(f, "the PKCS#11 token does not support {m}"),
            Self::Device { reason } => write!(f, "the PKCS#11 token failed: {reason}"),
        }
    }
}

impl std::error::Error for Pkcs11Error {}

impl TrustError for Pkcs11Error {
    fn category(&self) -> Category {
        match self {
            Self::Uri(_) | Self::Ambiguous | Self::Unfit(_) | Self::Mechanism(_) | Self::NoPin => {
                Category::Usage
            }
            // The module itself is missing: an input that cannot be read (exit 3).
            Self::ModuleLoad { .. } => Category::Input,
            // The key exists somewhere but is not available to us now (exit 4).
            Self::TokenAbsent | Self::WrongPin | Self::PinLocked | Self::KeyAbsent => {
                Category::KeyUnavailable
            }
            Self::Device { .. } => Category::Input,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Uri(_) => "PKCS11_URI_INVALID",
            Self::ModuleLoad { .. } => "PKCS11_MODULE_UNLOADABLE",
            Self::TokenAbsent => "PKCS11_TOKEN_ABSENT",
            Self::WrongPin => "PKCS11_WRONG_PIN",
            Self::PinLocked => "PKCS11_PIN_LOCKED",
            Self::NoPin => "PKCS11_NO_PIN",
            Self::KeyAbsent => "PKCS11_KEY_ABSENT",
            Self::Ambiguous => "PKCS11_KEY_AMBIGUOUS",
            Self::Unfit(_) => "PKCS11_KEY_UNFIT",
            Self::Mechanism(_) => "PKCS11_MECHANISM_UNSUPPORTED",
            Self::Device { .. } => "PKCS11_DEVICE_ERROR",
        }
    }

    fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Self::Uri(_) => {
                "write it as pkcs11:token=LABEL;object=LABEL?module-path=/path/to/module.so"
            }
            Self::ModuleLoad { .. } => "check module-path in the URI (an absolute path to the .so)",
            Self::TokenAbsent => {
                "insert or initialize the token; `pkcs11-tool --module MODULE -L` lists the tokens"
            }
            Self::WrongPin => "check TRUST_PKCS11_PIN or the --pin-file",
            Self::PinLocked => "the security officer must unlock or reset the user PIN",
            Self::NoPin => "set TRUST_PKCS11_PIN or pass --pin-file FILE",
            Self::KeyAbsent => {
                "check object= in the URI; `trust init --root-pkcs11` creates the key when absent"
            }
            Self::Ambiguous => "add id= to the URI, or give the objects distinct labels",
            Self::Unfit(_) => "generate a new AES-256 key that is sensitive and not extractable",
            Self::Mechanism(_) | Self::Device { .. } => return None,
        })
    }
}

impl From<UriError> for Pkcs11Error {
    fn from(e: UriError) -> Self {
        Self::Uri(e)
    }
}

impl From<Pkcs11Error> for BackendError {
    fn from(e: Pkcs11Error) -> Self {
        let b = Self::new(e.code(), e.category(), e.to_string());
        match e.hint() {
            Some(h) => b.with_hint(h),
            None => b,
        }
    }
}

impl From<Pkcs11Error> for RootKeyError {
    fn from(e: Pkcs11Error) -> Self {
        Self::Backend(e.into())
    }
}
