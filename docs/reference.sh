#!/usr/bin/env bash
# The API reference of Functional.Core and Functional.Host, as HTML, by fsdocs (the dotnet tool fsdocs-tool, restored
# by `dotnet tool restore`): `bash docs/reference.sh [OUT]` after `dotnet build src/Host -c Release` (OUT defaults to
# docs/reference, which git ignores). Strict: a problem generating it (an assembly or type fsdocs cannot load) fails
# it; a <see cref> to nothing does not (fsdocs does not check them). CI builds it into a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-docs/reference}")
# fsdocs reads the projects' own docs/ as literate pages; the reference needs none of them.
pages=$(mktemp -d)
trap 'rm -rf "$pages"' EXIT
# Functional.Host's signatures name SkiaSharp types, which fsdocs must be able to load.
packages=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: *//')
skia=$(ls "$packages"/skiasharp/*/lib/net8.0/SkiaSharp.dll | tail -n 1)
dotnet build src/Library -c Release -v quiet -nologo >/dev/null
dotnet fsdocs build --input "$pages" --output "$out" --clean --strict \
    --projects src/Core/Core.fsproj src/Library/Library.csproj --properties Configuration=Release \
    --fscoptions " -r:$skia" >"$pages/fsdocs.log" 2>&1 || { tail -n 30 "$pages/fsdocs.log"; exit 1; }
echo "reference: $(ls "$out/reference" | wc -l) pages in $out/reference"
