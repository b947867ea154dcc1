#!/bin/sh
# prepare_data.sh — download the data sets of the DeepOBS problems this port
# runs (like DeepOBS 1.1's deepobs_prepare_data.sh), on a machine with internet.
#
#   scripts/prepare_data.sh [-d=DIR|--data_dir=DIR] [-o=NAME|--only=NAME] [-s=NAME|--skip=NAME] [NAME ...]
#
# NAME: mnist, fmnist (default: both), or any data set with a file
# scripts/prepare_data.d/NAME.sh. Files go to DIR/NAME (DIR default:
# data_deepobs, the runner's default data folder), each download checked
# against its published SHA-256.
# The synthetic data sets (quadratic, two_d) need no files.
# Fashion-MNIST is also packaged by Debian: sudo apt-get install dataset-fashion-mnist
# (the runner finds /usr/share/datasets/fashion-mnist by itself).
set -eu

DATA_DIR=data_deepobs
ONLY=""
SKIP=""
NAMES=""

usage() {
   sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
}

for arg in "$@"; do
   case "$arg" in
      -d=*|--data_dir=*) DATA_DIR="${arg#*=}" ;;
      -o=*|--only=*) ONLY="$ONLY ${arg#*=}" ;;
      -s=*|--skip=*) SKIP="$SKIP ${arg#*=}" ;;
      -h|--help) usage; exit 0 ;;
      -*) echo "prepare_data.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
      *) NAMES="$NAMES $arg" ;;
   esac
done

SELECTED="${ONLY}${NAMES}"
[ -n "$(echo "$SELECTED" | tr -d ' ')" ] || SELECTED="mnist fmnist"
# A data set beyond MNIST/Fashion-MNIST is a file prepare_data.d/NAME.sh that
# defines prepare_NAME (run with DATA_DIR set, after the helpers below).
HERE=$(dirname "$0")
KNOWN="mnist fmnist"
for f in "$HERE"/prepare_data.d/*.sh; do
   [ -f "$f" ] && KNOWN="$KNOWN $(basename "$f" .sh)"
done
for n in $SELECTED $SKIP; do
   case " $KNOWN " in
      *" $n "*) ;;
      *) echo "prepare_data.sh: unknown data set '$n' (known: $KNOWN)" >&2; exit 2 ;;
   esac
done

if command -v curl >/dev/null 2>&1; then
   fetch() { curl -fsSL --retry 2 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
   fetch() { wget -q -O "$2" "$1"; }
else
   echo "prepare_data.sh: needs curl or wget" >&2; exit 1
fi
command -v sha256sum >/dev/null 2>&1 || { echo "prepare_data.sh: needs sha256sum (coreutils)" >&2; exit 1; }
command -v md5sum >/dev/null 2>&1 || { echo "prepare_data.sh: needs md5sum (coreutils)" >&2; exit 1; }

# download FILE into DIR from the first mirror that gives the right checksum: a
# SHA-256, or an MD5 (32 hex digits) where the publisher gives only that
get() { # dir file sha256-or-md5 mirror...
   dir=$1; file=$2; sum=$3; shift 3
   if [ ${#sum} -eq 32 ]; then hash=md5sum; kind=MD5; else hash=sha256sum; kind=SHA-256; fi
   if [ -f "$dir/$file" ] && [ "$($hash "$dir/$file" | cut -d' ' -f1)" = "$sum" ]; then
      echo "  $file: present, checksum ok"; return 0
   fi
   for base in "$@"; do
      if fetch "$base$file" "$dir/$file.part" 2>/dev/null; then
         got=$($hash "$dir/$file.part" | cut -d' ' -f1)
         if [ "$got" = "$sum" ]; then
            mv "$dir/$file.part" "$dir/$file"; echo "  $file: downloaded from $base, checksum ok"; return 0
         fi
         echo "  $file from $base: wrong $kind $got (expected $sum), trying the next mirror" >&2
      fi
      rm -f "$dir/$file.part"
   done
   echo "prepare_data.sh: could not download $file (tried: $*)" >&2
   return 1
}

skipped() { for s in $SKIP; do [ "$s" = "$1" ] && return 0; done; return 1; }
selected() { for s in $SELECTED; do [ "$s" = "$1" ] && return 0; done; return 1; }

status=0
if selected mnist && ! skipped mnist; then
   echo "MNIST -> $DATA_DIR/mnist"
   mkdir -p "$DATA_DIR/mnist"
   set -- http://yann.lecun.com/exdb/mnist/ https://ossci-datasets.s3.amazonaws.com/mnist/ \
      https://storage.googleapis.com/cvdf-datasets/mnist/
   get "$DATA_DIR/mnist" train-images-idx3-ubyte.gz 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609 "$@" || status=1
   get "$DATA_DIR/mnist" train-labels-idx1-ubyte.gz 3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c "$@" || status=1
   get "$DATA_DIR/mnist" t10k-images-idx3-ubyte.gz 8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6 "$@" || status=1
   get "$DATA_DIR/mnist" t10k-labels-idx1-ubyte.gz f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6 "$@" || status=1
fi
if selected fmnist && ! skipped fmnist; then
   echo "Fashion-MNIST -> $DATA_DIR/fmnist"
   mkdir -p "$DATA_DIR/fmnist"
   set -- http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ \
      https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/
   get "$DATA_DIR/fmnist" train-images-idx3-ubyte.gz 3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84 "$@" || status=1
   get "$DATA_DIR/fmnist" train-labels-idx1-ubyte.gz a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845 "$@" || status=1
   get "$DATA_DIR/fmnist" t10k-images-idx3-ubyte.gz 346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073 "$@" || status=1
   get "$DATA_DIR/fmnist" t10k-labels-idx1-ubyte.gz 67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5 "$@" || status=1
fi
for n in $SELECTED; do
   case "$n" in mnist|fmnist) continue ;; esac
   skipped "$n" && continue
   . "$HERE/prepare_data.d/$n.sh"
   "prepare_$n" || status=1
done
exit $status
