#!/usr/bin/env bash
# Debian packages the voice pipeline and its tests need: PortAudio for sounddevice, a PulseAudio
# daemon for the virtual microphone, espeak-ng and sox to make test speech, Qt's libraries, and
# Xvfb with the xcb libraries for the test that opens a real X window.
# Installs only what is missing, and only where we may (root, apt-get present).
set -euo pipefail
packages=(libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins espeak-ng sox
          libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3
          xvfb xauth imagemagick libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
          libxcb-render-util0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 libxcb-randr0
          libxcb-xinerama0 fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "modlens: please install these Debian packages: ${missing[*]}" >&2
    exit 0
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
