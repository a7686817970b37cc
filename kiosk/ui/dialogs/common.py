"""What every Gatepass dialog shares: sizes for gloved hands, Enter to move on, red
problem text under a field.

* Fonts 18 pt, every input and button at least :data:`TOUCH_PX` high.
* Enter in a field moves to the next field; on the last one it submits
  (:meth:`GloveDialog.submit`). Esc cancels (QDialog's own behaviour). Tab follows
  the layout, top to bottom; OK is the default button, Enter on a focused button
  presses that button.
* The mouse wheel never changes a list or number the guard has not clicked into
  (:class:`WheelGuard`): scrolling a long form scrolls the form.
"""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.i18n import tr

TOUCH_PX = 48
FONT_PT = 18

# Sizes only: the colours (error text, problem fields) are the theme's (kiosk.ui.theme).
STYLE = f"""
QDialog, QDialog QWidget {{ font-size: {FONT_PT}pt; }}
QLineEdit, QPushButton, QComboBox, QSpinBox, QDoubleSpinBox, QListWidget::item {{
    min-height: {TOUCH_PX}px;
}}
QPushButton {{ padding: 4px 18px; }}
QSpinBox, QDoubleSpinBox {{ padding-right: 44px; }}
QSpinBox::up-button, QSpinBox::down-button,
QDoubleSpinBox::up-button, QDoubleSpinBox::down-button {{ width: 40px; }}
QCheckBox {{ min-height: {TOUCH_PX}px; }}
QCheckBox::indicator {{ width: 32px; height: 32px; }}
QLabel[role="error"] {{ font-size: {FONT_PT - 2}pt; }}
"""

_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class WheelGuard(QObject):
    """Wheel events on a combo or spin box without the keyboard focus go to the
    scrolling form around it instead of changing the value."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(event, QWheelEvent)
            and isinstance(watched, QWidget)
            and not watched.hasFocus()
        ):
            area = _scroll_area_around(watched)
            if area is None:
                event.ignore()  # not accepted: Qt hands it on to the parent widgets
                return True
            viewport = area.viewport()
            position = viewport.mapFromGlobal(event.globalPosition())
            forwarded = QWheelEvent(
                position,
                event.globalPosition(),
                event.pixelDelta(),
                event.angleDelta(),
                event.buttons(),
                event.modifiers(),
                event.phase(),
                event.inverted(),
            )
            QApplication.sendEvent(viewport, forwarded)
            event.accept()
            return True
        return super().eventFilter(watched, event)


def _scroll_area_around(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


_WHEEL_GUARD = WheelGuard()


def guard_wheel(widget: QWidget) -> None:
    """Let the wheel change ``widget`` (a combo or spin box) only once it has focus."""
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel does not give focus
    widget.installEventFilter(_WHEEL_GUARD)


def error_label() -> QLabel:
    label = QLabel()
    label.setProperty("role", "error")
    label.setWordWrap(True)
    label.hide()
    return label


def big_button(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setMinimumHeight(TOUCH_PX + 8)
    button.setAutoDefault(True)  # Enter on a focused button presses it (not OK instead)
    return button


def set_problem(widget: QWidget, label: QLabel, message: str) -> None:
    """Show ``message`` in red under ``widget`` (empty: clear it)."""
    label.setText(message)
    label.setVisible(bool(message))
    widget.setProperty("problem", "true" if message else "false")
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class GloveDialog(QDialog):
    """A dialog whose fields are filled in order with Enter; subclasses list them in
    ``self.fields`` and implement :meth:`submit`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(STYLE)
        self.setModal(True)
        self.fields: list[QWidget] = []
        self._watched: dict[QObject, QWidget] = {}

    def add_field(self, widget: QWidget) -> QWidget:
        widget.setMinimumHeight(TOUCH_PX)
        if isinstance(widget, QComboBox | QAbstractSpinBox):
            guard_wheel(widget)
        self.fields.append(widget)
        self._watched[widget] = widget
        widget.installEventFilter(self)
        line = widget.lineEdit() if isinstance(widget, QComboBox) else None
        if line is not None:
            self._watched[line] = widget
            line.installEventFilter(self)
        return widget

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # (getattr: events still come while the dialog is torn down, its dict gone)
        field = getattr(self, "_watched", {}).get(watched)
        if (
            field is not None
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in _ENTER
        ):
            if isinstance(field, QAbstractSpinBox):
                field.interpretText()
            self.enter_pressed(field)
            return True
        return super().eventFilter(watched, event)

    def enter_pressed(self, field: QWidget) -> None:
        """Enter in ``field``: the next enabled, editable field, or submit."""
        self.focus_next(field)

    def focus_next(self, field: QWidget) -> None:
        index = self.fields.index(field)
        for following in self.fields[index + 1 :]:
            if following.isEnabled() and not _read_only(following):
                following.setFocus(Qt.FocusReason.TabFocusReason)
                if isinstance(following, QLineEdit):
                    following.selectAll()
                return
        self.submit()

    def submit(self) -> None:  # pragma: no cover - subclasses decide
        self.accept()

    def button_row(
        self, ok_text: str | None = None, cancel_text: str | None = None
    ) -> tuple[QHBoxLayout, QPushButton, QPushButton]:
        """OK (calls :meth:`submit`) and Cancel buttons, big, right-aligned."""
        row = QHBoxLayout()
        row.addStretch(1)
        cancel = big_button(cancel_text or tr("Cancel"))
        ok = big_button(ok_text or tr("OK"))
        ok.setDefault(True)  # Enter outside the fields and buttons
        cancel.clicked.connect(self.reject)
        ok.clicked.connect(self.submit)
        row.addWidget(cancel)
        row.addWidget(ok)
        return row, ok, cancel


def _read_only(widget: QWidget) -> bool:
    if isinstance(widget, QLineEdit | QAbstractSpinBox):
        return widget.isReadOnly()
    return False


def field_box(widget: QWidget, problem: QLabel) -> QWidget:
    """``widget`` with its problem text under it, for a form row."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(widget)
    layout.addWidget(problem)
    return box


# -- opening from the main window -----------------------------------------------------

_OPEN: dict[str, QDialog] = {}


def open_once(kind: str, make: Callable[[], QDialog], on_done: Callable[[QDialog], None]) -> None:
    """Open the dialog ``make()`` (window-modal, not blocking) unless one of this
    ``kind`` is open already (then that one is raised); ``on_done(dialog)`` when it
    closes, whatever the answer."""
    current = _OPEN.get(kind)
    if current is not None and shiboken6.isValid(current) and current.isVisible():
        current.raise_()
        current.activateWindow()
        return
    dialog = make()
    _OPEN[kind] = dialog
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def finished(_code: int) -> None:
        _OPEN.pop(kind, None)
        on_done(dialog)

    dialog.finished.connect(finished)
    dialog.open()


def open_dialogs() -> list[QDialog]:
    """The dialogs opened with :func:`open_once` that are on screen now."""
    return [d for d in _OPEN.values() if shiboken6.isValid(d) and d.isVisible()]


def open_dialog(kind: str) -> QDialog | None:
    """The open dialog of ``kind`` (tests, and the window's "is a dialog open")."""
    current = _OPEN.get(kind)
    return current if current is not None and shiboken6.isValid(current) else None
