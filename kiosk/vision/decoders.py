"""QR decoder backends behind one protocol.

* ``zxing``  — zxing-cpp, the default: fastest and reads the most. It also reports
  codes it located but could not read (``return_errors=True``), which the pipeline
  uses to retry just that region.
* ``zbar``   — pyzbar over the ZBar C library (``libzbar0``). Optional, installed with
  the ``zbar`` extra (``pip install gatepass-kiosk[zbar]``): without pyzbar or the
  library the backend says so and the program runs on with the default.
* ``opencv`` — OpenCV's ``QRCodeDetectorAruco``, always present with OpenCV.

Every backend takes an 8-bit grey image and returns :class:`Code` objects whose
corners are in that image's pixel coordinates (top-left, top-right, bottom-right,
bottom-left of the symbol as printed, where the backend knows the orientation).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from kiosk.core.errors import UserError
from kiosk.core.i18n import tr

log = logging.getLogger("kiosk.vision")

Point = tuple[float, float]
Quad = tuple[Point, ...]
DECODER_NAMES = ("auto", "zxing", "zbar", "opencv")


@dataclass(frozen=True)
class Code:
    """One QR code read from an image."""

    text: str
    raw: bytes
    corners: Quad  # 4 points in the input image's pixel coordinates
    backend: str


@dataclass(frozen=True)
class Scan:
    """What one decoder pass saw: codes read, and codes located but not read."""

    codes: list[Code] = field(default_factory=list)
    unread: list[Quad] = field(default_factory=list)


@runtime_checkable
class Decoder(Protocol):
    """A QR decoder backend."""

    name: str

    def available(self) -> bool: ...

    def unavailable_reason(self) -> str: ...

    def decode(self, gray: np.ndarray) -> list[Code]: ...

    def scan(self, gray: np.ndarray) -> Scan: ...


def quad(points: Any) -> Quad:
    """Four (x, y) float pairs from any sequence of points."""
    return tuple((float(p[0]), float(p[1])) for p in points)


def box_of(points: np.ndarray) -> Quad:
    """The four corners of the smallest rotated rectangle around ``points``."""
    rect = cv2.minAreaRect(np.asarray(points, np.float32).reshape(-1, 2))
    return quad(cv2.boxPoints(rect))


def shift(corners: Quad, dx: float, dy: float, scale: float = 1.0) -> Quad:
    """Map corners found in a scaled crop back to the full image."""
    return tuple((x / scale + dx, y / scale + dy) for x, y in corners)


# ---------------------------------------------------------------- zxing-cpp


def qr_formats(zxing: ModuleType) -> Any:
    """Plain QR codes (Model 1 and 2). In zxing-cpp 3, ``BarcodeFormat.QRCode`` is a
    family that also holds Micro QR and rMQR: no pass or payment app uses those, and
    zxing-cpp then reports a "located but unreadable" Micro QR in every finder pattern
    of a damaged code, sending the region retry to the wrong places. Same speed."""
    formats = zxing.BarcodeFormat
    if hasattr(formats, "QRCodeModel2"):
        return (formats.QRCodeModel1, formats.QRCodeModel2)
    return formats.QRCode  # pragma: no cover - zxing-cpp 2.x: QRCode is Model 1 and 2


class ZXingDecoder:
    """zxing-cpp, restricted to QR codes (about ten times faster than all formats)."""

    name = "zxing"

    def __init__(
        self, *, try_invert: bool = True, try_downscale: bool = True, try_rotate: bool = True
    ) -> None:
        self._module: ModuleType | None
        self._error = ""
        try:
            self._module = importlib.import_module("zxingcpp")
        except ImportError as exc:
            self._module = None
            self._error = str(exc)
        self._options: dict[str, Any] = {
            "try_invert": try_invert,
            "try_downscale": try_downscale,
            "try_rotate": try_rotate,
        }
        if self._module is not None:
            self._options["formats"] = qr_formats(self._module)
            self._options["text_mode"] = self._module.TextMode.Plain

    def available(self) -> bool:
        return self._module is not None

    def unavailable_reason(self) -> str:
        if self.available():
            return ""
        return tr("zxing-cpp is not installed ({error}): pip install zxing-cpp", error=self._error)

    def option(self, name: str, value: str) -> Any:
        """A zxing-cpp option value by name, e.g. ``option("binarizer", "GlobalHistogram")``."""
        if self._module is None:
            return None
        enums = {"binarizer": self._module.Binarizer, "text_mode": self._module.TextMode}
        return getattr(enums[name], value) if name in enums else value

    def decode(self, gray: np.ndarray) -> list[Code]:
        return self.scan(gray, want_unread=False).codes

    def scan(self, gray: np.ndarray, *, want_unread: bool = True, **options: Any) -> Scan:
        """Read ``gray``; ``options`` override zxing-cpp's (e.g. ``binarizer``)."""
        if self._module is None:
            return Scan()
        found = self._module.read_barcodes(
            gray, return_errors=want_unread, **{**self._options, **options}
        )
        codes, unread = [], []
        for item in found:
            p = item.position
            corners = quad(
                (pt.x, pt.y) for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
            )
            if item.valid:
                codes.append(Code(item.text, bytes(item.bytes), corners, self.name))
            else:
                unread.append(corners)
        return Scan(codes, unread)


