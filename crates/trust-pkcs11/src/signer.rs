//! An Ed25519 signing key held in the token, for audit checkpoints and GDPR receipts.

use core::fmt;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::types::AuthPin;
use trust_core::audit::ExternalEd25519;
use trust_core::root::BackendError;

use crate::error::Pkcs11Error;
use crate::token::{OpError, TokenKey};
use crate::uri::{ObjectType, Pkcs11Uri};

/// DER of the Ed25519 curve OID 1.3.101.112 (RFC 8410), the `CKA_EC_PARAMS` of an Ed25519 key.
const ED25519_OID_DER: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// An Ed25519 private key in a PKCS#11 token: signs with `CKM_EDDSA` (pure Ed25519, RFC 8032),
/// so the signature is byte-for-byte what a software Ed25519 key would produce and verifies
/// with the same public key. The private key is generated in the token, sensitive and never
/// extractable; only the 32-byte public key leaves it.
pub struct Pkcs11Signer {
    token: TokenKey,
    public: [u8; 32],
}

fn labels(uri: &Pkcs11Uri, t: &mut Vec<Attribute>) {
    if let Some(label) = &uri.object {
        t.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        t.push(Attribute::Id(id.clone()));
    }
}

fn private_template(uri: &Pkcs11Uri) -> Result<Vec<Attribute>, Pkcs11Error> {
    if uri.object_type.is_some_and(|t| t != ObjectType::Private) {
        return Err(Pkcs11Error::Unfit(
            "the URI names a type other than private",
        ));
    }
    let mut t = vec![
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::KeyType(KeyType::EC_EDWARDS),
    ];
    labels(uri, &mut t);
    Ok(t)
}

fn generate(uri: &Pkcs11Uri, session: &Session) -> Result<ObjectHandle, Pkcs11Error> {
    let mut public = vec![
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::EcParams(ED25519_OID_DER.to_vec()),
    ];
    labels(uri, &mut public);
    let mut private = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
    ];
    labels(uri, &mut private);
    let (_, key) = session
        .generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public, &private)
        .map_err(|e| match e {
            CkError::Pkcs11(RvError::MechanismInvalid, _) => {
                Pkcs11Error::Mechanism("CKM_EC_EDWARDS_KEY_PAIR_GEN")
            }
            e => Pkcs11Error::from_ck(&e),
        })?;
    Ok(key)
}

/// The raw 32-byte point from `CKA_EC_POINT`: modules store either the raw point or a DER
/// OCTET STRING around it (`04 20 ‖ point`).
fn point(raw: &[u8]) -> Option<[u8; 32]> {
    match raw {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest.try_into().ok(),
        _ if raw.len() == 32 => raw.try_into().ok(),
        _ => None,
    }
}

impl Pkcs11Signer {
    /// Opens the Ed25519 key pair the URI names; it must exist.
    ///
    /// # Errors
    /// As [`crate::Pkcs11RootKey::open`]; [`Pkcs11Error::Unfit`] when the public key cannot be
    /// read or the private key could be extracted.
    pub fn open(uri: &Pkcs11Uri, pin: AuthPin) -> Result<Self, Pkcs11Error> {
        let token = TokenKey::open(uri, pin, private_template(uri)?, None)?;
        Self::finish(token, uri)
    }

    /// Opens the Ed25519 key pair the URI names, generating it in the token when absent.
    ///
    /// # Errors
    /// As [`Pkcs11Signer::open`]; [`Pkcs11Error::Mechanism`] when the token has no Ed25519.
    pub fn create_or_open(uri: &Pkcs11Uri, pin: AuthPin) -> Result<Self, Pkcs11Error> {
        if uri.object.is_none() {
            return Err(Pkcs11Error::Unfit(
                "a new signing key needs a label (object=)",
            ));
        }
        let gen_uri = uri.clone();
        let create = move |s: &Session| generate(&gen_uri, s);
        let token = TokenKey::open(uri, pin, private_template(uri)?, Some(&create))?;
        Self::finish(token, uri)
    }

    fn finish(token: TokenKey, uri: &Pkcs11Uri) -> Result<Self, Pkcs11Error> {
        let mut public_template = vec![
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC_EDWARDS),
        ];
        labels(uri, &mut public_template);
        let found = token
            .run(|s, private| {
                let pubs = s.find_objects(&public_template)?;
                let point = match pubs.as_slice() {
                    [one] => s.get_attributes(*one, &[AttributeType::EcPoint])?,
                    _ => Vec::new(),
                };
                let flags = s.get_attributes(
                    private,
                    &[AttributeType::Sensitive, AttributeType::Extractable],
                )?;
                Ok((pubs.len(), point, flags))
            })
            .map_err(|e| match e {
                OpError::Token(e) => e,
                OpError::Op(e) => Pkcs11Error::from_ck(&e),
            })?;
        let (count, point_attr, flags) = found;
        if count > 1 {
            return Err(Pkcs11Error::Ambiguous);
        }
        let public = point_attr
            .iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => point(p),
                _ => None,
            })
            .ok_or(Pkcs11Error::Unfit(
                "no Ed25519 public key with the same label",
            ))?;
        for a in flags {
            match a {
                Attribute::Sensitive(false) => {
                    return Err(Pkcs11Error::Unfit("CKA_SENSITIVE is false"));
                }
                Attribute::Extractable(true) => {
                    return Err(Pkcs11Error::Unfit("CKA_EXTRACTABLE is true"));
                }
                _ => {}
            }
        }
        Ok(Self { token, public })
    }

    /// The Ed25519 public key (32 bytes).
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// The URI this key was opened from.
    pub fn uri(&self) -> &Pkcs11Uri {
        self.token.uri()
    }

    /// How many operations were sent to the token since this key was opened.
    pub fn operations(&self) -> u64 {
        self.token.operations()
    }

    /// Signs `message` with pure Ed25519 inside the token.
    ///
    /// # Errors
    /// [`Pkcs11Error`] when the token is unavailable or returns something that is not a
    /// 64-byte signature.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], Pkcs11Error> {
        let sig = self
            .token
            .run(|s, k| {
                s.sign(
                    &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                    k,
                    message,
                )
            })
            .map_err(|e| match e {
                OpError::Token(e) => e,
                OpError::Op(e) => Pkcs11Error::Device {
                    reason: e.to_string(),
                },
            })?;
        sig.as_slice().try_into().map_err(|_| Pkcs11Error::Device {
            reason: "the token returned a signature that is not 64 bytes".into(),
        })
    }
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("uri", &self.uri().to_string())
            .finish_non_exhaustive()
    }
}

/// Audit checkpoints (and the receipts that carry them) signed in the token: hand an
/// `Arc<Pkcs11Signer>` to `trust_core::audit::AuditLog::init` / `open_with_signer`.
impl ExternalEd25519 for Pkcs11Signer {
    fn public_key(&self) -> [u8; 32] {
        self.public
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], BackendError> {
        Self::sign(self, message).map_err(BackendError::from)
    }
}
