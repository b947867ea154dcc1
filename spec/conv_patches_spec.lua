-- conv2d with kernel = stride and no padding (a ViT's patch embedding) takes its own
-- im2col path (src/ops/conv.c, im2col_patches): its output and weight gradient
-- against a naive patch sum, over shapes that leave rows / columns of the image
-- unused, one or many channels and samples, one or several chunks, 1 and 2 threads.
local dob = require "deepobs"
local H = require "helpers.gradcheck"

-- y[n,o,oh,ow] = b[o] + sum over c, kh, kw of x[n,c,oh KH+kh,ow KW+kw] w[o,c,kh,kw];
-- dw[o,c,kh,kw] = sum over n, oh, ow of dy[n,o,oh,ow] x[n,c,oh KH+kh,ow KW+kw]
local function naive(x, w, b, dy)
   local N, C, IH, IW = unpack(x:size())
   local OC, _, KH, KW = unpack(w:size())
   local OH, OW = math.floor(IH / KH), math.floor(IW / KW)
   local px, pw, pb = x:contiguous():data(), w:contiguous():data(), b:contiguous():data()
   local pd = dy:contiguous():data()
   local y, dw = dob.zeros(N, OC, OH, OW), dob.zeros(OC, C, KH, KW)
   local py, pdw = y:data(), dw:data()
   for n = 0, N - 1 do
      for o = 0, OC - 1 do
         for oh = 0, OH - 1 do
            for ow = 0, OW - 1 do
               local s, yi = pb[o], ((n * OC + o) * OH + oh) * OW + ow
               for c = 0, C - 1 do
                  for kh = 0, KH - 1 do
                     for kw = 0, KW - 1 do
                        local xv = px[((n * C + c) * IH + oh * KH + kh) * IW + ow * KW + kw]
                        local wi = ((o * C + c) * KH + kh) * KW + kw
                        s = s + xv * pw[wi]
                        pdw[wi] = pdw[wi] + pd[yi] * xv
                     end
                  end
               end
               py[yi] = s
            end
         end
      end
   end
   return y, dw
end

-- {N, C, H, W, OC, KH, KW}
local CASES = {
   { 2, 3, 32, 32, 5, 16, 16 },   -- the patch embedding's kernel on a small image
   { 3, 2, 7, 9, 4, 2, 3 },       -- a row of the image left over, rectangular patches
   { 1, 1, 4, 4, 2, 4, 4 },       -- one patch
   { 2, 3, 10, 11, 3, 5, 1 },     -- 5x1 patches, W not a multiple of anything
   { 64, 1, 32, 32, 2, 4, 4 },    -- two chunks of samples, split over threads
   { 5, 4, 6, 6, 3, 1, 1 },       -- 1x1 (the direct path, for contrast)
}

describe("conv2d on non-overlapping patches", function()
   it("output and weight gradient match a naive patch sum at 1 and 2 threads", function()
      local before = dob.get_threads()
      for _, th in ipairs { 1, 2 } do
         dob.set_threads(th)
         for i, c in ipairs(CASES) do
            local N, C, IH, IW, OC, KH, KW = unpack(c)
            local x = H.rand({ N, C, IH, IW }, i)
            local w = H.rand({ OC, C, KH, KW }, 10 + i):requires_grad_()
            local b = H.rand({ OC }, 20 + i):requires_grad_()
            local y = dob.conv2d(x, w, b, { stride = { KH, KW }, padding = 0 })
            local dy = H.rand(y:size(), 30 + i)
            y:backward(dy)
            local ry, rdw = naive(x, w:detach(), b:detach(), dy)
            local what = ("case %d, %d threads"):format(i, th)
            assert.are.same(ry:size(), y:size(), what)
            assert.is_true(H.max_diff(y, ry) < 1e-4, what .. ": output")
            assert.is_true(H.max_diff(w:grad(), rdw) < 1e-3, what .. ": weight gradient")
         end
      end
      dob.set_threads(before)
   end)

   it("gives the same bits at 1 and 2 threads", function()
      local before = dob.get_threads()
      local function run(th)
         dob.set_threads(th)
         local x = H.rand({ 40, 3, 48, 48 }, 7)
         local w = H.rand({ 8, 3, 16, 16 }, 8):requires_grad_()
         local y = dob.conv2d(x, w, nil, { stride = 16, padding = 0 })
         y:backward(H.rand(y:size(), 9))
         return H.flat(y), H.flat(w:grad())
      end
      local y1, g1 = run(1)
      local y2, g2 = run(2)
      dob.set_threads(before)
      assert.are.same(y1, y2)
      assert.are.same(g1, g2)
   end)
end)
