# ImageNet (ILSVRC-2012) cannot be downloaded automatically: image-net.org
# hands the archives only to registered users. This lays the official
# archives out in the torchvision folder layout that datasets/imagenet.lua reads:
#
#   $DATA_DIR/imagenet/train/<wnid>/*.JPEG   from ILSVRC2012_img_train.tar (1000 inner <wnid>.tar)
#   $DATA_DIR/imagenet/val/<wnid>/*.JPEG     from ILSVRC2012_img_val.tar (50,000 files, flat)
#
# Put ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar in $DATA_DIR/imagenet/
# first. Their SHA-256 (from TensorFlow Datasets' url_checksums/imagenet2012.txt)
# are checked: train 147,897,477,120 bytes, val 6,744,924,160 bytes.
# The validation archive is flat, so its class of each image must come from a
# label list: $DATA_DIR/imagenet/ILSVRC2012_validation_labels.txt, one wnid per
# line for ILSVRC2012_val_00000001.JPEG, ..._00000002.JPEG, ... (TensorFlow
# Datasets ships this list as image_classification/imagenet2012_validation_labels.txt),
# or Kaggle's LOC_val_solution.csv (ImageId,PredictionString with the wnid first).
# Sourced by scripts/prepare_data.sh (which defines DATA_DIR).
IMAGENET_TRAIN_SHA=b08200a27a8e34218a0e58fde36b0fe8f73bc377f4acea2d91602057c3ca45bb
IMAGENET_VAL_SHA=c7e06a6c0baccf06d8dbeb6577d71efff84673a5dbdd50633ab44f8ea0456ae0

imagenet_check() { # file sha
   echo "  checking $(basename "$1") (SHA-256 of a large file: minutes) ..."
   got=$(sha256sum "$1" | cut -d' ' -f1)
   if [ "$got" != "$2" ]; then
      echo "prepare_data.sh: $1 has SHA-256 $got, the official archive has $2; download it again" >&2
      return 1
   fi
}

prepare_imagenet() {
   d="$DATA_DIR/imagenet"
   echo "ImageNet -> $d"
   mkdir -p "$d"
   have_train=0; have_val=0
   { [ -f "$d/ILSVRC2012_img_train.tar" ] || [ -d "$d/train" ]; } && have_train=1
   { [ -f "$d/ILSVRC2012_img_val.tar" ] || [ -d "$d/val" ]; } && have_val=1
   if [ $have_train = 0 ] || [ $have_val = 0 ]; then
      cat >&2 <<MSG
prepare_data.sh: ImageNet cannot be downloaded automatically. Register at
https://image-net.org, download ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar
(ILSVRC 2012), put them in $d/ together with ILSVRC2012_validation_labels.txt
(one wnid per validation image, in file order) or Kaggle's LOC_val_solution.csv,
and run this again.
MSG
      return 1
   fi
   if [ ! -d "$d/train" ] || [ "$(ls "$d/train" | wc -l)" -ne 1000 ]; then
      imagenet_check "$d/ILSVRC2012_img_train.tar" "$IMAGENET_TRAIN_SHA" || return 1
      echo "  extracting the training archive (1000 classes) ..."
      mkdir -p "$d/train.tmp"
      tar -xf "$d/ILSVRC2012_img_train.tar" -C "$d/train.tmp" || return 1
      for t in "$d"/train.tmp/*.tar; do
         w=$(basename "$t" .tar)
         mkdir -p "$d/train.tmp/$w"
         tar -xf "$t" -C "$d/train.tmp/$w" && rm -f "$t" || return 1
      done
      rm -rf "$d/train" && mv "$d/train.tmp" "$d/train"
   fi
   echo "  train: $(ls "$d/train" | wc -l) classes"
   if [ ! -d "$d/val" ] || [ "$(find "$d/val" -name '*.JPEG' | wc -l)" -ne 50000 ]; then
      labels=""
      if [ -f "$d/ILSVRC2012_validation_labels.txt" ]; then
         labels=$(mktemp)
         awk 'NF { printf "ILSVRC2012_val_%08d.JPEG %s\n", ++n, $1 }' "$d/ILSVRC2012_validation_labels.txt" > "$labels"
      elif [ -f "$d/LOC_val_solution.csv" ]; then
         labels=$(mktemp)
         awk -F, 'NR > 1 && NF >= 2 { split($2, p, " "); print $1 ".JPEG", p[1] }' "$d/LOC_val_solution.csv" > "$labels"
      else
         echo "prepare_data.sh: the validation images need their classes: put ILSVRC2012_validation_labels.txt" >&2
         echo "  (one wnid per line, in file order) or Kaggle's LOC_val_solution.csv in $d/" >&2
         return 1
      fi
      if [ "$(wc -l < "$labels")" -ne 50000 ]; then
         echo "prepare_data.sh: the validation label list has $(wc -l < "$labels") entries, expected 50,000" >&2
         rm -f "$labels"; return 1
      fi
      imagenet_check "$d/ILSVRC2012_img_val.tar" "$IMAGENET_VAL_SHA" || { rm -f "$labels"; return 1; }
      echo "  extracting the validation archive and sorting it into class folders ..."
      rm -rf "$d/val.tmp" && mkdir -p "$d/val.tmp"
      tar -xf "$d/ILSVRC2012_img_val.tar" -C "$d/val.tmp" || { rm -f "$labels"; return 1; }
      while read -r f w; do
         mkdir -p "$d/val.tmp/$w" && mv "$d/val.tmp/$f" "$d/val.tmp/$w/" || { rm -f "$labels"; return 1; }
      done < "$labels"
      rm -f "$labels"
      rm -rf "$d/val" && mv "$d/val.tmp" "$d/val"
   fi
   echo "  val: $(find "$d/val" -name '*.JPEG' | wc -l) images in $(ls "$d/val" | wc -l) classes"
}
