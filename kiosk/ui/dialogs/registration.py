"""Registering a visitor at the gate (the amber case), and showing their visitor code.

:class:`RegistrationDialog` collects and checks; it never writes. Validation is the
CLI's (:func:`kiosk.store.visitors.validate_visitor`); a temperature outside the
plausible range is refused ("measure again"), a fever is *not*: the dialog returns it
(the field shown red) and the gate records the denial.

What it reads (the households matching the destination typed, a returning visitor
recognised by phone or ID number, the check of the whole form) it reads on the
window's reader (:class:`~kiosk.ui.ops.DbWorker`), never on the UI thread. The focus
moves on at once; an answer fills in when it comes, and one that no longer fits what
is typed is dropped. The reader answers in the order asked, so a household taken by
Enter in the destination is in the form before the form is checked.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QKeyEvent, QPainter, QPixmap
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from kiosk.core.clock import from_db
from kiosk.core.i18n import tr, trc
from kiosk.core.identity import mask_id_number, mask_name, mask_phone
from kiosk.core.passes import QR_BORDER, qr_code
from kiosk.settings import Settings
from kiosk.store.register import find_household, household_label, search_households
from kiosk.store.visitors import (
    ValidVisitor,
    VisitorForm,
    find_returning_visitor,
    get_visitor,
    validate_visitor,
)
from kiosk.store.visits import visitor_holder
from kiosk.ui.dialogs.card_reader import CardReader, Frames
from kiosk.ui.dialogs.common import (
    STYLE,
    TOUCH_PX,
    GloveDialog,
    big_button,
    error_label,
    field_box,
    open_once,
    set_problem,
)
from kiosk.ui.ops import DbWorker, QueryOp

FIELDS = ("name", "phone", "id_number", "destination", "reason", "from_place", "plate")


@dataclass(frozen=True)
class RegistrationResult:
    visitor: ValidVisitor
    temperature: float
    visitor_id: str | None = None  # a returning visitor (prefilled from their code)


def parse_temperature(text: str) -> float | None:
    """``36.5``, ``36,5`` or ``36.5°C`` as a number; ``None`` if it is not one."""
    clean = text.strip().replace(",", ".").replace("℃", "").replace("°C", "").replace("°", "")
    try:
        value = float(clean)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def prefill_of(db: Database, visitor: dict[str, Any]) -> dict[str, Any]:
    """A returning visitor's row (``visitors``) as the dialog's ``prefill``: with
    ``visitor_id``, and the destination as its label (shown) beside the household's id."""
    household_id = str(visitor.get("destination_household_id") or "")
    household = find_household(db, household_id) if household_id else None
    label = (
        household_label(household["building"], household["unit"], household["room"])
        if household is not None
        else ""
    )
    return {
        **visitor,
        "visitor_id": str(visitor["id"]),
        "destination": label,
        "destination_household_id": household["id"] if household is not None else "",
    }


def returning_prefill(db: Database, visitor_id: str) -> dict[str, Any] | None:
    """The prefill for the visitor ``visitor_id`` (their code was scanned); None if
    unknown. Runs on a reader's thread."""
    found = get_visitor(db, visitor_id)
    return None if found is None else prefill_of(db, found)


def recognised_prefill(
    db: Database, *, phone: str, id_number: str, today: date
) -> dict[str, Any] | None:
    """The prefill for the returning visitor with this phone or ID number, if any."""
    found = find_returning_visitor(db, phone=phone, id_number=id_number, today=today)
    return None if found is None else prefill_of(db, found)


@dataclass(frozen=True)
class _Matches:
    """The households matching a destination's text, and whether the text names one."""

    found: list[dict[str, Any]]
    exact: bool


def _matches(db: Database, text: str) -> _Matches:
    return _Matches(search_households(db, text), find_household(db, text) is not None)


