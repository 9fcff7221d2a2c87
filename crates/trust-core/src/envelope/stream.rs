//! Streaming seal and open in constant memory (one 16 KiB chunk buffered).

use std::io::{self, Read, Write};

use zeroize::Zeroizing;

use super::body::{
    self, BODY_PREFIX_LEN, Backend, CHUNK_LEN, ChunkCipher, SEALED_CHUNK_LEN, TAG_LEN,
};
use super::context::Context;
use super::error::EnvelopeError;
use super::header::{self, MAX_HEADER_LEN, Parse};
use super::schedule::{self, SALT_LEN};
use super::{Begun, HeaderInfo, begin, unwrap_dek};
use crate::provider::{EncryptionKey, KeyProvider};

/// Seals a stream: write plaintext in, call [`Sealer::finish`] to write the final chunk.
///
/// The header is written when the sealer is created; each full 16 KiB chunk is encrypted and
/// written as soon as it is complete. An envelope whose sealer was dropped without `finish`
/// has no final chunk and does not open (it is detected as truncated).
///
/// ```
/// use std::io::Write;
/// use trust_core::envelope::{self, Context, Opener, Sealer, StaticKeys};
/// use trust_core::provider::Suite;
/// use trust_core::secret::Key256;
///
/// let keys = StaticKeys::single("files", Suite::Aes256Gcm, Key256::generate()?);
/// let ctx = Context::new().with("path", "exports/2026-11.csv")?;
/// let mut sealer = Sealer::new(&keys, "files", &ctx, Vec::new())?;
/// sealer.write_all(b"order,total\n1042,99.00\n")?;
/// let sealed = sealer.finish()?;
///
/// let mut plain = Vec::new();
/// std::io::copy(&mut Opener::new(&keys, &ctx, &sealed[..])?, &mut plain)?;
/// assert_eq!(plain, b"order,total\n1042,99.00\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Sealer<W: Write> {
    writer: W,
    cipher: ChunkCipher,
    index: u64,
    buf: Zeroizing<Vec<u8>>,
    failed: bool,
}

impl<W: Write> Sealer<W> {
    /// Starts sealing into `writer` under the Primary key of `keyring`, with a stored `context`.
    ///
    /// # Errors
    /// As [`super::seal`], and [`EnvelopeError::Io`] when writing the header fails.
    pub fn new<P: KeyProvider + ?Sized>(
        provider: &P,
        keyring: &str,
        context: &Context,
        writer: W,
    ) -> Result<Self, EnvelopeError> {
        let key = provider.encryption_key(keyring)?;
        Self::with_key(&key, context, writer)
    }

    /// Starts sealing into `writer` under an explicit key.
    ///
    /// # Errors
    /// As [`Sealer::new`].
    pub fn with_key(
        key: &EncryptionKey,
        context: &Context,
        writer: W,
    ) -> Result<Self, EnvelopeError> {
        Self::start(key, context, writer, Backend::default())
    }

    fn start(
        key: &EncryptionKey,
        context: &Context,
        mut writer: W,
        backend: Backend,
    ) -> Result<Self, EnvelopeError> {
        let Begun { out, cipher } = begin(key, context, false, backend, 0)?;
        writer.write_all(&out).map_err(EnvelopeError::Io)?;
        Ok(Self {
            writer,
            cipher,
            index: 0,
            buf: Zeroizing::new(Vec::with_capacity(SEALED_CHUNK_LEN)),
            failed: false,
        })
    }

    fn emit(&mut self) -> io::Result<()> {
        if self.index + 1 >= body::MAX_CHUNKS {
            self.failed = true;
            return Err(EnvelopeError::MessageTooLong {
                limit: body::MAX_CHUNKS * CHUNK_LEN as u64,
            }
            .into_io());
        }
        let tag = self.cipher.seal(self.index, &mut self.buf);
        self.buf.extend_from_slice(&tag);
        self.index += 1;
        let result = self.writer.write_all(&self.buf);
        self.buf.clear();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// Writes the final (short, possibly empty) chunk, flushes, and returns the writer.
    ///
    /// # Errors
    /// [`EnvelopeError::Io`] when writing fails, or the error of an earlier failed write.
    pub fn finish(mut self) -> Result<W, EnvelopeError> {
        if self.failed {
            return Err(EnvelopeError::Io(io::Error::other(
                "an earlier write to the envelope stream failed",
            )));
        }
        // The buffer is never full here: a full chunk is emitted as soon as it fills.
        let tag = self.cipher.seal(self.index, &mut self.buf);
        self.buf.extend_from_slice(&tag);
        self.writer
            .write_all(&self.buf)
            .map_err(EnvelopeError::Io)?;
        self.writer.flush().map_err(EnvelopeError::Io)?;
        self.buf.clear();
        Ok(self.writer)
    }
}

impl<W: Write> Write for Sealer<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other(
                "an earlier write to the envelope stream failed",
            ));
        }
        let mut rest = data;
        while !rest.is_empty() {
            let take = rest.len().min(CHUNK_LEN - self.buf.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            // A full chunk is never the final one, so it can go out now.
            if self.buf.len() == CHUNK_LEN {
                self.emit()?;
            }
        }
        Ok(data.len())
    }

    /// Flushes the underlying writer. A partial chunk stays buffered: it can only be written
    /// once it is full or by [`Sealer::finish`].
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    Done,
    Failed,
}

