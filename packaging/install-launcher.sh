#!/usr/bin/env bash
# Add modlens to the desktop's application menu for this user: a launcher that runs the bundle
# (dist/modlens/modlens from `make bundle`) or, without one, the project's .venv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -x "$root/dist/modlens/modlens" ]; then
    exec_path="$root/dist/modlens/modlens"
elif [ -x "$root/.venv/bin/modlens" ]; then
    exec_path="$root/.venv/bin/modlens"
else
    echo "run 'make bundle' or 'make run' first" >&2
    exit 1
fi
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
mkdir -p "$apps"
sed "s|^Exec=.*|Exec=$exec_path|" "$root/packaging/modlens.desktop" > "$apps/modlens.desktop"
echo "launcher written to $apps/modlens.desktop (runs $exec_path)"
