//! Redaction: scrub credentials, card numbers and registered secret values out of text.
//!
//! Connector apps promise that credentials are "never written to application logs". The first
//! control is typing: tokens live in [`crate::secret`] types that do not print. This module is
//! the backstop for everything that escapes typing — a token pasted into an error string by a
//! third-party client, a URL with `user:password@`, a card number in a support chat transcript.
//!
//! A [`Redactor`] finds, in one call:
//!
//! | kind | what | how |
//! |---|---|---|
//! | `shopify` | `shpat_`, `shpca_`, `shppa_`, `shpss_` + 32 hex digits | pattern (gitleaks rule) |
//! | `stripe` | `sk_`/`rk_` + `live`/`test`/`prod` + `_` + 10–99 alphanumerics; `whsec_` + ≥ 32 | pattern |
//! | `hubspot` | `pat-na1-`/`pat-eu1-` + UUID | pattern |
//! | `jwt` | `eyJ….eyJ….…` | pattern |
//! | `bearer` | the credential after `Bearer ` (≥ 16 characters) or `Authorization: Basic ` | trigger + scan |
//! | `url-auth` | the `user:password` in `scheme://user:password@host` | trigger + scan |
//! | `card` | 13–19 digits (single spaces or dashes allowed) starting with 2–6 and passing Luhn | scan |
//! | `secret` | any value registered with [`RedactorBuilder::literal`] | exact match |
//!
//! Each finding is replaced by `[REDACTED:kind]`; for `bearer` and `url-auth` only the credential
//! is replaced, so the log line still says *that* a bearer token or URL credential was there.
//!
//! What is deliberately kept (near-misses): tokens one character short, `pk_live_` publishable
//! keys, digit runs failing Luhn, and digit runs starting with `0`, `1`, `7`, `8` or `9` (no card
//! network issues those; this keeps 13-digit Unix-millisecond timestamps readable).
//!
//! ## Logs: `tracing` and any other logger
//!
//! [`RedactingWriter`] wraps any [`io::Write`] and redacts every complete line before passing it
//! on. `tracing-subscriber`'s formatter accepts any `Fn() -> impl io::Write` as its writer, so
//! every log line of an app goes through the redactor with one line of setup and without this
//! crate depending on `tracing`:
//!
//! ```ignore
//! let redactor = trust_core::redact::Redactor::default();
//! tracing_subscriber::fmt()
//!     .with_writer(move || redactor.writer(std::io::stderr()))
//!     .init();
//! ```
//!
//! (`tests/redact_tracing.rs` runs exactly this setup.) Writer-level redaction sees the final text of every layer that formats through it; a layer
//! that ships raw fields elsewhere (to a tracing backend over the network) must be given
//! [`Pii`]-wrapped or [`crate::secret`]-typed values instead.
//!
//! ## `Pii<T>`
//!
//! [`Pii`] wraps a personal-data value (an email, a name, an address) so that `{:?}` and `{}`
//! print `[REDACTED:pii]`; reading it takes an explicit [`Pii::expose`].

use core::fmt;
use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::Arc;

use regex::bytes::Regex;

use crate::error::{Category, TrustError};

/// The shortest value [`RedactorBuilder::literal`] accepts: shorter ones would redact ordinary
/// words.
pub const MIN_LITERAL_LEN: usize = 6;

/// Longest line [`RedactingWriter`] buffers before it flushes at the last whitespace.
pub const MAX_LINE: usize = 1 << 20;

/// One pattern for every format that starts with a literal. ASCII mode (`(?-u)`) because log
/// bytes need not be UTF-8 and every format is ASCII. Every alternative starts with a literal
/// (`shp`, `sk_`, `rk_`, `whsec_`, `pat-`, `eyJ`, `Bearer`/`bearer`/`BEARER`, `Basic`/`basic`/
/// `BASIC`, `://`), so the regex engine's SIMD literal prefilter skips ordinary text at memory
/// speed; a case-insensitive `(?i)bearer` would expand to too many literals for that. The auth
/// scheme is matched in its three customary spellings; the credential after `Basic` must decode
/// to `user:password` (checked after matching), so "basic configuration" stays.
const TOKEN_PATTERN: &str = concat!(
    r"(?-u)^(?:(?P<shopify>\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b)",
    r"|(?P<stripe>\b(?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99}\b|\bwhsec_[A-Za-z0-9+/=]{32,})",
    r"|(?P<hubspot>\bpat-(?:na|eu)1-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)",
    r"|(?P<jwt>\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)",
    r"|\b(?:Bearer|bearer|BEARER)[ \t]+(?P<bearer>[A-Za-z0-9\-._~+/]{16,}=*)",
    r"|\b(?:Basic|basic|BASIC)[ \t]+(?P<basic>[A-Za-z0-9+/]{8,}=*)",
    r#"|://(?P<userinfo>[^\s/?#@:"'<>]{1,256}:[^\s/?#@"'<>]{0,256})@)"#,
);

