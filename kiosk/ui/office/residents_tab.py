"""The office's Residents tab: every resident with their household, searchable and
sortable (a model over one paged query, so ten thousand residents cost one screenful),
and the buttons to add, edit, deactivate, import a register, and open a resident's
passes and passages.

ID numbers and phones are masked unless the admin granted "Show full ID numbers".
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.i18n import tr
from kiosk.store.register import RESIDENT_DEFAULT_ORDER, page_residents
from kiosk.ui.office.context import OfficeContext, local_time
from kiosk.ui.office.import_wizard import ImportWizard
from kiosk.ui.office.resident_dialog import DeactivateDialog, ResidentDialog, role_text
from kiosk.ui.office.table import Column, Query, QueryModel, SearchTable


def status_text(active: bool) -> str:
    return tr("Active") if active else tr("Deactivated")


class ResidentsTab(QWidget):
    """Residents and their households; the office window connects :attr:`openResident`
    to the dialog of a resident's passes and passages."""

    openResident = Signal(str)  # a resident's id

    def __init__(self, ctx: OfficeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.dialog: QDialog | None = None  # the add/edit/deactivate/import dialog open now
        self.show_inactive = QCheckBox(tr("Show deactivated"))
        columns = [
            Column(tr("Household"), lambda r: r["household"], "household"),
            Column(tr("Name"), lambda r: r["name"], "name"),
            Column(tr("Role"), lambda r: role_text(r["role"]), "role"),
            Column(tr("ID number"), lambda r: ctx.id_text(r["id_number"])),
            Column(tr("Phone"), lambda r: ctx.phone_text(r["phone"])),
            Column(tr("Status"), lambda r: status_text(r["active"]), "active"),
            Column(tr("Updated"), lambda r: local_time(r["updated_at"]), "updated"),
        ]
        self.model = QueryModel(
            columns,
            self._fetch,
            worker=ctx.reader,
            default_order=RESIDENT_DEFAULT_ORDER,
            muted=lambda r: not r["active"],
        )
        self.table = SearchTable(
            self.model,
            placeholder=tr(
                "Search by name, household (3-2-501), or the last digits of a phone or ID number"
            ),
        )
        header = self.table.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((130, 160, 110, 220, 150, 120)):
            self.table.view.setColumnWidth(column, width)

        self.add_button = QPushButton(tr("Add…"))
        self.edit_button = QPushButton(tr("Edit…"))
        self.deactivate_button = QPushButton(tr("Deactivate…"))
        self.import_button = QPushButton(tr("Import…"))
        self.history_button = QPushButton(tr("Passes and passages…"))
        self.add_button.clicked.connect(self.add)
        self.edit_button.clicked.connect(self.edit)
        self.deactivate_button.clicked.connect(self.deactivate)
        self.import_button.clicked.connect(self.import_register)
        self.history_button.clicked.connect(self.open_history)
        self.show_inactive.toggled.connect(lambda _on: self.model.reload())
        self.table.selectionChanged.connect(self._enable)
        self.table.activated.connect(lambda _row: self.edit())
        self.model.modelReset.connect(self._enable)

        top = QHBoxLayout()
        top.addWidget(self.show_inactive)
        top.addStretch(1)
        for button in (
            self.add_button,
            self.edit_button,
            self.deactivate_button,
            self.import_button,
            self.history_button,
        ):
            top.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

        ctx.signals.dataChanged.connect(self._data_changed)
        ctx.signals.unmaskedChanged.connect(self._repaint)
        self._enable()

    # ------------------------------------------------------------ the table

    def _fetch(self, search: str, order: str, limit: int, offset: int) -> Query:
        inactive = self.show_inactive.isChecked()
        return lambda db: page_residents(
            db,
            search=search,
            order=order,
            limit=limit,
            offset=offset,
            include_inactive=inactive,
        )

    def _data_changed(self, what: str) -> None:
        if what in ("residents", "households"):
            self.model.reload()

    def _repaint(self, _unmasked: bool) -> None:
        rows = self.model.rowCount()
        if rows:
            last = self.model.columnCount() - 1
            self.model.dataChanged.emit(self.model.index(0, 0), self.model.index(rows - 1, last))
        self.table.view.viewport().update()

    def _enable(self, *_args: Any) -> None:
        row = self.table.selected()
        self.edit_button.setEnabled(row is not None)
        self.history_button.setEnabled(row is not None)
        self.deactivate_button.setEnabled(row is not None and bool(row["active"]))

    def select(self, resident_id: str) -> bool:
        """Select the resident's row if it is loaded (after an add, and in tests)."""
        for row in range(self.model.loaded):
            if self.model.row_at(row)["id"] == resident_id:
                self.table.view.selectRow(row)
                return True
        return False

    # ------------------------------------------------------------ the buttons

    def _open(self, dialog: QDialog) -> None:
        if self.dialog is not None:
            self.dialog.close()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: self._closed(dialog))
        self.dialog = dialog
        dialog.open()

    def _closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def add(self) -> None:
        self._open(ResidentDialog(self.ctx, None, self))

    def edit(self) -> None:
        row = self.table.selected()
        if row is not None:
            self._open(ResidentDialog(self.ctx, row, self))

    def deactivate(self) -> None:
        row = self.table.selected()
        if row is not None and row["active"]:
            self._open(DeactivateDialog(self.ctx, row, self))

    def import_register(self) -> None:
        self._open(ImportWizard(self.ctx, self))

    def open_history(self) -> None:
        row = self.table.selected()
        if row is not None:
            self.openResident.emit(str(row["id"]))
