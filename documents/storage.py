"""Where encrypted documents live: Django's storage named "documents" (settings.STORAGES; local or S3)."""

import secrets
from collections.abc import Iterator
from typing import IO, cast

from django.core.files import File
from django.core.files.storage import Storage, storages

from documents import crypto

PREFIX = "documents"


def document_storage() -> Storage:
    return storages["documents"]


def random_name(suffix: str = "") -> str:
    """A storage name that says nothing about the patient or the file: two hex levels and 32 random hex digits."""
    token = secrets.token_hex(16)
    return f"{PREFIX}/{token[:2]}/{token}{suffix}"


def save_encrypted(source: IO[bytes], *, suffix: str = "") -> tuple[str, int]:
    """Encrypt ``source`` (a binary file, read from where it stands) into storage; returns the name and stored bytes."""
    reader = crypto.EncryptingReader(source)
    name = document_storage().save(random_name(suffix), File(cast(IO[bytes], reader), name="blob"))
    return name, reader.bytes_written


def open_decrypted(name: str) -> Iterator[bytes]:
    """The plaintext chunks of the stored file ``name`` (closes it when done); raises on a wrong key."""
    handle = document_storage().open(name, "rb")
    try:
        yield from crypto.decrypt_chunks(handle)
    finally:
        handle.close()


def delete(name: str) -> None:
    if name:
        document_storage().delete(name)
