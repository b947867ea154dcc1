-- Images: JPEG decode / encode (libjpeg), crops, smaller-side resize and
-- per-image standardisation against naive Lua references, the Food-101 and
-- ImageNet folder datasets on small trees this spec writes (good and broken),
-- and the food101_vit_micro problem.
local ffi = require "ffi"
local dob = require "deepobs"
local nn = dob.nn
local imf = require "datasets.pipeline.image_folder"
local food101 = require "datasets.food101"
local imagenet = require "datasets.imagenet"
local problems = require "problems.init"
local resume = require "fixtures.resume"

local TMP = "spec/tmp_images"

local fs = require "helpers.fs"
local rmrf, mkdir, write, read = fs.rmrf, fs.mkdir, fs.write, fs.read

-- a smooth uint8 [C,H,W] test image (JPEG keeps smooth images nearly exact)
local function smooth(c, h, w, phase)
   local img = dob.empty({ c, h, w }, "uint8")
   local p = ffi.cast("uint8_t*", img:data())
   phase = phase or 0
   for k = 0, c - 1 do
      for i = 0, h - 1 do
         for j = 0, w - 1 do
            local v = 128 + 90 * math.sin((i + 2 * phase) / h * 2.1 + k) * math.cos((j + phase) / w * 1.7 - k)
            p[(k * h + i) * w + j] = math.floor(v + 0.5)
         end
      end
   end
   return img
end

local function max_abs_diff(a, b) return (a:float() - b:float()):abs():max():item() end

local function errmsg(fn, ...)
   local ok, err = pcall(fn, ...)
   assert.is_false(ok)
   return tostring(err)
end

-- naive TF1 bilinear (align_corners false, no half-pixel): src = dst * in / out
local function ref_resize(x, oh, ow)
   local C, H, W = x:size(1), x:size(2), x:size(3)
   local t = x:totable()
   local out = {}
   local f = ffi.new("float[2]")
   for c = 1, C do
      out[c] = {}
      for i = 0, oh - 1 do
         f[0] = H / oh
         f[1] = i * f[0]
         local sy = f[1]
         local y0 = math.floor(sy)
         local y1, ly = math.min(y0 + 1, H - 1), sy - y0
         out[c][i + 1] = {}
         for j = 0, ow - 1 do
            f[0] = W / ow
            f[1] = j * f[0]
            local sx = f[1]
            local x0 = math.floor(sx)
            local x1, lx = math.min(x0 + 1, W - 1), sx - x0
            local row0, row1 = t[c][y0 + 1], t[c][y1 + 1]
            local top = row0[x0 + 1] + (row0[x1 + 1] - row0[x0 + 1]) * lx
            local bot = row1[x0 + 1] + (row1[x1 + 1] - row1[x0 + 1]) * lx
            out[c][i + 1][j + 1] = top + (bot - top) * ly
         end
      end
   end
   return dob.tensor(out)
end

-- naive crop with zero padding and flip of x [C,H,W]
local function ref_crop(x, top, left, h, w, flip)
   local C, H, W = x:size(1), x:size(2), x:size(3)
   local t = x:totable()
   local out = {}
   for c = 1, C do
      out[c] = {}
      for i = 0, h - 1 do
         out[c][i + 1] = {}
         for j = 0, w - 1 do
            local sy, sx = top + i, left + (flip and (w - 1 - j) or j)
            local v = 0
            if sy >= 0 and sy < H and sx >= 0 and sx < W then v = t[c][sy + 1][sx + 1] end
            out[c][i + 1][j + 1] = v
         end
      end
   end
   return dob.tensor(out)
end

