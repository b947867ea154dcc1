# Food-101 (the PyTorch fork's food101_* problems): the ETH Zürich tarball,
# 4,996,278,331 bytes, SHA-256 from TensorFlow Datasets' url_checksums/food101.txt.
# Sourced by scripts/prepare_data.sh (which defines DATA_DIR and `get`).
# Result: $DATA_DIR/food-101/images/<class>/<id>.jpg and $DATA_DIR/food-101/meta/
# {classes,train,test}.txt, the layout datasets/food101.lua reads. The tarball
# stays in $DATA_DIR (delete it by hand to save 5 GB; a rerun then downloads it again).
prepare_food101() {
   echo "Food-101 -> $DATA_DIR/food-101"
   if [ -f "$DATA_DIR/food-101/meta/train.txt" ] && [ -f "$DATA_DIR/food-101/meta/test.txt" ] \
      && [ -d "$DATA_DIR/food-101/images/apple_pie" ]; then
      n=$(find "$DATA_DIR/food-101/images" -name '*.jpg' | wc -l)
      if [ "$n" -eq 101000 ]; then echo "  food-101: present, 101,000 images"; return 0; fi
      echo "  food-101: only $n of 101,000 images present, extracting again"
   fi
   mkdir -p "$DATA_DIR"
   get "$DATA_DIR" food-101.tar.gz d97d15e438b7f4498f96086a4f7e2fa42a32f2712e87d3295441b2b6314053a4 \
      http://data.vision.ee.ethz.ch/cvl/ https://data.vision.ee.ethz.ch/cvl/ || return 1
   echo "  extracting food-101.tar.gz (about 5 GB) ..."
   tar -xzf "$DATA_DIR/food-101.tar.gz" -C "$DATA_DIR" || { echo "prepare_data.sh: extracting food-101.tar.gz failed" >&2; return 1; }
   n=$(find "$DATA_DIR/food-101/images" -name '*.jpg' | wc -l)
   if [ "$n" -ne 101000 ]; then
      echo "prepare_data.sh: food-101 holds $n images after extraction, expected 101,000" >&2; return 1
   fi
   echo "  food-101: extracted, 101,000 images"
}