/// Opens a stream: a `Read` that yields plaintext one authenticated chunk at a time.
///
/// Creating the opener reads and checks the header, fetches the key, unwraps the data key and
/// checks the key commitment. Each `read` then releases plaintext only from chunks whose tag
/// has verified. Truncation at a chunk boundary and trailing data are detected when the end of
/// the input is reached: **read to the end** (e.g. with `io::copy`) and treat the output as
/// untrusted until the last `read` returned `Ok(0)`. Errors are `io::Error`s of kind
/// `InvalidData` wrapping an [`EnvelopeError`]; recover it with [`EnvelopeError::from_io`].
/// After an error, every further read fails.
pub struct Opener<R: Read> {
    reader: R,
    cipher: ChunkCipher,
    info: HeaderInfo,
    index: u64,
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    end: usize,
    state: State,
}

impl<R: Read> Opener<R> {
    /// Reads the header from `reader` and prepares to decrypt.
    ///
    /// # Errors
    /// As [`super::open`]'s header, context and key errors; [`EnvelopeError::Io`] when reading
    /// fails.
    pub fn new<P: KeyProvider + ?Sized>(
        provider: &P,
        context: &Context,
        reader: R,
    ) -> Result<Self, EnvelopeError> {
        Self::start(provider, context, reader, Backend::default())
    }

    fn start<P: KeyProvider + ?Sized>(
        provider: &P,
        context: &Context,
        mut reader: R,
        backend: Backend,
    ) -> Result<Self, EnvelopeError> {
        let mut head = Vec::new();
        let header = loop {
            match header::parse(&head)? {
                Parse::Done(header) => break header,
                Parse::Need(total) => {
                    if total > MAX_HEADER_LEN {
                        return Err(EnvelopeError::TooLarge {
                            what: "header",
                            limit: MAX_HEADER_LEN,
                        });
                    }
                    let have = head.len();
                    head.resize(total, 0);
                    let got =
                        read_full(&mut reader, &mut head[have..]).map_err(EnvelopeError::Io)?;
                    if got < total - have {
                        head.truncate(have + got);
                        // Let the parser judge the bytes we have (magic, version) first.
                        if let Parse::Need(_) = header::parse(&head)? {
                            return Err(EnvelopeError::Malformed {
                                what: "input ends inside the header",
                            });
                        }
                    }
                }
            }
        };
        let mut prefix = [0u8; BODY_PREFIX_LEN];
        let got = read_full(&mut reader, &mut prefix).map_err(EnvelopeError::Io)?;
        let info = HeaderInfo::from_header(&header);
        let immutable = &head[..header.immutable_len];
        let u = unwrap_dek(
            provider,
            context,
            header,
            immutable,
            &prefix[..got],
            backend,
        )?;
        let keys = schedule::derive_checked_for(
            u.header.version,
            u.header.suite,
            &u.dek,
            &u.salt,
            &u.binding,
            &prefix[SALT_LEN..],
        )?;
        let cipher = ChunkCipher::new(u.header.suite, &keys, backend);
        Ok(Self {
            reader,
            cipher,
            info,
            index: 0,
            buf: Zeroizing::new(vec![0u8; SEALED_CHUNK_LEN]),
            pos: 0,
            end: 0,
            state: State::Reading,
        })
    }

    /// The envelope's header.
    pub fn header(&self) -> &HeaderInfo {
        &self.info
    }

    fn fail(&mut self, error: EnvelopeError) -> io::Error {
        self.state = State::Failed;
        self.pos = 0;
        self.end = 0;
        zeroize::Zeroize::zeroize(&mut self.buf[..]);
        error.into_io()
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        let n = match read_full(&mut self.reader, &mut self.buf[..]) {
            Ok(n) => n,
            Err(e) => return Err(self.fail(EnvelopeError::Io(e))),
        };
        if n < TAG_LEN || self.index >= body::MAX_CHUNKS {
            return Err(self.fail(EnvelopeError::Authentication));
        }
        let (ciphertext, tag) = self.buf[..n].split_at_mut(n - TAG_LEN);
        if self.cipher.open(self.index, ciphertext, tag).is_err() {
            return Err(self.fail(EnvelopeError::Authentication));
        }
        self.index += 1;
        self.pos = 0;
        self.end = n - TAG_LEN;
        if n < SEALED_CHUNK_LEN {
            self.state = State::Done;
        }
        Ok(())
    }
}

impl<R: Read> Read for Opener<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.end {
            match self.state {
                State::Done => return Ok(0),
                State::Failed => return Err(EnvelopeError::Authentication.into_io()),
                State::Reading => self.next_chunk()?,
            }
        }
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(crate) fn read_full<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
