"""Documents at rest: encrypted with FIELD_ENCRYPTION_KEY in authenticated chunks, read and written in bounded memory.

Layout of a stored document (no name, no metadata: those live in the database)::

    b"SPECTRUM-DOC/1\\n"
    frame*  = 4-byte big-endian length + Fernet token

Each frame's plaintext starts with the file's random id, its sequence number and whether it is the last
frame, so frames cannot be reordered, dropped, truncated or spliced from another document without the
reader failing. The keys are the project's field keys (``FIELD_ENCRYPTION_KEY``, comma-separated): the
first encrypts, all decrypt, as for encrypted fields. A wrong key fails loudly at the first frame.
"""

import io
import secrets
import struct
from collections.abc import Iterable, Iterator
from typing import IO, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

MAGIC = b"SPECTRUM-DOC/1\n"
CHUNK_SIZE = 256 * 1024
# A full chunk's token is about 4/3 of it plus 73 bytes; anything larger is not ours.
MAX_TOKEN_SIZE = CHUNK_SIZE * 2
_LENGTH = struct.Struct(">I")
_PREFIX = struct.Struct(">16sQ?")  # file id, sequence number, last frame


class DocumentDecryptionError(RuntimeError):
    """A stored document cannot be decrypted or was altered. The message names no data."""


def document_crypto(keys: Iterable[str] | None = None) -> MultiFernet:
    keys = list(keys if keys is not None else settings.FIELD_ENCRYPTION_KEY)
    if not keys:
        raise DocumentDecryptionError("FIELD_ENCRYPTION_KEY is not set: documents cannot be encrypted or read.")
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_chunks(source: IO[bytes], crypto: MultiFernet | None = None) -> Iterator[bytes]:
    """The encrypted form of ``source``, read ``CHUNK_SIZE`` bytes at a time."""
    crypto = crypto or document_crypto()
    file_id = secrets.token_bytes(16)
    yield MAGIC
    sequence = 0
    chunk = source.read(CHUNK_SIZE)
    while True:
        following = source.read(CHUNK_SIZE)
        last = not following
        token = crypto.encrypt(_PREFIX.pack(file_id, sequence, last) + chunk)
        yield _LENGTH.pack(len(token)) + token
        if last:
            return
        chunk, sequence = following, sequence + 1


def decrypt_chunks(source: Any, crypto: MultiFernet | None = None) -> Iterator[bytes]:
    """The plaintext of an encrypted document, chunk by chunk; raises on a wrong key or any alteration."""
    crypto = crypto or document_crypto()
    if _read_exactly(source, len(MAGIC)) != MAGIC:
        raise DocumentDecryptionError("The stored file is not an encrypted Spectrum document.")
    file_id = None
    sequence = 0
    while True:
        header = _read_exactly(source, _LENGTH.size)
        if len(header) < _LENGTH.size:
            raise DocumentDecryptionError("The stored document is truncated.")
        (size,) = _LENGTH.unpack(header)
        if size > MAX_TOKEN_SIZE:
            raise DocumentDecryptionError("The stored document is damaged (impossible frame length).")
        token = _read_exactly(source, size)
        try:
            plain = crypto.decrypt(token)
        except InvalidToken:
            if sequence == 0:
                raise DocumentDecryptionError(
                    "The stored document cannot be decrypted with FIELD_ENCRYPTION_KEY (wrong key, or the file "
                    "was altered)."
                ) from None
            raise DocumentDecryptionError(f"Frame {sequence} of the stored document failed authentication.") from None
        frame_id, frame_sequence, last = _PREFIX.unpack_from(plain)
        if file_id is None:
            file_id = frame_id
        if frame_id != file_id or frame_sequence != sequence:
            raise DocumentDecryptionError("The stored document's frames are out of order or spliced.")
        yield plain[_PREFIX.size :]
        if last:
            break
        sequence += 1
    if source.read(1):
        raise DocumentDecryptionError("The stored document has data after its last frame.")


def check_key(source: Any, crypto: MultiFernet | None = None) -> None:
    """Read and authenticate every frame of ``source`` (restores and verification); raises if anything is wrong."""
    for _ in decrypt_chunks(source, crypto):
        pass


def _read_exactly(source: Any, size: int) -> bytes:
    parts = []
    while size:
        part = source.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


class EncryptingReader(io.RawIOBase):
    """A read-only, unseekable file whose content is ``source`` encrypted: what storages ``save()``.

    Django's storage API takes a file; this one produces the ciphertext as it is read, so neither the
    plaintext nor the ciphertext is ever whole in memory.
    """

    def __init__(self, source: IO[bytes], crypto: MultiFernet | None = None) -> None:
        super().__init__()
        self._chunks = encrypt_chunks(source, crypto)
        self._pending = b""
        self.bytes_written = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.bytes_written += size
        return size
