--- Fashion-MNIST (DeepOBS 1.1, deepobs/tensorflow/datasets/fmnist.py): the MNIST format and
-- pipeline (see datasets/mnist.lua) over Zalando's clothing images.
--
--    local ds = require("datasets.fmnist").load { data_dir = nil, batch_size = 128, train_eval_size = 10000 }
--
-- Files: <data_dir>/fmnist, else $DEEPOBS_DATA_DIR/fmnist, else
-- ./data_deepobs/fmnist, else Debian's /usr/share/datasets/fashion-mnist
-- (package dataset-fashion-mnist).
-- validation = true: as MNIST (DeepOBS 1.2 deepobs/tensorflow/datasets/fmnist.py
-- holds out the first 10,000 training images the same way).
local mnist = require "datasets.mnist"

local M = {}

M.DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"

M.SPEC = {
   name = "fmnist", title = "Fashion-MNIST", train_size = 60000, test_size = 10000,
   extra_dirs = { M.DEBIAN_DIR },
   fetch_hint = "Install Debian's copy with: sudo apt-get install dataset-fashion-mnist\n"
      .. "or download them with: scripts/prepare_data.sh --only=fmnist  (or: scripts/prepare_data.sh fmnist)\n"
      .. "or pass --data_dir DIR (the folder holding fmnist/).",
}

--- opts as for datasets.mnist.load
function M.load(opts) return mnist.load_idx_dataset(M.SPEC, opts) end

return M
