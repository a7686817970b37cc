"""Importing the register from a spreadsheet, in three steps the clerk can see:

1. Pick a CSV or Excel file. It is read on the office's jobs thread
   (:func:`~kiosk.store.files.register_import.read_register`), then tried against the register
   without writing (``apply_plan(..., dry_run=True)``).
2. The preview: how many rows are good and bad, every bad row with its row number and
   reason, and what importing would do (added, updated, unchanged). "Strict" imports
   nothing while any row is bad. Nothing is written before "Import".
3. The report of what was written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)
from sqlite_utils import Database

from kiosk.core.i18n import tr, trn
from kiosk.core.progress import Progress
from kiosk.store.files.register_import import (
    ImportPlan,
    ImportReport,
    RowError,
    apply_plan,
    read_register,
)
from kiosk.ui.office import files
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.table import Index
from kiosk.ui.ops import LongOp
from kiosk.ui.theme import set_role

FILTERS = "*.csv *.xlsx *.xls *.xlsm *.xlsb *.ods *.txt *.tsv"


class RowErrorModel(QAbstractTableModel):
    """The bad rows of a file: row number (as Excel numbers it) and what is wrong."""

    def __init__(self) -> None:
        super().__init__()
        self._errors: list[RowError] = []

    def set_errors(self, errors: list[RowError]) -> None:
        self.beginResetModel()
        self._errors = list(errors)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._errors)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 2

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        error = self._errors[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return str(error.row) if index.column() == 0 else "; ".join(error.reasons)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr("Row") if section == 0 else tr("Problem")
        return None


def _errors_view(model: RowErrorModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def _status(label: QLabel, text: str, *, problem: bool = False) -> None:
    label.setText(text)
    set_role(label, "error" if problem else "")
    label.setVisible(bool(text))


def _label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    return label


class _JobPage(QWizardPage):
    """A page whose Next/Import runs a long job first (on the office's jobs thread,
    with progress and Cancel) and moves on when it is done."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.owner = wizard
        self.busy = False
        self._ready = False
        self.status = _label()
        self.status.hide()
        self.long_op: LongOp[Any] | None = None  # the last job (tests: its progress)

    def isComplete(self) -> bool:
        return not self.busy

    def validatePage(self) -> bool:
        if self._ready:
            self._ready = False
            return True
        if not self.busy:
            self.start()
        return False

    def start(self) -> None:  # pragma: no cover - subclasses decide
        raise NotImplementedError

    def run(
        self,
        job: Callable[[Database, Progress], Any],
        working: str,
        done: Callable[[Any], object],
        stopped: Callable[[], object] | None = None,
    ) -> None:
        self.busy = True
        self.completeChanged.emit()
        _status(self.status, working)

        def on_done(result: Any) -> None:
            done(result)  # first: it must happen even if the wizard was closed
            if shiboken6.isValid(self):
                self.busy = False
                self._ready = True
                _status(self.status, "")
                self.completeChanged.emit()
                self.owner.next()

        def on_error(message: str) -> None:
            if shiboken6.isValid(self):
                self.busy = False
                _status(self.status, message, problem=True)
                self.completeChanged.emit()

        def on_cancel() -> None:
            if stopped is not None:
                stopped()
            on_error(tr("Stopped."))

        self.long_op = LongOp(
            self.owner.ctx.jobs, parent=self, label=working, op=job, success=on_done
        )
        self.long_op.failure(on_error).cancelled(on_cancel).run_in_background()


