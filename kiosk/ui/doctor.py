"""The checks of ``kiosk doctor`` that need Qt (sound output, fonts for Chinese, the
screen), and the health check shown from the window's settings.

:class:`DoctorDialog` runs the screenless checks (:mod:`kiosk.doctor.checks`) on the
window's reader thread, never on the UI thread; the camera is judged by the frames the
running gate receives, not by opening it a second time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QVBoxLayout, QWidget

from kiosk import version_text
from kiosk.core.i18n import tr
from kiosk.doctor import checks
from kiosk.doctor.findings import Finding, Status
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.ui.dialogs.common import STYLE, big_button
from kiosk.ui.ops import DbWorker, QueryOp

# The window is laid out for 1366x768 and larger; below this, parts are cut off.
SCREEN_MIN = (1280, 720)


def sound() -> Finding:
    """An audio output is there for the verdict tones."""
    title = tr("Sound")
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError as exc:
        return Finding(
            "sound",
            Status.WARN,
            title,
            tr("No sound library ({error}): the gate will be silent.", error=exc),
        )
    outputs = QMediaDevices.audioOutputs()
    if not outputs:
        return Finding(
            "sound",
            Status.WARN,
            title,
            tr("No sound output: the verdict tones will not be heard."),
            tr("Plug in speakers or turn the sound on; the colours still show each verdict."),
        )
    default = QMediaDevices.defaultAudioOutput()
    return Finding(
        "sound",
        Status.OK,
        title,
        tr("Plays through {device}.", device=default.description() or outputs[0].description()),
        figures={"outputs": len(outputs)},
    )


def fonts() -> Finding:
    """A font that writes Simplified Chinese."""
    title = tr("Fonts for Chinese")
    families = QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese)
    if not families:
        return Finding(
            "fonts",
            Status.FAIL,
            title,
            tr("No font here writes Chinese: names and messages show as boxes."),
            tr("Install a Chinese font (on Debian: fonts-wqy-microhei)."),
        )
    return Finding(
        "fonts",
        Status.OK,
        title,
        tr("{count} fonts write Chinese, e.g. {family}.", count=len(families), family=families[0]),
        figures={"families": len(families)},
    )


def screen() -> Finding:
    """The screen is big enough for the window."""
    title = tr("Screen")
    platform = QGuiApplication.platformName()
    shown = QGuiApplication.primaryScreen()
    if platform in ("offscreen", "minimal") or shown is None:
        return Finding(
            "screen", Status.SKIP, title, tr("No screen here (run in a terminal without one).")
        )
    size = shown.size()
    figures = {"width": size.width(), "height": size.height(), "platform": platform}
    words = tr("{width}x{height} pixels.", width=size.width(), height=size.height())
    if size.width() < SCREEN_MIN[0] or size.height() < SCREEN_MIN[1]:
        return Finding(
            "screen",
            Status.WARN,
            title,
            words,
            tr(
                "The window needs at least {width}x{height}: set a higher resolution.",
                width=SCREEN_MIN[0],
                height=SCREEN_MIN[1],
            ),
            figures,
        )
    return Finding("screen", Status.OK, title, words, figures=figures)


def qt_checks() -> list[Finding]:
    return [sound(), fonts(), screen()]


def running_camera(latest: Callable[[], Any], seconds: float = 1.0) -> Callable[[], Finding]:
    """A camera check for a window whose camera runs: the frames it received in
    ``seconds`` (``latest()``: the newest frame, with an ``index``, or None)."""

    def check() -> Finding:
        title = tr("Camera")
        first = latest()
        time.sleep(seconds)
        last = latest()
        if last is None or (first is not None and last.index == first.index):
            return Finding(
                "camera",
                Status.FAIL,
                title,
                tr("The gate's camera delivers no pictures."),
                tr("Unplug the camera and plug it in again, or restart the laptop."),
            )
        frames = last.index - (first.index if first is not None else last.index)
        fps = round(frames / seconds, 1)
        return Finding(
            "camera",
            Status.OK,
            title,
            tr("The gate's camera: {fps} pictures a second.", fps=fps),
            figures={"fps": fps},
        )

    return check


def finding_text(finding: Finding) -> str:
    """One finding as the terminal and the dialog show it."""
    text = tr(
        "[{status}] {title}: {message}",
        status=finding.status.word(),
        title=finding.title,
        message=finding.message,
    )
    return f"{text}\n    {finding.advice}" if finding.advice else text


_ROLE = {Status.OK: "pass", Status.WARN: "check", Status.FAIL: "deny", Status.SKIP: ""}


class DoctorDialog(QDialog):
    """The health check: each finding as a line, coloured by the theme."""

    def __init__(
        self,
        reader: DbWorker,
        home: Home,
        settings: Settings,
        latest_frame: Callable[[], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setStyleSheet(STYLE)
        self.setWindowTitle(tr("Health check"))
        self.findings: list[Finding] | None = None
        layout = QVBoxLayout(self)
        self.version = QLabel(tr("Gatepass {version}", version=version_text()))
        self.version.setObjectName("about")  # what a support call asks for first
        layout.addWidget(self.version)
        self.status = QLabel(tr("Checking…"))
        layout.addWidget(self.status)
        self.body = QWidget()
        self.lines = QVBoxLayout(self.body)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.body)
        layout.addWidget(scroll, 1)
        self.close_button = big_button(tr("Close"))
        self.close_button.clicked.connect(self.accept)
        self.close_button.setDefault(True)
        layout.addWidget(self.close_button)
        self.close_button.setFocus()
        self.resize(900, 640)
        now = datetime.now(UTC)
        camera = running_camera(latest_frame)
        QueryOp(
            reader,
            parent=self,
            op=lambda _db: checks.run(home, settings, now, camera_check=camera),
            success=self.show_findings,
        ).failure(self.status.setText).run_in_background()

    def show_findings(self, found: list[Finding]) -> None:
        self.findings = [*found, *qt_checks()]
        worst = max(
            (f.status for f in self.findings),
            key=[Status.SKIP, Status.OK, Status.WARN, Status.FAIL].index,
        )
        self.status.setText(
            {
                Status.FAIL: tr("Something stands between this laptop and a working gate:"),
                Status.WARN: tr("The gate works; some things need care soon:"),
            }.get(worst, tr("Everything the gate needs is in order."))
        )
        for finding in self.findings:
            label = QLabel(finding_text(finding))
            label.setWordWrap(True)
            label.setProperty("role", _ROLE[finding.status])
            label.setObjectName(f"doctor_{finding.check}")
            self.lines.addWidget(label)
        self.lines.addStretch(1)
