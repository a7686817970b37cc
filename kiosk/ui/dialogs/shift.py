"""A guard's shift: signing in by name, and the summary shown on signing out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QFormLayout, QLabel, QVBoxLayout, QWidget

from kiosk.core.clock import utcnow
from kiosk.core.i18n import N_, tr
from kiosk.core.identity import NAME_MAX, IdentityError, check_name
from kiosk.store.stats import shift_summary
from kiosk.store.visits import recent_guards
from kiosk.ui.dialogs.common import GloveDialog, error_label, field_box, open_once, set_problem
from kiosk.ui.ops import QueryOp


class SignInDialog(GloveDialog):
    """The guard types their name or picks a recent one. Accepted: :attr:`guard_name`."""

    def __init__(self, recent_names: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.guard_name: str | None = None
        self.setWindowTitle(tr("Guard sign-in"))
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        prompt = QLabel(tr("Who is on duty? Type your name or pick it."))
        prompt.setWordWrap(True)
        layout.addWidget(prompt)
        self.names = QComboBox()
        self.names.setEditable(True)
        self.names.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.names.addItems(list(dict.fromkeys(n for n in recent_names if n.strip())))
        self.names.setCurrentIndex(-1)
        self.names.setEditText("")
        line = self.names.lineEdit()
        assert line is not None
        line.setMaxLength(NAME_MAX)
        line.setPlaceholderText(tr("Your name"))
        self.problem = error_label()
        self.add_field(self.names)
        layout.addWidget(field_box(self.names, self.problem))
        row, self.ok_button, _ = self.button_row(tr("Sign in"))
        layout.addLayout(row)
        self.names.setFocus()

    def submit(self) -> None:
        try:
            name = check_name(self.names.currentText())
        except IdentityError as exc:
            set_problem(self.names, self.problem, str(exc))
            return
        self.guard_name = name
        self.accept()


# (key, label) in the order shown; labels are translated when shown.
SUMMARY_ROWS = (
    ("passes_in", N_("Passed in")),
    ("passes_out", N_("Passed out")),
    ("checks", N_("Checks (amber)")),
    ("denials", N_("Refused (red)")),
    ("fevers", N_("Fevers")),
    ("visitors_registered", N_("Visitors registered")),
    ("manual", N_("Entered by hand")),
    ("total", N_("All passages")),
)


def _time_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    return str(value or "")


class ShiftSummaryDialog(GloveDialog):
    """The shift's counts (a dict from :func:`kiosk.store.stats.shift_summary`, with
    ``since``/``until`` as datetimes or text) on signing out; Close only."""

    def __init__(self, summary: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = summary
        self.setWindowTitle(tr("End of shift"))
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        heading = QLabel(
            tr(
                "Shift of {guard}: {start} to {end}",
                guard=summary.get("guard", ""),
                start=_time_text(summary.get("since")),
                end=_time_text(summary.get("until") or datetime.now().astimezone()),
            )
        )
        heading.setWordWrap(True)
        layout.addWidget(heading)
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for key, label in SUMMARY_ROWS:
            value = QLabel(str(summary.get(key, 0)))
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if key in ("denials", "fevers") and summary.get(key):
                value.setProperty("role", "error")
            self.values[key] = value
            form.addRow(tr(label), value)
        layout.addLayout(form)
        row, self.ok_button, cancel = self.button_row(tr("Close"))
        cancel.hide()
        layout.addLayout(row)
        self.ok_button.setFocus()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
            return
        super().keyPressEvent(event)


def sign_in(window: Any, name: str) -> None:
    """``name`` is on duty from now: kept on the window (shown there) and handed to the
    gate, so every passage records it."""
    window.guard_name = name
    window.shift_started = utcnow()
    window.worker.set_guard(name)


def show_dialog(window: Any) -> None:
    """Sign in when nobody is on duty; otherwise sign out with the shift's summary.

    The guard on duty is kept on the window (``guard_name``, ``shift_started``) and
    handed to the gate (``window.worker.set_guard``) so every passage records it.
    The recent names, or the shift's counts, are read on the window's reader first.
    """
    guard = str(getattr(window, "guard_name", "") or "")
    if guard:
        started, until = window.shift_started, utcnow()

        def signed_out(_dialog: QDialog) -> None:
            window.guard_name = ""
            window.worker.set_guard("")

        def show_summary(summary: dict[str, Any]) -> None:
            open_once("shift", lambda: ShiftSummaryDialog(summary, window), signed_out)

        QueryOp(
            window.reader,
            parent=window,
            op=lambda db: shift_summary(db, guard, started, until),
            success=show_summary,
        ).failure(window.on_failed).run_in_background()
        return

    def signed_in(dialog: QDialog) -> None:
        name = getattr(dialog, "guard_name", None)
        if dialog.result() == QDialog.DialogCode.Accepted and name:
            sign_in(window, name)

    def show_sign_in(recent: list[str]) -> None:
        if getattr(window, "guard_name", ""):
            return  # signed in meanwhile
        open_once("shift", lambda: SignInDialog(recent, window), signed_in)

    QueryOp(window.reader, parent=window, op=recent_guards, success=show_sign_in).failure(
        window.on_failed
    ).run_in_background()
