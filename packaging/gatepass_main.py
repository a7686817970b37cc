"""The built program ``gatepass``: the ``kiosk`` command (packaging/gatepass.spec)."""

from kiosk.cli import main

if __name__ == "__main__":
    main()
