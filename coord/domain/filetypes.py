"""What an uploaded file really is, from its first bytes (the client's word is not trusted)."""

from __future__ import annotations

SIGNATURES: tuple[tuple[str, bytes, int], ...] = (
    ("image/jpeg", b"\xff\xd8\xff", 0),
    ("image/png", b"\x89PNG\r\n\x1a\n", 0),
    ("application/pdf", b"%PDF-", 0),
    ("image/webp", b"WEBP", 8),
)
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/pdf": ".pdf",
    "image/webp": ".webp",
}
# Extensions a name may already carry for each type (compared case-insensitively).
ALSO_ACCEPTED = {"image/jpeg": (".jpeg",)}


def sniff(head: bytes) -> str | None:
    """The content type of a file starting with ``head``, or None if it is not allowed."""
    for content_type, magic, offset in SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            if content_type == "image/webp" and head[:4] != b"RIFF":
                continue
            return content_type
    return None


def safe_filename(name: str) -> str:
    """A display name without paths or control characters, at most 200 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*').strip(" .")
    return (cleaned or "lampiran")[:200]


def filename_for(name: str, content_type: str) -> str:
    """A safe display name whose extension matches ``content_type``, the type found in the
    file's bytes: ``halaman.html`` holding a PNG becomes ``halaman.png``, ``foto`` becomes
    ``foto.png``; ``Surat.PDF`` holding a PDF stays as it is."""
    base = safe_filename(name)
    stem, dot, extension = base.rpartition(".")
    wanted = EXTENSIONS[content_type]
    if dot and stem and "." + extension.lower() in (wanted, *ALSO_ACCEPTED.get(content_type, ())):
        return base
    return (stem if dot and stem else base)[: 200 - len(wanted)] + wanted
