#!/usr/bin/env bash
# Installs what livefx needs, and only what is missing, so it is safe to run again:
# Debian packages (ffmpeg, fonts-dejavu-core, libpocketsphinx3, pocketsphinx-en-us, and for speaker
# adaptation sphinxbase-utils, sphinxtrain and pocketsphinx; with --test also
# chromium, flite, espeak-ng, redis-server, postgresql and Mesa's EGL/GLES software driver) through apt-get when root,
# then npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false
[[ "${1:-}" == "--test" ]] && want_test=true

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
# Text overlays draw with DejaVu Sans.
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
# Live subtitles: PocketSphinx is loaded through koffi (no native build) with the US English model.
compgen -G '/usr/lib/*/libpocketsphinx.so.3' >/dev/null || missing+=(libpocketsphinx3)
[[ -f /usr/share/pocketsphinx/model/en-us/en-us.lm.bin ]] || missing+=(pocketsphinx-en-us)
# `livefx transcribe` adapts the model to each speaker with SphinxTrain's tools (feature extraction,
# Baum-Welch counts, MLLR solve) and PocketSphinx's model-definition converter.
[[ -x /usr/bin/sphinx_fe ]] || missing+=(sphinxbase-utils)
[[ -x /usr/lib/sphinxtrain/bw && -x /usr/lib/sphinxtrain/mllr_solve ]] || missing+=(sphinxtrain)
[[ -x /usr/bin/pocketsphinx_mdef_convert ]] || missing+=(pocketsphinx)
# Studio voice-overs are spoken by ffmpeg's flite source (Debian's ffmpeg is built with libflite1).
# (Read whole first: with pipefail, grep -q closing the pipe early would fail ffmpeg and the check.)
if command -v ffmpeg >/dev/null 2>&1 && ! grep -q ' flite ' <<<"$(ffmpeg -hide_banner -filters 2>/dev/null)"; then
  echo "livefx setup: this ffmpeg has no flite source (--enable-libflite): studio voice-overs will fail; Debian's ffmpeg package has it" >&2
fi
if $want_test; then
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  # The ASR tests speak their sentences with flite's rms voice.
  command -v flite >/dev/null 2>&1 || missing+=(flite)
  # The speech benchmark also speaks its unseen sentence sets with espeak-ng.
  command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
  # The job queue tests start their own throwaway Redis (BullMQ).
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # The cluster tests start a throwaway PostgreSQL cluster (initdb + pg_ctl from /usr/lib/postgresql/<version>/bin).
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  # The WebGPU kernel tests run on Mesa's software rasteriser through Dawn's OpenGL ES backend (EGL, surfaceless).
  compgen -G '/usr/lib/*/libEGL_mesa.so.0' >/dev/null || missing+=(libegl-mesa0)
  compgen -G '/usr/lib/*/libEGL.so.1' >/dev/null || missing+=(libegl1)
  compgen -G '/usr/lib/*/libGLESv2.so.2' >/dev/null || missing+=(libgles2)
  compgen -G '/usr/lib/*/dri/swrast_dri.so' >/dev/null || missing+=(libgl1-mesa-dri)
fi

if ((${#missing[@]} > 0)); then
  # shellcheck disable=SC2207
  packages=($(printf '%s\n' "${missing[@]}" | sort -u))
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "livefx setup: installing Debian packages: ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  else
    echo "livefx setup: missing ${packages[*]}; install them (sudo apt-get install ${packages[*]}) and run again" >&2
    exit 1
  fi
fi

# npm ci only when node_modules is absent or older than the lock file.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "livefx setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
