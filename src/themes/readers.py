r"""Readers: bytes on disk to pages of raw text, one reader per format.

The readers decide the format from the file's content (a PDF saved as ``.txt`` is still read as a
PDF), extract text without cleaning it, and turn every bad input into an
:class:`~themes.errors.InputFileError` whose ``error_type`` is one of:

``not_found``, ``is_directory``, ``permission_denied``, ``empty_file``, ``too_large``,
``encrypted_pdf``, ``corrupt_pdf``, ``no_text_layer``, ``corrupt_docx``, ``empty_docx``,
``navigation_only_html``, ``unsupported_format``, ``not_text``.

What "raw" means per format:

* **PDF** (pypdfium2): one string per page exactly as PDFium extracts it; line-end hyphens stay
  marked with U+FFFE (removing the marker dehyphenates exactly), ligatures arrive expanded, running
  headers and footers are kept. Only ``\r\n`` and ``\r`` become ``\n``.
* **DOCX** (python-docx): body paragraphs and tables in document order, Word's automatic list
  numbers written out ("1.2 The child ..."), pages split at hard page breaks; header and footer text
  goes to :attr:`RawDocument.running_text`, not into the pages.
* **HTML** (BeautifulSoup + lxml): site chrome (navigation, cookie banners, breadcrumbs, site
  header and footer) dropped; one page.
* **TXT / Markdown**: decoded text split into pages at form feeds; Markdown headings become
  ``§H`` lines.

DOCX and HTML also return :attr:`RawDocument.blocks`: one string per paragraph, heading, list item
or table row, so the segmenter need not guess paragraph boundaries. Headings start with
:data:`HEADING_MARKER`; table cells are joined with ``" | "``.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import stat
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from themes.errors import InputFileError

HEADING_MARKER = "\u00a7H "
"""Prefix of heading lines and blocks ("§H 3 Analysis")."""

FORMATS = ("pdf", "docx", "html", "txt", "md")
"""The formats :func:`read_document` reads."""

MIN_PDF_CHARS_PER_PAGE = 20
"""Below this many non-space characters per page on average a PDF counts as scanned (no text)."""

MIN_HTML_WORDS = 50
"""An HTML page with fewer words outside navigation, header and footer is not a report."""

_TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown", ""}
_MARKDOWN_SUFFIXES = {".md", ".markdown"}
_HTML_SUFFIXES = {".htm", ".html", ".xhtml", ".shtml"}
_SUFFIX_FORMAT = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".docm": "docx",
    ".htm": "html",
    ".html": "html",
    ".xhtml": "html",
    ".shtml": "html",
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
}


@dataclass
class RawDocument:
    """One input file as pages of raw, uncleaned text.

    Attributes:
        source_file: The path as it was given to :func:`read_document`.
        format: ``pdf``, ``docx``, ``html``, ``txt`` or ``md`` (decided by content).
        pages: One string per page. DOCX splits at hard page breaks; HTML is one page; TXT and
            Markdown split at form feeds. DOCX and HTML pages are their blocks joined by blank
            lines.
        sha256: Hex SHA-256 of the file's bytes (the parse-cache key).
        n_bytes: File size in bytes.
        blocks: DOCX and HTML only (else ``None``): per page, one string per paragraph, heading
            (prefixed with :data:`HEADING_MARKER`), list item or table row (cells joined with
            ``" | "``), whitespace collapsed.
        title: Title from the PDF metadata, the HTML ``<title>`` or the DOCX core properties, as
            stored (often junk such as "Microsoft Word - final.docx"); ``None`` when blank.
        warnings: Problems that did not stop reading (wrong extension, text not in UTF-8, pages
            without text), one line each.
        running_text: DOCX only: the distinct lines of the section headers and footers, so the
            cleaner can strip them wherever they leaked into the body.
    """

    source_file: str
    format: str
    pages: list[str]
    sha256: str
    n_bytes: int
    blocks: list[list[str]] | None = None
    title: str | None = None
    warnings: list[str] = field(default_factory=list)
    running_text: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------- sniffing
class _Sniffed(NamedTuple):
    format: str | None  # one of FORMATS, or None when unreadable
    text: str | None  # decoded text for txt/md/html
    encoding_warning: str | None
    what: str  # for unreadable input: what it appears to be, fit for an error message
    error_type: str  # for unreadable input: unsupported_format, not_text or corrupt_docx


_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 32), 127])
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
)
_ARCHIVE_MAGIC = (
    (b"\x1f\x8b", "a gzip-compressed file; decompress it first"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive; extract it first"),
    (b"Rar!\x1a\x07", "a RAR archive; extract it first"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SAVE_AS = "save it as DOCX or PDF and read that instead"


def sniff_format(data: bytes, suffix: str = "") -> str | None:
    r"""Decide a file's format from its bytes, using the extension only to break ties.

    PDF is recognised by ``%PDF-`` in the first 1024 bytes, DOCX by a ZIP holding
    ``word/document.xml``, HTML by a leading ``<!doctype html``, ``<html``, ``<head``, ``<body``
    or ``<p`` (after any BOM, whitespace, XML prolog or comments), Markdown by a ``.md`` suffix
    on text, and plain text by decoding as UTF-8 (or, failing that, Windows-1252/Latin-1).

    Args:
        data: The whole file (the text checks decode all of it).
        suffix: The file extension, with or without the dot, any case.

    Returns:
        ``"pdf"``, ``"docx"``, ``"html"``, ``"txt"`` or ``"md"``; ``None`` for anything else
        (spreadsheets, legacy ``.doc``, images, archives, binary junk).

    Examples:
        >>> sniff_format(b"%PDF-1.7 ...", ".txt")
        'pdf'
        >>> sniff_format(b"<!DOCTYPE html><title>x</title>", ".pdf")
        'html'
        >>> sniff_format(b"# Learning review", "md")
        'md'
        >>> sniff_format(b"\x89PNG\r\n\x1a\n\x00\x00", ".pdf") is None
        True
    """
    return _sniff(data, _normalise_suffix(suffix)).format


def _normalise_suffix(suffix: str) -> str:
    suffix = suffix.strip().lower()
    return suffix if not suffix or suffix.startswith(".") else "." + suffix


def _sniff(data: bytes, suffix: str) -> _Sniffed:
    def unreadable(what: str, error_type: str = "unsupported_format") -> _Sniffed:
        return _Sniffed(None, None, None, what, error_type)

    if data.startswith(b"%PDF-"):
        return _Sniffed("pdf", None, None, "", "")
    # Containers come before the loose "%PDF- in the first 1024 bytes" check: a ZIP may hold a PDF.
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(data, suffix)
    if data.startswith(_OLE_MAGIC):
        return unreadable(_describe_ole(data, suffix))
    for magic, what in _IMAGE_MAGIC:
        if data.startswith(magic):
            return unreadable(
                f"{what}, not a report; if it is a scanned page, make a PDF of it and run OCR "
                "(e.g. ocrmypdf in.pdf out.pdf)"
            )
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return unreadable("a WebP image, not a report")
    for magic, what in _ARCHIVE_MAGIC:
        if data.startswith(magic):
            return unreadable(what)
    if b"%PDF-" in data[:1024]:  # PDF readers accept junk (e.g. a mail header) before it
        return _Sniffed("pdf", None, None, "", "")
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf"):
        return unreadable(f"a Rich Text Format (RTF) file; {_SAVE_AS}")

    decoded = _decode_text(data)
    if decoded is None:
        if suffix in _TEXT_SUFFIXES:
            return unreadable(
                "cannot be decoded as text: it contains binary data, so it is probably not a "
                "text file despite its name",
                "not_text",
            )
        return unreadable(
            "unrecognised binary data (not PDF, DOCX, HTML or text); check the file downloaded "
            "completely and is a report"
        )
    text, encoding_warning = decoded
    start = _skip_prolog(text[:8192]).lower()
    strong_html = start.startswith(("<!doctype html", "<html", "<head", "<body"))
    if not strong_html and suffix in _MARKDOWN_SUFFIXES:
        return _Sniffed("md", text, encoding_warning, "", "")
    weak_html = re.match(r"<(p|div|h[1-6]|table|meta|title|section|article|main)[\s>/]", start)
    claimed_html = suffix in _HTML_SUFFIXES and re.search(
        r"<(html|body|p|div|h[1-6]|table|br)[\s>/]", text[:8192], re.IGNORECASE
    )
    if strong_html or weak_html or claimed_html:
        return _Sniffed("html", text, encoding_warning, "", "")
    return _Sniffed("txt", text, encoding_warning, "", "")


def _skip_prolog(text: str) -> str:
    """Drop leading whitespace, an XML declaration and comments before the first real tag."""
    text = text.lstrip("\ufeff \t\r\n\f")
    while True:
        if text.startswith("<?"):
            end = text.find("?>")
        elif text.startswith("<!--"):
            end = text.find("-->")
        else:
            return text
        if end < 0:
            return text
        text = text[end + 3 if text.startswith("<!--") else end + 2 :].lstrip(" \t\r\n\f")


def _sniff_zip(data: bytes, suffix: str) -> _Sniffed:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except Exception:  # noqa: BLE001 - zipfile raises many types on damaged archives
        names, mimetype = set(), b""
        if b"word/document.xml" in data or suffix in {".docx", ".docm"}:
            return _Sniffed(
                None,
                None,
                None,
                "DOCX is corrupt: its ZIP container cannot be opened (truncated download?); "
                "download it again or re-save it in Word",
                "corrupt_docx",
            )
        names = {name.decode("latin-1") for name in re.findall(rb"(xl|ppt)/[\w./]+", data[:65536])}
    if "word/document.xml" in names:
        return _Sniffed("docx", None, None, "", "")
    if any(name.startswith("xl/") for name in names) or b"xl/" in data[:2048]:
        what = "an Excel spreadsheet (XLSX), not a report"
    elif any(name.startswith("ppt/") for name in names):
        what = "a PowerPoint presentation (PPTX); save it as PDF and read that instead"
    elif mimetype.startswith(b"application/vnd.oasis.opendocument.text"):
        what = f"an OpenDocument text file (ODT); {_SAVE_AS}"
    elif mimetype.startswith(b"application/vnd.oasis.opendocument"):
        what = "an OpenDocument spreadsheet or presentation, not a report"
    elif mimetype.startswith(b"application/epub"):
        what = "an EPUB e-book; save it as PDF and read that instead"
    else:
        what = "a ZIP archive, not a report; extract it and read the files inside"
    return _Sniffed(None, None, None, what, "unsupported_format")


def _describe_ole(data: bytes, suffix: str) -> str:
    """Name the kind of legacy (OLE2) Office file from its stream names."""
    directory = data[:65536]
    if "WordDocument".encode("utf-16-le") in directory or suffix in {".doc", ".dot"}:
        return f"a legacy Word 97-2003 document (.doc), which is not supported; {_SAVE_AS}"
    if "Workbook".encode("utf-16-le") in directory or suffix in {".xls", ".xlt"}:
        return "a legacy Excel 97-2003 spreadsheet (.xls), not a report"
    if "PowerPoint".encode("utf-16-le") in directory or suffix in {".ppt", ".pps"}:
        return "a legacy PowerPoint 97-2003 presentation (.ppt); save it as PDF and read that"
    return (
        "a legacy Microsoft Office 97-2003 file (OLE2, e.g. .doc, .xls or .msg), which is not "
        f"supported; {_SAVE_AS}"
    )


def _decode_text(data: bytes) -> tuple[str, str | None] | None:
    """Decode bytes that look like text; return ``(text, warning or None)`` or ``None``.

    UTF-8 (with or without BOM) and UTF-16 with a BOM decode silently. Otherwise text that is
    mostly valid UTF-8 with a few bad bytes keeps UTF-8 (bad bytes replaced); the rest falls back
    to Windows-1252, then Latin-1, with a warning naming the encoding.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    n_control = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if n_control > max(1, len(data) // 100):
        return None
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8-sig", errors="replace")
    n_bad = lenient.count("\ufffd")
    n_non_ascii = len(lenient) - len(lenient.encode("ascii", "ignore"))
    if n_non_ascii - n_bad > 2 * n_bad:
        return lenient, (
            f"text is UTF-8 with {n_bad} invalid byte(s), replaced by U+FFFD; check the file's "
            "encoding"
        )
    n_high = len(data) - len(data.translate(None, bytes(range(128, 256))))
    if n_high > len(data) * 0.3:
        return None
    try:
        text, encoding = data.decode("cp1252"), "Windows-1252 (cp1252)"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "ISO-8859-1 (Latin-1)"
    return text, (
        f"text is not UTF-8; decoded as {encoding}, so check characters such as £, € and curly "
        "quotes"
    )


# ------------------------------------------------------------------------------------- entry point
def read_document(
    path: str | Path, *, max_bytes: int = 200_000_000, max_pages: int = 2000
) -> RawDocument:
    r"""Read one report file into pages of raw text.

    The format is decided by content (see :func:`sniff_format`); a mismatched extension only adds
    a warning. Nothing is cleaned: headers, footers, hyphenation markers and contents pages stay
    for the cleaning stage.

    Args:
        path: The file to read.
        max_bytes: Refuse files larger than this (default 200 MB).
        max_pages: Refuse documents with more pages than this (default 2000).

    Returns:
        The document as :class:`RawDocument`.

    Raises:
        InputFileError: For every bad input, with ``error_type`` ``not_found``,
            ``is_directory``, ``permission_denied``, ``empty_file``, ``too_large``,
            ``encrypted_pdf``, ``corrupt_pdf``, ``no_text_layer``, ``corrupt_docx``,
            ``empty_docx``, ``navigation_only_html``, ``unsupported_format`` or ``not_text``, and
            a one-line message that names the file and says what to do.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     report = Path(folder, "review.txt")
        ...     _ = report.write_text("Page one\fPage two", encoding="utf-8")
        ...     doc = read_document(report)
        >>> doc.format, doc.pages
        ('txt', ['Page one', 'Page two'])
    """
    source_file = str(path)
    path = Path(path)

    def fail(error_type: str, message: str) -> InputFileError:
        return InputFileError(source_file, error_type, message)

    data = _read_bytes(path, max_bytes, fail)
    suffix = path.suffix.lower()
    sniffed = _sniff(data, suffix)
    if sniffed.format is None:
        if sniffed.error_type == "unsupported_format":
            raise fail(
                "unsupported_format", f"unsupported format: this appears to be {sniffed.what}"
            )
        raise fail(sniffed.error_type, sniffed.what)

    doc = RawDocument(
        source_file=source_file,
        format=sniffed.format,
        pages=[],
        sha256=hashlib.sha256(data).hexdigest(),
        n_bytes=len(data),
    )
    claimed = _SUFFIX_FORMAT.get(suffix)
    if (
        claimed is not None
        and claimed != sniffed.format
        and {claimed, sniffed.format} != {"txt", "md"}
    ):
        doc.warnings.append(
            f"extension {suffix} does not match the content, which is {sniffed.format.upper()}; "
            f"read as {sniffed.format.upper()}"
        )
    if sniffed.encoding_warning and sniffed.format != "html":
        doc.warnings.append(sniffed.encoding_warning)

    if sniffed.format == "pdf":
        _read_pdf(data, doc, max_pages, fail)
    elif sniffed.format == "docx":
        _read_docx(data, doc, max_bytes, fail)
    elif sniffed.format == "html":
        _read_html(data, sniffed.text or "", sniffed.encoding_warning, doc, fail)
    else:
        _read_plain(sniffed.text or "", doc, fail)
    if len(doc.pages) > max_pages:
        raise fail("too_large", _page_limit_message(len(doc.pages), max_pages))
    return doc


def _read_bytes(path: Path, max_bytes: int, fail) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise fail("not_found", "file not found; check the path and file name") from None
    except NotADirectoryError:
        raise fail("not_found", "file not found: a folder in the path is a file") from None
    except PermissionError:
        raise fail("permission_denied", _PERMISSION_MESSAGE) from None
    except OSError as error:
        raise fail("not_found", f"cannot access the file ({error.strerror or error})") from None
    if stat.S_ISDIR(info.st_mode):
        raise fail("is_directory", "is a folder, not a file; pass the report files inside it")
    if not stat.S_ISREG(info.st_mode):
        raise fail("unsupported_format", "is not a regular file (a pipe, socket or device)")
    if info.st_size > max_bytes:
        raise fail("too_large", _size_limit_message(info.st_size, max_bytes))
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except PermissionError:
        raise fail("permission_denied", _PERMISSION_MESSAGE) from None
    except IsADirectoryError:
        raise fail(
            "is_directory", "is a folder, not a file; pass the report files inside it"
        ) from None
    except OSError as error:
        raise fail("not_found", f"cannot read the file ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise fail("too_large", _size_limit_message(len(data), max_bytes))
    if not data:
        raise fail("empty_file", "file is empty (0 bytes); download it again")
    return data


_PERMISSION_MESSAGE = "permission denied: cannot read the file; check its permissions (chmod u+r)"


def _size_limit_message(size: int, max_bytes: int) -> str:
    return (
        f"file is too large ({size / 1e6:,.1f} MB, over the {max_bytes / 1e6:,.1f} MB limit); if "
        "it really is one report, raise the limit with max_bytes"
    )


def _page_limit_message(n_pages: int, max_pages: int) -> str:
    return (
        f"document has too many pages ({n_pages:,}, over the limit of {max_pages:,}); if it "
        "really is one report, raise the limit with max_pages"
    )


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ------------------------------------------------------------------------------------- PDF
def _read_pdf(data: bytes, doc: RawDocument, max_pages: int, fail) -> None:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        code = getattr(error, "err_code", None)
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise fail(
                "encrypted_pdf",
                "PDF is password-protected (encrypted), so its text cannot be read; obtain an "
                "unprotected copy, or decrypt it if you have the password "
                "(qpdf --password=PASSWORD --decrypt in.pdf out.pdf)",
            ) from None
        raise fail(
            "corrupt_pdf",
            f"PDF is corrupt or truncated ({error}); download it again or re-save it from a PDF "
            "viewer",
        ) from None
    except Exception as error:  # noqa: BLE001 - PDFium on damaged input: any failure is "corrupt"
        raise fail("corrupt_pdf", f"PDF cannot be opened ({type(error).__name__})") from None

    try:
        n_pages = len(pdf)
        if n_pages == 0:
            raise fail("corrupt_pdf", "PDF has no pages (corrupt or truncated); download it again")
        if n_pages > max_pages:
            raise fail("too_large", _page_limit_message(n_pages, max_pages))
        title = pdf.get_metadata_dict(skip_empty=True).get("Title", "").strip()
        doc.title = title or None
        failed: list[int] = []
        for index in range(n_pages):
            text = _pdf_page_text(pdf, index, pdfium.PdfiumError)
            if text is None:
                failed.append(index + 1)
                text = ""
            doc.pages.append(_normalise_newlines(text))
    except InputFileError:
        raise
    except Exception as error:  # noqa: BLE001 - PDFium on damaged input: any failure is "corrupt"
        raise fail("corrupt_pdf", f"PDF is corrupt ({type(error).__name__}: {error})") from None
    finally:
        pdf.close()

    if len(failed) == n_pages:
        raise fail(
            "corrupt_pdf", "PDF is corrupt: none of its pages can be loaded; download it again"
        )
    if failed:
        doc.warnings.append(
            f"{len(failed)} page(s) could not be loaded and are empty: {_page_list(failed)}"
        )
    n_chars = sum(len("".join(page.split())) for page in doc.pages)
    if n_chars < MIN_PDF_CHARS_PER_PAGE * n_pages:
        raise fail(
            "no_text_layer",
            f"PDF has no text layer ({n_chars} characters on {n_pages} page(s)): it looks scanned; "
            "run OCR on it first (e.g. ocrmypdf in.pdf out.pdf)",
        )
    blank = [number for number, page in enumerate(doc.pages, start=1) if not page.strip()]
    if blank:
        doc.warnings.append(
            f"{len(blank)} of {n_pages} pages have no extractable text (blank or scanned images): "
            f"{_page_list(blank)}"
        )


def _pdf_page_text(pdf, index: int, pdfium_error: type[Exception]) -> str | None:
    """Extract one page's text, closing the page and text page (PDFium leaks otherwise)."""
    try:
        page = pdf[index]
    except pdfium_error:
        return None
    try:
        textpage = page.get_textpage()
        try:
            return textpage.get_text_range()
        finally:
            textpage.close()
    except pdfium_error:
        return None
    finally:
        page.close()


def _page_list(numbers: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(number) for number in numbers[:limit])
    return f"pages {shown}" + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


# ------------------------------------------------------------------------------------- DOCX
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


_W_P, _W_TBL, _W_TR, _W_TC, _W_R = _w("p"), _w("tbl"), _w("tr"), _w("tc"), _w("r")
_W_SDT, _W_SDT_CONTENT, _W_CUSTOM_XML = _w("sdt"), _w("sdtContent"), _w("customXml")
_W_VAL = _w("val")
# Containers whose children are runs (or more containers) inside a paragraph.
_RUN_CONTAINERS = {
    _w("hyperlink"),
    _w("ins"),
    _w("smartTag"),
    _w("customXml"),
    _w("fldSimple"),
    _w("sdt"),
    _w("sdtContent"),
    _w("moveTo"),
    _w("bdo"),
    _w("dir"),
}
_PAGE_BREAK = "\x0c"  # internal marker for a hard page break inside a paragraph


def _read_docx(data: bytes, doc: RawDocument, max_bytes: int, fail) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except Exception:  # noqa: BLE001 - damaged container
        expanded = 0
    if expanded > 10 * max_bytes:
        raise fail(
            "too_large",
            f"DOCX expands to {expanded / 1e6:,.0f} MB when unzipped, over 10 x max_bytes; if it "
            "really is one report, raise max_bytes",
        )
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
        reader = _DocxReader(document)
        pages = reader.body_pages()
        running = reader.running_text()
        title = (document.core_properties.title or "").strip()
    except (RecursionError, MemoryError):
        raise fail("corrupt_docx", "DOCX is too deeply nested or too large to read") from None
    except Exception as error:  # noqa: BLE001 - python-docx/lxml raise many types on damage
        raise fail(
            "corrupt_docx",
            f"DOCX is corrupt ({type(error).__name__}: {_one_line(error)}); download it again or "
            "re-save it in Word",
        ) from None
    if not any(block.strip() for page in pages for block in page):
        raise fail(
            "empty_docx",
            "DOCX has no body text (only headers, footers, images or nothing); check it is the "
            "report itself, or save it as PDF if the text is in images",
        )
    doc.blocks = pages
    doc.pages = ["\n\n".join(page) for page in pages]
    doc.running_text = running
    doc.title = title or None


def _one_line(error: BaseException, limit: int = 120) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _collapse(text: str) -> str:
    return " ".join(text.split())


class _DocxReader:
    """Walks a python-docx document's XML in order, emitting blocks per page."""

    def __init__(self, document: Any):
        self.document = document
        self.styles: dict[str, Any] = {}
        for style in document.styles:
            if style.style_id:
                self.styles[style.style_id] = style.element
        self.numbering = _WordNumbering(document)

    # -- body ------------------------------------------------------------------------------
    def body_pages(self) -> list[list[str]]:
        pages: list[list[str]] = [[]]
        for kind, text in self._blocks(self.document.element.body):
            if kind == "page" or (kind == "page_before" and pages[-1]):
                pages.append([])
            elif kind == "block" and text:
                pages[-1].append(text)
        while len(pages) > 1 and not pages[-1]:
            pages.pop()
        return pages

    def _blocks(self, container) -> Iterator[tuple[str, str]]:
        """Yield ``("block", text)`` and ``("page", "")`` events in document order."""
        for child in container.iterchildren():
            tag = child.tag
            if tag == _W_P:
                yield from self._paragraph_blocks(child)
            elif tag == _W_TBL:
                for row in self._table_rows(child):
                    yield "block", row
            elif tag in (_W_SDT, _W_SDT_CONTENT, _W_CUSTOM_XML):
                yield from self._blocks(child)

    def _paragraph_blocks(self, p) -> Iterator[tuple[str, str]]:
        style_id = _child_val(p, "pPr", "pStyle")
        if self._property(p, style_id, "pageBreakBefore"):
            yield "page_before", ""  # Word adds no blank page when already at the top of one
        segments, boxes = self._runs_text(p)
        prefix = self.numbering.label(p, style_id, self.styles)
        heading = self._is_heading(p, style_id)
        for index, segment in enumerate(segments.split(_PAGE_BREAK)):
            if index:
                yield "page", ""
            text = _collapse(segment)
            if index == 0 and prefix and text:
                text = f"{prefix} {text}"
            if text:
                yield "block", (HEADING_MARKER + text) if heading else text
        for box in boxes:
            yield from self._blocks(box)
        section = p.find(f"{_w('pPr')}/{_w('sectPr')}")
        if section is not None and _child_val(section, "type") not in ("continuous",):
            yield "page", ""

    def _runs_text(self, element) -> tuple[str, list]:
        """Text of a paragraph's runs, with hard page breaks as form feeds, plus its text boxes."""
        parts: list[str] = []
        boxes: list = []
        self._collect_runs(element, parts, boxes)
        return "".join(parts), boxes

    def _collect_runs(self, element, parts: list[str], boxes: list) -> None:
        for child in element.iterchildren():
            tag = child.tag
            if tag == _W_R:
                self._run_text(child, parts, boxes)
            elif tag in _RUN_CONTAINERS:
                self._collect_runs(child, parts, boxes)

    def _run_text(self, run, parts: list[str], boxes: list) -> None:
        for child in run.iterchildren():
            tag = child.tag
            if tag == _w("t"):
                parts.append(child.text or "")
            elif tag in (_w("tab"), _w("ptab")):
                parts.append("\t")
            elif tag == _w("br"):
                kind = child.get(_w("type"))
                parts.append(_PAGE_BREAK if kind == "page" else "\n")
            elif tag == _w("cr"):
                parts.append("\n")
            elif tag == _w("noBreakHyphen"):
                parts.append("-")
            elif tag in (_w("drawing"), _w("pict"), f"{{{_MC}}}AlternateContent"):
                boxes.extend(_text_boxes(child))

    def _table_rows(self, table) -> Iterator[str]:
        for row in _children(table, _W_TR):
            cells = [_collapse(self._cell_text(cell)) for cell in _children(row, _W_TC)]
            if any(cells):
                yield " | ".join(cells)

    def _cell_text(self, cell) -> str:
        parts: list[str] = []
        for kind, text in self._blocks(cell):
            if kind == "block":
                parts.append(text.removeprefix(HEADING_MARKER))
        return " ".join(parts)

    # -- styles ----------------------------------------------------------------------------
    def _style_chain(self, style_id: str | None) -> Iterator[Any]:
        seen: set[str] = set()
        while style_id and style_id in self.styles and style_id not in seen:
            seen.add(style_id)
            element = self.styles[style_id]
            yield element
            style_id = _child_val(element, "basedOn")

    def _property(self, p, style_id: str | None, name: str) -> bool:
        """Whether an on/off paragraph property is set directly or through the style chain."""
        for element in (p, *self._style_chain(style_id)):
            prop = element.find(f"{_w('pPr')}/{_w(name)}")
            if prop is not None:
                return prop.get(_W_VAL) not in ("0", "false", "off")
        return False

    def _is_heading(self, p, style_id: str | None) -> bool:
        style = self.styles.get(style_id or "")
        if style is not None:
            name = _child_val(style, "name") or ""
            # python-docx shows built-in "heading 1" as "Heading 1"; compare case-insensitively.
            if name.lower().startswith(("heading", "title")):
                return True
        for element in (p, *self._style_chain(style_id)):
            level = _child_val(element, "pPr", "outlineLvl")
            if level is not None:
                return level.isdigit() and int(level) < 9
        return False

    # -- headers and footers ---------------------------------------------------------------
    def running_text(self) -> list[str]:
        lines: list[str] = []
        part = self.document.part
        for section in self.document.element.body.iter(_w("sectPr")):
            for reference in section:
                if reference.tag not in (_w("headerReference"), _w("footerReference")):
                    continue
                rel_id = reference.get(f"{{{_R}}}id")
                related = part.related_parts.get(rel_id) if rel_id else None
                element = getattr(related, "element", None)
                if element is None:
                    continue
                for kind, text in self._blocks(element):
                    if kind == "block" and text and text not in lines:
                        lines.append(text)
        return lines


def _children(element, tag: str) -> Iterator[Any]:
    """Children with ``tag``, looking through content controls and custom XML wrappers."""
    for child in element.iterchildren():
        if child.tag == tag:
            yield child
        elif child.tag in (_W_SDT, _W_SDT_CONTENT, _W_CUSTOM_XML):
            yield from _children(child, tag)


def _child_val(element, *path: str) -> str | None:
    found = element.find("/".join(_w(name) for name in path))
    return None if found is None else found.get(_W_VAL)


def _text_boxes(element) -> list:
    """Text-box contents in a drawing, taking the modern choice of an ``AlternateContent``."""
    if element.tag == f"{{{_MC}}}AlternateContent":
        choice = element.find(f"{{{_MC}}}Choice")
        element = choice if choice is not None else element.find(f"{{{_MC}}}Fallback")
        if element is None:
            return []
    return list(element.iter(_w("txbxContent")))


class _WordNumbering:
    """Just enough of Word's list numbering to write out "1.2"-style paragraph numbers.

    Reports number paragraphs with automatic lists, whose numbers are not in the text. Counters
    are kept per abstract list (lists sharing one continue each other); a ``startOverride``
    restarts a level the first time its list is used. Bullets get no label.
    """

    def __init__(self, document: Any):
        self.levels: dict[str, dict[int, dict[str, Any]]] = {}
        self.nums: dict[str, tuple[str, dict[int, int]]] = {}
        self.counters: dict[str, list[int | None]] = {}
        self.used: set[str] = set()
        try:
            root = document.part.numbering_part.element
        except Exception:  # noqa: BLE001 - numbering is optional decoration
            return
        for abstract in root.iterchildren(_w("abstractNum")):
            levels: dict[int, dict[str, Any]] = {}
            for level in abstract.iterchildren(_w("lvl")):
                ilvl = _int(level.get(_w("ilvl")), 0)
                levels[ilvl] = {
                    "start": _int(_child_val(level, "start"), 1),
                    "fmt": _child_val(level, "numFmt") or "decimal",
                    "text": _child_val(level, "lvlText"),
                    "legal": level.find(_w("isLgl")) is not None,
                    "style": _child_val(level, "pStyle"),
                }
            self.levels[abstract.get(_w("abstractNumId")) or ""] = levels
        for num in root.iterchildren(_w("num")):
            overrides = {}
            for override in num.iterchildren(_w("lvlOverride")):
                start = _child_val(override, "startOverride")
                if start is not None:
                    overrides[_int(override.get(_w("ilvl")), 0)] = _int(start, 1)
            self.nums[num.get(_w("numId")) or ""] = (
                _child_val(num, "abstractNumId") or "",
                overrides,
            )

    def label(self, p, style_id: str | None, styles: dict[str, Any]) -> str | None:
        num_id, ilvl = _child_val(p, "pPr", "numPr", "numId"), _child_val(p, "pPr", "numPr", "ilvl")
        from_style = False
        seen: set[str] = set()
        current = style_id
        while num_id is None and current in styles and current not in seen:
            seen.add(current)
            num_id = _child_val(styles[current], "pPr", "numPr", "numId")
            ilvl = ilvl or _child_val(styles[current], "pPr", "numPr", "ilvl")
            from_style = True
            current = _child_val(styles[current], "basedOn")
        if num_id is None or num_id == "0" or num_id not in self.nums:
            return None
        abstract_id, overrides = self.nums[num_id]
        levels = self.levels.get(abstract_id)
        if not levels:
            return None
        if ilvl is None and from_style:
            ilvl = next((str(i) for i, lv in levels.items() if lv["style"] == style_id), "0")
        level = min(max(_int(ilvl, 0), 0), 8)
        if level not in levels:
            return None
        counters = self.counters.setdefault(abstract_id, [None] * 9)
        if num_id not in self.used:
            self.used.add(num_id)
            for overridden, start in overrides.items():
                if 0 <= overridden < 9:
                    counters[overridden] = start - 1
                    for deeper in range(overridden + 1, 9):
                        counters[deeper] = None
        current_value = counters[level]
        counters[level] = levels[level]["start"] if current_value is None else current_value + 1
        for deeper in range(level + 1, 9):
            counters[deeper] = None
        spec = levels[level]
        if spec["fmt"] in ("bullet", "none") or not spec["text"]:
            return None

        def substitute(match: re.Match) -> str:
            index = int(match.group(1)) - 1
            lv = levels.get(index, {"start": 1, "fmt": "decimal"})
            value = (
                counters[index] if 0 <= index < 9 and counters[index] is not None else lv["start"]
            )
            return _format_number(value, "decimal" if spec["legal"] else lv["fmt"])

        label = re.sub(r"%([1-9])", substitute, spec["text"]).strip()
        return label or None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _format_number(value: int, fmt: str) -> str:
    if fmt == "decimalZero":
        return f"{value:02d}"
    if fmt in ("lowerLetter", "upperLetter") and value > 0:
        letter = chr(ord("a") + (value - 1) % 26) * ((value - 1) // 26 + 1)
        return letter.upper() if fmt == "upperLetter" else letter
    if fmt in ("lowerRoman", "upperRoman") and 0 < value < 4000:
        roman = _roman(value)
        return roman.lower() if fmt == "lowerRoman" else roman
    return str(value)


def _roman(value: int) -> str:
    out = []
    for number, letters in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        while value >= number:
            out.append(letters)
            value -= number
    return "".join(out)


# ------------------------------------------------------------------------------------- HTML
# Dropped wholesale: never report text.
_HTML_DROP = {
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "aside",
    "form",
    "button",
    "select",
    "textarea",
    "input",
    "dialog",
    "svg",
    "canvas",
    "iframe",
    "object",
    "embed",
    "head",
}
_HTML_CHROME_ROLES = {"navigation", "search"}
_HTML_SITE_CHROME = {"header", "footer"}  # dropped unless inside <main> or <article>
_HTML_SITE_ROLES = {"banner", "contentinfo"}
_HTML_CHROME_WORDS = ("cookie", "breadcrumb", "skip")
_HTML_KEEP = {"html", "body", "main", "article"}
_HTML_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Elements that end the current block (text never runs across them).
_HTML_BLOCK = {
    "address",
    "article",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "header",
    "hr",
    "html",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
} | _HTML_HEADINGS


def _read_html(
    data: bytes, text: str, encoding_warning: str | None, doc: RawDocument, fail
) -> None:
    declared = _declared_charset(text)
    if declared and encoding_warning:
        try:
            text, encoding_warning = data.decode(declared), None
        except (LookupError, UnicodeDecodeError):
            pass
    if encoding_warning:
        doc.warnings.append(encoding_warning)
    try:
        from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            soup = BeautifulSoup(text, "lxml")
        title_tag = soup.find("title")
        title = _collapse(title_tag.get_text(" ")) if title_tag is not None else ""
        pdf_links = [
            str(a.get("href"))
            for a in soup.find_all("a", href=True)
            if str(a.get("href")).lower().split("?")[0].endswith(".pdf")
        ]
        _drop_html_chrome(soup)
        root = soup.find("main") or _largest_article(soup) or soup.body or soup
        blocks = _html_blocks(root)
        if root is not (soup.body or soup) and _word_count(blocks) < MIN_HTML_WORDS:
            blocks = _html_blocks(soup.body or soup)
    except (RecursionError, MemoryError):
        raise fail("not_text", "HTML is too deeply nested or too large to parse") from None
    except Exception as error:  # noqa: BLE001 - parser failures on damaged markup
        raise fail("not_text", f"HTML cannot be parsed ({type(error).__name__})") from None

    n_words = _word_count(blocks)
    if n_words < MIN_HTML_WORDS:
        hint = (
            f"; it links to {len(pdf_links)} PDF file(s), e.g. {pdf_links[0]}: download the report"
            if pdf_links
            else "; save the report itself (often a linked PDF), not the web page"
        )
        raise fail(
            "navigation_only_html",
            f"HTML page has only navigation, header and footer text ({n_words} words of main "
            f"text, fewer than {MIN_HTML_WORDS}){hint}",
        )
    doc.blocks = [blocks]
    doc.pages = ["\n\n".join(blocks)]
    doc.title = title or None


def _declared_charset(text: str) -> str | None:
    match = re.search(
        r"<meta[^>]{0,200}?charset\s*=\s*[\"']?([\w.:-]+)", text[:4096], re.IGNORECASE
    )
    if match is None:
        return None
    charset = match.group(1).lower()
    # As browsers do (WHATWG): pages labelled Latin-1 or ASCII are decoded as Windows-1252.
    return (
        "cp1252" if charset in {"iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii"} else charset
    )


def _drop_html_chrome(soup) -> None:
    doomed = []
    for tag in soup.find_all(True):
        name = tag.name
        if name in _HTML_KEEP:
            continue
        role = str(tag.get("role") or "").lower()
        inside_content = tag.find_parent(("main", "article")) is not None
        if (
            name in _HTML_DROP
            or role in _HTML_CHROME_ROLES
            or (not inside_content and (name in _HTML_SITE_CHROME or role in _HTML_SITE_ROLES))
            or tag.has_attr("hidden")
            or str(tag.get("aria-hidden") or "").lower() == "true"
            or _is_chrome_by_name(tag)
        ):
            doomed.append(tag)
    for tag in doomed:
        if tag.parent is not None:  # not already removed with an ancestor
            tag.extract()


def _is_chrome_by_name(tag) -> bool:
    """A cookie banner, breadcrumb trail or skip link, judged by class or id.

    Pages sometimes flag a whole wrapper (``<div class="cookies-accepted">``), so only short
    elements count: a banner is a sentence or two, never the report.
    """
    classes = tag.get("class") or []
    names = " ".join(
        [*(classes if isinstance(classes, list) else [classes]), str(tag.get("id") or "")]
    )
    if not any(word in names.lower() for word in _HTML_CHROME_WORDS):
        return False
    return len(tag.get_text(" ").split()) < 200


def _largest_article(soup):
    articles = soup.find_all("article")
    if not articles:
        return None
    return max(articles, key=lambda article: len(article.get_text(" ").split()))


def _word_count(blocks: list[str]) -> int:
    return sum(len(block.removeprefix(HEADING_MARKER).split()) for block in blocks)


def _html_blocks(root) -> list[str]:
    """Walk the tree without recursion (deep markup must not hit Python's recursion limit)."""
    from bs4 import NavigableString, Tag
    from bs4.element import PreformattedString

    blocks: list[str] = []
    buffer: list[str] = []
    heading_depth = 0

    def flush() -> None:
        text = _collapse("".join(buffer))
        buffer.clear()
        if text:
            blocks.append((HEADING_MARKER + text) if heading_depth else text)

    stack: list[tuple[bool, Any]] = [(False, child) for child in reversed(list(root.children))]
    while stack:
        leaving, node = stack.pop()
        if leaving:
            flush()
            if node.name in _HTML_HEADINGS:
                heading_depth -= 1
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):
                buffer.append(str(node))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if name == "br":
            previous = node.previous_sibling
            while isinstance(previous, NavigableString) and not previous.strip():
                previous = previous.previous_sibling
            if isinstance(previous, Tag) and previous.name == "br":
                flush()  # a blank line made of two <br> separates paragraphs
            else:
                buffer.append(" ")
            continue
        if name == "tr" and _is_data_row(node):
            flush()
            cells = [
                _collapse(cell.get_text(" "))
                for cell in node.find_all(("td", "th"), recursive=False)
            ]
            if any(cells):
                blocks.append(" | ".join(cells))
            continue
        if name in _HTML_BLOCK:
            flush()
            if name in _HTML_HEADINGS:
                heading_depth += 1
            stack.append((True, node))
        elif name in {"img", "wbr"}:
            buffer.append(" ")
        stack.extend((False, child) for child in reversed(list(node.children)))
    flush()
    return blocks


def _is_data_row(row) -> bool:
    """A table row of data, not a layout row holding the whole page in a cell."""
    for cell in row.find_all(("td", "th"), recursive=False):
        if cell.find(("table", *_HTML_HEADINGS)) is not None:
            return False
        if len(cell.find_all(("p", "div", "li"), limit=6)) > 5:
            return False
    return True


# ------------------------------------------------------------------------------------- TXT / MD
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _read_plain(text: str, doc: RawDocument, fail) -> None:
    text = _normalise_newlines(text)
    if not text.strip():
        raise fail("empty_file", "file contains no text (only whitespace)")
    pages = text.split("\f")
    if len(pages) > 1 and not pages[-1].strip():
        pages.pop()  # pdftotext ends every page, the last included, with a form feed
    if doc.format == "md":
        pages = [_mark_markdown_headings(page) for page in pages]
    doc.pages = pages


def _mark_markdown_headings(text: str) -> str:
    """Rewrite ATX (``## Title``) and setext headings as ``§H Title`` lines, outside code fences."""
    lines = text.split("\n")
    out: list[str] = []
    in_fence = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            out.append(line)
            continue
        if in_fence:
            out.append(line)
            continue
        atx = _ATX_HEADING.match(line)
        if atx:
            title = (atx.group(1) or "").strip()
            out.append(HEADING_MARKER + title if title else "")
            continue
        previous = out[-1] if out else ""
        if (
            _SETEXT_UNDERLINE.match(line)
            and previous.strip()
            and not previous.startswith(HEADING_MARKER)
            and not previous.lstrip().startswith(("-", "*", "+", "|", ">"))
            and (len(out) < 2 or not out[-2].strip() or line.lstrip().startswith("="))
        ):
            out[-1] = HEADING_MARKER + previous.strip()
            continue
        out.append(line)
    return "\n".join(out)
