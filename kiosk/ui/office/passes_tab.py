"""The office's Passes tab: every pass (or one resident's), issue, reissue, revoke with
a reason, and print the cards (on a printer, or to a PDF).

Signing needs the issuer key (:mod:`kiosk.ui.office.issuer`): on a checkpoint without
one, Issue and Reissue are disabled and say why. Writes run on the office's jobs
thread; issuing and printing are long ops (progress, Cancel), and the cards are drawn
there too, not on the UI thread. The dialogs that could block (the print dialog, a
file chooser, a question) are attributes a test replaces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, overload

import shiboken6
from PySide6.QtGui import QPageSize
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from kiosk.core.clock import from_db
from kiosk.core.errors import KioskError
from kiosk.core.i18n import N_, tr
from kiosk.core.progress import Progress
from kiosk.store.checkpoint import checkpoint_name
from kiosk.store.passes import (
    MAX_DAYS,
    PASS_DEFAULT_ORDER,
    PASS_SORT_FROM,
    PASS_SORT_HOLDER,
    PASS_SORT_HOUSEHOLD,
    PASS_SORT_KIND,
    PASS_SORT_SERIAL,
    PASS_SORT_STATUS,
    PASS_SORT_UNTIL,
    find_pass,
    issue_passes,
    resident_ids_for,
    revoke_pass,
    search_passes,
)
from kiosk.store.register import get_resident, household_label
from kiosk.ui.dialogs.common import GloveDialog, error_label, field_box, set_problem
from kiosk.ui.office import files
from kiosk.ui.office.context import OfficeContext, local_time
from kiosk.ui.office.issuer import IssuerKey, no_key_reason
from kiosk.ui.office.pickers import ResidentPicker, check_household
from kiosk.ui.office.table import Column, MessageLine, Query, QueryModel, Row, SearchTable
from kiosk.ui.ops import LongOp, QueryOp
from kiosk.ui.printing.cards import Card, card_from_pass, print_cards, write_cards_pdf

DEFAULT_DAYS = 30
RADIO_STYLE = """
QRadioButton { min-height: 40px; }
QRadioButton::indicator { width: 26px; height: 26px; }
"""

_STATES = {"active": N_("active"), "revoked": N_("revoked"), "expired": N_("expired")}
_KINDS = {"resident": N_("resident"), "staff": N_("staff"), "visitor": N_("visitor")}
_SHOWS = (
    ("active", N_("Good now")),
    ("revoked", N_("Revoked")),
    ("expired", N_("Expired")),
    ("all", N_("All passes")),
)

# (printer, parent) -> whether to print (the printer as the clerk set it up)
ChoosePrinter = Callable[[QPrinter, QWidget], bool]
# (parent) -> the PDF file to write, or None
ChoosePdf = Callable[[QWidget], Path | None]
# (parent, question) -> yes
Confirm = Callable[[QWidget, str], bool]


def choose_printer(printer: QPrinter, parent: QWidget) -> bool:
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(tr("Print pass cards"))
    return bool(dialog.exec() == QPrintDialog.DialogCode.Accepted)


def choose_pdf(parent: QWidget) -> Path | None:
    path = files.ask_save_path(
        parent, tr("Save the cards as PDF"), "pass-cards.pdf", tr("PDF files (*.pdf)")
    )
    return files.ensure_suffix(path, ".pdf") if path is not None else None


def confirm(parent: QWidget, question: str) -> bool:
    answer = QMessageBox.question(parent, tr("Gatepass office"), question)
    return answer == QMessageBox.StandardButton.Yes


def fit_columns(table: SearchTable) -> None:
    """Size the columns to their contents once, when the first rows arrive (after
    that the clerk's own widths stay)."""
    done = False

    def fit(*_args: Any) -> None:
        nonlocal done
        if done or table.model.rowCount() == 0:
            return
        done = True
        table.view.resizeColumnsToContents()

    table.model.modelReset.connect(fit)
    fit()


def _kind_text(row: Row) -> str:
    kind = row["kind"]
    return tr(_KINDS[kind]) if kind in _KINDS else str(kind)


def validity_days(row: Row) -> int:
    """How many days a pass was issued for (what a reissue offers again)."""
    days = (from_db(row["valid_until"]) - from_db(row["valid_from"])).days
    return min(max(days, 1), MAX_DAYS)


def card_rows(db: Database, kind: str, value: str, now: datetime) -> list[Row]:
    """The passes to print: one ``pass`` by serial, a ``household``'s good passes,
    or ``all`` good residents' and staff passes; by household, then name."""
    if kind == "pass":
        found = find_pass(db, value)
        return [found] if found is not None else []
    selection = {"household": value} if kind == "household" else {"all_": True}
    wanted = set(resident_ids_for(db, **selection))
    rows = search_passes(
        db,
        now=now,
        show="active",
        order=f"{PASS_SORT_HOUSEHOLD} ASC, {PASS_SORT_HOLDER} ASC",
        limit=-1,
    )
    return [r for r in rows if r["resident_id"] in wanted]


RELEASE_SLICE = 2000  # rows freed at a time (about a millisecond)


class LazyCards(Sequence[Card]):
    """The cards of pass rows, each made as it is drawn. A row is a dict of plain
    values, which Python's collector does not track; 100,000 ``Card`` objects held at
    once made it sweep the whole heap on the jobs thread for about 70 ms, holding the
    GIL, and the UI thread (the gate's window too) waited."""

    def __init__(self, rows: list[Row], lang: str) -> None:
        self.rows, self.lang = rows, lang

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Card: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Card]: ...

    def __getitem__(self, index: int | slice) -> Card | Sequence[Card]:
        if isinstance(index, slice):
            return LazyCards(self.rows[index], self.lang)
        return card_from_pass(self.rows[index], self.lang)

    def release(self) -> None:
        """Let go of the rows a slice at a time (on the thread that drew them). Freed
        at once, 100,000 rows held the GIL for 50-120 ms in one go, and the UI thread
        waited (``bench/bench_ui.py --cards``, at Cancel); between two slices it gets
        its turn. The cards are gone afterwards."""
        rows = self.rows
        while rows:
            del rows[-RELEASE_SLICE:]