/// The literal every alternative of [`TOKEN_PATTERN`] starts with. Searching for these alone
/// is what runs at memory speed (the regex engine's Teddy prefilter); the full, anchored
/// pattern then runs only where one occurs.
const TRIGGER_PATTERN: &str =
    r"(?-u)shp|sk_|rk_|whsec_|pat-|eyJ|Bearer|bearer|BEARER|Basic|basic|BASIC|://";

/// How far past a trigger the anchored pattern may look: longer tokens are cut here.
const WINDOW: usize = 16 * 1024;

/// A redactor: built once, shared cheaply (`Clone` is an `Arc` bump), safe across threads.
#[derive(Clone)]
pub struct Redactor {
    inner: Arc<Inner>,
}

struct Inner {
    tokens: Regex,
    triggers: Regex,
    literals: Option<Regex>,
    literal_count: usize,
    cards: bool,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The literal automaton holds registered secrets: never print it.
        f.debug_struct("Redactor")
            .field("literals", &self.inner.literal_count)
            .field("cards", &self.inner.cards)
            .finish_non_exhaustive()
    }
}

impl Default for Redactor {
    /// Every built-in format, card numbers included, and no registered literals.
    fn default() -> Self {
        // The built-in patterns are constants covered by tests; building them cannot fail.
        Self::builder()
            .build()
            .unwrap_or_else(|_| unreachable!("built-in patterns compile"))
    }
}

/// Builds a [`Redactor`] with registered secret values.
#[derive(Default)]
pub struct RedactorBuilder {
    literals: Vec<Vec<u8>>,
    no_cards: bool,
}

impl fmt::Debug for RedactorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactorBuilder")
            .field("literals", &self.literals.len())
            .finish_non_exhaustive()
    }
}

impl RedactorBuilder {
    /// Registers a secret value (a token the app loaded, a webhook secret) to be redacted
    /// wherever it appears verbatim — the "masked value" approach of CI systems.
    ///
    /// # Errors
    /// [`RedactError::LiteralTooShort`] for values shorter than [`MIN_LITERAL_LEN`] bytes.
    pub fn literal(mut self, value: impl AsRef<[u8]>) -> Result<Self, RedactError> {
        let value = value.as_ref();
        if value.len() < MIN_LITERAL_LEN {
            return Err(RedactError::LiteralTooShort);
        }
        self.literals.push(value.to_vec());
        Ok(self)
    }

    /// Turns card-number detection off (for logs known to carry long numeric ids).
    #[must_use]
    pub fn without_cards(mut self) -> Self {
        self.no_cards = true;
        self
    }

    /// Compiles the redactor.
    ///
    /// # Errors
    /// [`RedactError::Build`] if the automata cannot be built (too many or too long literals).
    pub fn build(self) -> Result<Redactor, RedactError> {
        let tokens = Regex::new(TOKEN_PATTERN).map_err(|_| RedactError::Build)?;
        let triggers = Regex::new(TRIGGER_PATTERN).map_err(|_| RedactError::Build)?;
        let literal_count = self.literals.len();
        let literals = if self.literals.is_empty() {
            None
        } else {
            // An alternation of the values, every byte escaped as `\xNN` (values need not be
            // UTF-8), longest first so a value that contains another wins. The regex engine
            // picks its SIMD literal searcher for this, several times faster here than a
            // general Aho-Corasick automaton.
            let mut sorted: Vec<&Vec<u8>> = self.literals.iter().collect();
            sorted.sort_by_key(|l| core::cmp::Reverse(l.len()));
            let mut pattern = zeroize::Zeroizing::new(String::from("(?-u)"));
            for (i, lit) in sorted.iter().enumerate() {
                if i > 0 {
                    pattern.push('|');
                }
                for b in lit.iter() {
                    pattern.push_str(&format!("\\x{b:02x}"));
                }
            }
            Some(
                regex::bytes::RegexBuilder::new(&pattern)
                    .size_limit(64 << 20)
                    .build()
                    .map_err(|_| RedactError::Build)?,
            )
        };
        // Zeroize our copies of the secrets; the regex keeps its own representation.
        for mut l in self.literals {
            zeroize::Zeroize::zeroize(&mut l);
        }
        Ok(Redactor {
            inner: Arc::new(Inner {
                tokens,
                triggers,
                literals,
                literal_count,
                cards: !self.no_cards,
            }),
        })
    }
}

