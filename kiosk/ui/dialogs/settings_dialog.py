"""The settings, behind the administrator PIN: one row per declared setting.

Rows are built from :data:`kiosk.settings.SETTINGS` (bool: check box; choices: list;
int/float: spin box within min..max; text: line edit), each with its translated help
as label and tooltip. OK checks every value first and saves only if all are valid.

The PIN is changed here (typed twice; weak ones refused, as by ``kiosk init``): the new
PIN is handed to ``set_pin``, which hashes and stores it in the database off the UI
thread (the window's gate worker; audited there). Saved changes are handed to
``audit`` (name, old, new) for the audit log. "Exit Gatepass"
sets :attr:`exit_requested` and closes the dialog without saving: the window then quits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kiosk import version_text
from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr
from kiosk.core.pin import pin_problem
from kiosk.settings import SETTINGS, Change, Setting, Settings, convert
from kiosk.ui.dialogs.common import (
    TOUCH_PX,
    GloveDialog,
    big_button,
    error_label,
    field_box,
    set_problem,
)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return tr("on") if value else tr("off")
    return str(value)


def _stacked(*labels: QLabel) -> QWidget:
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    for label in labels:
        column.addWidget(label)
    return box


class SettingsDialog(GloveDialog):
    """Edit ``settings`` and save them to its file on OK.

    After ``exec()``: :attr:`settings` (as saved), :attr:`changed` (names of the
    settings that changed),
    :attr:`pin_changed`, :attr:`exit_requested`, :attr:`office_requested`,
    :attr:`exchange_requested` (its button shows when ``exchange``: a compound's gate),
    :attr:`doctor_requested` (the health check, :mod:`kiosk.ui.doctor`).
    ``office_rules``: at a gate of a compound, the rules the office sent; each shows
    under its setting ("Set by the office: ..."), since it stands over this one.
    """

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        audit: Callable[[list[Change]], None] | None = None,
        set_pin: Callable[[str], None] | None = None,
        *,
        exchange: bool = False,
        office_rules: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.audit = audit
        self.set_pin = set_pin
        self.changed: list[str] = []
        self.pin_changed = False
        self.exit_requested = False
        self.office_requested = False
        self.exchange_requested = False
        self.doctor_requested = False
        self.setWindowTitle(tr("Settings"))
        self.widgets: dict[str, QWidget] = {}
        self.problems: dict[str, QLabel] = {}

        outer = QVBoxLayout(self)

        body = QWidget()
        form = QFormLayout(body)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)  # help text above
        for setting in SETTINGS:
            widget = self._editor(setting)
            widget.setToolTip(tr(setting.help))
            self.widgets[setting.name] = widget
            self.problems[setting.name] = error_label()
            self.add_field(widget)
            label = QLabel(tr(setting.help))
            label.setWordWrap(True)
            label.setToolTip(setting.name)
            head: QWidget = label
            if office_rules and setting.name in office_rules:
                # a gate of a compound: the office's rule stands over this one
                note = QLabel(
                    tr("Set by the office: {value}", value=_shown(office_rules[setting.name]))
                )
                note.setObjectName("officeRule")
                note.setWordWrap(True)
                head = _stacked(label, note)
            form.addRow(head, field_box(widget, self.problems[setting.name]))

        self.pin_new = self._pin_edit(tr("New PIN (4 to 12 digits)"))
        self.pin_again = self._pin_edit(tr("The new PIN again"))
        self.pin_problem = error_label()
        form.addRow(QLabel(tr("Change PIN")), self.pin_new)
        form.addRow(QLabel(""), field_box(self.pin_again, self.pin_problem))

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

        self.save_problem = error_label()
        outer.addWidget(self.save_problem)
        row, self.ok_button, _ = self.button_row(tr("Save"))
        self.exit_button = big_button(tr("Exit Gatepass"))
        self.exit_button.clicked.connect(self.request_exit)
        row.insertWidget(0, self.exit_button)
        self.office_button = big_button(tr("Office…"))
        self.office_button.setToolTip(
            tr("Register, passes, home quarantine, visitors, reports and tracing")
        )
        self.office_button.clicked.connect(self.request_office)
        row.insertWidget(1, self.office_button)
        self.exchange_button = big_button(tr("Exchange with USB stick…"))
        self.exchange_button.setToolTip(
            tr("Take in the office's news from the stick and write this gate's for the office")
        )
        self.exchange_button.clicked.connect(self.request_exchange)
        self.exchange_button.setVisible(exchange)  # a gate of a compound only
        row.insertWidget(2, self.exchange_button)
        self.doctor_button = big_button(tr("Health check…"))
        self.doctor_button.setToolTip(
            tr("Camera, database, keys, disk, clock, exchange, sound, fonts and screen")
        )
        self.doctor_button.clicked.connect(self.request_doctor)
        row.insertWidget(3, self.doctor_button)
        outer.addLayout(row)
        self.about = QLabel(tr("Gatepass {version}", version=version_text()))
        self.about.setObjectName("about")
        self.about.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.about)
        self.resize(900, 700)

    # -- building ----------------------------------------------------------------

    def _editor(self, setting: Setting) -> QWidget:
        value = self.settings.values()[setting.name]
        if setting.type is bool:
            box = QCheckBox()
            box.setChecked(bool(value))
            return box
        if setting.choices:
            combo = QComboBox()
            for choice in setting.choices:
                combo.addItem(setting.choice_label(choice), choice)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            return combo
        if setting.type is int:
            spin = QSpinBox()
            spin.setRange(int(setting.minimum or 0), int(setting.maximum or 1_000_000))
            spin.setValue(int(value))
            return spin
        if setting.type is float:
            dspin = QDoubleSpinBox()
            dspin.setDecimals(1)
            dspin.setSingleStep(0.1)
            dspin.setRange(float(setting.minimum or 0), float(setting.maximum or 1e6))
            dspin.setValue(float(value))
            return dspin
        edit = QLineEdit(str(value))
        return edit

    def _pin_edit(self, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setMaxLength(12)
        edit.setPlaceholderText(placeholder)
        edit.setMinimumHeight(TOUCH_PX)
        self.add_field(edit)
        return edit

    def value_of(self, name: str) -> Any:
        """What the widget for setting ``name`` holds now (unchecked)."""
        widget = self.widgets[name]
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, QSpinBox | QDoubleSpinBox):
            widget.interpretText()
            return widget.value()
        assert isinstance(widget, QLineEdit)
        return widget.text()

    # -- actions -----------------------------------------------------------------

    def request_exit(self) -> None:
        self.exit_requested = True
        self.reject()

    def request_office(self) -> None:
        self.office_requested = True
        self.reject()

    def request_exchange(self) -> None:
        self.exchange_requested = True
        self.reject()

    def request_doctor(self) -> None:
        self.doctor_requested = True
        self.reject()

    def _new_pin(self) -> tuple[str | None, str]:
        """(the new PIN or None when unchanged, problem)."""
        new, again = self.pin_new.text(), self.pin_again.text()
        if not new and not again:
            return None, ""
        problem = pin_problem(new)
        if problem:
            return None, problem
        if new != again:
            return None, tr("The two PINs differ.")
        return new, ""

    def submit(self) -> None:
        values: dict[str, Any] = {}
        bad = False
        for setting in SETTINGS:
            raw = self.value_of(setting.name)
            try:
                values[setting.name] = convert(setting, raw)
                problem = ""
            except (ValueError, TypeError):
                problem = tr("Not a valid value: {value}", value=raw)
                bad = True
            set_problem(self.widgets[setting.name], self.problems[setting.name], problem)
        new_pin, pin_problem = self._new_pin()
        set_problem(self.pin_again, self.pin_problem, pin_problem)
        if bad or pin_problem:
            return
        try:
            settings, changes = self.settings.updated(values)
            settings.save()
            self.settings = settings
            if self.audit is not None and changes:
                self.audit(changes)
        except (KioskError, OSError) as exc:
            set_problem(self.ok_button, self.save_problem, tr("Not saved: {error}", error=exc))
            return
        self.changed = [name for name, _old, _new in changes]
        self.pin_changed = new_pin is not None
        if new_pin is not None and self.set_pin is not None:
            self.set_pin(new_pin)
        self.pin_new.clear()
        self.pin_again.clear()
        self.accept()
