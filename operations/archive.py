"""The backup file: compressed, encrypted, authenticated frames, written and read in bounded memory.

Layout::

    b"SPECTRUM-BACKUP/1\\n"                       plain magic line (no secrets, no PHI)
    frame*  = 4-byte big-endian length + Fernet token

Every frame's plaintext starts with its kind (H header, D data, T trailer), the backup's random id and
its sequence number, so frames cannot be reordered, dropped, repeated or spliced in from another backup
made with the same key without failing. Fernet authenticates each frame (AES-128-CBC + HMAC-SHA256).

- H (first): the manifest known before the data: created at, engine, method, migration state, tables.
- D (zero or more): the payload compressed with zlib, cut into chunks of ``CHUNK_SIZE`` bytes. Fernet is
  not a streaming cipher, so each chunk is one token: memory stays bounded whatever the database size.
- T (last): row counts and checksums per table, and the SHA-256 and size of the uncompressed payload.

A reader checks all of it: a wrong key fails at the first frame; any altered, missing or extra byte
fails at the frame or at the trailer's checksum.
"""

import hashlib
import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from cryptography.fernet import InvalidToken, MultiFernet

from spectrum.exceptions import DomainError

MAGIC = b"SPECTRUM-BACKUP/1\n"
FORMAT_VERSION = 1
CHUNK_SIZE = 4 * 1024 * 1024
# A token of a full chunk is about 4/3 of it (base64) plus 73 bytes; anything much larger is not ours.
MAX_TOKEN_SIZE = 8 * 1024 * 1024
# Decompressed pieces handed to the reader's consumer are at most this big.
PIECE_SIZE = 1024 * 1024

_LENGTH = struct.Struct(">I")
_PREFIX = struct.Struct(">c16sQ")  # kind, backup id, sequence number
HEADER, DATA, TRAILER = b"H", b"D", b"T"


class BackupError(DomainError):
    """The backup cannot be used. The message names the problem, never any data."""


class BackupKeyError(BackupError):
    pass


class BackupIntegrityError(BackupError):
    pass


class ArchiveWriter:
    """Writes a backup to ``out`` (a binary file): ``write_header``, ``write`` the payload, ``finish``."""

    def __init__(self, out: BinaryIO, crypto: MultiFernet, backup_id: bytes) -> None:
        self.out = out
        self.crypto = crypto
        self.backup_id = backup_id
        self.sequence = 0
        self.payload_bytes = 0
        self.data_frames = 0
        self._sha = hashlib.sha256()
        self._compressor = zlib.compressobj(6)
        self._buffer = bytearray()
        out.write(MAGIC)

    def _frame(self, kind: bytes, body: bytes) -> None:
        token = self.crypto.encrypt(_PREFIX.pack(kind, self.backup_id, self.sequence) + body)
        self.out.write(_LENGTH.pack(len(token)))
        self.out.write(token)
        self.sequence += 1

    def write_header(self, manifest: dict[str, Any]) -> None:
        if self.sequence:
            raise RuntimeError("The header is the first frame.")
        self._frame(HEADER, json.dumps(manifest, sort_keys=True).encode())

    def write(self, data: bytes) -> None:
        self._sha.update(data)
        self.payload_bytes += len(data)
        self._buffer += self._compressor.compress(data)
        while len(self._buffer) >= CHUNK_SIZE:
            self._data_frame(bytes(self._buffer[:CHUNK_SIZE]))
            del self._buffer[:CHUNK_SIZE]

    def _data_frame(self, chunk: bytes) -> None:
        self._frame(DATA, chunk)
        self.data_frames += 1

    def finish(self, trailer: dict[str, Any]) -> dict[str, Any]:
        """Flush the payload and write the trailer (``trailer`` plus the payload's size and checksum)."""
        self._buffer += self._compressor.flush()
        while self._buffer:
            self._data_frame(bytes(self._buffer[:CHUNK_SIZE]))
            del self._buffer[:CHUNK_SIZE]
        trailer = {
            **trailer,
            "payload_sha256": self._sha.hexdigest(),
            "payload_bytes": self.payload_bytes,
            "data_frames": self.data_frames,
        }
        self._frame(TRAILER, json.dumps(trailer, sort_keys=True).encode())
        return trailer