class RegistrationDialog(GloveDialog):
    """Name, phone, ID, destination (searched), reason, from, plate, temperature.

    ``prefill`` (a returning visitor, as :func:`prefill_of` makes it: keys of
    :data:`FIELDS`, ``visitor_id``, the destination's label and
    ``destination_household_id``) fills the fields read-only: the guard only takes the
    temperature. Accepted: :attr:`result_value`. With ``frames`` (the camera's newest
    frame) a new visitor's ID card held up fills in the empty fields
    (:mod:`kiosk.ui.dialogs.card_reader`).
    """

    def __init__(
        self,
        reader: DbWorker,
        settings: Settings,
        prefill: dict[str, Any] | None = None,
        parent: QWidget | None = None,
        *,
        frames: Frames | None = None,
    ) -> None:
        super().__init__(parent)
        self.reader = reader
        self.settings = settings
        self.prefill = dict(prefill or {})
        self.visitor_id: str | None = self.prefill.get("visitor_id") or None
        self.id_required = settings.visitor_id_required
        self.result_value: RegistrationResult | None = None
        self.matches_for: str | None = None  # the destination text the matches are for
        self._exact = False  # that text names a household itself
        self._take_when_found = False  # Enter/Tab left the destination before the answer
        self._submitting: VisitorForm | None = None  # being checked (None: not asked)
        self.setWindowTitle(tr("Register a visitor"))

        self.edits: dict[str, QLineEdit] = {}
        self.problems: dict[str, QLabel] = {}
        form = QFormLayout()
        labels = {
            "name": tr("Name *"),
            "phone": tr("Mobile phone *"),
            "id_number": tr("ID number *") if self.id_required else tr("ID number"),
            "destination": tr("Visiting (room or resident) *"),
            "reason": trc("visit purpose", "Reason"),
            "from_place": tr("Coming from"),
            "plate": tr("Vehicle plate"),
            "temperature": tr("Temperature (°C) *"),
        }
        self.matches = QListWidget()
        self.matches.setFixedHeight(TOUCH_PX * 3 + 8)
        self.matches.hide()
        self.matches.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # driven from the field: ↑ ↓
        self.matches.itemClicked.connect(self._pick)
        for name in (*FIELDS, "temperature"):
            edit = QLineEdit()
            edit.setMinimumWidth(480)
            self.edits[name] = edit
            self.problems[name] = error_label()
            self.add_field(edit)
            box = field_box(edit, self.problems[name])
            if name == "destination":
                box_layout = box.layout()
                assert box_layout is not None
                box_layout.addWidget(self.matches)
            form.addRow(labels[name], box)
        self.edits["temperature"].setPlaceholderText("36.5")
        self.edits["destination"].setPlaceholderText(tr("3-2-501 or a name"))
        self.edits["phone"].setInputMethodHints(Qt.InputMethodHint.ImhDialableCharactersOnly)
        self.edits["destination"].textEdited.connect(self._search)
        self.edits["temperature"].textChanged.connect(self._temperature_changed)
        for edit in self.edits.values():  # the guard changed something: check it anew
            edit.textEdited.connect(self._forget_submit)

        layout = QVBoxLayout(self)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.hide()
        layout.addWidget(self.banner)
        layout.addLayout(form)
        row, self.ok_button, self.cancel_button = self.button_row(tr("Register"))
        layout.addLayout(row)
        if self.visitor_id:
            self._fill_prefill()
        else:
            for name in FIELDS:
                if name in self.prefill:
                    self.edits[name].setText(str(self.prefill[name] or ""))
        first = "temperature" if self.visitor_id else "name"
        self.edits[first].setFocus()
        # a new visitor, and a camera: the card held up fills in the empty fields
        self.card_reader = (
            CardReader(self, frames) if frames is not None and not self.visitor_id else None
        )

    # -- prefill -----------------------------------------------------------------

    def _fill_prefill(self) -> None:
        destination = str(
            self.prefill.get("destination") or self.prefill.get("destination_household_id") or ""
        )
        shown = {
            "name": str(self.prefill.get("name") or ""),
            "phone": mask_phone(self.prefill.get("phone"))
            or str(self.prefill.get("phone_masked") or ""),
            "id_number": mask_id_number(self.prefill.get("id_number"))
            or str(self.prefill.get("id_masked") or ""),
            "destination": destination,
        }
        for name in FIELDS:
            edit = self.edits[name]
            edit.setText(shown.get(name, str(self.prefill.get(name) or "")))
            edit.setReadOnly(True)
        if self.prefill.get("invited_for") == date.today().isoformat():  # invited for today
            self.banner.setText(
                tr("Invited visitor: check the ID card, then take the temperature.")
            )
        else:
            self.banner.setText(
                tr("Returning visitor: check the ID card, then take the temperature.")
            )
        self.banner.show()

    def _value(self, name: str) -> str:
        if self.visitor_id:
            if name == "destination":
                return str(
                    self.prefill.get("destination_household_id")
                    or self.prefill.get("destination")
                    or ""
                )
            return str(self.prefill.get(name) or "")
        return self.edits[name].text()

    def form(self) -> VisitorForm:
        return VisitorForm(**{name: self._value(name) for name in FIELDS})

    # -- destination search --------------------------------------------------------

    def _search(self, text: str) -> None:
        """Households matching ``text``, read on the reader; shown when they come."""
        if not text.strip():
            self._show_matches(text, _Matches([], False))
            return
        QueryOp(
            self.reader,
            parent=self,
            op=lambda db: _matches(db, text),
            success=lambda found: self._show_matches(text, found),
        ).newest(("households", id(self))).run_in_background()

    def _show_matches(self, text: str, matches: _Matches) -> None:
        if text != self.edits["destination"].text():
            return  # typed on meanwhile: the answer for the newer text is coming
        self.matches_for, self._exact = text, matches.exact
        found = matches.found
        self.matches.clear()
        for household in found:
            names = "、".join(mask_name(n) for n in household["names"][:4])
            item = QListWidgetItem(f"{household['label']}   {names}".rstrip())
            item.setData(Qt.ItemDataRole.UserRole, household["label"])
            self.matches.addItem(item)
        if found:
            self.matches.setCurrentRow(0)
        if self._take_when_found:  # Enter or Tab came first: take it now
            self._take_when_found = False
            self._take_match()
            return
        self.matches.setVisible(bool(found))

    def _pick(self, item: QListWidgetItem) -> None:
        self.edits["destination"].setText(str(item.data(Qt.ItemDataRole.UserRole)))
        self.matches.hide()
        set_problem(self.edits["destination"], self.problems["destination"], "")
        self.edits["reason"].setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up and Down in the destination field move through the matches; Tab does
        what Enter does (takes the highlighted match, recognises a returning visitor)
        and moves on."""
        edits = getattr(self, "edits", {})  # (events still come as it is torn down)
        if not (
            edits
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and watched in edits.values()
        ):
            return super().eventFilter(watched, event)
        key = event.key()
        if watched is edits["destination"] and key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            if self.matches.count():
                step = 1 if key == Qt.Key.Key_Down else -1
                row = min(max(self.matches.currentRow() + step, 0), self.matches.count() - 1)
                self.matches.setCurrentRow(row)
                return True
        elif key == Qt.Key.Key_Tab and not event.modifiers():
            if watched is edits["destination"]:
                self._take_match()
            elif not self.visitor_id and watched in (edits["phone"], edits["id_number"]):
                self._recognise()
        return super().eventFilter(watched, event)

    def _take_match(self) -> None:
        """The destination typed in part: the highlighted household is the one. If
        the matches for the text typed are still to come, it is taken when they come
        (the focus moves on meanwhile)."""
        destination = self.edits["destination"]
        if destination.isReadOnly():
            return
        text = destination.text()
        if text.strip() and text != self.matches_for:
            self._take_when_found = True
            return
        item = self.matches.currentItem()
        if text.strip() and item is not None and not self._exact:
            destination.setText(str(item.data(Qt.ItemDataRole.UserRole)))
            set_problem(destination, self.problems["destination"], "")
        self.matches.hide()

    def _recognise(self) -> None:
        """A phone or ID number of a known visitor: when the reader finds them, fill
        in the rest (read-only) as for their code, and go to the temperature."""
        phone, id_number = self.edits["phone"].text(), self.edits["id_number"].text()
        if not (phone.strip() or id_number.strip()):
            return

        def found(prefill: dict[str, Any] | None) -> None:
            unchanged = (self.edits["phone"].text(), self.edits["id_number"].text()) == (
                phone,
                id_number,
            )
            if prefill is None or self.visitor_id or not unchanged:
                return
            self.visitor_id = str(prefill["visitor_id"])
            self.prefill = prefill
            self.matches.hide()
            self._fill_prefill()
            for name in FIELDS:
                set_problem(self.edits[name], self.problems[name], "")
            self.edits["temperature"].setFocus(Qt.FocusReason.TabFocusReason)

        today = date.today()
        QueryOp(
            self.reader,
            parent=self,
            op=lambda db: recognised_prefill(db, phone=phone, id_number=id_number, today=today),
            success=found,
        ).newest(("returning", id(self))).run_in_background()

    def enter_pressed(self, field: QWidget) -> None:
        if not self.visitor_id and field in (self.edits["phone"], self.edits["id_number"]):
            self._recognise()
        if field is self.edits["destination"]:
            self._take_match()
        self.focus_next(field)

    # -- temperature -----------------------------------------------------------------

    def _temperature_problem(self, text: str) -> tuple[float | None, str]:
        """(temperature, problem); a fever is a warning, not a problem."""
        value = parse_temperature(text)
        if value is None:
            return None, tr("Type the temperature, e.g. 36.5")
        low, high = self.settings.temperature_min, self.settings.temperature_max
        if not low <= value <= high:
            return None, tr(
                "Measure again: {value} °C is outside {low}–{high} °C.",
                value=value,
                low=low,
                high=high,
            )
        return value, ""

    def _temperature_changed(self, text: str) -> None:
        value = parse_temperature(text)
        edit, label = self.edits["temperature"], self.problems["temperature"]
        if value is not None and self.is_fever(value) and not self._temperature_problem(text)[1]:
            set_problem(
                edit,
                label,
                tr("Fever: {value} °C. The gate will refuse entry and record it.", value=value),
            )
        else:
            set_problem(edit, label, "")

    def is_fever(self, value: float) -> bool:
        return value >= self.settings.fever_threshold

    # -- submit ------------------------------------------------------------------------

    def _forget_submit(self, _text: str = "") -> None:
        self._submitting = None

    def submit(self) -> None:
        """Check the form on the reader (the household must exist); accepted, or the
        problems shown, when the answer comes."""
        form = self.form()
        self._submitting = form
        today, id_required, registered = date.today(), self.id_required, bool(self.visitor_id)
        QueryOp(
            self.reader,
            parent=self,
            op=lambda db: validate_visitor(
                db, form, today=today, id_required=id_required, registered=registered
            ),
            success=lambda checked: self._checked(form, *checked),
        ).failure(self._check_failed).newest(("check", id(self))).run_in_background()

    def _check_failed(self, message: str) -> None:
        self._submitting = None
        self.banner.setText(message)
        self.banner.show()

    def _checked(
        self, form: VisitorForm, visitor: ValidVisitor | None, problems: dict[str, str]
    ) -> None:
        if self._submitting is None:
            return  # the guard changed a field since: Enter again checks it anew
        if self._submitting != form or self.form() != form:
            self.submit()  # the dialog filled something in meanwhile (a household taken)
            return
        self._submitting = None
        temperature, temperature_problem = self._temperature_problem(
            self.edits["temperature"].text()
        )
        if temperature_problem:
            problems["temperature"] = temperature_problem
        for name in (*FIELDS, "temperature"):
            if name == "temperature" and not temperature_problem:
                self._temperature_changed(self.edits["temperature"].text())
                continue
            set_problem(self.edits[name], self.problems[name], problems.get(name, ""))
        if problems or visitor is None or temperature is None:
            for name in (*FIELDS, "temperature"):
                if name in problems:
                    self.edits[name].setFocus()
                    self.edits[name].selectAll()
                    break
            return
        self.result_value = RegistrationResult(visitor, temperature, self.visitor_id)
        self.accept()


def qr_pixmap(text: str, size: int) -> QPixmap:
    """``text`` as a QR code about ``size`` pixels wide (with its quiet zone)."""
    code = qr_code(text)
    modules = code.symbol_size(scale=1, border=QR_BORDER)[0]
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=max(1, size // modules), border=QR_BORDER)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap


class VisitorCodeDialog(QDialog):
    """The visitor's slip: the code, large, to photograph, with who (masked name), where
    to (the household) and when (issued, valid until); Print and Close."""

    def __init__(
        self,
        token: str,
        valid_until_text: str,
        parent: QWidget | None = None,
        *,
        name: str = "",
        destination: str = "",
        issued_text: str = "",
    ) -> None:
        super().__init__(parent)
        self.setStyleSheet(STYLE)
        self.setWindowTitle(tr("Visitor code"))
        self.token = token
        self.valid_until_text = valid_until_text
        self.printed = False
        layout = QVBoxLayout(self)
        title = QLabel(tr("Photograph this code: show it at the gate to come back in."))
        title.setWordWrap(True)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        self.details = QLabel("\n".join(self.slip_lines(name, destination, issued_text)))
        self.details.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setStyleSheet("font-size: 18pt; font-weight: bold;")
        layout.addWidget(self.details)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setPixmap(qr_pixmap(token, 480))
        layout.addWidget(self.image, 1)
        self.until = QLabel(tr("Valid until {time}", time=valid_until_text))
        self.until.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.until)
        row = QHBoxLayout()
        self.print_button = big_button(tr("Print"))
        self.close_button = big_button(tr("Close"))
        self.close_button.setDefault(True)
        self.print_button.clicked.connect(lambda: self.print_code())
        self.close_button.clicked.connect(self.accept)
        row.addWidget(self.print_button)
        row.addStretch(1)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self.close_button.setFocus()

    @staticmethod
    def slip_lines(name: str, destination: str, issued_text: str) -> list[str]:
        """The slip's words: the visitor's name masked, the household, the time issued."""
        lines = []
        if name:
            lines.append(tr("Visitor: {name}", name=mask_name(name)))
        if destination:
            lines.append(tr("Visiting: {household}", household=destination))
        if issued_text:
            lines.append(tr("Registered: {time}", time=issued_text))
        return lines

    def print_code(self, printer: QPrinter | None = None) -> bool:
        """Print the code; without ``printer`` ask with the print dialog first."""
        if printer is None:
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            chooser = QPrintDialog(printer, self)
            if chooser.exec() != QDialog.DialogCode.Accepted:
                return False
        painter = QPainter()
        if not painter.begin(printer):
            return False
        try:
            page = printer.pageLayout().paintRectPixels(printer.resolution())
            side = min(page.width(), page.height()) * 0.7
            pixmap = qr_pixmap(self.token, int(side))
            target = QRectF((page.width() - side) / 2, page.height() * 0.1, side, side)
            painter.drawPixmap(target, pixmap, QRectF(pixmap.rect()))
            text_top = target.bottom() + page.height() * 0.03
            painter.drawText(
                QRectF(0, text_top, page.width(), page.height() * 0.2),
                int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop),
                "\n".join(
                    [
                        *self.details.text().splitlines(),
                        tr("Valid until {time}", time=self.valid_until_text),
                    ]
                ),
            )
        finally:
            painter.end()
        self.printed = True
        return True


def show_dialog(window: Any, prefill: dict[str, Any] | None = None) -> None:
    """From the main window: register, then (in the worker) record the visitor, decide
    and log the entry, and, if admitted, issue the code; the window shows it large
    (:func:`show_code`, on the worker's ``visitorCodeIssued``)."""

    def done(dialog: QDialog) -> None:
        result = getattr(dialog, "result_value", None)
        if dialog.result() == QDialog.DialogCode.Accepted and result is not None:
            window.worker.register_visitor(
                result.visitor,
                result.temperature,
                visitor_id=result.visitor_id,
                code_hours=window.settings.visitor_code_hours,
            )

    open_once(
        "registration",
        lambda: RegistrationDialog(
            window.reader, window.settings, prefill, window, frames=window.worker.latest_frame
        ),
        done,
    )


def show_code(window: Any, record: dict[str, Any]) -> None:
    """The slip for a new visitor's code (``record``: its row in ``passes``), once the
    visitor's name and household are read on the window's reader."""

    def local(text: Any) -> str:
        return from_db(str(text)).astimezone().strftime("%Y-%m-%d %H:%M") if text else ""

    def show(holder: Any) -> None:
        open_once(
            "visitor_code",
            lambda: VisitorCodeDialog(
                str(record["token"]),
                local(record["valid_until"]),
                window,
                name=holder.name if holder else "",
                destination=holder.household if holder else "",
                issued_text=local(record.get("issued_at") or record.get("valid_from")),
            ),
            lambda _dialog: None,
        )

    visitor_id = str(record.get("visitor_id") or "")
    QueryOp(
        window.reader, parent=window, op=lambda db: visitor_holder(db, visitor_id), success=show
    ).failure(window.on_failed).run_in_background()
