# CIFAR-10 (DeepOBS 1.1: cifar-10-binary.tar.gz extracted with --strip 1 into
# DIR/cifar-10, tarball deleted): data_batch_1..5.bin, test_batch.bin,
# batches.meta.txt, readme.html. The loader also reads the archive itself, so
# a copy of cifar-10-binary.tar.gz placed in DIR/cifar-10 works as it is.
# Checksums: 170,052,171 bytes, MD5 c32a1d4ab5d03f1284b67883e8d87530 (the
# CIFAR page), SHA-256 below.
prepare_cifar10() {
   d="$DATA_DIR/cifar-10"
   echo "CIFAR-10 -> $d"
   mkdir -p "$d"
   if [ -f "$d/data_batch_1.bin" ] && [ -f "$d/data_batch_5.bin" ] && [ -f "$d/test_batch.bin" ]; then
      echo "  already extracted"; return 0
   fi
   get "$d" cifar-10-binary.tar.gz c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd \
      https://www.cs.toronto.edu/~kriz/ http://www.cs.toronto.edu/~kriz/ || return 1
   tar xzf "$d/cifar-10-binary.tar.gz" -C "$d" --strip-components 1 || return 1
   rm -f "$d/cifar-10-binary.tar.gz"
}
