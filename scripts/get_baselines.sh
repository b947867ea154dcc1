#!/bin/sh
# get_baselines.sh — fetch DeepOBS's published baseline results (DeepOBS 1.1's
# deepobs_get_baselines.sh did the same): SGD, Momentum and Adam on the DeepOBS
# test problems, every learning rate of the tuning sweep and the 10-seed reruns
# of the best one, as DeepOBS 1.1 JSON files (about 470 MB), on a machine with internet.
#
#   scripts/get_baselines.sh [-d=DIR|--dir=DIR] [--from=FILE]
#
# DIR (default baselines_deepobs) receives <problem>/<optimizer>/<setting>/*.json;
# then: luajit scripts/analyze.lua RESULTS --baselines DIR. --from=FILE unpacks a
# copy of the archive you already have instead of downloading it. No checksum is
# published for the archive, so it is checked by its contents (JSON result files
# in problem folders).
set -eu

DIR=baselines_deepobs
FROM=""
URL=https://github.com/fsschneider/DeepOBS_Baselines/archive/v1.0.tar.gz

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

for arg in "$@"; do
   case "$arg" in
      -d=*|--dir=*) DIR="${arg#*=}" ;;
      --from=*) FROM="${arg#*=}" ;;
      -h|--help) usage; exit 0 ;;
      *) echo "get_baselines.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
   esac
done

mkdir -p "$DIR"
archive="$DIR/DeepOBS_Baselines-v1.0.tar.gz"
if [ -n "$FROM" ]; then
   [ -f "$FROM" ] || { echo "get_baselines.sh: $FROM: no such file" >&2; exit 1; }
   archive="$FROM"
else
   echo "downloading $URL (about 470 MB) -> $archive"
   if command -v curl >/dev/null 2>&1; then curl -fL --retry 2 -o "$archive.part" "$URL"
   elif command -v wget >/dev/null 2>&1; then wget -O "$archive.part" "$URL"
   else echo "get_baselines.sh: needs curl or wget" >&2; exit 1; fi
   mv "$archive.part" "$archive"
fi

tmp="$DIR/.unpack"
rm -rf "$tmp" && mkdir -p "$tmp"
if ! tar -xzf "$archive" -C "$tmp"; then
   rm -rf "$tmp"
   echo "get_baselines.sh: $archive is not a readable .tar.gz; download it again" >&2
   exit 1
fi
# the problem folders sit under the archive's top folder (perhaps one level deeper)
top=$(find "$tmp" -type d -name quadratic_deep -o -type d -name fmnist_2c2d | head -n 1)
if [ -z "$top" ] || [ "$(find "$tmp" -name '*.json' | head -n 1)" = "" ]; then
   rm -rf "$tmp"
   echo "get_baselines.sh: $archive holds no DeepOBS result folders; is it the baselines archive?" >&2
   exit 1
fi
for d in "$(dirname "$top")"/*; do
   [ -d "$d" ] && rm -rf "$DIR/$(basename "$d")" && mv "$d" "$DIR/"
done
rm -rf "$tmp"
[ -n "$FROM" ] || rm -f "$archive"
n=$(find "$DIR" -name '*.json' | wc -l)
echo "$n result files in $DIR; analyze with: luajit scripts/analyze.lua RESULTS --baselines $DIR"
