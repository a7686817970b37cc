"""Writing an A4 PDF with Qt: the one place that sets up the writer and the painter."""

from __future__ import annotations

import contextlib
import errno
import threading
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QMarginsF
from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

from kiosk.core.atomic import whole_file
from kiosk.core.errors import EnvironmentFault
from kiosk.core.i18n import tr
from kiosk.ui.qt_app import ensure_gui_app


@contextlib.contextmanager
def a4_pdf(
    out: Path,
    *,
    title: str,
    dpi: int,
    margins_mm: QMarginsF | None = None,
    landscape: bool = False,
) -> Iterator[tuple[QPdfWriter, QPainter]]:
    """A portrait (or ``landscape``) A4 PDF at ``dpi``, painted inside the block;
    finished when it ends.

    The painter's origin is the top-left corner inside the margins. Any thread may
    paint (the office draws on its jobs thread); only the main thread may make the
    Qt application this needs, if there is none yet (the CLI)."""
    if QCoreApplication.instance() is None and threading.current_thread() is not (
        threading.main_thread()
    ):
        raise RuntimeError("a PDF is drawn off the main thread before Qt was started")
    ensure_gui_app()
    out.parent.mkdir(parents=True, exist_ok=True)
    with whole_file(out) as temp:  # no half a PDF (kiosk.core.atomic)
        writer = QPdfWriter(str(temp))
        writer.setResolution(dpi)
        writer.setTitle(title)
        writer.setCreator("Gatepass")
        writer.setPageLayout(
            QPageLayout(
                QPageSize(QPageSize.PageSizeId.A4),
                QPageLayout.Orientation.Landscape
                if landscape
                else QPageLayout.Orientation.Portrait,
                margins_mm if margins_mm is not None else QMarginsF(0, 0, 0, 0),
                QPageLayout.Unit.Millimeter,  # QPageLayout's own default unit is the point
            )
        )
        painter = QPainter()
        if not painter.begin(writer):
            raise EnvironmentFault(
                tr("Cannot write the PDF {path}: is the folder writable?", path=out)
            )
        try:
            yield writer, painter
        finally:
            ended = painter.end()
        del painter, writer  # the file closed
        if not ended or not _finished(temp):
            # Qt's PDF writer does not say when the disk fills: the file has no end.
            raise OSError(errno.EIO, tr("the PDF could not be written to the end"))


def _finished(pdf: Path) -> bool:
    """Whether ``pdf`` ends as every whole PDF does (``%%EOF``)."""
    with pdf.open("rb") as fh:
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - 64))
        return b"%%EOF" in fh.read()
