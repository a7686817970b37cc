"""The guard's screen: preview, verdict, today's counts, direction, status.

The window only draws and reacts; all gate work happens in the
:class:`~kiosk.ui.worker.GateWorker` thread and comes back by signals. What the
window and its dialogs read (a returning visitor, a household search, the shift's
counts) goes through :class:`~kiosk.ui.ops.QueryOp` on the window's own reader, a
:class:`~kiosk.ui.ops.DbWorker` (one thread, one connection; closed with the
window); what they write goes to the gate worker (``worker.request``).
"""

from __future__ import annotations

import html
import importlib
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QIcon, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.clock import from_db, utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.identity import mask_name
from kiosk.core.rules import Direction, DirectionMode, Level, Reason, reason_label
from kiosk.gate import ClockWarning, Decision
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.checkpoint import record_settings_changes
from kiosk.sync.node import INTERVAL as HUB_INTERVAL
from kiosk.ui.backup_job import DailyBackup
from kiosk.ui.hub_sync import HubRound, HubSync, clock_text, hub_label, show_hub
from kiosk.ui.office_data import OFFICE_DATA_CHECK_S, OfficeData, age_text, gates_text
from kiosk.ui.ops import DbWorker, QueryOp
from kiosk.ui.preview import Preview
from kiosk.ui.sounds import Sounds
from kiosk.ui.theme import THEMES, apply_theme, theme_for, ui_font
from kiosk.ui.verdict_panel import VerdictPanel, direction_text, headline, level_pixmap
from kiosk.ui.worker import GateService, GateWorker, Stats
from kiosk.vision.health import CameraEvent, HealthPolicy
from kiosk.vision.scanloop import DiagnosticEvent
from kiosk.vision.sources import FrameSource

log = logging.getLogger("kiosk.ui")

HISTORY = 100
CLOCK_CHECK_S = 10
"""How often (status ticks of a second) the window asks the gate to look at the clock."""

MODE_KEYS = {
    Qt.Key.Key_F1: DirectionMode.IN,
    Qt.Key.Key_F2: DirectionMode.OUT,
    Qt.Key.Key_F3: DirectionMode.AUTO,
}
# the gate's actions: a function key each, shown on its button (F1-F3 direction, F12
# theme; F8 is kept for correcting a passage)
ACTION_KEYS = {
    "registration": Qt.Key.Key_F5,
    "manual": Qt.Key.Key_F6,
    "shift": Qt.Key.Key_F7,
    "admin": Qt.Key.Key_F10,
}
# module in kiosk.ui.dialogs -> each exposes ``show_dialog(window: MainWindow) -> None``
DIALOGS = {
    "registration": "kiosk.ui.dialogs.registration",
    "manual": "kiosk.ui.dialogs.manual",
    "shift": "kiosk.ui.dialogs.shift",
    "admin": "kiosk.ui.dialogs.admin",
    "correction": "kiosk.ui.dialogs.correction",
}


def mode_text(mode: DirectionMode) -> str:
    return {
        DirectionMode.IN: tr("IN (F1)"),
        DirectionMode.OUT: tr("OUT (F2)"),
        DirectionMode.AUTO: tr("AUTO (F3)"),
    }[mode]


def clock_notice_text(warning: ClockWarning) -> str:
    """The clock notice, as rich text: what is wrong and what to do, in the guard's
    words; the reason and the admin's way out in smaller print."""
    why = warning.why or tr(
        "Noticed at {time}.", time=from_db(warning.since).astimezone().strftime("%Y-%m-%d %H:%M")
    )
    head = tr("The computer's clock may be wrong.")
    body = tr(
        "Scanning goes on as usual, but the times shown and saved may be wrong. "
        "Tell the committee admin."
    )
    admin = tr(
        "For the admin: {why} Set the clock right, then run 'kiosk purge --trust-clock' "
        "(or purge in the office); this notice then goes away.",
        why=why,
    )
    return (
        f"<b>{html.escape(head)}</b> {html.escape(body)}"
        f"<br><span style='font-size: 12pt'>{html.escape(admin)}</span>"
    )


def no_camera_text() -> str:
    """The banner while there is no camera: what still works, in the guard's words."""
    return tr(
        "No camera. Still working: the handheld scanner, F6 for a resident without a pass, "
        "F5 to register a visitor. Plug the camera in: the gate picks it up by itself."
    )


