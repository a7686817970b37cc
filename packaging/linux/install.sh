#!/bin/sh
# Put Gatepass in this user's menu (and, with --autostart, start the gate at login).
#
#     ./install.sh [--autostart] [--remove]
#
# Nothing is copied: the menu entry points at this folder, wherever it was unpacked.
# Needs no administrator rights. The checkpoint's data stays in the user's data folder
# (~/.local/share/gatepass), untouched by installing, updating or removing the program.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
autostart="${XDG_CONFIG_HOME:-$HOME/.config}/autostart"
entry() { sed "s|@FOLDER@|$here|g" "$here/gatepass.desktop"; }

case "${1:-}" in
  --remove)
    rm -f "$apps/gatepass.desktop" "$autostart/gatepass.desktop"
    echo "Gatepass removed from the menu and from autostart (the data is kept)."
    exit 0
    ;;
esac
mkdir -p "$apps"
entry > "$apps/gatepass.desktop"
echo "Gatepass is in the menu: $apps/gatepass.desktop"
if [ "${1:-}" = "--autostart" ]; then
  mkdir -p "$autostart"
  entry > "$autostart/gatepass.desktop"
  echo "Gatepass starts at login: $autostart/gatepass.desktop"
fi