class FilePage(_JobPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(wizard)
        self.setTitle(tr("Import the register: the file"))
        hint = _label()
        hint.setText(
            tr(
                "A CSV or Excel file with a name column (姓名) and building and room columns "
                "(楼号, 单元, 房号) or an address column (住址). Phone (手机), ID number "
                "(身份证号) and role (身份) are optional. Nothing is written before you "
                "press Import."
            )
        )
        self.path = QLineEdit()
        self.path.setPlaceholderText(tr("The register file"))
        self.path.textChanged.connect(lambda _t: self.completeChanged.emit())
        browse = QPushButton(tr("Choose…"))
        browse.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def browse(self) -> None:
        path = files.ask_open_path(
            self, tr("Open the register"), tr("Spreadsheets ({patterns})", patterns=FILTERS)
        )
        if path is not None:
            self.path.setText(str(path))

    def isComplete(self) -> bool:
        return super().isComplete() and bool(self.path.text().strip())

    def start(self) -> None:
        path = Path(self.path.text().strip())

        def job(db: Database, progress: Progress) -> tuple[ImportPlan, ImportReport]:
            plan = read_register(path)
            progress.check()
            return plan, apply_plan(db, plan, dry_run=True, progress=progress)

        def done(result: tuple[ImportPlan, ImportReport]) -> None:
            self.owner.plan, self.owner.preview = result

        self.run(job, tr("Reading {file}…", file=path.name), done)


class PreviewPage(_JobPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(wizard)
        self.setTitle(tr("Import the register: check the rows"))
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, tr("Import"))
        self.summary = _label()
        self.would = _label()
        self.errors = RowErrorModel()
        self.view = _errors_view(self.errors)
        self.strict = QCheckBox(tr("Strict: import nothing while any row has a problem"))
        self.strict.toggled.connect(self._strict_changed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.would)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.strict)
        layout.addWidget(self.status)

    def initializePage(self) -> None:
        plan, preview = self.owner.plan, self.owner.preview
        if plan is None or preview is None:
            return
        good = preview.added + preview.updated + preview.unchanged + preview.inactive
        sheet = tr(" (sheet {sheet})", sheet=plan.sheet) if plan.sheet else ""
        self.summary.setText(
            tr(
                "{file}{sheet}: {good} good row(s), {bad} row(s) with problems (listed "
                "below; they are not imported).",
                file=plan.file,
                sheet=sheet,
                good=good,
                bad=preview.bad,
            )
        )
        self.would.setText(
            tr(
                "Importing would add {added} resident(s) ({households} new household(s)), "
                "update {updated}, and leave {unchanged} unchanged; {inactive} row(s) name "
                "deactivated residents and are left as they are.",
                added=preview.added,
                households=preview.households_added,
                updated=preview.updated,
                unchanged=preview.unchanged,
                inactive=preview.inactive,
            )
        )
        self.errors.set_errors(preview.errors)
        self.view.setVisible(bool(preview.errors))
        self._strict_changed(self.strict.isChecked())

    def _strict_changed(self, _on: bool) -> None:
        blocked = self._blocked()
        _status(
            self.status,
            tr("Strict is on and some rows have problems: correct the file, or switch Strict off.")
            if blocked
            else "",
            problem=True,
        )
        self.completeChanged.emit()

    def _blocked(self) -> bool:
        preview = self.owner.preview
        return self.strict.isChecked() and preview is not None and preview.bad > 0

    def isComplete(self) -> bool:
        return super().isComplete() and self.owner.preview is not None and not self._blocked()

    def validatePage(self) -> bool:
        return not self._blocked() and super().validatePage()

    def start(self) -> None:
        plan = self.owner.plan
        if plan is None:
            return
        strict, actor, ctx = self.strict.isChecked(), self.owner.ctx.actor, self.owner.ctx

        def job(db: Database, progress: Progress) -> ImportReport:
            return apply_plan(db, plan, strict=strict, actor=actor, progress=progress)

        def done(report: ImportReport) -> None:
            if report.written:
                ctx.changed("residents")
            if shiboken6.isValid(self.owner):
                self.owner.report = report

        # Cancel: the transactions written before it stay; the tabs show them.
        self.run(job, tr("Importing…"), done, lambda: ctx.changed("residents"))


class ReportPage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.owner = wizard
        self.setTitle(tr("Import the register: done"))
        self.text = _label()
        self.errors = RowErrorModel()
        self.view = _errors_view(self.errors)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.view, 1)

    def initializePage(self) -> None:
        report = self.owner.report
        if report is None:
            return
        if report.written:
            text = tr(
                "Imported: {added} resident(s) added ({households} new household(s)), "
                "{updated} updated, {unchanged} unchanged, {inactive} deactivated left as "
                "they are. {bad} row(s) with problems were not imported.",
                added=report.added,
                households=report.households_added,
                updated=report.updated,
                unchanged=report.unchanged,
                inactive=report.inactive,
                bad=report.bad,
            )
        else:
            text = trn(
                "Nothing was written: {bad} row has problems and Strict is on.",
                "Nothing was written: {bad} rows have problems and Strict is on.",
                report.bad,
                bad=report.bad,
            )
        self.text.setText(text)
        self.errors.set_errors(report.errors)
        self.view.setVisible(bool(report.errors))


class ImportWizard(QWizard):
    """Import a register file: pick it, see its bad rows and what it would change, import.

    ``plan`` and ``preview`` (the dry run) are set after the file is read, ``report``
    after the import."""

    def __init__(self, ctx: OfficeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.plan: ImportPlan | None = None
        self.preview: ImportReport | None = None
        self.report: ImportReport | None = None
        self.setWindowTitle(tr("Import the register"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setButtonText(QWizard.WizardButton.NextButton, tr("Next"))
        self.setButtonText(QWizard.WizardButton.BackButton, tr("Back"))
        self.setButtonText(QWizard.WizardButton.CancelButton, tr("Cancel"))
        self.setButtonText(QWizard.WizardButton.FinishButton, tr("Close"))
        self.file_page = FilePage(self)
        self.preview_page = PreviewPage(self)
        self.report_page = ReportPage(self)
        for page in (self.file_page, self.preview_page, self.report_page):
            self.addPage(page)
        self.resize(900, 600)
