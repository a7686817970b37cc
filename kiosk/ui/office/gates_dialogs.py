"""The Gates tab's dialogs: the new gate's name, which USB stick to use, and the
one-time enrolment code shown large with the next steps (docs/office.md, "Gates")."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.i18n import tr
from kiosk.store.enrolment import Enrolment
from kiosk.ui.dialogs.common import GloveDialog, error_label, set_problem
from kiosk.ui.drives import Drive
from kiosk.ui.theme import ui_font

# (parent, the drives mounted now) -> the one to use, or None: cancelled
ChooseDrive = Callable[[QWidget, Sequence[Drive]], Drive | None]


def drive_text(drive: Drive) -> str:
    """A drive as the clerk knows it: its name and where it is."""
    if drive.label and drive.label != str(drive.path):
        return f"{drive.label} ({drive.path})"
    return str(drive.path)


def choose_drive(parent: QWidget, drives: Sequence[Drive]) -> Drive | None:
    """The drive to use: the only one, else the clerk's choice (None: cancelled)."""
    if len(drives) == 1:
        return drives[0]
    names = [drive_text(d) for d in drives]
    picked, ok = QInputDialog.getItem(
        parent,
        tr("Which USB stick?"),
        tr("Several removable drives are plugged in. Use this one:"),
        names,
        0,
        False,
    )
    if not ok:
        return None
    return drives[names.index(picked)]


class GateNameDialog(GloveDialog):
    """Asks the new gate's name ("north gate"), shown on every checkpoint's lists."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Enrol a gate"))
        self.name = QLineEdit()
        self.name.setPlaceholderText(tr("e.g. north gate"))
        self.name.setMaxLength(60)
        self.add_field(self.name)
        self.problem = error_label()
        intro = QLabel(
            tr(
                "The office writes an enrolment file for the new gate (to the USB stick "
                "if one is plugged in) and shows a one-time code to type at the gate."
            )
        )
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(QLabel(tr("Name of the gate")))
        layout.addWidget(self.name)
        layout.addWidget(self.problem)
        row, _ok, _cancel = self.button_row(tr("Enrol"))
        layout.addLayout(row)
        self.resize(560, self.sizeHint().height())

    def gate_name(self) -> str:
        return self.name.text().strip()

    def submit(self) -> None:
        if not self.gate_name():
            set_problem(self.name, self.problem, tr("Give the gate a name."))
            return
        self.accept()


def next_steps(done: Enrolment) -> str:
    """What to do at the gate, in plain words."""
    return tr(
        "1. Take the enrolment file {file} to the new gate's computer.\n"
        "2. There, run: kiosk init --join {file} --code {code}\n"
        "   (or read the code out to whoever sets up the gate).\n"
        "3. Check that the gate shows the same office key fingerprint as here.\n"
        "4. Bring the gate's first bundle back on the USB stick and press "
        '"Exchange with USB stick": the gate then shows as joined.',
        file=done.path.name,
        code=done.code,
    )


class EnrolmentCodeDialog(QDialog):
    """The one-time enrolment code, large, with the office key's fingerprint and the
    next steps. The code is shown once: it is not stored anywhere readable."""

    def __init__(self, done: Enrolment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.enrolment = done
        self.setWindowTitle(tr("Enrolment code for {name}", name=done.name))
        title = QLabel(tr("Enrolment code for {name} (shown once):", name=done.name))
        title.setFont(ui_font(14, bold=True))
        self.code = QLabel(done.code)
        self.code.setObjectName("enrolmentCode")
        self.code.setFont(ui_font(44, bold=True))
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint = QLabel(
            tr("Office key fingerprint (the gate shows it too): {fp}", fp=done.fingerprint)
        )
        bold = self.fingerprint.font()
        bold.setBold(True)
        self.fingerprint.setFont(bold)
        self.fingerprint.setWordWrap(True)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        where = QLabel(tr("Enrolment file: {path}", path=done.path))
        where.setWordWrap(True)
        steps = QLabel(next_steps(done))
        steps.setWordWrap(True)
        self.copy_button = QPushButton(tr("Copy the code"))
        self.copy_button.clicked.connect(lambda: QApplication.clipboard().setText(done.code))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.code)
        layout.addWidget(self.fingerprint)
        layout.addWidget(where)
        layout.addSpacing(8)
        layout.addWidget(steps)
        layout.addWidget(buttons)
        self.setMinimumWidth(760)
        self.adjustSize()  # the wrapped labels' height at that width
