//! The root key: an AES-256 secret key object that never leaves the token.

use core::fmt;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::types::AuthPin;
use trust_core::root::{RootKey, RootKeyError};
use trust_core::secret::random_array;
use zeroize::Zeroizing;

use crate::error::Pkcs11Error;
use crate::token::{OpError, TokenKey};
use crate::uri::{ObjectType, Pkcs11Uri};

/// The first byte of every wrapped value: AES-256-GCM in the token, 96-bit IV, 128-bit tag.
pub const WRAP_FORMAT_GCM: u8 = 0x01;
/// Length of the random IV after the format byte.
pub const IV_LEN: usize = 12;
/// Length of the GCM tag at the end.
pub const TAG_LEN: usize = 16;
/// Bytes a wrap adds to its plaintext.
pub const OVERHEAD: usize = 1 + IV_LEN + TAG_LEN;

/// A root key held in a PKCS#11 token (an HSM, a cloud HSM, a YubiHSM, SoftHSM).
///
/// Wrapping is AES-256-GCM computed *inside* the token (`CKM_AES_GCM`) with the caller's
/// associated data, a fresh random 96-bit IV and a 128-bit tag:
/// `0x01 ‖ IV(12) ‖ ciphertext ‖ tag(16)`. The key is generated in the token
/// ([`Pkcs11RootKey::create_or_open`]) with `CKA_SENSITIVE = true` and
/// `CKA_EXTRACTABLE = false`, so its value is never visible outside; opening refuses a key that
/// is extractable, not sensitive, or not 32 bytes long.
///
/// Cheap to share: operations run on a pool of sessions (one per concurrent caller), and a lost
/// session or login is reopened transparently (see the crate docs).
pub struct Pkcs11RootKey {
    token: TokenKey,
}

fn template(uri: &Pkcs11Uri) -> Result<Vec<Attribute>, Pkcs11Error> {
    if uri.object_type.is_some_and(|t| t != ObjectType::SecretKey) {
        return Err(Pkcs11Error::Unfit(
            "the URI names a type other than secret-key",
        ));
    }
    let mut t = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
    ];
    if let Some(label) = &uri.object {
        t.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        t.push(Attribute::Id(id.clone()));
    }
    Ok(t)
}

fn generate(uri: &Pkcs11Uri, session: &Session) -> Result<ObjectHandle, Pkcs11Error> {
    let mut t = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Modifiable(false),
        Attribute::ValueLen(32.into()),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
    ];
    if let Some(label) = &uri.object {
        t.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        t.push(Attribute::Id(id.clone()));
    }
    session
        .generate_key(&Mechanism::AesKeyGen, &t)
        .map_err(|e| match e {
            CkError::Pkcs11(RvError::MechanismInvalid, _) => {
                Pkcs11Error::Mechanism("CKM_AES_KEY_GEN")
            }
            e => Pkcs11Error::from_ck(&e),
        })
}

impl Pkcs11RootKey {
    /// Opens the AES-256 key the URI names; it must exist.
    ///
    /// # Errors
    /// [`Pkcs11Error::ModuleLoad`], [`Pkcs11Error::TokenAbsent`], [`Pkcs11Error::WrongPin`],
    /// [`Pkcs11Error::KeyAbsent`], [`Pkcs11Error::Unfit`] for a key that could be copied.
    pub fn open(uri: &Pkcs11Uri, pin: AuthPin) -> Result<Self, Pkcs11Error> {
        let token = TokenKey::open(uri, pin, template(uri)?, None)?;
        let root = Self { token };
        root.check_fit()?;
        Ok(root)
    }

    /// Opens the AES-256 key the URI names, generating it inside the token when absent.
    ///
    /// # Errors
    /// As [`Pkcs11RootKey::open`]; [`Pkcs11Error::Mechanism`] when the token cannot generate
    /// AES keys.
    pub fn create_or_open(uri: &Pkcs11Uri, pin: AuthPin) -> Result<Self, Pkcs11Error> {
        if uri.object.is_none() {
            // A key found by id alone could be created, but an unlabelled key is hard for an
            // operator to find again in `pkcs11-tool -O`.
            return Err(Pkcs11Error::Unfit("a new root key needs a label (object=)"));
        }
        let gen_uri = uri.clone();
        let create = move |s: &Session| generate(&gen_uri, s);
        let token = TokenKey::open(uri, pin, template(uri)?, Some(&create))?;
        let root = Self { token };
        root.check_fit()?;
        Ok(root)
    }