class ArchiveReader:
    """Reads and checks a backup: ``read_header()``, then ``payload()`` (after which ``trailer`` is set)."""

    def __init__(self, source: BinaryIO, crypto: MultiFernet) -> None:
        self.source = source
        self.crypto = crypto
        self.sequence = 0
        self.backup_id: bytes | None = None
        self.header: dict[str, Any] | None = None
        self.trailer: dict[str, Any] | None = None

    def _next_frame(self) -> tuple[bytes, bytes]:
        length = self.source.read(_LENGTH.size)
        if len(length) < _LENGTH.size:
            raise BackupIntegrityError("The backup file is truncated: it ends before its trailer.")
        (size,) = _LENGTH.unpack(length)
        if size > MAX_TOKEN_SIZE:
            raise BackupIntegrityError(f"Frame {self.sequence} of the backup file is damaged (impossible length).")
        token = self.source.read(size)
        if len(token) < size:
            raise BackupIntegrityError("The backup file is truncated: its last frame is incomplete.")
        try:
            plain = self.crypto.decrypt(token)
        except InvalidToken:
            if self.sequence == 0:
                raise BackupKeyError(
                    "The backup cannot be decrypted: BACKUP_ENCRYPTION_KEY is not the key it was made with, or "
                    "the file was altered."
                ) from None
            raise BackupIntegrityError(
                f"Frame {self.sequence} of the backup file failed authentication: the file was altered or damaged."
            ) from None
        if len(plain) < _PREFIX.size:
            raise BackupIntegrityError(f"Frame {self.sequence} of the backup file is malformed.")
        kind, backup_id, sequence = _PREFIX.unpack_from(plain)
        if self.backup_id is None:
            self.backup_id = backup_id
        if sequence != self.sequence or backup_id != self.backup_id:
            raise BackupIntegrityError(
                "The backup file's frames are out of order or come from another backup: the file was altered."
            )
        self.sequence += 1
        return kind, plain[_PREFIX.size :]

    def read_header(self) -> dict[str, Any]:
        magic = self.source.read(len(MAGIC))
        if magic != MAGIC:
            raise BackupError("This is not a Spectrum backup file (or not a version this code reads).")
        kind, body = self._next_frame()
        if kind != HEADER:
            raise BackupIntegrityError("The backup file does not start with its manifest: the file was altered.")
        self.header = json.loads(body)
        if self.header.get("format") != FORMAT_VERSION:
            raise BackupError(f"Backup format {self.header.get('format')} is not supported by this version.")
        if self.header.get("backup_id") != self.backup_id.hex():
            raise BackupIntegrityError("The backup's manifest does not match its frames: the file was altered.")
        return self.header

    def payload(self) -> Iterator[bytes]:
        """The uncompressed payload in pieces of at most ``PIECE_SIZE``; checks the trailer at the end."""
        if self.header is None:
            self.read_header()
        decompressor = zlib.decompressobj()
        sha = hashlib.sha256()
        size = 0
        frames = 0
        while True:
            kind, body = self._next_frame()
            if kind == TRAILER:
                break
            if kind != DATA:
                raise BackupIntegrityError("The backup file holds an unexpected frame: the file was altered.")
            frames += 1
            try:
                piece = decompressor.decompress(body, PIECE_SIZE)
                while True:
                    if piece:
                        sha.update(piece)
                        size += len(piece)
                        yield piece
                    if not decompressor.unconsumed_tail:
                        break
                    piece = decompressor.decompress(decompressor.unconsumed_tail, PIECE_SIZE)
            except zlib.error:
                raise BackupIntegrityError("The backup's compressed data is damaged.") from None
        tail = decompressor.flush()
        if tail:
            sha.update(tail)
            size += len(tail)
            yield tail
        if frames and not decompressor.eof:
            raise BackupIntegrityError("The backup's compressed data is incomplete.")
        self.trailer = json.loads(body)
        if self.source.read(1):
            raise BackupIntegrityError("The backup file has data after its trailer: the file was altered.")
        if (
            self.trailer.get("data_frames") != frames
            or self.trailer.get("payload_bytes") != size
            or self.trailer.get("payload_sha256") != sha.hexdigest()
        ):
            raise BackupIntegrityError("The backup's checksum does not match its content: the file was altered.")

    def verify(self) -> dict[str, Any]:
        """Read everything, discarding the payload; returns the trailer or raises."""
        for _ in self.payload():
            pass
        assert self.trailer is not None
        return self.trailer


def iter_lines(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """Split a stream of pieces into lines (without the newline)."""
    pending = b""
    for piece in pieces:
        pending += piece
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending
