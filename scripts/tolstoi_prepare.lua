#!/usr/bin/env luajit
-- tolstoi_prepare.lua DIR: DeepOBS's _tolstoi_preprocess.py on DIR/input.txt
-- -> DIR/train.npy, DIR/test.npy (int64 ids), DIR/vocab.txt (see datasets/tolstoi.lua).
-- Run from the repository root (scripts/prepare_data.sh tolstoi does).
local root = arg[0]:match("^(.*)/scripts/[^/]*$") or "."
package.path = root .. "/?.lua;" .. root .. "/?/init.lua;" .. root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
local dir = arg[1]
if not dir or dir == "-h" or dir == "--help" then
   io.stderr:write("usage: luajit scripts/tolstoi_prepare.lua DIR   (DIR holds input.txt)\n")
   os.exit(dir and 0 or 2)
end
local ok, res = pcall(require("datasets.tolstoi").prepare, dir)
if not ok then
   io.stderr:write("tolstoi_prepare.lua: ", tostring(res), "\n")
   os.exit(1)
end
print(("  %d characters, vocabulary %d; train.npy %d ids, test.npy %d ids, vocab.txt"):format(res.chars, #res.vocab,
   res.train, res.test))
