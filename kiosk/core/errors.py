"""Errors sorted by whose fault they are.

* ``UserError``: the person at the keyboard can fix it (a missing file, a bad
  argument, an unknown serial). The message is shown as it is, one line, no traceback.
* ``EnvironmentFault``: the machine is in the way (disk full, database locked, camera
  gone). The message says what to do.
* Anything else is our bug: logged with its traceback, a short apology shown.
"""

from __future__ import annotations


class KioskError(Exception):
    """Base of the errors Gatepass expects and explains."""

    exit_code = 1


class UserError(KioskError):
    """Something the user asked for cannot be done as asked."""

    exit_code = 2


class EnvironmentFault(KioskError):
    """The machine (disk, database file, camera) is in the way."""

    exit_code = 3
