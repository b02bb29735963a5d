#!/usr/bin/env bash
# Installs presenceagg into a staging prefix and builds every example against the installed
# headers, library and pkg-config file alone (no access to the source tree's lib/), then runs the
# ones that need no service.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
prefix=/opt/presenceagg
[ -f build-install/build.ninja ] || meson setup build-install --prefix="$prefix" -Dtests=disabled >/dev/null
meson compile -C build-install >/dev/null
DESTDIR="$stage" meson install -C build-install --quiet
pcdir=$(dirname "$(find "$stage" -name presenceagg.pc | head -n 1)")
export PKG_CONFIG_PATH="$pcdir"
# The staging root stands in front of every path the .pc names.
export PKG_CONFIG_SYSROOT_DIR="$stage"
flags=$(pkg-config --cflags --libs presenceagg)
libdir=$(pkg-config --libs-only-L presenceagg | sed -E "s/^-L([^ ]+).*/\1/")
echo "pkg-config presenceagg: $flags"
test -x "$stage$prefix/bin/presence-agg"
"$stage$prefix/bin/presence-agg" version >/dev/null 2>&1 || LD_LIBRARY_PATH="$libdir" "$stage$prefix/bin/presence-agg" version
for src in examples/*.cpp; do
  name=$(basename "$src" .cpp)
  # shellcheck disable=SC2086
  g++ -std=c++20 -Wall -Wextra -Werror "$src" -o "$stage/$name" $flags
  echo "built $name against the installed library"
done
if [ -x "$stage/custom_sink" ]; then
  LD_LIBRARY_PATH="$libdir" "$stage/custom_sink" --self-test
fi
echo "install check ok"
