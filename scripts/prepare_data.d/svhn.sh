# SVHN (DeepOBS 1.1: train_32x32.mat and test_32x32.mat, converted to
# data_batch_0..4.bin + test_batch.bin, the .mat files deleted; the extra set
# is not used). scripts/svhn_convert.lua writes all 73,257 training images
# (1.1 wrote the first 64,000; the loader's deepobs_compat keeps those).
# Checked by the MD5s torchvision uses (no SHA-256 could be found).
prepare_svhn() {
   d="$DATA_DIR/svhn"
   echo "SVHN -> $d"
   mkdir -p "$d"
   if [ -f "$d/data_batch_4.bin" ] && [ -f "$d/test_batch.bin" ]; then echo "  already converted"; return 0; fi
   command -v luajit >/dev/null 2>&1 || { echo "prepare_data.sh: svhn needs luajit for the .mat conversion" >&2; return 1; }
   get "$d" train_32x32.mat e26dedcc434d2e4c54c9b2d4a06d8373 http://ufldl.stanford.edu/housenumbers/ || return 1
   get "$d" test_32x32.mat eb5a983be6a315427106f1b164d9cef3 http://ufldl.stanford.edu/housenumbers/ || return 1
   luajit "$HERE/svhn_convert.lua" "$d/train_32x32.mat" "$d/test_32x32.mat" "$d" || return 1
   rm -f "$d/train_32x32.mat" "$d/test_32x32.mat"
}