/// A redactor that learns secrets at run time: values read from the vault (or any other
/// store) are registered as they are read, and every later [`LiveRedactor::redactor`] call
/// redacts them too.
///
/// Registration rebuilds the literal automaton (cheap for the handful of credentials a worker
/// holds); identical values are registered once. Log writers should fetch the current
/// [`Redactor`] per line or per batch: it is an `Arc` clone.
pub struct LiveRedactor {
    cards: bool,
    literals: std::sync::Mutex<Vec<zeroize::Zeroizing<Vec<u8>>>>,
    current: std::sync::RwLock<Redactor>,
}

impl fmt::Debug for LiveRedactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveRedactor")
            .field("literals", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for LiveRedactor {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveRedactor {
    /// Every built-in format and no registered value yet.
    pub fn new() -> Self {
        Self {
            cards: true,
            literals: std::sync::Mutex::default(),
            current: std::sync::RwLock::new(Redactor::default()),
        }
    }

    /// Registers `value` so that it is redacted from now on.
    ///
    /// # Errors
    /// [`RedactError::LiteralTooShort`] below [`MIN_LITERAL_LEN`] bytes (too short to redact
    /// without hiding ordinary words); [`RedactError::Build`] if the automaton cannot be built.
    pub fn register(&self, value: &[u8]) -> Result<(), RedactError> {
        if value.len() < MIN_LITERAL_LEN {
            return Err(RedactError::LiteralTooShort);
        }
        let mut literals = self.literals.lock().map_err(|_| RedactError::Build)?;
        if literals.iter().any(|l| crate::secret::ct_eq(l, value)) {
            return Ok(());
        }
        literals.push(zeroize::Zeroizing::new(value.to_vec()));
        let mut builder = Redactor::builder();
        if !self.cards {
            builder = builder.without_cards();
        }
        for l in literals.iter() {
            builder = builder.literal(&l[..])?;
        }
        let built = builder.build()?;
        *self.current.write().map_err(|_| RedactError::Build)? = built;
        Ok(())
    }

    /// How many distinct values are registered.
    pub fn len(&self) -> usize {
        self.literals.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// True when no value is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The redactor as of now (built-in formats plus every value registered so far).
    pub fn redactor(&self) -> Redactor {
        match self.current.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// What a finding was; its name appears in the replacement `[REDACTED:name]`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A Shopify access token or shared secret.
    Shopify,
    /// A Stripe secret/restricted key or webhook signing secret.
    Stripe,
    /// A HubSpot private-app token.
    Hubspot,
    /// A JSON Web Token.
    Jwt,
    /// A bearer or HTTP Basic credential.
    Bearer,
    /// A `user:password` in a URL.
    UrlAuth,
    /// A payment card number (Luhn-valid).
    Card,
    /// A registered literal value.
    Secret,
}

impl Kind {
    /// The name used in the replacement text.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Shopify => "shopify",
            Self::Stripe => "stripe",
            Self::Hubspot => "hubspot",
            Self::Jwt => "jwt",
            Self::Bearer => "bearer",
            Self::UrlAuth => "url-auth",
            Self::Card => "card",
            Self::Secret => "secret",
        }
    }
}

/// One finding: the byte range `start..end` of the input and its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// First byte of the redacted range.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// What was found.
    pub kind: Kind,
}

impl Redactor {
    /// A builder, for registering secret values.
    pub fn builder() -> RedactorBuilder {
        RedactorBuilder::default()
    }

    /// Every finding in `text`, sorted by position, overlaps merged (the earlier kind wins).
    pub fn find(&self, text: &[u8]) -> Vec<Finding> {
        let mut found = Vec::new();
        if let Some(lits) = &self.inner.literals {
            found.extend(lits.find_iter(text).map(|m| Finding {
                start: m.start(),
                end: m.end(),
                kind: Kind::Secret,
            }));
        }
        let mut pos = 0;
        while let Some(t) = self.inner.triggers.find_at(text, pos) {
            let start = t.start();
            pos = t.end();
            // `\b` before the token: the anchored pattern cannot see the byte before its slice.
            let glued = start > 0 && is_word(text[start - 1]);
            if glued && t.as_bytes() != b"://" {
                continue;
            }
            let window = &text[start..text.len().min(start + WINDOW)];
            let Some(caps) = self.inner.tokens.captures(window) else {
                continue;
            };
            if let Some(whole) = caps.get(0) {
                pos = pos.max(start + whole.end());
            }
            for (group, kind) in [
                ("shopify", Kind::Shopify),
                ("stripe", Kind::Stripe),
                ("hubspot", Kind::Hubspot),
                ("jwt", Kind::Jwt),
                ("bearer", Kind::Bearer),
                ("basic", Kind::Bearer),
                ("userinfo", Kind::UrlAuth),
            ] {
                if let Some(m) = caps.name(group) {
                    if group == "basic" && !is_basic_credential(m.as_bytes()) {
                        continue;
                    }
                    found.push(Finding {
                        start: start + m.start(),
                        end: start + m.end(),
                        kind,
                    });
                }
            }
        }
        if self.inner.cards {
            find_cards(text, &mut found);
        }
        if found.len() > 1 {
            found.sort_by_key(|f| (f.start, core::cmp::Reverse(f.end)));
            let mut merged: Vec<Finding> = Vec::with_capacity(found.len());
            for f in found {
                match merged.last_mut() {
                    Some(last) if f.start < last.end => last.end = last.end.max(f.end),
                    _ => merged.push(f),
                }
            }
            found = merged;
        }
        found
    }

    /// `text` with every finding replaced; borrowed when there was nothing to redact.
    pub fn redact_bytes<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        let found = self.find(text);
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = Vec::with_capacity(text.len());
        let mut at = 0;
        for f in found {
            out.extend_from_slice(&text[at..f.start]);
            out.extend_from_slice(b"[REDACTED:");
            out.extend_from_slice(f.kind.name().as_bytes());
            out.push(b']');
            at = f.end;
        }
        out.extend_from_slice(&text[at..]);
        Cow::Owned(out)
    }

    /// Writes `text` to `out` with every finding replaced, without building a redacted copy
    /// first (the streaming form of [`Redactor::redact_bytes`]: the same bytes come out).
    ///
    /// # Errors
    /// Whatever `out` returns; part of the text may have been written by then.
    pub fn redact_to<W: Write + ?Sized>(&self, text: &[u8], out: &mut W) -> io::Result<()> {
        let mut at = 0;
        for f in self.find(text) {
            out.write_all(&text[at..f.start])?;
            out.write_all(b"[REDACTED:")?;
            out.write_all(f.kind.name().as_bytes())?;
            out.write_all(b"]")?;
            at = f.end;
        }
        out.write_all(&text[at..])
    }

    /// `text` with every finding replaced; borrowed when there was nothing to redact.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redact_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Every finding is an ASCII span or a whole registered value, so the cut points are
            // character boundaries and the result stays UTF-8; `from_utf8_lossy` never replaces.
            Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    /// A writer that redacts every line before passing it to `inner`.
    pub fn writer<W: Write>(&self, inner: W) -> RedactingWriter<W> {
        RedactingWriter {
            redactor: self.clone(),
            inner,
            buf: Vec::new(),
        }
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// True when `b64` decodes (standard alphabet) to `user:password`: what HTTP Basic carries.
fn is_basic_credential(b64: &[u8]) -> bool {
    use base64::Engine as _;
    let engine = &base64::engine::general_purpose::STANDARD;
    let padded;
    let input = if b64.len() % 4 == 0 {
        b64
    } else {
        padded = [b64, &b"==="[..(4 - b64.len() % 4)]].concat();
        &padded[..]
    };
    engine
        .decode(input)
        .is_ok_and(|d| d.contains(&b':') && d.iter().all(|&c| c >= 0x20 && c != 0x7f))
}

/// Bytes that can be part of a card number: digits, space, dash.
static RUN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = b'0';
    while b <= b'9' {
        t[b as usize] = true;
        b += 1;
    }
    t[b' ' as usize] = true;
    t[b'-' as usize] = true;
    t
};

/// Card numbers: 13–19 digits, single ` ` or `-` between digits, not glued to other word
/// characters, first digit 2–6 (issued networks), Luhn-valid.
fn find_cards(text: &[u8], found: &mut Vec<Finding>) {
    // Skip loop: a card spans at least 13 bytes, so if the byte 12 ahead of `p` is neither a
    // digit nor a separator, no card starts in `p..=p+12` and the scan jumps 13 bytes. On log
    // text this touches a small fraction of the bytes; only digit runs are walked.
    const MIN: usize = 13;
    let n = text.len();
    let in_run = |b: u8| RUN[usize::from(b)];
    let mut p = 0;
    while p + MIN <= n {
        let probe = p + MIN - 1;
        if !in_run(text[probe]) {
            p = probe + 1;
            continue;
        }
        // Walk back to the start of the run that contains `probe` (not before `p`).
        let mut s = probe;
        while s > p && in_run(text[s - 1]) {
            s -= 1;
        }
        // Leading separators are not part of a number.
        while s < probe && !text[s].is_ascii_digit() {
            s += 1;
        }
        // A card needs 13 in-run bytes from its first digit: check the rest of that stretch
        // before looking at the digits, so short runs (dates, ids, amounts) cost one pass.
        let need = s + MIN;
        if need > n {
            break;
        }
        if let Some(gap) = text[probe + 1..need].iter().position(|&b| !in_run(b)) {
            p = probe + 1 + gap + 1;
            continue;
        }
        if !text[s].is_ascii_digit() {
            p = s + 1;
            continue;
        }
        let end = card_at(text, s, found);
        p = end.max(s + 1);
    }
}

/// Examines the digit run starting at `start` (a digit); records a card if it is one and
/// returns the end of the run.
fn card_at(text: &[u8], start: usize, found: &mut Vec<Finding>) -> usize {
    let n = text.len();
    // Issued networks start with 2–6: any other run (timestamps, millisecond times, most
    // ids) is only skipped — found by the same rule as below, without collecting its digits.
    if !(b'2'..=b'6').contains(&text[start]) {
        let mut j = start + 1;
        while j < n {
            let c = text[j];
            if c.is_ascii_digit()
                || ((c == b' ' || c == b'-') && j + 1 < n && text[j + 1].is_ascii_digit())
            {
                j += 1;
            } else {
                break;
            }
        }
        return j;
    }
    let glued_before =
        start > 0 && (text[start - 1].is_ascii_alphanumeric() || text[start - 1] == b'_');
    let mut digits = [0u8; 19];
    let mut count = 0usize;
    let mut j = start;
    let mut too_long = false;
    while j < n {
        let c = text[j];
        if c.is_ascii_digit() {
            if count < digits.len() {
                digits[count] = c - b'0';
            } else {
                too_long = true;
            }
            count += 1;
            j += 1;
        } else if (c == b' ' || c == b'-') && j + 1 < n && text[j + 1].is_ascii_digit() {
            j += 1;
        } else {
            break;
        }
    }
    let glued_after = j < n && (text[j].is_ascii_alphanumeric() || text[j] == b'_');
    if !glued_before
        && !glued_after
        && !too_long
        && (13..=19).contains(&count)
        && (2..=6).contains(&digits[0])
        && luhn_valid(&digits[..count])
    {
        found.push(Finding {
            start,
            end: j,
            kind: Kind::Card,
        });
    }
    j
}

/// The Luhn (mod 10) check of ISO/IEC 7812-1.
pub fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (k, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d);
        if k % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum % 10 == 0
}