# ---------------------------------------------------------------- ZBar


class ZBarDecoder:
    """pyzbar over the ZBar shared library, QR symbols only."""

    name = "zbar"

    def __init__(self) -> None:
        self._pyzbar: Any = None
        self._symbols: list[Any] = []
        self._binary: tuple[int, int, int] | None = None
        self._error = ""
        try:
            module = importlib.import_module("pyzbar.pyzbar")
        except (ImportError, OSError) as exc:  # pyzbar raises ImportError without libzbar
            self._error = str(exc) or type(exc).__name__
            log.info("zbar backend unavailable: %s", self._error)
            return
        self._pyzbar = module
        self._symbols = [module.ZBarSymbol.QRCODE]
        self._binary = _zbar_binary_config(module)

    def available(self) -> bool:
        return self._pyzbar is not None

    def unavailable_reason(self) -> str:
        if self.available():
            return ""
        if "pyzbar" in self._error and "zbar shared library" not in self._error.lower():
            return tr(
                "pyzbar is not installed: pip install gatepass-kiosk[zbar] (it also needs the "
                "ZBar library: libzbar0 on Debian/Ubuntu, brew install zbar on macOS)"
            )
        return tr(
            "ZBar library not found: install libzbar0 (Debian/Ubuntu), brew install "
            "zbar (macOS); on Windows reinstall pyzbar and the Visual C++ 2013 runtime"
        )

    def decode(self, gray: np.ndarray) -> list[Code]:
        if self._pyzbar is None:
            return []
        image = np.ascontiguousarray(gray)
        found = None
        if self._binary is not None:
            try:
                found = _zbar_decode_binary(self._pyzbar, image, self._binary)
            except (TypeError, AttributeError, ValueError, KeyError) as exc:
                # pyzbar's private helpers changed shape: plain decoding from now on
                log.warning("ZBar binary mode failed (%s); using pyzbar.decode", exc)
                self._binary = None
        if found is None:
            found = self._pyzbar.decode(image, symbols=self._symbols)
        codes = []
        for item in found:
            data = bytes(item.data)
            points = [(p.x, p.y) for p in item.polygon]
            corners = quad(points) if len(points) == 4 else box_of(np.array(points))
            codes.append(Code(bytes_to_text(data), data, corners, self.name))
        return codes

    def scan(self, gray: np.ndarray) -> Scan:
        return Scan(self.decode(gray))


def _zbar_binary_config(pyzbar: Any) -> tuple[int, int, int] | None:
    """ZBar's (symbology, config, value) for "QR data as bytes, not converted", or
    None when this ZBar (before 0.23) or pyzbar cannot say it.

    By default ZBar converts a QR code's bytes to UTF-8 itself, guessing the charset
    of 8-bit data: it took the Shift-JIS half-width katakana of real photos for
    Big5/GB, a different text. In binary mode it hands over the bytes, which
    :func:`bytes_to_text` reads like the other backends' (UTF-8, else Shift-JIS,
    else Latin-1).
    """
    try:
        from ctypes import byref, c_int

        wrapper = importlib.import_module("pyzbar.wrapper")
        helpers = (
            "_image_scanner",
            "_image",
            "_pixel_data",
            "_decode_symbols",
            "_symbols_for_image",
            "_FOURCC",
        )
        if not all(hasattr(pyzbar, name) for name in helpers):
            return None
        symbology, config, value = c_int(), c_int(), c_int()
        failed = wrapper.zbar_parse_config(
            b"qrcode.binary=1", byref(symbology), byref(config), byref(value)
        )
    except (ImportError, AttributeError, OSError) as exc:  # pragma: no cover
        log.info("ZBar binary mode unavailable: %s", exc)
        return None
    if failed:  # pragma: no cover - ZBar before 0.23 has no binary option
        return None
    return symbology.value, config.value, value.value


