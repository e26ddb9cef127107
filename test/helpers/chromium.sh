#!/bin/sh
# Debian's Chromium, started by playwright-core (test/helpers/chromium.ts). Chromium reads only the
# last --disable-features it is given, and playwright-core passes its own list first: this joins
# every --disable-features into one, so the tests' additions keep playwright's, and then becomes
# Chromium itself (exec: same process, which playwright supervises and stops).
count=$#
features=
while [ "$count" -gt 0 ]; do
  arg=$1
  shift
  count=$((count - 1))
  case $arg in
    --disable-features=*) features=${features:+$features,}${arg#--disable-features=} ;;
    *) set -- "$@" "$arg" ;;
  esac
done
exec /usr/bin/chromium ${features:+"--disable-features=$features"} "$@"