    /// The URI this key was opened from.
    pub fn uri(&self) -> &Pkcs11Uri {
        self.token.uri()
    }

    /// How many operations were sent to the token since this key was opened (retries
    /// included). Tests use it to prove that a warm cache makes no token call per message.
    pub fn operations(&self) -> u64 {
        self.token.operations()
    }

    /// Refuses a key whose value could leave the token, or that is not AES-256.
    fn check_fit(&self) -> Result<(), Pkcs11Error> {
        let attrs = self
            .token
            .run(|s, k| {
                s.get_attributes(
                    k,
                    &[
                        AttributeType::Sensitive,
                        AttributeType::Extractable,
                        AttributeType::ValueLen,
                        AttributeType::Encrypt,
                        AttributeType::Decrypt,
                    ],
                )
            })
            .map_err(|e| match e {
                OpError::Token(e) => e,
                OpError::Op(e) => Pkcs11Error::from_ck(&e),
            })?;
        let (mut sensitive, mut extractable, mut len, mut enc, mut dec) =
            (false, true, 0u64, false, false);
        for a in attrs {
            match a {
                Attribute::Sensitive(b) => sensitive = b,
                Attribute::Extractable(b) => extractable = b,
                Attribute::ValueLen(n) => len = *n,
                Attribute::Encrypt(b) => enc = b,
                Attribute::Decrypt(b) => dec = b,
                _ => {}
            }
        }
        if !sensitive {
            return Err(Pkcs11Error::Unfit("CKA_SENSITIVE is false"));
        }
        if extractable {
            return Err(Pkcs11Error::Unfit("CKA_EXTRACTABLE is true"));
        }
        if len != 32 {
            return Err(Pkcs11Error::Unfit("it is not a 256-bit AES key"));
        }
        if !(enc && dec) {
            return Err(Pkcs11Error::Unfit("it may not encrypt and decrypt"));
        }
        Ok(())
    }
}

impl fmt::Debug for Pkcs11RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11RootKey")
            .field("uri", &self.uri().to_string())
            .finish_non_exhaustive()
    }
}

/// Maps a failed operation. A decryption that fails authentication is reported differently by
/// each module: `CKR_ENCRYPTED_DATA_INVALID` by the specification, `CKR_GENERAL_ERROR` by
/// SoftHSM 2.6, `CKR_FUNCTION_FAILED` by some HSMs. All of them mean "these bytes do not open
/// under this key and AAD" once the session itself is known good (lost sessions were healed
/// or reported before this point), so an unwrap reports them as the opaque
/// [`RootKeyError::Unwrap`].
fn op_failed(e: OpError, unwrap: bool) -> RootKeyError {
    match e {
        OpError::Token(e) => e.into(),
        OpError::Op(CkError::Pkcs11(
            RvError::EncryptedDataInvalid
            | RvError::EncryptedDataLenRange
            | RvError::DataInvalid
            | RvError::DataLenRange
            | RvError::GeneralError
            | RvError::FunctionFailed,
            _,
        )) if unwrap => RootKeyError::Unwrap,
        OpError::Op(e) => Pkcs11Error::Device {
            reason: e.to_string(),
        }
        .into(),
    }
}

impl RootKey for Pkcs11RootKey {
    fn kind(&self) -> &'static str {
        "pkcs11"
    }

    fn wrap(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, RootKeyError> {
        let iv = random_array::<IV_LEN>().map_err(|_| RootKeyError::Random)?;
        let ct = self
            .token
            .run(|s, k| {
                let mut iv = iv;
                let params = GcmParams::new(&mut iv, aad, 128.into())?;
                s.encrypt(&Mechanism::AesGcm(params), k, plaintext)
            })
            .map_err(|e| op_failed(e, false))?;
        let mut out = Vec::with_capacity(1 + IV_LEN + ct.len());
        out.push(WRAP_FORMAT_GCM);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, RootKeyError> {
        if wrapped.len() < OVERHEAD || wrapped[0] != WRAP_FORMAT_GCM {
            return Err(RootKeyError::Unwrap);
        }
        let (iv, ct) = wrapped[1..].split_at(IV_LEN);
        let mut iv_arr = [0u8; IV_LEN];
        iv_arr.copy_from_slice(iv);
        self.token
            .run(|s, k| {
                let mut iv = iv_arr;
                let params = GcmParams::new(&mut iv, aad, 128.into())?;
                s.decrypt(&Mechanism::AesGcm(params), k, ct)
                    .map(Zeroizing::new)
            })
            .map_err(|e| op_failed(e, true))
    }
}
