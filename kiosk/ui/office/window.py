"""The office window: tabs for today, the register, passes, holds, visitors, tracing,
records and the compound's gates, over one checkpoint. Opened after the admin PIN,
from the gate window's settings ("Office…") or on its own with ``kiosk office``.

ID numbers and phones are masked everywhere until "Show full ID numbers" is switched
on with the admin PIN (audited); they are masked again after :data:`UNMASK_MINUTES`.
While they are shown, an amber banner under the buttons says so with the time left
(counting down each second) and the button reads "Mask ID numbers now".
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.i18n import tr
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.checkpoint import checkpoint_name
from kiosk.sync.node import INTERVAL as HUB_INTERVAL
from kiosk.ui.backup_job import DailyBackup
from kiosk.ui.dialogs.common import open_once
from kiosk.ui.dialogs.pin import PinDialog
from kiosk.ui.hub_sync import HubRound, HubSync, hub_label, show_hub
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.dashboard_tab import DashboardTab
from kiosk.ui.office.gates_tab import EXCHANGED, GatesTab
from kiosk.ui.office.holds_tab import HoldsTab
from kiosk.ui.office.passes_tab import PassesTab
from kiosk.ui.office.records_tab import RecordsTab
from kiosk.ui.office.resident_history_dialog import ResidentHistoryDialog
from kiosk.ui.office.residents_tab import ResidentsTab
from kiosk.ui.office.trace_tab import TraceTab
from kiosk.ui.office.visitors_tab import VisitorsTab
from kiosk.ui.ops import ProgressStrip, QueryOp

log = logging.getLogger("kiosk.ui")

UNMASK_MINUTES = 5


def countdown_text(remaining_ms: int) -> str:
    """``m:ss`` of the time left, rounded up (4:32; never below 0:00)."""
    seconds = max(0, -(-remaining_ms // 1000))
    return f"{seconds // 60}:{seconds % 60:02d}"


class OfficeWindow(QMainWindow):
    """The office over ``home``: owns its two database workers (``ctx.jobs``,
    ``ctx.reader``); it opens no connection on the UI thread."""

    def __init__(
        self,
        home: Home,
        settings: Settings,
        *,
        actor: str = "office",
        parent: QWidget | None = None,
        hub: HubSync | None = None,
        hub_interval: timedelta = HUB_INTERVAL,
    ) -> None:
        """``hub``: the gate window's background sync when the office is opened beside
        it (one sync per checkpoint); else the office syncs on its own."""
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        # Writes and slow reads on one thread, the tables' pages on another: a slow
        # sort, search or export never stalls this screen, nor the gate's beside it
        # (they share the Qt main thread).
        self.ctx = OfficeContext.open(home, settings, actor=actor, parent=self)
        jobs = self.ctx.jobs
        self._closed = False
        self.setWindowTitle(tr("Gatepass office"))  # and the checkpoint's name, once read
        QueryOp(
            self.ctx.reader,
            parent=self,
            op=checkpoint_name,
            success=lambda name: self.setWindowTitle(tr("Gatepass office: {name}", name=name)),
        ).run_in_background()

        self.tabs = QTabWidget()
        self.today = DashboardTab(self.ctx)
        self.residents = ResidentsTab(self.ctx)
        self.passes = PassesTab(self.ctx)
        self.holds = HoldsTab(self.ctx)
        self.visitors = VisitorsTab(self.ctx)
        self.trace = TraceTab(self.ctx)
        self.records = RecordsTab(self.ctx)
        self.gates = GatesTab(self.ctx)
        for widget, title in (
            (self.today, tr("Today")),
            (self.residents, tr("Residents")),
            (self.passes, tr("Passes")),
            (self.holds, tr("Home quarantine")),
            (self.visitors, tr("Visitors")),
            (self.trace, tr("Contact tracing")),
            (self.records, tr("Records")),
            (self.gates, tr("Gates")),
        ):
            self.tabs.addTab(widget, title)
        self.residents.openResident.connect(self.open_resident)

        self.unmask_button = QPushButton(tr("Show full ID numbers"))
        self.unmask_button.setObjectName("unmaskButton")
        self.unmask_button.setCheckable(True)
        self.unmask_button.clicked.connect(self._unmask_clicked)
        self.busy = QLabel()
        jobs.busyChanged.connect(lambda on: self.busy.setText(tr("Working…") if on else ""))
        close = QPushButton(tr("Close the office"))
        close.clicked.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(self.unmask_button)
        top.addStretch(1)
        top.addWidget(self.busy)
        # enrolled with a hub: the last sync and what waits to go (kiosk.ui.hub_sync)
        self.hub_label = hub_label()
        self.hub_round: HubRound | None = None
        top.addWidget(self.hub_label)
        top.addWidget(close)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(top)
        self.unmask_banner = QLabel()
        self.unmask_banner.setObjectName("unmaskBanner")  # amber, in both themes' sheets
        self.unmask_banner.setWordWrap(True)
        self.unmask_banner.hide()
        layout.addWidget(self.unmask_banner)
        layout.addWidget(self.tabs, 1)
        # the long jobs' progress and Cancel (kiosk.ui.ops.LongOp), made now: showing
        # it later costs the UI thread a few milliseconds, a new dialog window 100+
        self.progress_strip = ProgressStrip(body)
        layout.addWidget(self.progress_strip)
        self.setCentralWidget(body)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self._refresh)

        self._remask = QTimer(self)
        self._remask.setSingleShot(True)
        self._remask.setInterval(UNMASK_MINUTES * 60_000)
        self._remask.timeout.connect(lambda: self.set_unmasked(False))
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._show_unmasked)

        self._own_hub = hub is None
        self._hub_started = False
        self.hub = hub or HubSync(home, interval=hub_interval, parent=self)
        # the daily backup (kiosk.ui.backup_job): the gate window's does it when the
        # office is opened from the gate
        self.backups = DailyBackup(home, parent=self) if self._own_hub else None
        self.hub.statusChanged.connect(self._on_hub)
        self.hub.synced.connect(self._on_hub_synced)
        self.ctx.signals.mustTravel.connect(self.hub.sync_soon)
        self._hub_age = QTimer(self)  # the label ages (amber, red) between rounds
        self._hub_age.setInterval(60_000)
        self._hub_age.timeout.connect(self._show_hub)
        self._hub_age.start()
        if not self._own_hub and hub is not None and hub.joined:
            self._on_hub(hub.last)

    def showEvent(self, event: QShowEvent) -> None:
        """Its own hub sync starts with the window on screen (a window never shown,
        as in a test, syncs nothing)."""
        super().showEvent(event)
        if self._own_hub and not self._hub_started and not self._closed:
            self._hub_started = True
            self.hub.start()
            if self.backups is not None:
                self.backups.start()

    # ------------------------------------------------------------ the hub

    def _on_hub(self, found: HubRound | None) -> None:
        """The last sync with the hub, beside the buttons; nothing without a hub."""
        if self._closed:
            return
        self.hub_round = found
        self.hub_label.setVisible(found is not None)
        self._show_hub()

    def _show_hub(self) -> None:
        if self.hub_round is not None:
            show_hub(self.hub_label, self.hub_round, datetime.now(UTC))

    def _on_hub_synced(self, _rows: int) -> None:
        """Rows from the gates came with a sync: every tab reloads, as after an
        exchange through a USB stick."""
        if self._closed:
            return
        for what in EXCHANGED:
            self.ctx.changed(what)

    # ------------------------------------------------------------ personal data

    def _unmask_clicked(self, checked: bool) -> None:
        self.unmask_button.setChecked(self.ctx.unmasked)  # until the PIN says otherwise
        if not checked:
            self.set_unmasked(False)
            return

        def done(dialog: QDialog) -> None:
            if dialog.result() == QDialog.DialogCode.Accepted:
                self.set_unmasked(True)

        open_once(
            "pin",
            lambda: PinDialog(
                self.ctx.jobs,
                self,
                title=tr("PIN to show full ID numbers"),
                actor=self.ctx.actor,
            ),
            done,
        )

    def set_unmasked(self, on: bool) -> None:
        self.ctx.set_unmasked(on, reason="office window")
        self.unmask_button.setChecked(on)
        if on:
            self._remask.start()
            self._countdown.start()
        else:
            self._remask.stop()
            self._countdown.stop()
        self._show_unmasked()

    def _show_unmasked(self) -> None:
        """The banner and the button say whether full numbers are shown, and how long."""
        on = self.ctx.unmasked
        self.unmask_button.setText(tr("Mask ID numbers now") if on else tr("Show full ID numbers"))
        self.unmask_banner.setVisible(on)
        if on:
            self.unmask_banner.setText(
                tr(
                    "Full ID numbers and phones are shown: masked again in {time}.",
                    time=countdown_text(min(self._remask.remainingTime(), self._remask.interval())),
                )
            )

    # ------------------------------------------------------------ the rest

    def open_resident(self, resident_id: str) -> None:
        dialog = ResidentHistoryDialog(self.ctx, resident_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _refresh(self) -> None:
        for what in ("residents", "passes", "holds", "visitors", "visits", "exchange"):
            self.ctx.changed(what)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Process events until the jobs and the tables' reads have all come back."""
        return self.ctx.wait_idle(timeout_s)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shut()
        super().closeEvent(event)

    def shut(self) -> None:
        """Stop the long jobs under way (at their next batch: what they committed
        stays), finish the other queued jobs, then end both workers (closing their
        connections)."""
        if self._closed:
            return
        self._closed = True
        self.progress_strip.cancel_all()  # as its Cancel button does, for each
        self._hub_age.stop()
        if self._own_hub:
            self.hub.stop()
        if self.backups is not None:
            self.backups.stop()
        else:  # the gate window's: it goes on syncing
            self.ctx.signals.mustTravel.disconnect(self.hub.sync_soon)
        self.ctx.set_unmasked(False)
        self.ctx.close()
        log.info("office closed")