def _zbar_decode_binary(pyzbar: Any, image: np.ndarray, binary: tuple[int, int, int]) -> Any:
    """``pyzbar.decode(image, symbols=[QRCODE])`` with ZBar's binary mode on (pyzbar
    has no way to pass a config, so this is its ``decode`` with one more setting)."""
    from ctypes import c_void_p, cast

    wrapper = importlib.import_module("pyzbar.wrapper")
    pixels, width, height = pyzbar._pixel_data(image)
    qr = pyzbar.ZBarSymbol.QRCODE
    with pyzbar._image_scanner() as scanner:
        for symbol in pyzbar.ZBarSymbol:
            if symbol != qr:
                wrapper.zbar_image_scanner_set_config(scanner, symbol, 0, 0)  # 0: ENABLE
        wrapper.zbar_image_scanner_set_config(scanner, *binary)
        # Setting binary mode clears the symbology's other flags: enable QR after it.
        wrapper.zbar_image_scanner_set_config(scanner, qr, 0, 1)
        with pyzbar._image() as img:
            wrapper.zbar_image_set_format(img, pyzbar._FOURCC["L800"])
            wrapper.zbar_image_set_size(img, width, height)
            wrapper.zbar_image_set_data(img, cast(pixels, c_void_p), len(pixels), None)
            if wrapper.zbar_scan_image(scanner, img) < 0:
                return []
            return list(pyzbar._decode_symbols(pyzbar._symbols_for_image(img)))


# ---------------------------------------------------------------- OpenCV


class OpenCVDecoder:
    """OpenCV's QR detector (the ArUco-based one: it finds more codes than the classic)."""

    name = "opencv"

    def __init__(self) -> None:
        self._detector: Any = None
        self._error = ""
        try:
            self._detector = cv2.QRCodeDetectorAruco()
        except (AttributeError, cv2.error) as exc:  # pragma: no cover - very old OpenCV
            try:
                self._detector = cv2.QRCodeDetector()
            except (AttributeError, cv2.error):
                self._error = str(exc)

    def available(self) -> bool:
        return self._detector is not None

    def unavailable_reason(self) -> str:
        if self.available():
            return ""
        return tr(
            "This OpenCV has no QR detector ({error}): pip install "  # pragma: no cover
            "opencv-python-headless",
            error=self._error,
        )

    def decode(self, gray: np.ndarray) -> list[Code]:
        return self.scan(gray).codes

    def scan(self, gray: np.ndarray) -> Scan:
        if self._detector is None:
            return Scan()
        try:
            if hasattr(self._detector, "detectAndDecodeBytesMulti"):
                ok, found, points, _ = self._detector.detectAndDecodeBytesMulti(gray)
            else:  # pragma: no cover - OpenCV before 4.11
                ok, texts, points, _ = self._detector.detectAndDecodeMulti(gray)
                found = [t.encode("utf-8") for t in texts]
        except (cv2.error, UnicodeDecodeError) as exc:
            log.debug("OpenCV QR detector failed: %s", exc)
            return Scan()
        if not ok or points is None:
            return Scan()
        codes, unread = [], []
        for data, pts in zip(found, points, strict=False):
            corners = quad(pts)
            if data:
                raw = bytes(data)
                codes.append(Code(bytes_to_text(raw), raw, corners, self.name))
            else:
                unread.append(corners)
        return Scan(codes, unread)


def bytes_to_text(raw: bytes) -> str:
    """A code's bytes as text: UTF-8 (what phones and Gatepass write), else Shift-JIS
    (older Japanese codes), else Latin-1 (the QR standard's default)."""
    for encoding in ("utf-8", "shift_jis"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


# ---------------------------------------------------------------- choosing one

_FACTORIES: dict[str, type[ZXingDecoder] | type[ZBarDecoder] | type[OpenCVDecoder]] = {
    "zxing": ZXingDecoder,
    "zbar": ZBarDecoder,
    "opencv": OpenCVDecoder,
}


def make_decoder(name: str) -> Decoder:
    """A new instance of backend ``name`` (zxing, zbar, opencv), available or not."""
    if name not in _FACTORIES:
        raise UserError(
            tr(
                "Unknown decoder {name!r}: choose one of {choices}.",
                name=name,
                choices=", ".join(DECODER_NAMES),
            )
        )
    return _FACTORIES[name]()


def get_decoder(name: str = "auto", *, strict: bool = False) -> Decoder:
    """The backend called ``name``; ``auto`` is the best available one.

    A named backend that is not available falls back to ``auto`` with a warning in
    the log, so the gate keeps working; with ``strict`` it raises :class:`UserError`
    giving the fix instead.
    """
    if name not in DECODER_NAMES:
        raise UserError(
            tr(
                "Unknown decoder {name!r}: choose one of {choices}.",
                name=name,
                choices=", ".join(DECODER_NAMES),
            )
        )
    if name != "auto":
        decoder = make_decoder(name)
        if decoder.available():
            return decoder
        if strict:
            raise UserError(decoder.unavailable_reason())
        log.warning(
            "decoder %s unavailable (%s); using the default", name, decoder.unavailable_reason()
        )
    for factory in _FACTORIES.values():
        candidate: Decoder = factory()
        if candidate.available():
            return candidate
    raise UserError(tr("No QR decoder is available: pip install zxing-cpp"))  # pragma: no cover