/// An [`io::Write`] that redacts each complete line before writing it to the inner writer.
///
/// A partial line is held until its newline arrives, [`flush`](Write::flush) is called, or the
/// writer is dropped. A line longer than [`MAX_LINE`] is cut at its last whitespace so memory
/// stays bounded (a secret spanning that cut would not be recognised; log lines that long are
/// not normal).
pub struct RedactingWriter<W: Write> {
    redactor: Redactor,
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> fmt::Debug for RedactingWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactingWriter").finish_non_exhaustive()
    }
}

impl<W: Write> RedactingWriter<W> {
    fn emit(&mut self, upto: usize) -> io::Result<()> {
        self.redactor
            .redact_to(&self.buf[..upto], &mut self.inner)?;
        self.buf.drain(..upto);
        Ok(())
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

impl<W: Write> RedactingWriter<W> {
    /// Emits the held text up to its last whitespace once it exceeds [`MAX_LINE`].
    fn bound(&mut self) -> io::Result<()> {
        if self.buf.len() > MAX_LINE {
            let cut = self
                .buf
                .iter()
                .rposition(|b| b.is_ascii_whitespace())
                .map_or(self.buf.len(), |p| p + 1);
            self.emit(cut)?;
        }
        Ok(())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut rest = data;
        // A held, unfinished line: complete it with the data up to the first newline and
        // emit it alone, so the rest of the block need not be copied through `buf`.
        if !self.buf.is_empty() {
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                self.buf.extend_from_slice(rest);
                self.bound()?;
                return Ok(data.len());
            };
            self.buf.extend_from_slice(&rest[..=nl]);
            self.emit(self.buf.len())?;
            rest = &rest[nl + 1..];
        }
        // Nothing held back: redact the complete lines straight from `data` and keep only
        // the unfinished last line (copying every block through `buf` was a third of
        // `trust redact`'s time beside the scan).
        match rest.iter().rposition(|&b| b == b'\n') {
            Some(last_nl) => {
                self.redactor
                    .redact_to(&rest[..=last_nl], &mut self.inner)?;
                self.buf.extend_from_slice(&rest[last_nl + 1..]);
            }
            None => self.buf.extend_from_slice(rest),
        }
        self.bound()?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let len = self.buf.len();
        if len > 0 {
            self.emit(len)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Personal data that must not reach logs: `Debug` and `Display` print `[REDACTED:pii]`.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Pii<T>(T);

impl<T> Pii<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The value. Every call site is a place personal data is used: keep them few.
    pub const fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Pii<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED:pii]")
    }
}

impl<T> fmt::Display for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED:pii]")
    }
}

