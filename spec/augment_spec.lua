-- The augmentation ops (src/data/augment.c) against naive Lua references in
-- double precision, the CIFAR pipeline's parameter ranges, and bad arguments.
local ffi = require "ffi"
local dob = require "deepobs"
local flat = require("helpers.gradcheck").flat

-- random 0..255 images (as DeepOBS feeds them: float32 pixel values)
local function images(n, c, h, w, seed)
   dob.manual_seed(seed or 1)
   return (dob.rand(n, c, h, w) * 255):byte():float()
end

local function close(got, want, tol, what)
   assert.are.equal(#want, #got, what)
   for i = 1, #want do
      local d = math.abs(got[i] - want[i])
      if d > tol * math.max(1, math.abs(want[i])) then
         error(("%s: element %d is %.7g, expected %.7g"):format(what or "values", i, got[i], want[i]), 2)
      end
   end
end

local function at(v, C, H, W, n, c, i, j) return v[((n * C + c) * H + i) * W + j + 1] end

describe("augment ops", function()
   it("pad_crop zero-pads and crops at per-image offsets (TF crop_or_pad to 36 + random_crop 32)", function()
      local N, C, H, W, pad, OH, OW = 4, 3, 6, 5, 2, 6, 5
      local x = images(N, C, H, W, 3)
      local off = dob.tensor({ { 0, 0 }, { 4, 4 }, { 2, 2 }, { 1, 3 } }, "int64")
      local y = x:pad_crop(pad, OH, OW, off)
      assert.are.same({ N, C, OH, OW }, y:size())
      local v, o, want = flat(x), flat(off), {}
      for n = 0, N - 1 do
         for c = 0, C - 1 do
            for i = 0, OH - 1 do
               for j = 0, OW - 1 do
                  local si, sj = i + o[2 * n + 1] - pad, j + o[2 * n + 2] - pad
                  local val = 0
                  if si >= 0 and si < H and sj >= 0 and sj < W then val = at(v, C, H, W, n, c, si, sj) end
                  want[#want + 1] = val
               end
            end
         end
      end
      close(flat(y), want, 0, "pad_crop")
      -- offset (pad, pad) is the identity
      local id = x:pad_crop(2, H, W, dob.full({ N, 2 }, 2, "int64"))
      close(flat(id), flat(x), 0, "centre crop")
      -- a smaller crop of a non-contiguous input (a transposed view)
      local xt = images(2, 3, 5, 6, 4):transpose(3, 4)
      local yt = xt:pad_crop(1, 3, 4, dob.tensor({ { 0, 2 }, { 4, 3 } }, "int64"))
      local xv = flat(xt:contiguous())
      local want2 = {}
      local oo = { { 0, 2 }, { 4, 3 } }
      for n = 0, 1 do
         for c = 0, 2 do
            for i = 0, 2 do
               for j = 0, 3 do
                  local si, sj = i + oo[n + 1][1] - 1, j + oo[n + 1][2] - 1
                  want2[#want2 + 1] = (si >= 0 and si < 6 and sj >= 0 and sj < 5) and at(xv, 3, 6, 5, n, c, si, sj) or 0
               end
            end
         end
      end
      close(flat(yt), want2, 0, "pad_crop strided")
   end)

   it("flip_lr mirrors exactly the masked images", function()
      local N, C, H, W = 3, 2, 3, 4
      local x = images(N, C, H, W, 5)
      local y = x:flip_lr(dob.tensor({ 1, 0, 7 }, "uint8"))
      local v, want = flat(x), {}
      local m = { true, false, true }
      for n = 0, N - 1 do
         for c = 0, C - 1 do
            for i = 0, H - 1 do
               for j = 0, W - 1 do
                  want[#want + 1] = at(v, C, H, W, n, c, i, m[n + 1] and W - 1 - j or j)
               end
            end
         end
      end
      close(flat(y), want, 0, "flip_lr")
   end)

   it("adjust_brightness adds one delta per image", function()
      local x = images(3, 3, 2, 2, 6)
      local d = dob.tensor({ 0.25, -0.1, 10 })
      local y = x:adjust_brightness(d)
      local v, want = flat(x), {}
      for k = 1, #v do want[k] = v[k] + ({ 0.25, -0.1, 10 })[math.floor((k - 1) / 12) + 1] end
      close(flat(y), want, 1e-6, "brightness")
   end)

   it("adjust_contrast scales around each image's channel means", function()
      local N, C, H, W = 2, 3, 4, 5
      local x = images(N, C, H, W, 7)
      local f = { 0.2, 1.8 }
      local y = x:adjust_contrast(dob.tensor(f))
      local v, want = flat(x), {}
      for n = 0, N - 1 do
         for c = 0, C - 1 do
            local s = 0
            for k = 0, H * W - 1 do s = s + v[(n * C + c) * H * W + k + 1] end
            local m = s / (H * W)
            for k = 0, H * W - 1 do want[#want + 1] = (v[(n * C + c) * H * W + k + 1] - m) * f[n + 1] + m end
         end
      end
      close(flat(y), want, 1e-5, "contrast")
   end)

   -- textbook HSV (degrees, sector formula), not TF's code path
   local function ref_saturate(r, g, b, f)
      local mx, mn = math.max(r, g, b), math.min(r, g, b)
      local d = mx - mn
      local h = 0
      if d > 0 then
         if mx == r then h = 60 * (((g - b) / d) % 6)
         elseif mx == g then h = 60 * ((b - r) / d + 2)
         else h = 60 * ((r - g) / d + 4) end
      end
      local s = mx > 0 and d / mx or 0
      s = math.min(1, math.max(0, s * f))
      local v = mx
      local c = v * s
      local hp = h / 60
      local xx = c * (1 - math.abs(hp % 2 - 1))
      local rr, gg, bb
      if hp < 1 then rr, gg, bb = c, xx, 0
      elseif hp < 2 then rr, gg, bb = xx, c, 0
      elseif hp < 3 then rr, gg, bb = 0, c, xx
      elseif hp < 4 then rr, gg, bb = 0, xx, c
      elseif hp < 5 then rr, gg, bb = xx, 0, c
      else rr, gg, bb = c, 0, xx end
      local m = v - c
      return rr + m, gg + m, bb + m
   end

   it("adjust_saturation matches an HSV round trip with S scaled and clamped to [0, 1]", function()
      local N, H, W = 4, 5, 6
      local x = images(N, 3, H, W, 8)
      -- a grey pixel and a black pixel in image 1 (zero range, zero value)
      for c = 1, 3 do x:set(100, 1, c, 1, 1); x:set(0, 1, c, 1, 2) end
      local f = { 0.5, 1.5, 1.0, 3.0 }          -- 3.0 drives S into the clamp
      local y = x:adjust_saturation(dob.tensor(f))
      local v, want, P = flat(x), {}, H * W
      for n = 0, N - 1 do
         local base = n * 3 * P
         local R, G, B = {}, {}, {}
         for k = 1, P do
            R[k], G[k], B[k] = ref_saturate(v[base + k], v[base + P + k], v[base + 2 * P + k], f[n + 1])
         end
         for k = 1, P do want[#want + 1] = R[k] end
         for k = 1, P do want[#want + 1] = G[k] end
         for k = 1, P do want[#want + 1] = B[k] end
      end
      close(flat(y), want, 2e-5, "saturation")
      -- factor 1 leaves the image (nearly) unchanged; factor 0 makes it grey (r = g = b = max)
      close(flat(x:adjust_saturation(dob.full({ N }, 1))), flat(x), 2e-5, "factor 1")
      local grey = x:adjust_saturation(dob.zeros(N))
      for n = 1, N do
         for i = 1, H do
            local r, g, b = grey:get(n, 1, i, 1), grey:get(n, 2, i, 1), grey:get(n, 3, i, 1)
            assert.are.equal(r, g)
            assert.are.equal(g, b)
            assert.are.equal(math.max(x:get(n, 1, i, 1), x:get(n, 2, i, 1), x:get(n, 3, i, 1)), r)
         end
      end
   end)

   -- TF's AdjustSaturation kernel step by step in float32 (every product,
   -- quotient and sum of two floats done in double and rounded once to float
   -- is the float operation; the double 2/6 and 4/6 are TF's own)
   local fbox = ffi.new("float[1]")
   local function f32(v) fbox[0] = v; return fbox[0] end
   local function tf_saturate(r, g, b, scale)
      local vv = math.max(r, g, b)
      local range = f32(vv - math.min(r, g, b))
      local s = vv > 0 and f32(range / vv) or 0
      local norm = f32(1 / f32(6 * range))
      local hh
      if r == vv then hh = f32(norm * f32(g - b))
      elseif g == vv then hh = f32(f32(norm * f32(b - r)) + 2 / 6)
      else hh = f32(f32(norm * f32(r - g)) + 4 / 6) end
      if range <= 0 then hh = 0 end
      if hh < 0 then hh = f32(hh + 1) end
      s = math.min(1, math.max(0, f32(s * scale)))
      local c = f32(s * vv)
      local m = f32(vv - c)
      local dh = f32(hh * 6)
      local cat = dh >= 0 and math.floor(dh) or math.ceil(dh)
      local fm = dh
      while fm <= 0 do fm = f32(fm + 2) end
      while fm >= 2 do fm = f32(fm - 2) end
      local x = f32(c * f32(1 - math.abs(f32(fm - 1))))
      local rr, gg, bb = 0, 0, 0
      if cat == 0 then rr, gg, bb = c, x, 0
      elseif cat == 1 then rr, gg, bb = x, c, 0
      elseif cat == 2 then rr, gg, bb = 0, c, x
      elseif cat == 3 then rr, gg, bb = 0, x, c
      elseif cat == 4 then rr, gg, bb = x, 0, c
      elseif cat == 5 then rr, gg, bb = c, 0, x end
      return f32(rr + m), f32(gg + m), f32(bb + m)
   end

   it("adjust_saturation reproduces TF's float32 kernel bit for bit", function()
      local N, H, W = 3, 8, 8
      dob.manual_seed(12)
      -- non-integer values around 0..255 and slightly negative ones (brightness runs first)
      local x = dob.rand(N, 3, H, W) * 260 - 2
      for c = 1, 3 do x:set(50, 1, c, 1, 1) end          -- grey
      x:set(200, 1, 1, 1, 2); x:set(10, 1, 2, 1, 2); x:set(200, 1, 3, 1, 2)   -- r = b = max: hue near 1
      local f = { 0.5, 1.37, 1.5 }
      local y = x:adjust_saturation(dob.tensor(f))
      local v, got, P = flat(x), flat(y), H * W
      for n = 0, N - 1 do
         for k = 1, P do
            local base = n * 3 * P
            local r, g, b = tf_saturate(v[base + k], v[base + P + k], v[base + 2 * P + k], f32(f[n + 1]))
            assert.are.equal(r, got[base + k])
            assert.are.equal(g, got[base + P + k])
            assert.are.equal(b, got[base + 2 * P + k])
         end
      end
   end)

   it("per_image_standardize uses the population std over C*H*W, floored at 1/sqrt(C*H*W)", function()
      local N, C, H, W = 3, 3, 4, 4
      local x = images(N, C, H, W, 9)
      -- image 3 constant: std 0 -> divides by 1/sqrt(48)
      for c = 1, C do for i = 1, H do for j = 1, W do x:set(17, 3, c, i, j) end end end
      local y = x:per_image_standardize()
      local v, want, img = flat(x), {}, C * H * W
      for n = 0, N - 1 do
         local s, sq = 0, 0
         for k = 1, img do s = s + v[n * img + k] end
         local m = s / img
         for k = 1, img do sq = sq + (v[n * img + k] - m) ^ 2 end
         local sd = math.max(math.sqrt(sq / img), 1 / math.sqrt(img))
         for k = 1, img do want[#want + 1] = (v[n * img + k] - m) / sd end
      end
      close(flat(y), want, 1e-5, "standardize")
      -- each non-constant image ends with mean 0 and population std 1
      for n = 1, 2 do
         local im = y[n]
         assert.is_true(math.abs(im:mean():item()) < 1e-5)
         assert.is_true(math.abs(((im * im):mean():item()) - 1) < 1e-4)
      end
      assert.are.equal(0, y[3]:abs():max():item())
   end)

   it("gives the same bits at 1 and 2 threads", function()
      local x = images(64, 3, 32, 32, 10)
      local old = dob.get_threads()
      local f = dob.full({ 64 }, 1.3)
      dob.set_threads(1)
      local a = x:adjust_saturation(f):adjust_contrast(f):per_image_standardize()
      dob.set_threads(2)
      local b = x:adjust_saturation(f):adjust_contrast(f):per_image_standardize()
      dob.set_threads(old)
      assert.are.equal(0, (a - b):abs():max():item())
   end)

   it("rejects bad arguments with errors naming the op", function()
      local x = images(2, 3, 4, 4, 11)
      local function err(fn)
         local ok, e = pcall(fn)
         assert.is_false(ok)
         return tostring(e)
      end
      local off = dob.zeros({ 2, 2 }, "int64")
      assert.matches("pad_crop: expected images %[N,C,H,W%]", err(function() return x[1]:pad_crop(1, 4, 4, off) end))
      assert.matches("must be int64", err(function() return x:pad_crop(1, 4, 4, dob.zeros(2, 2)) end))
      assert.matches("2 value%(s%) per image", err(function() return x:pad_crop(1, 4, 4, dob.zeros({ 2 }, "int64")) end))
      assert.matches("must lie in 0..2", err(function()
         return x:pad_crop(1, 4, 4, dob.tensor({ { 0, 0 }, { 3, 0 } }, "int64")) end))
      assert.matches("must lie in", err(function()
         return x:pad_crop(1, 4, 4, dob.tensor({ { 0, -1 }, { 0, 0 } }, "int64")) end))
      assert.matches("crop 7x4 must", err(function() return x:pad_crop(1, 7, 4, off) end))
      assert.matches("padding must be >= 0", err(function() return x:pad_crop(-1, 4, 4, off) end))
      assert.matches("pad_crop: argument 'pad' must be an integer, got 1.5", err(function() return x:pad_crop(1.5, 4, 4, off) end))
      assert.matches("must be uint8", err(function() return x:flip_lr(dob.zeros(2)) end))
      assert.matches("1 value%(s%) per image for 2 images", err(function() return x:flip_lr(dob.zeros({ 3 }, "uint8")) end))
      assert.matches("must be float32", err(function() return x:adjust_brightness(dob.zeros({ 2 }, "int64")) end))
      assert.matches("must be float32", err(function() return x:long():adjust_contrast(dob.zeros(2)) end))
      assert.matches("RGB images %[N,3,H,W%]", err(function() return x:narrow(2, 1, 2):adjust_saturation(dob.zeros(2)) end))
      assert.matches("must be a deepobs Tensor", err(function() return x:adjust_contrast(1.5) end))
      assert.matches("expected images", err(function() return x:view(2, 48):per_image_standardize() end))
      local freed = dob.zeros(2)
      freed:free()
      assert.matches("freed", err(function() return x:adjust_brightness(freed) end))
   end)
end)