class MainWindow(QMainWindow):
    def __init__(
        self,
        home: Home,
        settings: Settings,
        *,
        camera: str,
        demo: bool = False,
        source: FrameSource | None = None,
        health: HealthPolicy | None = None,
        sound: bool = True,
        theme: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        hub_interval: timedelta = HUB_INTERVAL,
    ) -> None:
        super().__init__()
        self.home = home
        self.now = clock
        self.settings = settings
        self.demo = demo
        self.mode = settings.direction_mode()
        self.decisions: deque[Decision] = deque(maxlen=HISTORY)  # the latest, for tests
        self.camera_state = "starting"
        self.decoder_name = "-"
        self.database_ok = True
        self.database_waiting = False  # a passage waits for a busy database
        self.clock_warning: ClockWarning | None = None  # the clock is in doubt
        self.office_data: OfficeData | None = None  # a gate of a compound: its office data
        self.hub_round: HubRound | None = None  # enrolled with a hub: the last sync's outcome
        self._ticks = 0
        self.stats: Stats | None = None
        self.kiosk_mode = False  # full screen at a gate: closing needs the admin PIN
        # The amber cases open registration by themselves; not in the unattended demo,
        # where nobody would close the dialog.
        self.auto_registration = not demo
        self.exit_allowed = False
        self.theme = theme or theme_for(settings.theme)
        self.worker = GateWorker(
            home,
            settings,
            camera=camera,
            demo=demo,
            source=source,
            health=health,
            clock=clock,
            monotonic=monotonic,
        )
        self.service = GateService(self.worker)
        # reads for the window and its dialogs, off the UI thread (writes: the worker)
        self.reader = DbWorker(home.database, self, name="kiosk-gate-reader")
        # syncing with the district hub: a thread and a connection of its own, never the
        # gate's (kiosk.ui.hub_sync); nothing at a checkpoint without a hub
        self.hub = HubSync(home, interval=hub_interval, clock=clock, parent=self)
        # the daily backup to the backup_folder setting's folder: a thread and a
        # connection of its own too (kiosk.ui.backup_job)
        self.backups = DailyBackup(home, clock=clock, parent=self)
        self.sounds = Sounds(self, enabled=sound and settings.sounds, speak=settings.speech)
        self.setWindowTitle(tr("Gatepass gate"))
        self.setFont(ui_font(14))
        self._build()
        self._connect()
        self.set_theme(self.theme)
        self._tick()

    # ------------------------------------------------------------ building

    def _build(self) -> None:
        central = QWidget()
        central.setObjectName("central")
        self.setCentralWidget(central)
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        # The clock in doubt: a strip across the top that takes no focus and blocks no
        # key; it stays until an admin's purge trusts the clock (on_clock_warning).
        self.clock_notice = QLabel()
        self.clock_notice.setObjectName("clockNotice")
        self.clock_notice.setWordWrap(True)
        self.clock_notice.setTextFormat(Qt.TextFormat.RichText)
        self.clock_notice.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.clock_notice.hide()
        self.preview = Preview(self.worker.latest_frame)
        # the moment bench/bench_build.py times a start by (and a support call asks for)
        self.preview.firstFramePainted.connect(lambda _at: log.info("first camera frame shown"))
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.verdict = VerdictPanel(theme=self.theme)
        self.verdict.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        side = QFrame()
        side.setObjectName("sidePanel")
        self.guard_label = QLabel()  # who is on duty, always in view
        self.guard_label.setObjectName("guard")
        self.guard_label.setWordWrap(True)
        self.counts = QLabel()
        self.counts.setObjectName("counts")
        self.counts.setWordWrap(True)
        self.recent = QListWidget()
        self.recent.setObjectName("recent")
        self.recent.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(10, 8, 10, 8)
        side_layout.addWidget(self.guard_label)
        side_layout.addWidget(self.counts)
        side_layout.addWidget(self.recent, 1)
        self.correct_button = QPushButton(tr("Correct a passage (F8)"))  # behind the PIN
        self.correct_button.setObjectName("correct")
        self.correct_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.correct_button.clicked.connect(self.open_correction)
        side_layout.addWidget(self.correct_button)

        left = QVBoxLayout()
        left.addWidget(self.preview, 5)
        left.addWidget(self.hint)
        left.addWidget(side, 4)

        self.mode_buttons: dict[DirectionMode, QPushButton] = {}
        self.mode_group = QButtonGroup(self)
        modes = QHBoxLayout()
        for mode in DirectionMode:
            button = QPushButton(mode_text(mode))
            button.setObjectName("direction")
            button.setCheckable(True)
            button.setMinimumHeight(72)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            self.mode_group.addButton(button)
            self.mode_buttons[mode] = button
            modes.addWidget(button)

        actions = QHBoxLayout()
        self.action_buttons: list[QPushButton] = []
        for text, key, slot in (
            (tr("Register visitor (F5)"), ACTION_KEYS["registration"], self.open_registration),
            (tr("Resident without pass (F6)"), ACTION_KEYS["manual"], self.open_manual),
            (tr("Sign in/out (F7)"), ACTION_KEYS["shift"], self.open_shift),
            (tr("Settings, PIN (F10)"), ACTION_KEYS["admin"], self.open_admin),
        ):
            button = QPushButton(text)
            button.setMinimumHeight(56)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys, not Tab: a scan's Enter
            button.setShortcut(QKeySequence(key))  # must never press a focused button
            button.clicked.connect(slot)
            actions.addWidget(button)
            self.action_buttons.append(button)

        self.log_damage_box: QMessageBox | None = None  # what the start found (on_log_damaged)
        self.saving = QLabel(tr("Saving... the database is busy (the office is writing)."))
        self.saving.setObjectName("saving")
        self.saving.setWordWrap(True)
        self.saving.setFont(ui_font(18, bold=True))
        # amber with black text: the same in the day and the night theme
        self.saving.setStyleSheet(
            "QLabel#saving { background: #ffc107; color: #000000; padding: 8px 14px;"
            " border-radius: 8px; }"
        )
        self.saving.hide()
        right = QVBoxLayout()
        right.addWidget(self.saving)
        right.addWidget(self.verdict, 1)
        right.addLayout(modes)
        right.addLayout(actions)

        body = QHBoxLayout()
        body.addLayout(left, 2)
        body.addLayout(right, 3)

        self.status = QLabel()
        self.status.setObjectName("status")
        # it gives way (clipped at its end) to the labels beside it, never widening the
        # window past the screen
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # A gate of a compound: how old its office data is, the other gates' last news
        # (on_office_data); hidden elsewhere.
        self.office_data_label = QLabel()
        self.office_data_label.setObjectName("officeData")
        self.office_data_label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.office_data_label.hide()
        self.other_gates = QLabel()
        self.other_gates.setObjectName("otherGates")
        self.other_gates.hide()
        # Enrolled with a hub: the last sync and what waits to go (on_hub), and the
        # clock against the hub's when it is off; hidden elsewhere.
        self.hub_label = hub_label()
        self.hub_clock = QLabel()
        self.hub_clock.setObjectName("hubClock")
        self.hub_clock.hide()
        bottom = QHBoxLayout()
        bottom.setSpacing(14)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.other_gates)
        bottom.addWidget(self.hub_clock)
        bottom.addWidget(self.hub_label)
        bottom.addWidget(self.office_data_label)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(10, 8, 10, 6)
        layout.setSpacing(8)
        layout.addWidget(self.banner)
        layout.addWidget(self.clock_notice)
        layout.addLayout(body, 1)
        layout.addLayout(bottom)

        self.clock = QTimer(self)
        self.clock.setInterval(1000)
        self.clock.timeout.connect(self._second)
        self.clock.start()
        self._mark_mode(self.mode)
        self.guard_name = ""

    @property
    def guard_name(self) -> str:
        """The guard on duty ("" when nobody signed in); set by the shift dialogs."""
        return self._guard_name

    @guard_name.setter
    def guard_name(self, name: str) -> None:
        self._guard_name = name
        if name:
            self.guard_label.setText(tr("On duty: {guard}", guard=name))
        else:
            self.guard_label.setText(tr("No guard signed in"))
        self.guard_label.setProperty("onDuty", bool(name))  # amber while nobody is
        self.guard_label.style().unpolish(self.guard_label)
        self.guard_label.style().polish(self.guard_label)

    def _connect(self) -> None:
        w = self.worker
        w.decided.connect(self.show_decision)
        w.cameraChanged.connect(self.on_camera)
        w.diagnosed.connect(self.on_diagnostics)
        w.outlined.connect(self.preview.show_outline)
        w.statsChanged.connect(self.on_stats)
        w.modeChanged.connect(self.on_mode)
        w.ready.connect(self.on_ready)
        w.failed.connect(self.on_failed)
        w.visitorCodeIssued.connect(self.show_visitor_code)
        w.waiting.connect(self.on_waiting)
        w.logDamaged.connect(self.on_log_damaged)
        w.clockWarning.connect(self.on_clock_warning)
        w.officeData.connect(self.on_office_data)
        self.hub.statusChanged.connect(self.on_hub)
        self.hub.synced.connect(self.on_hub_synced)

    # ------------------------------------------------------------ life

    def start(self) -> None:
        self.service.start()
        self.hub.start()
        self.backups.start()

    def stop(self) -> bool:
        office = getattr(self, "office", None)
        if office is not None:
            office.close()
            self.office = None
        self.preview.stop()
        self.clock.stop()
        self.hub.stop()  # (a sync under way finishes on its own thread first)
        self.backups.stop()  # (as does a backup under way)
        stopped = self.service.stop()
        self.reader.close()  # (what the gate sent meanwhile reads nothing more)
        return stopped

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.kiosk_mode and not self.exit_allowed:
            event.ignore()  # Alt+F4 or a stray click: the kiosk stays; the PIN lets out
            self.open_admin()
            return
        self.stop()
        super().closeEvent(event)

    def allow_exit(self) -> None:
        """Called once the admin PIN was given and "Exit Gatepass" chosen."""
        self.exit_allowed = True

    # ------------------------------------------------------------ public slots

    @Slot(object)
    def show_visitor_code(self, record: dict[str, object]) -> None:
        """A new visitor's code, large on screen to photograph or print."""
        from kiosk.ui.dialogs.registration import show_code

        if not self.reader.closed:
            show_code(self, record)

    @Slot(str)
    def handle_scanned_text(self, text: str) -> None:
        """A handheld scanner's text (from the scanner filter): decided in the worker."""
        text = text.strip()
        if text:
            self.worker.submit_scan(text)

    @Slot(object)
    def show_decision(self, decision: Decision) -> None:
        self.decisions.append(decision)
        self._tell_hub(decision)
        self.verdict.show_decision(decision)
        self.sounds.play(decision.verdict.level)
        self.sounds.say(headline(decision.verdict.level))
        self._show_over_dialogs(decision)
        if self.auto_registration:
            self._offer_registration(decision)

    def _tell_hub(self, decision: Decision) -> None:
        """A DENY or a fever verdict travels to the hub at once (the office and the
        other gates hear of it within seconds); any other passage waits for the next
        round, and the status line counts it as waiting."""
        verdict = decision.verdict
        if verdict.level is Level.DENY or Reason.FEVER.value in verdict.reasons:
            self.hub.sync_soon()
        else:
            self.hub.refresh()

    def _show_over_dialogs(self, decision: Decision) -> None:
        """A dialog covering the panel (registering a visitor, the PIN) carries the
        verdict on a strip of its own, so a scan meanwhile is never shown unseen."""
        from kiosk.ui.dialogs.common import open_dialogs
        from kiosk.ui.verdict_panel import show_over

        for dialog in open_dialogs():
            show_over(dialog, decision)

    def _offer_registration(self, decision: Decision) -> None:
        """The amber cases open registration by themselves: a returning visitor's code
        prefilled (the guard confirms and takes the temperature), an unknown code empty."""
        verdict = decision.verdict
        if verdict.reason is Reason.VISITOR_CODE and verdict.holder is not None:
            self.open_returning_visitor(verdict.holder.id)
        elif verdict.reason is Reason.NOT_A_PASS:
            self.open_registration()

    def open_returning_visitor(self, visitor_id: str) -> None:
        """Registration prefilled with the visitor's last registration (read on the
        reader); an unknown visitor gets the empty form."""
        from kiosk.ui.dialogs.registration import returning_prefill

        if self.reader.closed:
            return

        def show(prefill: dict[str, object] | None) -> None:
            if prefill is None:
                self.open_registration()
            else:
                self._open("registration", prefill=prefill)

        QueryOp(
            self.reader,
            parent=self,
            op=lambda db: returning_prefill(db, visitor_id),
            success=show,
        ).failure(self.on_failed).run_in_background()

    def set_mode(self, mode: DirectionMode) -> None:
        """Ask the worker to change the direction; the buttons follow when it has."""
        self._mark_mode(mode)
        self.worker.set_mode(mode.value)

    def set_theme(self, theme: str) -> None:
        """Day or night for the whole application: this window, its dialogs, the office."""
        self.theme = theme if theme in THEMES else "day"
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self.theme)
        self.verdict.set_theme(self.theme)

    def toggle_theme(self) -> None:
        """F12: the other theme, remembered in the settings for the next start."""
        self.set_theme("night" if self.theme == "day" else "day")
        try:
            settings, change = self.settings.updated({"theme": self.theme})
            settings.save()
        except (UserError, OSError) as exc:
            log.warning("theme %s not remembered: %s", self.theme, exc)
            return
        from kiosk.ui.dialogs.admin import adopt_settings, settings_actor

        adopt_settings(self, settings)
        actor = settings_actor(self)
        self.worker.request(  # a setting changed: audited, by the worker's connection
            lambda gate: record_settings_changes(gate.db, actor, "window", change)
        )

    # ------------------------------------------------------------ from the worker

    @Slot(str)
    def on_mode(self, value: str) -> None:
        self.mode = DirectionMode(value)
        self._mark_mode(self.mode)

    def _mark_mode(self, mode: DirectionMode) -> None:
        self.mode_buttons[mode].setChecked(True)

    @Slot(object)
    def on_camera(self, event: CameraEvent) -> None:
        self.camera_state = event.state
        if event.state == "lost":  # the driver's words (event.message) are in the log
            self.banner.setText(no_camera_text())
            self.banner.show()
            self.preview.set_notice(tr("No camera.\nUse the handheld scanner."))
            self.verdict.set_camera(False)
        elif event.state in ("opened", "reopened"):
            self.banner.hide()
            self.preview.set_notice("")
            self.verdict.set_camera(True)
        self._tick()

    @Slot(object)
    def on_diagnostics(self, event: DiagnosticEvent) -> None:
        self.hint.setText("  ".join(event.messages))

    @Slot(object)
    def on_stats(self, stats: Stats) -> None:
        self.stats = stats
        occ = stats.occupancy
        self.counts.setText(
            tr("In today: {n_in}   Out today: {n_out}", n_in=occ.today_in, n_out=occ.today_out)
            + "\n"
            + tr(
                "Inside now: {inside}   Visitors inside: {visitors}",
                inside=occ.inside,
                visitors=stats.visitors_inside,
            )
        )
        self.recent.clear()
        for row in reversed(stats.recent):
            self.recent.addItem(self._recent_item(row))

    def _recent_item(self, row: dict[str, object]) -> QListWidgetItem:
        at = from_db(str(row["at"])).astimezone().strftime("%H:%M:%S")
        level = Level(str(row["level"]))
        name = mask_name(str(row["name"])) if row.get("name") else tr("unknown")
        direction = direction_text(Direction(str(row["direction"])))
        item = QListWidgetItem(f"{at}  {headline(level)}  {name}  {direction}")
        item.setIcon(QIcon(level_pixmap(level, 28)))
        item.setData(Qt.ItemDataRole.UserRole, row.get("id"))  # for F8: correct this one
        if row.get("corrects"):  # a correction: what it says
            item.setText(f"{item.text()}  ✎ {reason_label(str(row['reason']))}")
        if row.get("corrected_by"):  # corrected: struck out
            font = item.font()
            font.setStrikeOut(True)
            item.setFont(font)
        return item

    @Slot(str)
    def on_ready(self, decoder: str) -> None:
        self.decoder_name = decoder
        self._tick()

    @Slot(str)
    def on_failed(self, message: str) -> None:
        self.database_ok = self.database_ok and "database" not in message.lower()
        self.banner.setText(message)
        self.banner.show()

    @Slot(bool)
    def on_log_damaged(self, text: str) -> None:
        """The gate's start found passages missing from the visit log, or rows changed
        (docs/chain.md): said once, in a box that blocks nothing (decisions go on)."""
        box = QMessageBox(
            QMessageBox.Icon.Warning, tr("Visit log"), text, QMessageBox.StandardButton.Ok, self
        )
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
        self.log_damage_box = box

    def on_waiting(self, waiting: bool) -> None:
        """A passage is held back by a busy database: it is shown once it is saved."""
        self.database_waiting = waiting
        self.saving.setVisible(waiting)
        self._tick()

    @Slot(object)
    def on_clock_warning(self, warning: ClockWarning | None) -> None:
        """The clock is in doubt (shown) or an admin has trusted it (gone)."""
        self.clock_warning = warning
        if warning is None:
            self.clock_notice.hide()
            return
        self.clock_notice.setText(clock_notice_text(warning))
        self.clock_notice.show()

    @property
    def compound_gate(self) -> bool:
        """Whether this is a gate of a compound (as the worker last read it)."""
        return self.office_data is not None

    @Slot(object)
    def on_office_data(self, data: OfficeData | None) -> None:
        """How old the office data is: a label on the status line, styled by its level
        (fresh, amber, red), and the other gates' last news beside it."""
        self.office_data = data
        if data is None:
            self.office_data_label.hide()
            self.other_gates.hide()
            return
        label = self.office_data_label
        label.setText(age_text(data.freshness))
        label.setProperty("level", data.freshness.level)
        label.style().unpolish(label)
        label.style().polish(label)
        news = gates_text(data)
        label.setToolTip(news)
        self.other_gates.setText(news.replace("\n", "   "))
        self.other_gates.setVisible(bool(news))
        label.show()

    @Slot(object)
    def on_hub(self, found: HubRound | None) -> None:
        """The last sync with the hub and what waits to go, on the status line, styled
        by the last good sync's age (fresh, amber, red); nothing without a hub."""
        self.hub_round = found
        if found is None:
            self.hub_label.hide()
            self.hub_clock.hide()
            return
        self._show_hub(found)
        self.hub_label.show()
        clock = clock_text(found)
        self.hub_clock.setText(clock)
        self.hub_clock.setToolTip(found.status.skew_warning or "")
        self.hub_clock.setVisible(bool(clock))

    def _show_hub(self, found: HubRound) -> None:
        show_hub(self.hub_label, found, self.now())

    @Slot(int)
    def on_hub_synced(self, rows: int) -> None:
        """Rows from elsewhere came with a sync: the gate takes them in as after an
        exchange (new keys and revocations, the office's rules, other gates' passages)."""
        log.info("hub sync applied %d rows", rows)
        self.worker.take_in()

    def _second(self) -> None:
        self._ticks += 1
        if self._ticks % CLOCK_CHECK_S == 0:
            self.worker.check_clock()
        if self._ticks % OFFICE_DATA_CHECK_S == 0:
            self.worker.check_office_data()
            if self.hub_round is not None:
                self._show_hub(self.hub_round)  # it ages: amber, red
        self._tick()

    def _tick(self) -> None:
        camera = {
            "starting": tr("starting"),
            "opened": tr("ok"),
            "reopened": tr("reopened"),
            "lost": tr("none, retrying"),
            "ended": tr("video ended"),
        }.get(self.camera_state, self.camera_state)
        self.status.setText(
            "   ".join(
                [
                    tr("Camera: {state}", state=camera),
                    tr("Decoder: {name}", name=self.decoder_name),
                    tr("Database: {state}", state=self._database_state()),
                    tr("Mode: {mode}", mode=mode_text(self.mode)),
                    datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
                ]
            )
        )

    def _database_state(self) -> str:
        if not self.database_ok:
            return tr("error")
        return tr("busy, saving...") if self.database_waiting else tr("ok")

    # ------------------------------------------------------------ keys

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        if key in MODE_KEYS:
            self.set_mode(MODE_KEYS[key])
            return
        if key == Qt.Key.Key_F8:
            self.open_correction()
            return
        if key == Qt.Key.Key_F12:
            self.toggle_theme()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------ dialogs (lazy)

    def _open(self, which: str, **options: object) -> None:
        name = DIALOGS[which]
        try:
            module = importlib.import_module(name)
        except ImportError:
            log.info("%s is not available yet", name)
            return
        show = getattr(module, "show_dialog", None)
        if show is None:
            log.warning("%s has no show_dialog(window)", name)
            return
        show(self, **options)

    @Slot()
    def open_registration(self) -> None:
        self._open("registration")

    @Slot()
    def open_manual(self) -> None:
        self._open("manual")

    @Slot()
    def open_shift(self) -> None:
        self._open("shift")

    @Slot()
    def open_admin(self) -> None:
        self._open("admin")

    @Slot()
    def open_correction(self) -> None:
        """Correct a passage: the one picked in the recent list, else the newest."""
        item = self.recent.currentItem()
        picked = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        self._open("correction", selected=picked)

    def install_scanner(self) -> None:
        """Connect the keyboard-wedge scanner filter (kiosk.ui.scanner) if it exists."""
        try:
            module = importlib.import_module("kiosk.ui.scanner")
            scanner = module.ScannerFilter(
                self,
                prefix=self.settings.scanner_prefix,
                suffix=self.settings.scanner_suffix,
            )
            app = QApplication.instance()
            (app if app is not None else self).installEventFilter(scanner)
            scanner.scanned.connect(self.handle_scanned_text)
        except (ImportError, AttributeError, TypeError) as exc:
            log.info("no keyboard-wedge scanner filter: %s", exc)
            return
        self._scanner = scanner
