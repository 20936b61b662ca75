"""Upload and download throughput of a 20 MB document through the whole stack, and peak memory.

    .venv/bin/python bench/documents.py                        # SQLite file in a temporary folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spectrum_bench .venv/bin/python bench/documents.py

In-process requests through Django's test client (middleware, session, permission checks, the upload
handlers that stream to a temporary file, type checks, chunked encryption into storage, the audit entries;
then the streamed, decrypted download), with documents stored in a temporary folder. Peak memory is
Python's (tracemalloc) during each request, and the process's maximum resident size at the end.
"""

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spectrum.settings")
os.environ.setdefault("RATELIMIT_ENABLE", "false")
os.environ.setdefault("DEBUG", "false")
WORK = Path(tempfile.mkdtemp(prefix="spectrum-bench-documents-"))
os.environ.setdefault("DOCUMENTS_ROOT", str(WORK / "store"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{WORK / 'bench.sqlite3'}")

MIB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User
    from documents.models import Document, DocumentCategory
    from tests.factories import PatientFactory

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DOCUMENT_MAX_BYTES = max(settings.DOCUMENT_MAX_BYTES, args.size_mb * MIB)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    user, _ = User.objects.get_or_create(
        email="bench-staff@bench.spectrum", defaults={"role": "staff", "full_name": "Bench Staff"}
    )
    patient = PatientFactory()
    category = DocumentCategory.objects.get(code="other")
    client = Client()
    client.force_login(user)

    source = WORK / "scan.pdf"
    with source.open("wb") as out:
        out.write(b"%PDF-1.7\n")
        block = os.urandom(MIB)
        while out.tell() < args.size_mb * MIB:
            out.write(block[: args.size_mb * MIB - out.tell()])
    size = source.stat().st_size

    def upload() -> None:
        with source.open("rb") as handle:
            response = client.post(
                f"/patients/{patient.pk}/documents/upload/",
                {"file": handle, "category": category.pk, "title": "Bench scan"},
            )
        assert response.status_code == 302, response.status_code

    def download() -> None:
        document = Document.objects.latest("id")
        response = client.get(f"/documents/{document.pk}/?download=1")
        received = sum(len(chunk) for chunk in response.streaming_content)
        assert received == size, received

    def peak(action) -> int:
        # tracemalloc slows every allocation down: memory is measured in rounds of its own, not timed.
        tracemalloc.start()
        try:
            action()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    uploads, downloads = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        upload()
        uploads.append(time.perf_counter() - start)
        start = time.perf_counter()
        download()
        downloads.append(time.perf_counter() - start)
    upload_peaks, download_peaks = [peak(upload)], [peak(download)]

    def rate(seconds: list[float]) -> str:
        median = statistics.median(seconds)
        return f"{median * 1000:,.0f} ms median, {size / MIB / median:,.1f} MiB/s"

    # The test client builds the whole multipart request body in memory before the view runs, so the
    # upload's peak includes that copy of the file (a real server streams it from the socket).
    print(f"file: {size / MIB:.1f} MiB, {args.repeat} rounds, database {settings.DATABASES['default']['ENGINE']}")
    print(f"upload:   {rate(uploads)}; Python peak {max(upload_peaks) / MIB:.1f} MiB (incl. the test client's body)")
    print(f"download: {rate(downloads)}; Python peak {max(download_peaks) / MIB:.1f} MiB")
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