def read_cards(
    db: Database, kind: str, value: str, lang: str, now: datetime
) -> tuple[LazyCards, str]:
    """The cards to print and the checkpoint's name (printed on each card)."""
    return LazyCards(card_rows(db, kind, value, now), lang), checkpoint_name(db)


# ---------------------------------------------------------------- dialogs


class RevokeDialog(GloveDialog):
    """Asks the reason for revoking one pass (required: the gate shows it)."""

    def __init__(self, row: Row, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.row = row
        self.setWindowTitle(tr("Revoke pass {serial}", serial=row["serial"]))
        intro = QLabel(
            tr(
                "Revoke pass {serial} of {holder}? The gate will refuse it from now on "
                "and show this reason.",
                serial=row["serial"],
                holder=row["holder"] or "",
            )
        )
        intro.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(tr("Reason (required)"))
        self.add_field(self.reason)
        self.problem = error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(field_box(self.reason, self.problem))
        row_layout, self.ok, _cancel = self.button_row(tr("Revoke"))
        layout.addLayout(row_layout)
        self.resize(640, self.sizeHint().height())

    def submit(self) -> None:
        if not self.reason.text().strip():
            set_problem(self.reason, self.problem, tr("Give a reason."))
            return
        self.accept()


class IssueDialog(GloveDialog):
    """Whom to issue passes for (a resident, a household, everyone without a good
    pass) and for how many days; with ``resident`` fixed, for that one person (and,
    with ``reissue``, replacing the pass they hold)."""

    def __init__(
        self,
        ctx: OfficeContext,
        parent: QWidget | None = None,
        *,
        resident: tuple[str, str] | None = None,  # (id, what to show)
        reissue: bool = False,
        days: int = DEFAULT_DAYS,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.fixed = resident
        self.reissue = reissue
        self.setStyleSheet(self.styleSheet() + RADIO_STYLE)
        self.setWindowTitle(tr("Reissue a pass") if reissue else tr("Issue passes"))
        layout = QVBoxLayout(self)
        self.who = QButtonGroup(self)
        self.for_resident = QRadioButton(tr("One resident"))
        self.for_household = QRadioButton(tr("A household"))
        self.for_all = QRadioButton(tr("Every active resident without a good pass"))
        self.picker = ResidentPicker(ctx)
        self.household = QLineEdit()
        self.household.setPlaceholderText(tr("Household, e.g. 3-2-501"))
        self.problem = error_label()
        if resident is None:
            for number, button in enumerate((self.for_resident, self.for_household, self.for_all)):
                self.who.addButton(button, number)
            self.for_household.setChecked(True)
            layout.addWidget(self.for_resident)
            layout.addWidget(self.picker)
            layout.addWidget(self.for_household)
            layout.addWidget(self.household)
            layout.addWidget(self.for_all)
            self.who.idToggled.connect(lambda *_: self._enable())
            self.add_field(self.household)
        else:
            text = (
                tr(
                    "A new pass for {who}. The pass they hold now is revoked "
                    "(reason: reissued) and will be refused at the gate.",
                    who=resident[1],
                )
                if reissue
                else tr("A pass for {who}.", who=resident[1])
            )
            intro = QLabel(text)
            intro.setWordWrap(True)
            layout.addWidget(intro)
        self.days = QSpinBox()
        self.days.setRange(1, MAX_DAYS)
        self.days.setValue(days)
        self.days.setSuffix(tr(" days"))
        self.add_field(self.days)
        form = QFormLayout()
        form.addRow(tr("Valid for"), self.days)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        row, self.ok, _cancel = self.button_row(tr("Reissue") if reissue else tr("Issue"))
        layout.addLayout(row)
        self._enable()
        self.resize(640, self.sizeHint().height())

    def _enable(self) -> None:
        self.picker.setEnabled(self.for_resident.isChecked())
        self.household.setEnabled(self.for_household.isChecked())

    def selection(self) -> dict[str, Any]:
        """``resident_ids_for`` keywords for the chosen people."""
        if self.fixed is not None or self.for_resident.isChecked():
            return {"resident": self.fixed[0] if self.fixed else self.picker.resident_id()}
        if self.for_household.isChecked():
            return {"household": self.household.text().strip()}
        return {"all_": True}

    def submit(self) -> None:
        if not self.ok.isEnabled():
            return  # the household is being looked up
        self.days.interpretText()
        chosen = self.selection()
        if "resident" in chosen and not chosen["resident"]:
            set_problem(self.picker.search, self.problem, tr("Pick a resident."))
            return
        if "household" in chosen:
            check_household(self.ctx, self, self.ok, self.household, self.problem, self.accept)
            return
        self.accept()


class PrintCardsDialog(GloveDialog):
    """Which cards to print (the selected pass, a household's, all good passes), in
    which language, and whether on a printer or to a PDF file."""

    def __init__(
        self, ctx: OfficeContext, selected: Row | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.action = ""
        self.setStyleSheet(self.styleSheet() + RADIO_STYLE)
        self.setWindowTitle(tr("Print pass cards"))
        self.group = QButtonGroup(self)
        self.one = QRadioButton(
            tr(
                "The selected pass ({serial}, {holder})",
                serial=selected["serial"],
                holder=selected["holder"] or "",
            )
            if selected
            else tr("The selected pass")
        )
        self.one.setEnabled(selected is not None)
        self.selected = selected
        self.by_household = QRadioButton(tr("A household's passes"))
        self.everyone = QRadioButton(tr("All passes good now"))
        for number, button in enumerate((self.one, self.by_household, self.everyone)):
            self.group.addButton(button, number)
        (self.one if selected else self.by_household).setChecked(True)
        self.household = QLineEdit()
        self.household.setPlaceholderText(tr("Household, e.g. 3-2-501"))
        if selected and selected.get("building"):
            self.household.setText(
                household_label(selected["building"], selected["unit"], selected["room"])
            )
        self.add_field(self.household)
        self.language = QComboBox()
        self.language.addItem("中文", "zh_CN")
        self.language.addItem("English", "en")
        self.problem = error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.one)
        layout.addWidget(self.by_household)
        layout.addWidget(self.household)
        layout.addWidget(self.everyone)
        form = QFormLayout()
        form.addRow(tr("Language on the cards"), self.language)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        close = QPushButton(tr("Close"))
        self.pdf_button = QPushButton(tr("Save as PDF…"))
        self.print_button = QPushButton(tr("Print…"))
        for push in (close, self.pdf_button, self.print_button):
            push.setAutoDefault(False)
            buttons.addWidget(push)
        close.clicked.connect(self.reject)
        self.pdf_button.clicked.connect(lambda: self._go("pdf"))
        self.print_button.clicked.connect(lambda: self._go("print"))
        layout.addLayout(buttons)
        self.resize(680, self.sizeHint().height())

    def scope(self) -> tuple[str, str]:
        if self.one.isChecked() and self.selected is not None:
            return "pass", str(self.selected["serial"])
        if self.by_household.isChecked():
            return "household", self.household.text().strip()
        return "all", ""

    def lang(self) -> str:
        return str(self.language.currentData())

    def _go(self, action: str) -> None:
        kind, _value = self.scope()

        def go() -> None:
            self.action = action
            self.accept()

        if kind != "household":
            go()
            return
        check_household(self.ctx, self, self.print_button, self.household, self.problem, go)

    def submit(self) -> None:
        self._go("print")


# ---------------------------------------------------------------- the tab


class PassesTab(QWidget):
    """Passes: a searchable, sortable table with issue, reissue, revoke and print.

    With ``resident_id`` it shows that resident's passes only (the history dialog).
    """

    def __init__(
        self,
        ctx: OfficeContext,
        parent: QWidget | None = None,
        *,
        resident_id: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.resident_id = resident_id
        self.issuer = IssuerKey(ctx.home)
        self.choose_printer: ChoosePrinter = choose_printer
        self.choose_pdf: ChoosePdf = choose_pdf
        self.confirm: Confirm = confirm
        self.dialog: GloveDialog | None = None  # the open dialog, if any (tests)
        self.last_issued: list[str] = []  # serials of the last issue (tests, printing)
        self.long_op: LongOp[Any] | None = None  # the last issue or printing (tests)

        self.show_filter = QComboBox()
        for key, label in _SHOWS:
            self.show_filter.addItem(tr(label), key)
        self.show_filter.setCurrentIndex(3 if resident_id else 0)
        self.show_filter.currentIndexChanged.connect(lambda _i: self.reload())
        self.issue_button = QPushButton(tr("Issue…"))
        self.reissue_button = QPushButton(tr("Reissue…"))
        self.revoke_button = QPushButton(tr("Revoke…"))
        self.print_button = QPushButton(tr("Print cards…"))
        self.issue_button.clicked.connect(self.open_issue)
        self.reissue_button.clicked.connect(self.open_reissue)
        self.revoke_button.clicked.connect(self.open_revoke)
        self.print_button.clicked.connect(self.open_print)

        self.model = QueryModel(
            self._columns(),
            self._fetch,
            worker=ctx.reader,
            default_order=PASS_DEFAULT_ORDER,
            muted=lambda r: r["state"] != "active",
        )
        self.table = SearchTable(
            self.model, placeholder=tr("Serial, holder's name or household (3-2-501)")
        )
        self.table.selectionChanged.connect(self._enable)
        fit_columns(self.table)
        self.message = MessageLine()

        top = QHBoxLayout()
        top.addWidget(QLabel(tr("Show")))
        top.addWidget(self.show_filter)
        top.addStretch(1)
        for button in (
            self.issue_button,
            self.reissue_button,
            self.revoke_button,
            self.print_button,
        ):
            top.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        ctx.signals.dataChanged.connect(self._data_changed)
        self._enable()

    # ------------------------------------------------------------ the table

    def _columns(self) -> list[Column]:
        return [
            Column(tr("Serial"), lambda r: r["serial"], PASS_SORT_SERIAL),
            Column(tr("Holder"), lambda r: r["holder"] or "", PASS_SORT_HOLDER),
            Column(
                tr("Household"),
                lambda r: household_label(r["building"], r["unit"], r["room"]),
                PASS_SORT_HOUSEHOLD,
            ),
            Column(tr("Kind"), _kind_text, PASS_SORT_KIND),
            Column(tr("Status"), lambda r: tr(_STATES[r["state"]]), PASS_SORT_STATUS),
            Column(tr("Valid from"), lambda r: local_time(r["valid_from"]), PASS_SORT_FROM),
            Column(tr("Valid until"), lambda r: local_time(r["valid_until"]), PASS_SORT_UNTIL),
            Column(tr("Why revoked"), lambda r: r["revoked_reason"] or ""),
        ]

    def _fetch(self, search: str, order: str, limit: int, offset: int) -> Query:
        now, show, resident_id = (
            self.ctx.now(),
            str(self.show_filter.currentData()),
            self.resident_id,
        )
        return lambda db: search_passes(
            db,
            now=now,
            search=search,
            show=show,
            resident_id=resident_id,
            order=order,
            limit=limit,
            offset=offset,
        )

    def reload(self) -> None:
        self.model.reload()  # the buttons follow through the table's selectionChanged

    def _data_changed(self, what: str) -> None:
        if what in ("passes", "residents", "visitors"):
            self.reload()

    def selected(self) -> Row | None:
        return self.table.selected()

    def select_serial(self, serial: str) -> bool:
        """Select the loaded row of this pass (tests, and after an action)."""
        for number in range(self.model.rowCount()):
            if self.model.row_at(number)["serial"] == serial:
                self.table.view.selectRow(number)
                return True
        return False

    def _enable(self) -> None:
        row = self.selected()
        can_sign = self.issuer.available
        tip = "" if can_sign else no_key_reason()
        self.issue_button.setEnabled(can_sign)
        self.issue_button.setToolTip(tip)
        self.reissue_button.setEnabled(
            can_sign and row is not None and row["resident_id"] is not None
        )
        self.reissue_button.setToolTip(
            tip or tr("Revoke the selected resident's pass and issue a new one.")
        )
        self.revoke_button.setEnabled(row is not None and row["status"] == "active")
        self.revoke_button.setToolTip(tr("The gate will refuse the pass, showing the reason."))

    # ------------------------------------------------------------ messages

    def say(self, text: str, *, error: bool = False) -> None:
        """``text`` under the table (red for an error)."""
        self.message.say(text, error=error)

    def _failed(self, message: str) -> None:
        self.say(message, error=True)

    # ------------------------------------------------------------ revoke

    def open_revoke(self) -> None:
        row = self.selected()
        if row is None or row["status"] != "active":
            return
        dialog = RevokeDialog(row, self)
        dialog.accepted.connect(lambda: self.revoke(row["serial"], dialog.reason.text()))
        self._open(dialog)

    def revoke(self, serial: str, reason: str) -> None:
        """Revoke a pass on the jobs thread (the reason is required)."""
        now, actor = self.ctx.now(), self.ctx.actor

        def job(db: Database) -> dict[str, Any]:
            return revoke_pass(db, serial, reason, now=now, actor=actor)

        def done(row: dict[str, Any]) -> None:
            self.ctx.changed("passes")  # first: even if this tab was closed meanwhile
            self.ctx.must_travel()  # the gates refuse it within seconds (a hub)
            self.say(
                tr(
                    "Pass {serial} revoked: {reason}",
                    serial=row["serial"],
                    reason=row["revoked_reason"],
                )
            )

        QueryOp(self.ctx.jobs, parent=None, op=job, success=done).failure(
            self._failed
        ).run_in_background()

    # ------------------------------------------------------------ issue, reissue

    def open_issue(self) -> None:
        if not self.issuer.available:
            self.say(no_key_reason(), error=True)
            return
        if self.resident_id is None:
            self._open_issue(None)
            return
        resident_id = self.resident_id  # the history dialog's: read their name first
        QueryOp(
            self.ctx.reader,
            parent=self,
            op=lambda db: get_resident(db, resident_id),
            success=lambda row: self._open_issue(
                (resident_id, row["name"] if row else resident_id)
            ),
        ).failure(self._failed).run_in_background()

    def _open_issue(self, fixed: tuple[str, str] | None) -> None:
        dialog = IssueDialog(self.ctx, self, resident=fixed)
        dialog.accepted.connect(lambda: self.issue(dialog.selection(), dialog.days.value()))
        self._open(dialog)

    def open_reissue(self) -> None:
        row = self.selected()
        if row is None or row["resident_id"] is None or not self.issuer.available:
            return
        who = f"{row['holder'] or ''} ({row['serial']})"
        dialog = IssueDialog(
            self.ctx,
            self,
            resident=(row["resident_id"], who),
            reissue=True,
            days=validity_days(row),
        )
        dialog.accepted.connect(
            lambda: self.issue(dialog.selection(), dialog.days.value(), reissue=True)
        )
        self._open(dialog)

    def issue(self, selection: dict[str, Any], days: int, *, reissue: bool = False) -> None:
        """Sign passes for ``selection`` (``resident_ids_for`` keywords) on the jobs
        thread, a long op (progress, Cancel: the batches issued before stay); the
        issuer key (and its passphrase) is asked for first."""
        try:
            key = self.issuer.load(self)
        except KioskError as exc:
            self.say(str(exc), error=True)
            return
        if key is None:
            self.say(tr("Nothing issued: the passphrase was not given."))
            return
        now, actor = self.ctx.now(), self.ctx.actor

        def job(db: Database, progress: Progress) -> tuple[int, int, list[str]]:
            ids = resident_ids_for(db, **selection)
            report = issue_passes(
                db, key, ids, days=days, now=now, reissue=reissue, actor=actor, progress=progress
            )
            return len(report.issued), report.skipped, [r["serial"] for r in report.issued]

        def done(result: tuple[int, int, list[str]]) -> None:
            issued, skipped, serials = result
            self.ctx.changed("passes")
            if not shiboken6.isValid(self):
                return
            self.last_issued = serials
            self.say(
                tr(
                    "{issued} pass(es) issued, {skipped} resident(s) already hold a good pass.",
                    issued=issued,
                    skipped=skipped,
                )
            )
            if serials:
                self.model.when_loaded(lambda: self.select_serial(serials[0]))

        def stopped() -> None:
            self.ctx.changed("passes")  # the batches issued before Cancel stay
            self.say(tr("Stopped."))

        self.long_op = LongOp(
            self.ctx.jobs,
            parent=self,
            label=tr("Reissue a pass") if reissue else tr("Issue passes"),
            op=job,
            success=done,
        )
        self.long_op.failure(self._failed).cancelled(stopped).run_in_background()

    # ------------------------------------------------------------ cards

    def open_print(self) -> None:
        dialog = PrintCardsDialog(self.ctx, self.selected(), self)

        def chosen() -> None:
            kind, value = dialog.scope()
            if dialog.action == "pdf":
                path = self.choose_pdf(self)
                if path is not None:
                    self.save_cards_pdf(kind, value, path, lang=dialog.lang())
            else:
                self.print_cards(kind, value, lang=dialog.lang())

        dialog.accepted.connect(chosen)
        self._open(dialog)

    def print_cards(self, kind: str, value: str = "", *, lang: str = "zh_CN") -> None:
        """Read the cards (jobs thread), ask for a printer (:attr:`choose_printer`),
        then draw them on it on the jobs thread (a long op: progress, Cancel)."""
        now = self.ctx.now()
        QueryOp(
            self.ctx.jobs,
            parent=self,
            op=lambda db: read_cards(db, kind, value, lang, now),
            success=lambda found: self._print_on_printer(*found, lang=lang),
        ).failure(self._failed).run_in_background()

    def _print_on_printer(self, cards: LazyCards, compound: str, *, lang: str) -> None:
        if not cards:
            self.say(tr("There are no active passes to print."), error=True)
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        if not self.choose_printer(printer, self):
            return

        count = len(cards)

        def job(_db: Database, progress: Progress) -> int:
            # QPainter on a QPrinter works off the GUI thread (no widget is painted).
            try:
                return print_cards(printer, cards, compound=compound, lang=lang, progress=progress)
            finally:
                cards.release()

        def done(pages: int) -> None:
            self.say(tr("Printed {count} card(s) on {pages} page(s).", count=count, pages=pages))

        self._run_cards(job, done)

    def save_cards_pdf(self, kind: str, value: str, path: Path, *, lang: str = "zh_CN") -> None:
        """Read the cards and draw them into ``path``, both on the jobs thread (a long
        op: progress, Cancel; a cancelled PDF is not left half-written)."""
        now = self.ctx.now()
        count: list[int] = []

        def job(db: Database, progress: Progress) -> int:
            cards, compound = read_cards(db, kind, value, lang, now)
            count.append(len(cards))
            try:
                return write_cards_pdf(cards, path, compound=compound, lang=lang, progress=progress)
            finally:
                cards.release()

        def done(pages: int) -> None:
            self.say(
                tr(
                    "Wrote {count} card(s) on {pages} page(s) to {path}.",
                    count=count[0],
                    pages=pages,
                    path=path,
                )
            )

        self._run_cards(job, done)

    def _run_cards(
        self, job: Callable[[Database, Progress], int], done: Callable[[int], None]
    ) -> None:
        self.long_op = LongOp(
            self.ctx.jobs, parent=self, label=tr("Print pass cards"), op=job, success=done
        )
        self.long_op.failure(self._failed).cancelled(
            lambda: self.say(tr("Stopped."))
        ).run_in_background()

    # ------------------------------------------------------------ helpers

    def _open(self, dialog: GloveDialog) -> None:
        """Open ``dialog`` window-modal without blocking (Esc or Cancel closes it)."""
        self.dialog = dialog
        dialog.finished.connect(lambda _code: dialog.deleteLater())
        dialog.open()
