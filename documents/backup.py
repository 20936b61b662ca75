"""Documents in backups: their stored files, encrypted as they are, beside the backup file.

A backup ``spectrum-….spbak`` gets a folder ``spectrum-….spbak.documents/`` holding a byte-for-byte copy of
every stored document file (and thumbnail) not yet purged, under its storage name, and ``index.json``
(name -> size and SHA-256 of the stored, encrypted bytes). The backup's encrypted, authenticated manifest
holds the index's SHA-256, so a changed, missing or extra file is found. The files stay encrypted with
FIELD_ENCRYPTION_KEY: no plaintext reaches the backup folder. Restores check every file (its checksum, and
that it decrypts with this FIELD_ENCRYPTION_KEY) before anything changes, then put them back into storage.
"""

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from django.core.files import File

from documents import crypto, storage
from documents.models import Document

SUFFIX = ".documents"
INDEX = "index.json"
COPY_CHUNK = 1024 * 1024


class DocumentBackupError(Exception):
    """The backup's documents are missing, altered or unreadable with this key. Names no PHI."""


def folder_for(backup_path: Path) -> Path:
    return backup_path.with_name(backup_path.name + SUFFIX)


def stored_names(using: str = "default") -> list[str]:
    """Every stored file a document row still points at (files of purged documents are gone)."""
    names = []
    for name, thumbnail in (
        Document.objects.using(using)
        .filter(purged_at__isnull=True)
        .order_by("pk")
        .values_list("storage_name", "thumbnail_name")
    ):
        names.append(name)
        if thumbnail:
            names.append(thumbnail)
    return names


def _target(folder: Path, name: str) -> Path:
    target = (folder / name).resolve()
    if folder.resolve() not in target.parents:
        raise DocumentBackupError("A document's storage name points outside the backup folder.")
    return target


def write_documents(backup_path: Path, using: str = "default") -> dict[str, Any]:
    """Copy the stored files into the backup's documents folder; returns the summary for the manifest."""
    folder = folder_for(backup_path)
    folder.mkdir(mode=0o700)
    index: dict[str, dict[str, Any]] = {}
    source_storage = storage.document_storage()
    for name in stored_names(using):
        target = _target(folder, name)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with source_storage.open(name, "rb") as source, os.fdopen(fd, "wb") as out:
            while chunk := source.read(COPY_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        index[name] = {"size": size, "sha256": digest.hexdigest()}
    index_bytes = json.dumps(index, sort_keys=True).encode()
    (folder / INDEX).write_bytes(index_bytes)
    (folder / INDEX).chmod(0o600)
    return {
        "files": len(index),
        "bytes": sum(entry["size"] for entry in index.values()),
        "index_sha256": hashlib.sha256(index_bytes).hexdigest(),
    }


def check_documents(backup_path: Path, summary: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Check the backup's documents against its (authenticated) manifest; returns the index or raises."""
    if not summary:
        return {}
    folder = folder_for(backup_path)
    try:
        index_bytes = (folder / INDEX).read_bytes()
    except FileNotFoundError:
        raise DocumentBackupError(
            f"The backup's documents folder ({folder.name}) is missing: copy it back beside the backup file."
        ) from None
    if hashlib.sha256(index_bytes).hexdigest() != summary["index_sha256"]:
        raise DocumentBackupError("The backup's documents index does not match its manifest: it was altered.")
    index = json.loads(index_bytes)
    keys = crypto.document_crypto()
    for name, entry in index.items():
        path = _target(folder, name)
        digest = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(COPY_CHUNK):
                    digest.update(chunk)
                handle.seek(0)
                if digest.hexdigest() != entry["sha256"]:
                    raise DocumentBackupError(f"A document file of the backup was altered ({Path(name).name}).")
                crypto.check_key(handle, keys)
        except FileNotFoundError:
            raise DocumentBackupError(f"A document file of the backup is missing ({Path(name).name}).") from None
        except crypto.DocumentDecryptionError:
            raise DocumentBackupError(
                "The backup's documents cannot be decrypted with this FIELD_ENCRYPTION_KEY: nothing was restored. "
                "Run the restore with the FIELD_ENCRYPTION_KEY the backed-up installation used."
            ) from None
    return index


def restore_documents(backup_path: Path, index: dict[str, dict[str, Any]]) -> int:
    """Put the backup's document files (checked by ``check_documents``) back into storage; returns how many."""
    target_storage = storage.document_storage()
    folder = folder_for(backup_path)
    restored = 0
    for name in index:
        if target_storage.exists(name):
            target_storage.delete(name)
        with _target(folder, name).open("rb") as handle:
            saved = target_storage.save(name, File(handle, name=Path(name).name))
        if saved != name:
            raise DocumentBackupError("A restored document file could not keep its storage name.")
        restored += 1
    return restored


def remove(backup_path: Path) -> None:
    shutil.rmtree(folder_for(backup_path), ignore_errors=True)