/// Building a redactor failed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedactError {
    /// A registered value is shorter than [`MIN_LITERAL_LEN`] bytes.
    LiteralTooShort,
    /// The matching automata could not be built.
    Build,
}

impl fmt::Display for RedactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LiteralTooShort => write!(
                f,
                "a registered secret value is shorter than {MIN_LITERAL_LEN} bytes"
            ),
            Self::Build => f.write_str("the redaction patterns could not be compiled"),
        }
    }
}

impl std::error::Error for RedactError {}

impl TrustError for RedactError {
    fn category(&self) -> Category {
        match self {
            Self::LiteralTooShort => Category::Usage,
            Self::Build => Category::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::LiteralTooShort => "REDACT_LITERAL_TOO_SHORT",
            Self::Build => "REDACT_BUILD_FAILED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(text: &str) -> String {
        Redactor::default().redact(text).into_owned()
    }

    #[test]
    fn live_redactor_learns_values_at_run_time() {
        let live = LiveRedactor::new();
        assert!(live.is_empty());
        let line = "sync failed with odoo-key-93kd83kd (HTTP 401)";
        assert_eq!(live.redactor().redact(line), line);
        live.register(b"odoo-key-93kd83kd").unwrap();
        live.register(b"odoo-key-93kd83kd").unwrap();
        assert_eq!(live.len(), 1);
        assert_eq!(
            live.redactor().redact(line),
            "sync failed with [REDACTED:secret] (HTTP 401)"
        );
        assert_eq!(live.register(b"short"), Err(RedactError::LiteralTooShort));
        assert!(!format!("{live:?}").contains("odoo"));
    }

    const HEX32: &str = "0123456789abcdef0123456789ABCDEF";

    #[test]
    fn every_shopify_prefix_is_scrubbed() {
        for p in ["shpat_", "shpca_", "shppa_", "shpss_"] {
            let line = format!("token={p}{HEX32} rest");
            assert_eq!(r(&line), "token=[REDACTED:shopify] rest", "{p}");
        }
    }

    #[test]
    fn stripe_keys_and_webhook_secrets_are_scrubbed() {
        for key in [
            "sk_live_51Habcdefghijklmnop",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "rk_live_abcdefghij0123",
            "rk_test_abcdefghij0123",
        ] {
            assert_eq!(
                r(&format!("key: {key}.")),
                "key: [REDACTED:stripe].",
                "{key}"
            );
        }
        let wh = format!("whsec_{}", "A".repeat(32));
        assert_eq!(r(&format!("secret {wh}")), "secret [REDACTED:stripe]");
    }

    #[test]
    fn hubspot_tokens_are_scrubbed() {
        for region in ["na1", "eu1"] {
            let tok = format!("pat-{region}-0a1b2c3d-4e5f-6789-abcd-ef0123456789");
            assert_eq!(r(&format!("({tok})")), "([REDACTED:hubspot])");
        }
    }

    #[test]
    fn bearer_basic_and_url_credentials_keep_their_context() {
        assert_eq!(
            r("Authorization: Bearer abcDEF0123456789xyz=="),
            "Authorization: Bearer [REDACTED:bearer]"
        );
        assert_eq!(
            r("authorization: basic dXNlcjpwYXNzd29yZA=="),
            "authorization: basic [REDACTED:bearer]"
        );
        assert_eq!(
            r("GET https://api_key:s3cret@shop.myshopify.com/admin"),
            "GET https://[REDACTED:url-auth]@shop.myshopify.com/admin"
        );
    }

    #[test]
    fn jwts_are_scrubbed() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(r(&format!("t={jwt} ")), "t=[REDACTED:jwt] ");
    }

