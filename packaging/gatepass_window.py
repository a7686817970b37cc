"""The built program ``gatepass-window``: the window, with no console behind it on
Windows (packaging/gatepass.spec; ``gatepass-window`` of ``[project.gui-scripts]``)."""

from kiosk.cli import gui_main

if __name__ == "__main__":
    gui_main()
