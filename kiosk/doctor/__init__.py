"""``kiosk doctor``: what stands between this laptop and a working gate, checked and
explained in the guard's words (docs/doctor.md).

:mod:`.findings` holds what a check finds; :mod:`.checks` the checks that need no
screen (the database, keys, disk, clock, camera, decoder, backup, exchange). The
checks that need Qt (sound output, fonts for Chinese, the screen) are in
:mod:`kiosk.ui.doctor`, which also shows them all in the window's settings.
"""

from kiosk.doctor.findings import Finding, Status, exit_code

__all__ = ["Finding", "Status", "exit_code"]