    #[test]
    fn luhn_valid_cards_are_scrubbed() {
        // Test card numbers published in Stripe's and PayPal's testing documentation.
        for card in [
            "4242424242424242",
            "4242 4242 4242 4242",
            "5555-5555-5555-4444",
            "378282246310005",
            "6011111111111117",
            "2223003122003222",
        ] {
            assert_eq!(
                r(&format!("card {card}, ok")),
                "card [REDACTED:card], ok",
                "{card}"
            );
        }
    }

    #[test]
    fn near_misses_are_kept() {
        for keep in [
            format!("shpat_{}", &HEX32[..31]),
            format!("shpxx_{HEX32}"),
            format!("xshpat_{HEX32}"),
            "pk_live_51Habcdefghijklmnop".to_owned(),
            "sk_live_short".to_owned(),
            format!("whsec_{}", "A".repeat(31)),
            "pat-us1-0a1b2c3d-4e5f-6789-abcd-ef0123456789".to_owned(),
            "Bearer short".to_owned(),
            "bearer tokens are described in RFC 6750".to_owned(),
            "https://example.com/@user:name".to_owned(),
            "mailto:someone@example.com".to_owned(),
            "4242424242424241".to_owned(),
            "1700000000000".to_owned(),
            "order 4242424242424242424242".to_owned(),
            "id4242424242424242".to_owned(),
            "ts=1732233600123 user=42".to_owned(),
            "Basic configuration settings".to_owned(),
            "a basic understanding of bearer tokens".to_owned(),
        ] {
            assert_eq!(r(&keep), keep);
        }
    }

