# Tolstoi (War and Peace), as DeepOBS 1.1's deepobs_prepare_data.sh makes it
# (deepobs/scripts/deepobs_prepare_data.sh in the DeepOBS repository):
# download war-and-peace.txt as input.txt, delete lines 1-29,
# then 5-775, then 63850-64207 (each on the already edited file), then
# scripts/tolstoi_prepare.lua builds train.npy, test.npy and vocab.txt.
# No SHA-256 of war-and-peace.txt is published, so the download is not
# checksummed; instead the preprocessing checks that the edited text has
# DeepOBS's 83 distinct characters.
prepare_tolstoi() {
   dir="$DATA_DIR/tolstoi"
   echo "Tolstoi -> $dir"
   mkdir -p "$dir"
   if [ -f "$dir/train.npy" ] && [ -f "$dir/test.npy" ]; then
      echo "  train.npy, test.npy: present (delete them to rebuild)"; return 0
   fi
   url=https://github.com/AllenDowney/fluent-python-notebooks/raw/master/attic/sequences/war-and-peace.txt
   echo "  note: no published SHA-256 for war-and-peace.txt; checking the vocabulary size instead"
   if ! fetch "$url" "$dir/input.txt.part"; then
      rm -f "$dir/input.txt.part"; echo "prepare_data.sh: could not download $url" >&2; return 1
   fi
   sed -e 1,29d "$dir/input.txt.part" | sed -e 5,775d | sed -e 63850,64207d > "$dir/input.txt"
   rm -f "$dir/input.txt.part"
   luajit "$HERE/tolstoi_prepare.lua" "$dir"
}
