# get_md5 DIR FILE MD5 MIRROR... — like prepare_data.sh's `get`, for files
# whose publishers give only an MD5 (CIFAR-100 on the CIFAR page, SVHN as
# torchvision checks it): no SHA-256 of them could be found to put here.
# Sourced by scripts/prepare_data.d/*.sh; uses prepare_data.sh's `fetch`.
get_md5() { # dir file md5 mirror...
   command -v md5sum >/dev/null 2>&1 || { echo "prepare_data.sh: needs md5sum (coreutils)" >&2; return 1; }
   gdir=$1; gfile=$2; gsum=$3; shift 3
   if [ -f "$gdir/$gfile" ] && [ "$(md5sum "$gdir/$gfile" | cut -d' ' -f1)" = "$gsum" ]; then
      echo "  $gfile: present, MD5 ok"; return 0
   fi
   for gbase in "$@"; do
      if fetch "$gbase$gfile" "$gdir/$gfile.part" 2>/dev/null; then
         ggot=$(md5sum "$gdir/$gfile.part" | cut -d' ' -f1)
         if [ "$ggot" = "$gsum" ]; then
            mv "$gdir/$gfile.part" "$gdir/$gfile"; echo "  $gfile: downloaded from $gbase, MD5 ok"; return 0
         fi
         echo "  $gfile from $gbase: wrong MD5 $ggot (expected $gsum), trying the next mirror" >&2
      fi
      rm -f "$gdir/$gfile.part"
   done
   echo "prepare_data.sh: could not download $gfile (tried: $*)" >&2
   return 1
}
