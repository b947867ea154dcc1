# CIFAR-100 (DeepOBS 1.1: cifar-100-binary.tar.gz extracted with --strip 1
# into DIR/cifar-100, tarball deleted): train.bin, test.bin and the label-name
# files. The loader also reads the archive itself. Checked by the MD5 the
# CIFAR page publishes (no SHA-256 could be found).
prepare_cifar100() {
   d="$DATA_DIR/cifar-100"
   echo "CIFAR-100 -> $d"
   mkdir -p "$d"
   if [ -f "$d/train.bin" ] && [ -f "$d/test.bin" ]; then echo "  already extracted"; return 0; fi
   get "$d" cifar-100-binary.tar.gz 03b5dce01913d631647c71ecec9e9cb8 \
      https://www.cs.toronto.edu/~kriz/ http://www.cs.toronto.edu/~kriz/ || return 1
   tar xzf "$d/cifar-100-binary.tar.gz" -C "$d" --strip-components 1 || return 1
   rm -f "$d/cifar-100-binary.tar.gz"
}
