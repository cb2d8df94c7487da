#!/bin/sh
# Reproduce mmrefine_agent/analysis/report_assets/katex/ from the npm registry: KaTeX's own,
# unmodified distribution files (MIT, see LICENSE there), which the HTML report inlines so it
# renders math offline. Usage: scripts/vendor_katex.sh [VERSION]
set -eu
VERSION="${1:-0.19.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/mmrefine_agent/analysis/report_assets/katex"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "katex@$VERSION" >/dev/null && tar xzf "katex-$VERSION.tgz")
rm -rf "$DEST"
mkdir -p "$DEST/fonts"
cp "$WORK/package/LICENSE" "$DEST/LICENSE"
cp "$WORK/package/dist/katex.min.js" "$WORK/package/dist/katex.min.css" "$DEST/"
cp "$WORK/package/dist/contrib/auto-render.min.js" "$DEST/"
cp "$WORK/package/dist/fonts/"*.woff2 "$DEST/fonts/"
echo "$VERSION" > "$DEST/VERSION"
echo "vendored KaTeX $VERSION into $DEST"
