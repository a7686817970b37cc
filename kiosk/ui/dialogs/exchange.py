"""One exchange with the office through a USB stick, from the gate window (after the
admin PIN: F10, "Exchange with USB stick"; docs/ui.md, "Office data").

The dialog finds the removable drives (:func:`kiosk.ui.drives.removable_drives`): none,
it asks for the stick and Enter looks again; one, Enter exchanges; several, the guard
picks one with the arrow keys and Enter. The exchange itself runs in the gate's worker
thread (:meth:`~kiosk.ui.worker.GateWorker.exchange`: its connection, the gate key);
the dialog then says what happened in the guard's words (bundles taken in and from
whom, those refused and why, the file written for the office). Scanning goes on
meanwhile: a verdict shows on the strip across the dialog.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from kiosk.core.i18n import tr
from kiosk.ui.dialogs.common import GloveDialog, open_once
from kiosk.ui.drives import Drive, removable_drives
from kiosk.ui.office_data import exchange_report
from kiosk.ui.worker import ExchangeDone


def drive_text(drive: Drive) -> str:
    """A drive as the guard sees it: its name and where it is."""
    return f"{drive.label}  ({drive.path})" if drive.label != str(drive.path) else drive.label


class ExchangeDialog(GloveDialog):
    """Find the stick, exchange through it (in the gate's worker), show what happened.

    :attr:`state`: "none" (no stick), "ready" (a stick to exchange with), "running",
    "done"; :attr:`outcome` is the worker's answer once done."""

    def __init__(
        self,
        start: Callable[[Path], None],
        exchanged: SignalInstance | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.start = start  # hands the exchange through a folder to the gate's worker
        self.exchanged = exchanged
        self.state = "none"
        self.outcome: ExchangeDone | None = None
        self.drives: list[Drive] = []
        self.setWindowTitle(tr("Exchange with USB stick"))
        layout = QVBoxLayout(self)
        self.message = QLabel()
        self.message.setObjectName("exchangeMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("font-weight: bold;")  # sizes only: colours are the theme's
        layout.addWidget(self.message)
        self.drive_list = QListWidget()
        self.drive_list.setObjectName("drives")
        self.add_field(self.drive_list)
        layout.addWidget(self.drive_list, 1)
        self.report = QLabel()
        self.report.setObjectName("exchangeReport")
        self.report.setWordWrap(True)
        self.report.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.report.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.report, 1)
        row, self.action, self.close_button = self.button_row(tr("Exchange"), tr("Close"))
        layout.addLayout(row)
        if exchanged is not None:
            exchanged.connect(self.on_exchanged)
            self.finished.connect(self._disconnect)
        self.resize(900, 520)
        self.look()

    # -- finding the stick ---------------------------------------------------------

    def look(self) -> None:
        """Look for removable drives (again) and say what the guard can do next."""
        self.drives = removable_drives()
        self.drive_list.clear()
        for drive in self.drives:
            self.drive_list.addItem(QListWidgetItem(drive_text(drive)))
        self.report.clear()
        self.drive_list.setVisible(len(self.drives) > 1)
        if not self.drives:
            self.state = "none"
            self.message.setText(
                tr("Insert the USB stick from the office, then press Enter to look again.")
            )
            self.action.setText(tr("Look again"))
            self.action.setFocus()
            return
        self.state = "ready"
        self.action.setText(tr("Exchange"))
        if len(self.drives) == 1:
            self.message.setText(
                tr(
                    "USB stick: {drive}. Press Enter to exchange with the office.",
                    drive=drive_text(self.drives[0]),
                )
            )
            self.action.setFocus()
        else:
            self.message.setText(
                tr("Several drives: choose the USB stick with the arrow keys, then Enter.")
            )
            self.drive_list.setCurrentRow(0)
            self.drive_list.setFocus()

    # -- exchanging ----------------------------------------------------------------

    def submit(self) -> None:
        """Enter or the action button: look again, exchange, or close when done."""
        if self.state == "none":
            self.look()
        elif self.state == "ready":
            row = max(self.drive_list.currentRow(), 0) if len(self.drives) > 1 else 0
            self.run(self.drives[row])
        elif self.state == "done":
            self.accept()

    def run(self, drive: Drive) -> None:
        """Hand the exchange to the gate's worker; the answer comes on ``exchanged``."""
        self.state = "running"
        self.message.setText(
            tr("Exchanging with {drive}... keep the stick in.", drive=drive_text(drive))
        )
        self.drive_list.hide()
        self.action.setEnabled(False)
        self.close_button.setEnabled(False)
        self.start(drive.path)

    def on_exchanged(self, outcome: ExchangeDone) -> None:
        """What the exchange did, in the guard's words; Enter closes."""
        if self.state != "running" or not shiboken6.isValid(self):
            return
        self.state = "done"
        self.outcome = outcome
        if outcome.done is None:
            self.message.setText(tr("The exchange did not finish. Nothing is lost: try again."))
            self.report.setText(outcome.problem)
        else:
            self.message.setText(tr("Exchange done. You can take the stick out now."))
            self.report.setText("\n".join(exchange_report(outcome.done)))
        self.report.setProperty("role", "error" if outcome.done is None else "")
        self.report.style().unpolish(self.report)
        self.report.style().polish(self.report)
        self.action.setText(tr("Close"))
        self.action.setEnabled(True)
        self.close_button.setEnabled(True)
        self.close_button.hide()
        self.action.setFocus()

    def _disconnect(self, _code: int) -> None:
        if self.exchanged is not None:
            with contextlib.suppress(RuntimeError, TypeError):  # already gone
                self.exchanged.disconnect(self.on_exchanged)


def show_exchange(window: Any) -> None:
    """The exchange dialog over the gate window (one at a time)."""
    worker = window.worker
    open_once(
        "exchange",
        lambda: ExchangeDialog(worker.exchange, worker.exchanged, window),
        lambda _dialog: None,
    )


__all__ = ["ExchangeDialog", "drive_text", "show_exchange"]
