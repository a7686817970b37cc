"""The Qt application objects Gatepass makes, and Qt's own words in our language.

``ensure_gui_app()`` gives printing from the CLI its application; the window, the
office and the demo make theirs in kiosk/ui/app.py. Each one gets Qt's translations
(``qt_translations()``), so that Qt's own buttons and dialogs (Yes/No, Cancel, the file
dialog) speak the language of the rest of the program.
"""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from kiosk.core.i18n import language

log = logging.getLogger("kiosk.ui")

QT_CATALOGUES = ("qtbase",)  # Qt's own strings (buttons, message boxes, file dialogs)
_installed: list[QTranslator] = []


def qt_translations(app: QCoreApplication, lang: str | None = None) -> list[str]:
    """Install Qt's catalogues for ``lang`` (default: the current language) into ``app``,
    replacing those installed before; the names loaded (none for English)."""
    lang = lang or language()
    for old in _installed:
        app.removeTranslator(old)
    _installed.clear()
    if lang == "en":
        return []
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    loaded = []
    for name in QT_CATALOGUES:
        translator = QTranslator(app)
        if translator.load(QLocale(lang), name, "_", folder):
            app.installTranslator(translator)
            _installed.append(translator)
            loaded.append(name)
        else:
            log.info("Qt's %s translation for %s not found in %s", name, lang, folder)
    return loaded


def ensure_gui_app(*, offscreen: bool = True) -> QCoreApplication:
    """The running Qt application, or a new one (offscreen by default, for printing).

    A ``QApplication`` (not a bare ``QGuiApplication``) so that the window, the test
    harness or a print dialog can share it later in the same process.
    """
    app = QApplication.instance()
    if app is not None:
        return app
    argv = [sys.argv[0] if sys.argv else "kiosk"]
    if offscreen:
        argv += ["-platform", "offscreen"]
    app = QApplication(argv)
    qt_translations(app)
    return app