    #[test]
    fn registered_literals_are_scrubbed_and_short_ones_refused() {
        let red = Redactor::builder()
            .literal("hunter2-odoo-password")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            red.redact("login with hunter2-odoo-password now"),
            "login with [REDACTED:secret] now"
        );
        assert_eq!(
            Redactor::builder().literal("abc").err(),
            Some(RedactError::LiteralTooShort)
        );
        assert!(!format!("{red:?}").contains("hunter2"));
    }

    #[test]
    fn clean_text_is_borrowed() {
        let text = "GET /admin/orders.json 200 12ms";
        assert!(matches!(Redactor::default().redact(text), Cow::Borrowed(_)));
    }

    #[test]
    fn overlapping_findings_merge() {
        let red = Redactor::builder()
            .literal(format!("shpat_{HEX32}"))
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            red.redact(&format!("a shpat_{HEX32} b")),
            "a [REDACTED:secret] b"
        );
    }

    #[test]
    fn writer_redacts_per_line_and_on_drop() {
        let mut sink = Vec::new();
        {
            let mut w = Redactor::default().writer(&mut sink);
            w.write_all(b"first sk_live_0123456789ab").unwrap();
            w.write_all(b"cd\nsecond 4242424242424242").unwrap();
        }
        assert_eq!(
            String::from_utf8(sink).unwrap(),
            "first [REDACTED:stripe]\nsecond [REDACTED:card]"
        );
    }

    #[test]
    fn writer_bounds_memory_on_endless_lines() {
        let mut w = Redactor::default().writer(Vec::new());
        let chunk = b"word ".repeat(1000);
        for _ in 0..300 {
            w.write_all(&chunk).unwrap();
        }
        assert!(w.buf.len() <= MAX_LINE);
        assert!(w.get_ref().len() >= 300 * chunk.len() - MAX_LINE);
    }

    #[test]
    fn pii_never_prints() {
        let email = Pii::new("jane@example.com".to_owned());
        assert_eq!(
            format!("{email} {email:?} {email:#?}"),
            "[REDACTED:pii] [REDACTED:pii] [REDACTED:pii]"
        );
        assert_eq!(email.expose(), "jane@example.com");
    }

    #[test]
    fn luhn_known_answers() {
        // ISO/IEC 7812-1 Annex B example: 7992739871 with check digit 3.
        assert!(luhn_valid(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
        assert!(!luhn_valid(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 4]));
        assert!(!luhn_valid(&[]));
    }

    /// The straightforward card scan the skip loop must agree with: examine every run start.
    fn naive_cards(text: &[u8]) -> Vec<Finding> {
        let mut found = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if text[i].is_ascii_digit() {
                i = card_at(text, i, &mut found).max(i + 1);
            } else {
                i += 1;
            }
        }
        found
    }

    proptest! {
        #[test]
        fn card_skip_loop_matches_the_naive_scan(
            parts in proptest::collection::vec(
                prop_oneof!["[0-9]{1,20}", "[ -]", "[a-z:=]{1,3}", Just("4242424242424242".to_owned()), Just("5555-5555-5555-4444".to_owned())],
                0..40,
            )
        ) {
            let text = parts.concat();
            let mut fast = Vec::new();
            find_cards(text.as_bytes(), &mut fast);
            prop_assert_eq!(fast, naive_cards(text.as_bytes()));
        }

        /// However the text is cut into writes, the writer's output is `redact_bytes` of the
        /// whole text (findings never span a newline), and `redact_to` writes the same bytes.
        #[test]
        fn writer_and_redact_to_agree_with_redact_bytes(
            parts in proptest::collection::vec(
                prop_oneof![
                    "[a-z ]{1,12}",
                    Just("\n".to_owned()),
                    Just("4242424242424242".to_owned()),
                    Just("sk_live_0123456789abcd".to_owned()),
                    Just("Bearer abcdefghijklmnop12".to_owned()),
                    "[0-9 -]{1,20}",
                ],
                0..60,
            ),
            cuts in proptest::collection::vec(0usize..400, 0..8),
        ) {
            let red = Redactor::default();
            let text = parts.concat().into_bytes();
            let expected = red.redact_bytes(&text).into_owned();
            let mut direct = Vec::new();
            red.redact_to(&text, &mut direct).unwrap();
            prop_assert_eq!(&direct, &expected);
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c.min(text.len())).collect();
            points.sort_unstable();
            let mut sink = Vec::new();
            {
                let mut w = red.writer(&mut sink);
                let mut at = 0;
                for p in points.into_iter().chain([text.len()]) {
                    w.write_all(&text[at..p]).unwrap();
                    at = p;
                }
            }
            prop_assert_eq!(sink, expected);
        }

        #[test]
        fn output_never_contains_a_registered_secret(
            secret in "[A-Za-z0-9_+/-]{6,40}",
            before in "\\PC{0,60}",
            after in "\\PC{0,60}",
        ) {
            let red = Redactor::builder().literal(&secret).unwrap().build().unwrap();
            let text = format!("{before}{secret}{after}{secret}");
            let out = red.redact(&text);
            prop_assert!(!out.contains(&secret), "{out}");
        }

        #[test]
        fn built_in_tokens_never_survive_in_any_text(
            before in "\\PC{0,60}",
            after in "\\PC{0,60}",
            body in "[A-Za-z0-9]{10,60}",
            hex in "[0-9a-f]{32}",
        ) {
            let red = Redactor::default();
            for token in [format!("sk_live_{body}"), format!("shpat_{hex}"), format!("whsec_{body}{hex}")] {
                let text = format!("{before} {token} {after}");
                let out = red.redact(&text);
                prop_assert!(!out.contains(&token), "{}", out);
            }
        }
    }
}
