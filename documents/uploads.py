"""Upload handling: the size limit is enforced while the upload streams in, not after it is stored."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class MaxSizeUploadHandler(FileUploadHandler):
    """Stops reading an uploaded file once it passes ``DOCUMENT_MAX_BYTES``.

    The rest of the request body is read and discarded (so the client gets an answer, not a reset
    connection) and the request is marked, so the form or serializer can say why the file is missing.
    The next handler (Django's temporary-file handler) receives the chunks that pass.
    """

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.DOCUMENT_MAX_BYTES:
            if self.request is not None:
                self.request.upload_too_large = True  # type: ignore[attr-defined]
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def upload_was_too_large(request) -> bool:
    return bool(getattr(request, "upload_too_large", False))


def too_large_message() -> str:
    megabytes = settings.DOCUMENT_MAX_BYTES / (1024 * 1024)
    return f"The file is larger than the {megabytes:g} MB limit."
