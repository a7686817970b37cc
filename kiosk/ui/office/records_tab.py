"""Records for the street office: the visit log as CSV/XLSX, the daily PDF report, and
retention (deleting old records by hand; it also runs daily by itself).

Exports are masked unless the admin PIN was given for "Show full ID numbers" in this
office window; every unmasked export is written to the audit log (by the store).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QDate, QDateTime, QTime
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from kiosk.core.clock import from_db
from kiosk.core.i18n import tr, trn
from kiosk.core.progress import Progress
from kiosk.store.checkpoint import get_meta
from kiosk.store.files.visit_export import export_visits
from kiosk.store.retention import LAST_PURGE, PurgeReport, purge, unfinished_note
from kiosk.store.stats import daily_summary
from kiosk.ui.office import files
from kiosk.ui.office.context import OfficeContext, aware, day_of
from kiosk.ui.ops import LongOp, QueryOp
from kiosk.ui.printing.daily_report import report_written
from kiosk.ui.theme import set_role

DATE_FORMAT = "yyyy-MM-dd"
TIME_FORMAT = "yyyy-MM-dd HH:mm"


def _form(box: QGroupBox) -> QFormLayout:
    """A form whose fields keep their natural width (not stretched across the screen)."""
    form = QFormLayout(box)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
    return form


def _status(label: QLabel, text: str, *, problem: bool = False) -> None:
    label.setText(text)
    label.setProperty("problem", problem)
    set_role(label, "error" if problem else "")


class RecordsTab(QWidget):
    """Export the visit log, write the daily report, delete old records."""

    def __init__(self, ctx: OfficeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        # Replaced in tests: asks whether to delete old records now.
        self.confirm_purge = self._confirm_purge
        self.export_op: LongOp[int] | None = None  # the last export (tests: its progress)
        self.purge_op: LongOp[PurgeReport] | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self._export_box())
        layout.addWidget(self._report_box())
        layout.addWidget(self._retention_box())
        layout.addStretch(1)
        ctx.signals.unmaskedChanged.connect(self._show_masking)
        self._show_masking(ctx.unmasked)
        self._show_last_purge()

    # ------------------------------------------------------------ the visit log

    def _export_box(self) -> QGroupBox:
        box = QGroupBox(tr("Visit log for the street office"))
        form = _form(box)
        today = QDate.currentDate()
        self.export_from = QDateTimeEdit(QDateTime(today, QTime(0, 0)))
        self.export_to = QDateTimeEdit(QDateTime(today, QTime(23, 59)))
        for edit in (self.export_from, self.export_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat(TIME_FORMAT)
            edit.setMinimumWidth(240)
        self.export_format = QComboBox()
        self.export_format.addItem(tr("Excel workbook (XLSX)"), "xlsx")
        self.export_format.addItem(tr("CSV (opens in Excel and WPS)"), "csv")
        self.export_masking = QLabel()
        self.export_masking.setWordWrap(True)
        self.export_button = QPushButton(tr("Export…"))
        self.export_button.clicked.connect(self.export)
        self.export_status = QLabel()
        self.export_status.setWordWrap(True)
        form.addRow(tr("From"), self.export_from)
        form.addRow(tr("To"), self.export_to)
        form.addRow(tr("Format"), self.export_format)
        form.addRow(self.export_masking)
        form.addRow(self.export_button, self.export_status)
        return box

    def _show_masking(self, unmasked: bool) -> None:
        self.export_masking.setText(
            tr("ID numbers and phones will be exported IN FULL; the export is audited.")
            if unmasked
            else tr(
                "ID numbers and phones will be masked. To export them in full, switch on "
                "'Show full ID numbers' (admin PIN) first."
            )
        )

    def export(self) -> None:
        start, end = aware(self.export_from.dateTime()), aware(self.export_to.dateTime())
        if end <= start:
            _status(self.export_status, tr("'To' must be after 'From'."), problem=True)
            return
        fmt = str(self.export_format.currentData())
        suggested = f"visits-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}"
        out = files.ask_save_path(
            self, tr("Save the visit log"), suggested, f"{fmt.upper()} (*.{fmt})"
        )
        if out is None:
            return
        out = files.ensure_suffix(out, f".{fmt}")
        unmasked, actor = self.ctx.unmasked, self.ctx.actor

        def job(db: Database, progress: Progress) -> int:
            return export_visits(
                db,
                out,
                start=start,
                end=end,
                fmt=fmt,
                unmasked=unmasked,
                actor=actor,
                progress=progress,
            )

        self.export_button.setEnabled(False)
        _status(self.export_status, tr("Exporting…"))
        self.export_op = LongOp(
            self.ctx.jobs,
            parent=self,
            label=tr("Exporting…"),
            op=job,
            success=lambda n: self._exported(n, out),
        )
        self.export_op.failure(self._export_failed).cancelled(
            lambda: self._export_failed(tr("Stopped."))
        ).run_in_background()

    def _exported(self, count: int, out: Path) -> None:
        self.export_button.setEnabled(True)
        _status(
            self.export_status,
            trn(
                "Wrote {count} visit to {path}.",
                "Wrote {count} visits to {path}.",
                count,
                count=count,
                path=out,
            ),
        )

    def _export_failed(self, message: str) -> None:
        self.export_button.setEnabled(True)
        _status(self.export_status, message, problem=True)

    # ------------------------------------------------------------ the daily report

    def _report_box(self) -> QGroupBox:
        box = QGroupBox(tr("Daily report (PDF)"))
        form = _form(box)
        self.report_date = QDateEdit(QDate.currentDate())
        self.report_date.setCalendarPopup(True)
        self.report_date.setDisplayFormat(DATE_FORMAT)
        self.report_lang = QComboBox()
        self.report_lang.addItem("中文", "zh_CN")
        self.report_lang.addItem("English", "en")
        self.report_button = QPushButton(tr("Save report…"))
        self.report_button.clicked.connect(self.save_report)
        self.report_status = QLabel()
        self.report_status.setWordWrap(True)
        form.addRow(tr("Day"), self.report_date)
        form.addRow(tr("Language"), self.report_lang)
        form.addRow(self.report_button, self.report_status)
        return box

    def save_report(self) -> None:
        day = day_of(self.report_date.date())
        out = files.ask_save_path(
            self, tr("Save the daily report"), f"report-{day:%Y%m%d}.pdf", "PDF (*.pdf)"
        )
        if out is None:
            return
        out = files.ensure_suffix(out, ".pdf")
        lang = str(self.report_lang.currentData())
        self.report_button.setEnabled(False)
        _status(self.report_status, tr("Writing the report…"))

        def job(db: Database) -> int:
            from kiosk.ui.printing.daily_report import write_daily_pdf

            # Read and drawn on the jobs thread: Qt's PDF writer and painter work
            # off the UI thread (no widget is painted).
            return write_daily_pdf(daily_summary(db, day), out, lang=lang)

        QueryOp(
            self.ctx.jobs, parent=self, op=job, success=lambda pages: self._reported(pages, out)
        ).failure(self._report_failed).run_in_background()

    def _reported(self, pages: int, out: Path) -> None:
        self.report_button.setEnabled(True)
        _status(
            self.report_status,
            report_written(pages, out),
        )

    def _report_failed(self, message: str) -> None:
        self.report_button.setEnabled(True)
        _status(self.report_status, message, problem=True)

    # ------------------------------------------------------------ retention

    def _retention_box(self) -> QGroupBox:
        box = QGroupBox(tr("Old records"))
        row = QHBoxLayout(box)
        self.retention_text = QLabel()
        self.retention_text.setWordWrap(True)
        self.purge_button = QPushButton(tr("Delete old records now…"))
        self.purge_button.clicked.connect(self.purge_now)
        row.addWidget(self.retention_text, 1)
        row.addWidget(self.purge_button)
        return box

    def _show_last_purge(self, note: str = "") -> None:
        """Read when the records were last purged (on the reader), then say so."""
        QueryOp(
            self.ctx.reader,
            parent=self,
            op=lambda db: get_meta(db, LAST_PURGE),
            success=lambda last: self._said_last_purge(last, note),
        ).failure(self.retention_text.setText).run_in_background()

    def _said_last_purge(self, last: str | None, note: str) -> None:
        days = self.ctx.settings.retention_days
        when = from_db(last).astimezone().strftime("%Y-%m-%d %H:%M") if last else ""
        text = tr(
            "Visits and visitors older than {days} days are deleted every day, from the "
            "file too. Last time: {when}.",
            days=days,
            when=when or tr("never"),
        )
        self.retention_text.setText(f"{text} {note}".strip())

    def _confirm_purge(self, days: int) -> bool:
        answer = QMessageBox.question(
            self,
            tr("Delete old records"),
            tr(
                "Delete every visit and visitor older than {days} days? This cannot be undone.",
                days=days,
            ),
        )
        return answer == QMessageBox.StandardButton.Yes

    def purge_now(self) -> None:
        days = self.ctx.settings.retention_days
        if not self.confirm_purge(days):
            return
        actor = self.ctx.actor

        def job(db: Database, progress: Progress) -> PurgeReport:
            return purge(
                db,
                older_than_days=days,
                now=datetime.now().astimezone(),
                actor=actor,
                progress=progress,
            )

        self.purge_button.setEnabled(False)
        self.purge_op = LongOp(
            self.ctx.jobs,
            parent=self,
            label=tr("Deleting old records…"),
            op=job,
            success=self._purged,
        )
        self.purge_op.failure(self._purge_failed).cancelled(self._purge_stopped)
        self.purge_op.run_in_background()

    def _purged(self, report: PurgeReport) -> None:
        self.purge_button.setEnabled(True)
        note = tr(
            "Deleted {visits} visit(s) and {visitors} visitor(s).",
            visits=report.visits,
            visitors=report.visitors,
        )
        if report.unfinished:
            note += " " + unfinished_note()
        self._show_last_purge(note)
        self.ctx.changed("visitors")

    def _purge_failed(self, message: str) -> None:
        self.purge_button.setEnabled(True)
        self.retention_text.setText(message)

    def _purge_stopped(self) -> None:
        """Cancelled: the batches deleted before Cancel stay deleted."""
        self.purge_button.setEnabled(True)
        self._show_last_purge(tr("Stopped."))
        self.ctx.changed("visitors")