describe("JPEG decode and encode", function()
   setup(function() rmrf(TMP); mkdir(TMP) end)
   teardown(function() rmrf(TMP) end)

   it("round-trips a smooth RGB image at quality 100 within JPEG tolerance", function()
      local img = smooth(3, 37, 53)
      local bytes = dob.encode_jpeg(img, 100)
      assert.are.equal("\255\216", bytes:sub(1, 2))
      local d = dob.decode_jpeg(bytes, "mem")
      assert.are.same({ 3, 37, 53 }, d:size())
      assert.are.equal("uint8", d:dtype())
      assert.is_true(max_abs_diff(d, img) <= 3, "max diff " .. max_abs_diff(d, img))
      -- lower quality loses more: the decoder really reads the coefficients
      local d20 = dob.decode_jpeg(dob.encode_jpeg(img, 20))
      assert.is_true(max_abs_diff(d20, img) > max_abs_diff(d, img))
   end)

   it("decodes known pixel values: flat colours and a grayscale file as three equal channels", function()
      local img = dob.empty({ 3, 16, 24 }, "uint8")
      img:select(1, 1):fill_(200); img:select(1, 2):fill_(100); img:select(1, 3):fill_(30)
      local d = dob.decode_jpeg(dob.encode_jpeg(img, 100))
      for c, v in ipairs { 200, 100, 30 } do
         local ch = d:select(1, c):float()
         assert.is_true(math.abs(ch:min():item() - v) <= 1 and math.abs(ch:max():item() - v) <= 1, "channel " .. c)
      end
      local g = smooth(1, 20, 30)
      local dg = dob.decode_jpeg(dob.encode_jpeg(g, 100))
      assert.are.same({ 3, 20, 30 }, dg:size())
      for c = 1, 3 do assert.is_true(max_abs_diff(dg:select(1, c), g:select(1, 1)) <= 2) end
      assert.are.equal(0, max_abs_diff(dg:select(1, 1), dg:select(1, 3)))
   end)

   it("converts CMYK files (Adobe marker: inverted CMYK) to RGB as R = C K / 255", function()
      local cmyk = smooth(4, 12, 14, 3)
      local d = dob.decode_jpeg(dob.encode_jpeg(cmyk, 100))
      assert.are.same({ 3, 12, 14 }, d:size())
      local k = cmyk:select(1, 4):float()
      for c = 1, 3 do
         local want = cmyk:select(1, c):float() * k / 255
         assert.is_true((d:select(1, c):float() - want):abs():max():item() <= 4)
      end
   end)

   it("reads the same pixels from a file, a string and a uint8 tensor", function()
      local img = smooth(3, 9, 11, 2)
      local path = TMP .. "/a.jpg"
      dob.write_jpeg(path, img, 95)
      local s = read(path)
      local from_file = dob.read_jpeg(path)
      local from_str = dob.decode_jpeg(s)
      local bt = dob.empty({ #s }, "uint8")
      ffi.copy(bt:data(), s, #s)
      local from_tensor = dob.decode_jpeg(bt)
      assert.are.equal(0, max_abs_diff(from_file, from_str))
      assert.are.equal(0, max_abs_diff(from_file, from_tensor))
   end)

   it("decodes a list of files in parallel, identical to one by one at 1 and 2 threads; the first bad file is named", function()
      local paths = {}
      for i = 1, 7 do
         paths[i] = ("%s/p%d.jpg"):format(TMP, i)
         dob.write_jpeg(paths[i], smooth(3, 20 + 3 * i, 31 - i, i), 90)
      end
      local old = dob.get_threads()
      for _, th in ipairs { 1, 2 } do
         dob.set_threads(th)
         local all = dob.read_jpegs(paths)
         assert.are.equal(7, #all)
         for i = 1, 7 do
            local one = dob.read_jpeg(paths[i])
            assert.are.same(one:size(), all[i]:size())
            assert.are.equal(0, max_abs_diff(one, all[i]))
         end
      end
      dob.set_threads(old)
      assert.are.same({}, dob.read_jpegs {})
      write(TMP .. "/p5.jpg", read(paths[5]):sub(1, 100))
      local bad = { paths[1], TMP .. "/missing.jpg", paths[5] }
      local e = errmsg(dob.read_jpegs, bad)
      assert.truthy(e:find("missing.jpg", 1, true) and e:find("cannot open", 1, true), e)
      e = errmsg(dob.read_jpegs, { paths[1], paths[5], paths[2] })
      assert.truthy(e:find("p5.jpg", 1, true) and e:find("truncated", 1, true), e)
      assert.truthy(errmsg(dob.read_jpegs, { paths[1], 3 }):find("path 2", 1, true))
   end)

   it("names the file and the problem for missing, empty, truncated and non-JPEG files", function()
      local e = errmsg(dob.read_jpeg, TMP .. "/nope.jpg")
      assert.truthy(e:find(TMP .. "/nope.jpg", 1, true) and e:find("cannot open", 1, true))
      write(TMP .. "/empty.jpg", "")
      e = errmsg(dob.read_jpeg, TMP .. "/empty.jpg")
      assert.truthy(e:find("empty.jpg", 1, true) and e:find("not a JPEG", 1, true))
      write(TMP .. "/png.jpg", "\137PNG\r\n\26\n....")
      e = errmsg(dob.read_jpeg, TMP .. "/png.jpg")
      assert.truthy(e:find("png.jpg", 1, true) and e:find("not a JPEG", 1, true))
      local s = dob.encode_jpeg(smooth(3, 64, 64), 90)
      for _, cut in ipairs { 3, 40, math.floor(#s / 2), #s - 10 } do
         write(TMP .. "/cut.jpg", s:sub(1, cut))
         e = errmsg(dob.read_jpeg, TMP .. "/cut.jpg")
         assert.truthy(e:find("cut.jpg", 1, true), e)
         assert.truthy(e:find("truncated", 1, true) or e:find("not a JPEG", 1, true), e)
      end
      -- a broken header: the frame marker's length field overwritten
      local sof = s:find("\255\192", 1, true)
      assert.truthy(sof)
      write(TMP .. "/bad.jpg", s:sub(1, sof + 1) .. "\0\1" .. s:sub(sof + 4))
      e = errmsg(dob.read_jpeg, TMP .. "/bad.jpg")
      assert.truthy(e:find("bad.jpg", 1, true) and e:find("corrupt", 1, true), e)
   end)

   it("rejects bad arguments with errors, never crashes", function()
      assert.truthy(errmsg(dob.encode_jpeg, dob.zeros(3, 4, 4), 90):find("uint8", 1, true))
      assert.truthy(errmsg(dob.encode_jpeg, dob.zeros({ 2, 4, 4 }, "uint8"), 90):find("[3,H,W], [1,H,W] or [4,H,W]", 1, true))
      assert.truthy(errmsg(dob.encode_jpeg, dob.zeros({ 3, 4, 4 }, "uint8"), 0):find("quality", 1, true))
      assert.truthy(errmsg(dob.encode_jpeg, dob.zeros({ 3, 4, 4 }, "uint8"), 101):find("quality", 1, true))
      assert.truthy(errmsg(dob.decode_jpeg, "ab"):find("not a JPEG", 1, true))
      assert.truthy(errmsg(dob.decode_jpeg, dob.zeros(4)):find("uint8", 1, true))
      assert.truthy(errmsg(dob.image_crop, dob.zeros({ 3, 4, 4 }, "uint8"), 0, 0, 2, 2):find("float32", 1, true))
      assert.truthy(errmsg(dob.image_crop, dob.zeros(4), 0, 0, 2, 2):find("[..,H,W]", 1, true))
      assert.truthy(errmsg(dob.image_crop, dob.zeros(3, 4, 4), 0, 0, 0, 2):find("window size", 1, true))
      assert.truthy(errmsg(dob.image_crop, dob.zeros(3, 4, 4), 0.5, 0, 2, 2):find("integer", 1, true))
      assert.truthy(errmsg(dob.read_jpeg, 5):find("string", 1, true))
   end)
end)

describe("image pipeline pieces", function()
   it("crop: windows inside, overhanging and outside the image, flipped or not, equal the naive crop", function()
      dob.manual_seed(5)
      local x = dob.rand(3, 7, 10)
      for _, c in ipairs { { 0, 0, 7, 10 }, { 2, 3, 4, 5 }, { -2, -3, 11, 16 }, { 5, 8, 4, 4 }, { -9, 0, 3, 3 },
         { 1, -1, 6, 12 } } do
         for _, flip in ipairs { false, true } do
            local got = dob.image_crop(x, c[1], c[2], c[3], c[4], flip)
            assert.are.same({ 3, c[3], c[4] }, got:size())
            assert.are.equal(0, max_abs_diff(got, ref_crop(x, c[1], c[2], c[3], c[4], flip)))
         end
      end
      -- batched [N,C,H,W] and a strided view
      local xb = dob.rand(2, 3, 6, 8)
      local got = dob.image_crop(xb:transpose(3, 4), -1, 1, 5, 5, true)
      for n = 1, 2 do
         assert.are.equal(0, max_abs_diff(got[n], ref_crop(xb[n]:transpose(2, 3):contiguous(), -1, 1, 5, 5, true)))
      end
   end)

   it("resize: smaller side to S (TF rint of the float32 scale, torchvision floor), TF1 bilinear values", function()
      assert.are.same({ 256, 341 }, { dob.smaller_side_size(375, 500, 256, "tf") })
      assert.are.same({ 384, 256 }, { dob.smaller_side_size(500, 333, 256, "tf") })   -- 384.38
      assert.are.same({ 109, 145 }, { dob.smaller_side_size(375, 500, 109, "torch") }) -- 145.33
      assert.are.same({ 146, 109 }, { dob.smaller_side_size(501, 374, 109, "torch") }) -- 146.0x
      assert.are.same({ 256, 256 }, { dob.smaller_side_size(80, 80, 256, "tf") })
      assert.are.equal(2, dob.rint(2.5)); assert.are.equal(4, dob.rint(3.5)); assert.are.equal(3, dob.rint(2.6))
      dob.manual_seed(6)
      local x = dob.rand(3, 9, 13)
      for _, case in ipairs { { 5, "tf" }, { 20, "tf" }, { 7, "torch" } } do
         local y = dob.resize_smaller_side(x, case[1], case[2])
         local oh, ow = dob.smaller_side_size(9, 13, case[1], case[2])
         assert.are.same({ 3, oh, ow }, y:size())
         assert.is_true(max_abs_diff(y, ref_resize(x, oh, ow)) < 1e-5)
      end
   end)

   it("centre offsets follow TF's crop_or_pad and torchvision's CenterCrop", function()
      local x = dob.zeros(3, 11, 20)
      assert.are.same({ 1, 3 }, { dob.center_offsets(x, 8, 13, "tf") })      -- 3 // 2, 7 // 2
      assert.are.same({ 2, 4 }, { dob.center_offsets(x, 8, 13, "torch") })   -- round(1.5), round(3.5)
      assert.are.same({ -2, 0 }, { dob.center_offsets(x, 16, 20, "tf") })     -- pad: -(5 // 2)
      assert.are.same({ -2, -2 }, { dob.center_offsets(x, 16, 25, "torch") }) -- -round(2.5) = -2
   end)

   it("per-image standardisation: TF's population std and the fork's unbiased std, with the 1/sqrt(n) floor", function()
      dob.manual_seed(7)
      local x = dob.rand(2, 3, 4, 5) * 3 + 1
      x[2]:fill_(0.25)   -- a constant image: std 0 -> floor, output zeros
      for _, unbiased in ipairs { false, true } do
         local y = dob.standardize_images(x, unbiased)
         local t = x[1]:contiguous()
         local p = ffi.cast("float*", t:data())
         local n, s = 60, 0
         for i = 0, n - 1 do s = s + p[i] end
         local mean, ss = s / n, 0
         for i = 0, n - 1 do ss = ss + (p[i] - mean) ^ 2 end
         local std = math.max(math.sqrt(ss / (unbiased and n - 1 or n)), 1 / math.sqrt(n))
         local yt = y[1]:contiguous()
         local py = ffi.cast("float*", yt:data())
         for i = 0, n - 1 do assert.is_true(math.abs(py[i] - (p[i] - mean) / std) < 1e-5) end
         assert.are.equal(0, y[2]:abs():max():item())
      end
   end)
end)

---------------------------------------------------------------------------------------
-- folder datasets on generated trees

local FOOD = TMP .. "/data/food-101"
local NET = TMP .. "/data/imagenet"

-- 2 classes x 3 images each, of different sizes and aspect ratios
local function make_trees()
   rmrf(TMP); mkdir(FOOD .. "/meta")
   local sizes = { { 120, 90 }, { 100, 140 }, { 130, 130 } }
   local train, test = {}, {}
   for ci, cls in ipairs { "baklava", "apple_pie" } do
      mkdir(FOOD .. "/images/" .. cls)
      mkdir(NET .. "/train/n0" .. ci); mkdir(NET .. "/val/n0" .. ci)
      for k = 1, 3 do
         local img = smooth(3, sizes[k][1], sizes[k][2], 5 * ci + k)
         dob.write_jpeg(("%s/images/%s/%d.jpg"):format(FOOD, cls, 100 + k), img, 92)
         dob.write_jpeg(("%s/train/n0%d/img%d.JPEG"):format(NET, ci, k), img, 92)
         dob.write_jpeg(("%s/val/n0%d/val%d.JPEG"):format(NET, ci, k), img, 92)
         local line = ("%s/%d"):format(cls, 100 + k)
         if k < 3 then train[#train + 1] = line else test[#test + 1] = line end
      end
   end
   -- classes.txt in reverse order: labels must follow the sorted names
   write(FOOD .. "/meta/classes.txt", "baklava\napple_pie\n")
   write(FOOD .. "/meta/train.txt", table.concat(train, "\n") .. "\n")
   write(FOOD .. "/meta/test.txt", table.concat(test, "\r\n") .. "\r\n")
end

local function ylist(y) local t = {} for i = 1, y:size(1) do t[i] = y:get(i) end return t end

describe("Food-101 folder dataset", function()
   setup(make_trees)
   teardown(function() rmrf(TMP) end)

   local function load(o)
      o = o or {}
      o.data_dir = o.data_dir or TMP .. "/data"
      o.any_size = true
      o.batch_size = o.batch_size or 2
      return food101.load(o)
   end

   it("reads the layout: sorted class labels, file orders, drop remainder, shapes at 96 (resize 109) and 224", function()
      local ds = load { image_size = 96 }
      assert.are.same({ "apple_pie", "baklava" }, ds.classes)
      assert.are.equal(109, ds.resize)
      assert.are.equal(4, ds.train.size); assert.are.equal(2, ds.train.num_batches)
      assert.are.equal(2, ds.test.size); assert.are.equal(1, ds.test.num_batches)
      local b = ds.test:batches()()
      assert.are.same({ 2, 3, 96, 96 }, b.x:size())
      assert.are.same({ 1, 0 }, ylist(b.y))   -- baklava/103, apple_pie/103
      local seen = {}
      for tb in ds.train:batches(3) do for _, v in ipairs(ylist(tb.y)) do seen[#seen + 1] = v end end
      table.sort(seen)
      assert.are.same({ 0, 0, 1, 1 }, seen)
      assert.are.same({ 2, 3, 224, 224 }, load { image_size = 224 }.test:batches()().x:size())
      -- train_eval: the first images of train.txt in file order (torchvision Subset(range(n)))
      local te = load { image_size = 96, train_eval_size = 2 }.train_eval
      assert.are.equal(1, te.num_batches)
      assert.are.same({ 1, 1 }, ylist(te:batches()().y))
   end)

   it("test images are Resize(109) -> CenterCrop(96) -> unbiased standardisation, exactly", function()
      local ds = load { image_size = 96 }
      local b = ds.test:batches()()
      local img = dob.image_to_float(dob.read_jpeg(FOOD .. "/images/baklava/103.jpg"))   -- 130x130
      local r = dob.resize_smaller_side(img, 109, "torch")
      assert.are.same({ 3, 109, 109 }, r:size())
      local want = dob.standardize_images(r:image_crop(6, 6, 96, 96):unsqueeze(1), true)   -- round(6.5) = 6
      assert.is_true(max_abs_diff(b.x[1], want[1]) < 1e-5)
   end)

   it("training batches: same seed same batches, other seed other crops/order, model RNG untouched", function()
      local ds = load { image_size = 96 }
      dob.manual_seed(11)
      local before = dob.rand(4)
      dob.manual_seed(11)
      local a1 = ds.train:batches(1)()
      local after = dob.rand(4)
      assert.are.equal(0, max_abs_diff(before, after))
      local a2 = ds.train:batches(1)()
      assert.are.equal(0, max_abs_diff(a1.x, a2.x))
      local differs = false
      for s = 2, 6 do
         if max_abs_diff(ds.train:batches(s)().x, a1.x) > 1e-3 then differs = true end
      end
      assert.is_true(differs)
      -- each training image is a 96x96 window of the resized image, maybe mirrored
      local x = a1.x
      for i = 1, 2 do
         local m, sd = x[i]:mean():item(), x[i]:std():item()
         assert.is_true(math.abs(m) < 1e-5 and math.abs(sd - 1) < 1e-4)
      end
   end)

   it("missing data, broken lists and missing or corrupt images are clear errors", function()
      local e = errmsg(food101.load, { data_dir = TMP .. "/nowhere" })
      assert.truthy(e:find("Food-101 not found", 1, true) and e:find("meta/train.txt", 1, true)
         and e:find("prepare_data.sh food101", 1, true) and e:find(TMP .. "/nowhere/food-101", 1, true))
      -- the real data set's sizes are checked unless any_size
      e = errmsg(food101.load, { data_dir = TMP .. "/data" })
      assert.truthy(e:find("lists 2 classes, Food-101 has 101", 1, true))
      local saved = read(FOOD .. "/meta/train.txt")
      write(FOOD .. "/meta/train.txt", saved .. "sushi/1\n")
      e = errmsg(load)
      assert.truthy(e:find("train.txt line 5", 1, true) and e:find("sushi/1", 1, true))
      write(FOOD .. "/meta/train.txt", saved .. "baklava/999\n")
      e = errmsg(load)
      assert.truthy(e:find("1 of the 5 images", 1, true) and e:find("baklava/999.jpg", 1, true))
      write(FOOD .. "/meta/train.txt", saved)
      local good = read(FOOD .. "/images/baklava/103.jpg")
      write(FOOD .. "/images/baklava/103.jpg", good:sub(1, 200))
      local ds = load { image_size = 96 }
      e = errmsg(function() return ds.test:batches()() end)
      assert.truthy(e:find("baklava/103.jpg", 1, true) and e:find("truncated", 1, true))
      write(FOOD .. "/images/baklava/103.jpg", good)
   end)
end)

describe("ImageNet folder dataset", function()
   setup(make_trees)
   teardown(function() rmrf(TMP) end)

   it("labels are sorted wnid positions + 1 (0 = background, 1001 outputs in TF), 224x224 batches", function()
      local ds = imagenet.load { data_dir = TMP .. "/data", batch_size = 2, any_size = true, train_eval_size = 4 }
      assert.are.same({ "n01", "n02" }, ds.classes)
      assert.are.equal(3, ds.num_outputs)
      assert.are.equal(3, ds.train.num_batches); assert.are.equal(2, ds.train_eval.num_batches)
      local got = {}
      for b in ds.test:batches() do
         assert.are.same({ 2, 3, 224, 224 }, b.x:size())
         for _, v in ipairs(ylist(b.y)) do got[#got + 1] = v end
      end
      assert.are.same({ 1, 1, 1, 2, 2, 2 }, got)
      -- train_eval is the first batches of the training pipeline for the run's seed
      local t1, e1 = ds.train:batches(42)(), ds.train_eval:batches()()
      assert.are.equal(0, max_abs_diff(t1.x, e1.x))
   end)

   it("eval: resize smaller side 256 (rint) -> centre crop 224 -> TF standardisation; train windows lie in the 256 crop", function()
      local ds = imagenet.load { data_dir = TMP .. "/data", batch_size = 2, any_size = true }
      local b = ds.test:batches()()
      local img = dob.image_to_float(dob.read_jpeg(NET .. "/val/n01/val1.JPEG"))   -- 120x90
      local r = dob.resize_smaller_side(img, 256, "tf")
      assert.are.same({ 3, 341, 256 }, r:size())   -- rint(120 * 256 / 90 = 341.33)
      local want = dob.standardize_images(r:image_crop(58, 16, 224, 224):unsqueeze(1), false)
      assert.is_true(max_abs_diff(b.x[1], want[1]) < 1e-5)
      -- a training example equals some crop (offset 0..32 inside the centre 256 window) of the resized image
      local tr = imf.tf_imagenet_transform(256, 224, true)
      local x = tr(dob.read_jpeg(NET .. "/val/n01/val1.JPEG"), 0.999, 0, 0.7)
      assert.are.equal(0, max_abs_diff(x, r:image_crop(42 + 32, 0, 224, 224, false)))
      x = tr(dob.read_jpeg(NET .. "/val/n01/val1.JPEG"), 0, 0.5, 0.2)
      assert.are.equal(0, max_abs_diff(x, r:image_crop(42, 16, 224, 224, true)))
   end)

   it("batches(seed, start) resumes bit for bit and decodes only the batches it yields", function()
      local ds = imagenet.load { data_dir = TMP .. "/data", batch_size = 2, any_size = true, train_eval_size = 4 }
      resume.check(ds.train, 5)
      resume.check(ds.train_eval)
      resume.check(ds.test)
      resume.check_bad_starts(ds.train, 5)
      local food = food101.load { data_dir = TMP .. "/data", batch_size = 2, any_size = true, image_size = 96 }
      resume.check(food.train, 8)
      -- the first batch's files do not exist: starting after it never opens them
      local real = ds.test.paths
      local s = imf.new_split { name = "test", paths = { TMP .. "/gone1.JPEG", TMP .. "/gone2.JPEG", real[1], real[2] },
         labels = { 1, 1, 1, 1 }, batch_size = 2, shuffle = false, transform = imf.tf_imagenet_transform(256, 224, false) }
      local b = s:batches(nil, 1)()
      assert.are.equal(0, max_abs_diff(b.x, ds.test:batches()().x))
      assert.truthy(errmsg(function() return s:batches()() end):find("gone1.JPEG", 1, true))
   end)

   it("an iterator's batches do not change when the collector runs between them", function()
      local ds = imagenet.load { data_dir = TMP .. "/data", batch_size = 2, any_size = true, train_eval_size = 4 }
      local plain = {}
      for b in ds.train:batches(7) do plain[#plain + 1] = b.x end
      local k = 0
      for b in ds.train:batches(7) do
         k = k + 1
         collectgarbage(); collectgarbage()
         -- blocks of every small size, filled: one lands where the iterator reads, if it was freed
         local fill = {}
         for n = 1, 300 do fill[n] = dob.empty(n):fill_(-1) end
         assert.are.equal(0, max_abs_diff(b.x, plain[k]))
      end
      assert.are.equal(#plain, k)
   end)

   it("missing layout and a validation class unknown to training are clear errors", function()
      local e = errmsg(imagenet.load, { data_dir = TMP .. "/nowhere" })
      assert.truthy(e:find("ImageNet not found", 1, true) and e:find("ILSVRC2012_img_train.tar", 1, true)
         and e:find("prepare_data.sh imagenet", 1, true))
      e = errmsg(imagenet.load, { data_dir = TMP .. "/data" })
      assert.truthy(e:find("2 class folders, ImageNet has 1000", 1, true))
      mkdir(NET .. "/val/n09")
      e = errmsg(imagenet.load, { data_dir = TMP .. "/data", any_size = true })
      assert.truthy(e:find("val/n09", 1, true) and e:find("not among the training classes", 1, true))
      rmrf(NET .. "/val/n09")
   end)
end)

describe("food101_vit_micro", function()
   it("is registered with the fork's defaults and has 2,844,005 parameters with ViT initialisers", function()
      local p = problems.get("food101_vit_micro")
      assert.are.same({ "food101", 128, 50, 1e-4, true, 96 },
         { p.dataset, p.batch_size, p.num_epochs, p.weight_decay, p.has_accuracy, p.dataset_opts.image_size })
      dob.manual_seed(42)
      local m = p.build {}
      assert.are.equal(2844005, nn.ParamSet(m).n)
      local n_ln = 0
      for _, q in ipairs(m:named_parameters()) do
         local t, name = q.value, q.name
         if name:find("norm") then
            n_ln = n_ln + 1
            local want = name:find("weight") and 1 or 0
            assert.are.equal(0, (t - want):abs():max():item(), name)
         elseif name:find("bias") then
            assert.are.equal(0, t:abs():max():item(), name)
         else
            -- N(0, 0.02^2): weights of every Linear / the patch conv, CLS and position embeddings
            assert.is_true(math.abs(t:std():item() - 0.02) < (t:nElement() > 5000 and 0.001 or 0.006), name)
         end
      end
      assert.are.equal(2 * 13, n_ln)   -- 2 LayerNorms per block x 6 + the final one, weight and bias
   end)

   it("in eval mode equals the fork's forward written out with plain matmul / softmax (head split, CLS, order)", function()
      local p = problems.get("food101_vit_micro")
      dob.manual_seed(8)
      local m = p.build {}
      m:eval()
      dob.manual_seed(9)
      local x = dob.randn(2, 3, 96, 96)
      local got = dob.no_grad(function() return m(x) end)
      -- _vit_micro.py, step by step, with [B, N, C] tensors as PyTorch holds them
      local want = dob.no_grad(function()
         local B = 2
         local h = dob.conv2d(x, m.patch_embed.weight, m.patch_embed.bias, { stride = 16 })
         h = h:reshape(B, 192, 36):transpose(2, 3)
         h = dob.cat({ m.cls_token:expand(B, 1, 192), h }, 2) + m.pos_embed
         local function lin(t, l) return dob.matmul(t, l.weight:t()) + l.bias end
         local function ln(t, l) return t:layer_norm(1, l.weight, l.bias, 1e-5) end
         for i = 1, 6 do
            local b = m["block" .. i]
            local qkv = lin(ln(h, b.norm1), b.qkv):reshape(B, 37, 3, 3, 64):permute(3, 1, 4, 2, 5)
            local q, k, v = qkv[1], qkv[2], qkv[3]
            local a = (dob.matmul(q, k:transpose(3, 4)) * (1 / 8)):softmax(-1)
            local o = dob.matmul(a, v):transpose(2, 3):reshape(B, 37, 192)
            h = h + lin(o, b.proj)
            h = h + lin(lin(ln(h, b.norm2), b.fc1):gelu(), b.fc2)
         end
         h = ln(h, m.norm)
         return lin(h:select(2, 1), m.head)
      end)
      assert.are.same({ 2, 101 }, got:size())
      assert.is_true(max_abs_diff(got, want) < 1e-5, "max diff " .. max_abs_diff(got, want))
      -- training mode draws dropout masks: the logits change
      m:train()
      assert.is_true(max_abs_diff(dob.no_grad(function() return m(x) end), got) > 1e-4)
   end)

   it("one training step and one evaluation step at batch 2; the fork's L2 covers every parameter", function()
      local p = problems.get("food101_vit_micro")
      dob.manual_seed(1)
      local m = p.build { weight_decay = 1e-4 }
      local ps = nn.ParamSet(m)
      dob.manual_seed(2)
      local batch = { x = dob.randn(2, 3, 96, 96), y = dob.tensor({ 3, 100 }, "int64") }
      ps:zero_grad()
      local losses, reg, acc = p.forward(m, batch, "train")
      assert.are.same({ 2 }, losses:size())
      local sq = 0
      for _, q in ipairs(m:parameters()) do sq = sq + (q * q):sum():item() end
      assert.is_true(math.abs(reg:item() - 0.5e-4 * sq) < 1e-6 * sq)
      local obj = losses:mean() + reg
      assert.is_true(math.abs(losses:mean():item() - math.log(101)) < 0.5)
      obj:backward()
      for _, q in ipairs(ps.params) do
         assert.is_true(q.grad:abs():sum():item() > 0, "zero gradient for " .. q.name)
      end
      assert.is_true(acc >= 0 and acc <= 1)
      local before = obj:item()
      dob.no_grad(function() ps.flat:add_(ps.grad_flat, -0.01 / ps.grad_flat:norm():item()) end)
      -- evaluation: no dropout, so two evaluations agree and the step lowered the loss on this batch
      local e1, r1 = dob.no_grad(p.forward, m, batch, "test")
      local e2 = dob.no_grad(p.forward, m, batch, "test")
      assert.are.equal(0, max_abs_diff(e1, e2))
      assert.is_true(e1:mean():item() + r1:item() < before + 0.05)
      -- --weight_decay 0: no regularizer
      local _, r0 = dob.no_grad(p.forward, p.build { weight_decay = 0 }, batch, "test")
      assert.is_nil(r0)
   end)

   it("trains one epoch through the runner on the generated Food-101 tree", function()
      make_trees()
      local runner = require "deepobs.runner"
      local res = runner.run { problem = "food101_vit_micro", optimizer = "adam", lr = 1e-3,
         data_dir = TMP .. "/data", batch_size = 2, num_epochs = 1, quiet = true, output_dir = TMP .. "/results",
         random_seed = 42, dataset = food101.load { data_dir = TMP .. "/data", batch_size = 2, image_size = 96,
            any_size = true } }
      assert.are.equal(2, #res.train_losses); assert.are.equal(2, #res.test_losses)
      for _, v in ipairs(res.train_losses) do assert.is_true(v == v and v > 0 and v < 20) end
      assert.are.equal(2, #res.test_accuracies)
      assert.truthy(res.path:find("food101_vit_micro/Adam", 1, true))
      rmrf(TMP)
   end)
end)
