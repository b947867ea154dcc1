-- Text data and problems: the .npy reader/writer on files this spec writes
-- (good and broken), the Tolstoi preprocessing and vocabulary, contiguous-
-- stream batching, and tolstoi_char_rnn (TF1 LSTMCell semantics against a
-- naive Lua cell, dropout placement, carried / reset state, parameter count,
-- initialisers, a training step and a run through the runner).
local ffi = require "ffi"
local dob = require "deepobs"
local npy = require "datasets.formats.npy"
local stream = require "datasets.pipeline.stream"
local utf8 = require "datasets.formats.utf8"
local vocab = require "datasets.pipeline.vocab"
local tolstoi = require "datasets.tolstoi"
local runner = require "deepobs.runner"
local problems = require "problems.init"
local resume = require "fixtures.resume"

local TMP = "spec/tmp_text"

local fs = require "helpers.fs"
local write, read = fs.write, fs.read

local function le64(n)
   local t = {}
   for i = 1, 8 do t[i] = string.char(n % 256); n = math.floor(n / 256) end
   return table.concat(t)
end

local function arange(n)
   local t = dob.empty(n, "int64")
   local p = ffi.cast("int64_t *", t:data())
   for i = 0, n - 1 do p[i] = i end
   return t
end

local function err_of(fn, ...)
   local ok, e = pcall(fn, ...)
   assert.is_false(ok, "expected an error")
   return tostring(e)
end

local function close(a, b, tol) return math.abs(a - b) <= tol * math.max(1, math.abs(b)) end

describe(".npy files", function()
   setup(function() os.execute("rm -rf '" .. TMP .. "'; mkdir -p '" .. TMP .. "'") end)
   teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)

   it("writes what np.save writes (format 1.0, header padded to 64 bytes) and reads it back", function()
      local p = TMP .. "/a.npy"
      npy.write(p, dob.tensor({ 0, 1, 2 }):long())
      local bytes = read(p)
      -- np.save("a.npy", np.arange(3)) on a little-endian machine, byte for byte
      local header = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"
      local want = "\147NUMPY\1\0\118\0" .. header .. string.rep(" ", 118 - #header - 1) .. "\n"
         .. le64(0) .. le64(1) .. le64(2)
      assert.are.equal(want, bytes)
      assert.are.equal(0, (#bytes - 24) % 64)
      local t = npy.read(p)
      assert.are.equal("int64", t:dtype())
      assert.are.same({ 0, 1, 2 }, t:totable())
   end)

   it("round-trips int64, float32 and uint8 arrays of any shape", function()
      dob.manual_seed(3)
      local f = dob.randn(3, 4, 5)
      npy.write(TMP .. "/f.npy", f)
      local g = npy.read(TMP .. "/f.npy")
      assert.are.same({ 3, 4, 5 }, g:size())
      assert.are.equal("float32", g:dtype())
      assert.are.equal(0, (g - f):abs():max():item())
      local u = dob.tensor({ { 0, 255 }, { 7, 9 } }):to("uint8")
      npy.write(TMP .. "/u.npy", u)
      assert.are.same({ { 0, 255 }, { 7, 9 } }, npy.read(TMP .. "/u.npy"):totable())
      local big = dob.tensor({ -5, 2 ^ 40 }):long()
      npy.write(TMP .. "/l.npy", big)
      assert.are.same({ -5, 2 ^ 40 }, npy.read(TMP .. "/l.npy"):totable())
      -- a strided view is written in C order
      local m = dob.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }):t()
      npy.write(TMP .. "/t.npy", m)
      assert.are.same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, npy.read(TMP .. "/t.npy"):totable())
   end)

   it("reads format 2.0 headers and 2-D shapes written by numpy", function()
      local header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }"
      header = header .. string.rep(" ", 64 - (12 + #header + 1) % 64) .. "\n"
      write(TMP .. "/v2.npy", "\147NUMPY\2\0" .. string.char(#header, 0, 0, 0) .. header
         .. le64(1) .. le64(2) .. le64(3) .. le64(4))
      assert.are.same({ { 1, 2 }, { 3, 4 } }, npy.read(TMP .. "/v2.npy"):totable())
   end)

   it("names the file and the fault for broken files", function()
      local p = TMP .. "/good.npy"
      npy.write(p, arange(10))
      local good = read(p)
      local function broken(name, bytes)
         write(TMP .. "/" .. name, bytes)
         return err_of(npy.read, TMP .. "/" .. name)
      end
      local e = broken("short.npy", good:sub(1, #good - 3))
      assert.truthy(e:find(TMP .. "/short.npy", 1, true), e)
      assert.truthy(e:find("truncated"), e)
      assert.truthy(e:find("prepare_data.sh"), e)
      e = broken("head.npy", good:sub(1, 40))
      assert.truthy(e:find("truncated header"), e)
      e = broken("long.npy", good .. "x")
      assert.truthy(e:find("longer than its header says"), e)
      e = broken("magic.npy", "PK\3\4" .. good:sub(5))
      assert.truthy(e:find("not a .npy file"), e)
      e = broken("f8.npy", (good:gsub("<i8", "<f8")))
      assert.truthy(e:find("'<f8' is not supported"), e)
      e = broken("garbage.npy", (good:gsub("'shape': %(10,%)", "'shape': (1x,)")))
      assert.truthy(e:find("bad size '1x'"), e)
      e = broken("nodict.npy", (good:gsub("{'descr'", "[['descr'")))
      assert.truthy(e:find("malformed header"), e)
      e = err_of(npy.read, TMP .. "/missing.npy")
      assert.truthy(e:find("missing.npy: cannot open"), e)
      e = err_of(npy.write, TMP .. "/no/such/dir/x.npy", dob.zeros(2))
      assert.truthy(e:find("no/such/dir/x.npy.part", 1, true), e)
   end)
end)

describe("Tolstoi preprocessing", function()
   setup(function() os.execute("rm -rf '" .. TMP .. "'; mkdir -p '" .. TMP .. "'") end)
   teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)

   it("ranks characters by descending count, ties in order of first occurrence, on code points", function()
      local cps = utf8.codepoints("abracadabra\né!", "t")
      assert.are.equal(14, #cps)   -- é is one character (two UTF-8 bytes)
      local v = vocab.by_frequency(cps)
      -- a:5, b:2, r:2, then c, d, \n, é, ! once each in order of appearance
      assert.are.equal("abrcd\né!", vocab.to_string(v))
      local ids = vocab.encode(cps, v)
      assert.are.same({ 0, 1, 2, 0, 3, 0, 4, 0, 1, 2, 0, 5, 6, 7 }, ids:totable())
      assert.truthy(err_of(utf8.codepoints, "ab\255", "f.txt"):find("f.txt: not valid UTF-8", 1, true))
      assert.truthy(err_of(utf8.codepoints, "ab\195", "f.txt"):find("truncated", 1, true))
      local e = err_of(vocab.encode, { 97, 122 }, { 97 }, "g.txt")
      assert.truthy(e:find("g.txt: character \"z\" (U+007A) at position 2", 1, true), e)
   end)

   it("writes train = first ceil(0.8 N) ids, test = the rest, and the vocabulary file", function()
      local dir = TMP .. "/small"
      os.execute("mkdir -p " .. dir)
      write(dir .. "/input.txt", "hello world\nthe end\n")   -- N = 20
      local e = err_of(tolstoi.prepare, dir)
      assert.truthy(e:find("has 83"), e)
      local res = tolstoi.prepare(dir, { expect_vocab = false })
      assert.are.equal(20, res.chars)
      assert.are.equal(16, res.train)
      local train, test = npy.read(dir .. "/train.npy"), npy.read(dir .. "/test.npy")
      local vocab = read(dir .. "/vocab.txt")
      -- e, l: 3; h, o, " ", d, "\n": 2; w, r, t, n: 1 (ties in order of first occurrence)
      assert.are.equal("elho d\nwrtn", vocab)
      -- decoding the ids with the vocabulary gives the text back
      local s = {}
      for _, id in ipairs(train:totable()) do s[#s + 1] = vocab:sub(id + 1, id + 1) end
      for _, id in ipairs(test:totable()) do s[#s + 1] = vocab:sub(id + 1, id + 1) end
      assert.are.equal("hello world\nthe end\n", table.concat(s))
      assert.are.equal(4, test:size(1))
      -- N = 21: ceil(16.8) = 17
      write(dir .. "/input.txt", "hello world\nthe end!\n")
      assert.are.equal(17, tolstoi.prepare(dir, { expect_vocab = false }).train)
   end)

   it("scripts/tolstoi_prepare.lua accepts an 83-character text and refuses another", function()
      local dir = TMP .. "/script"
      os.execute("mkdir -p " .. dir)
      local chars = {}
      for c = 33, 33 + 82 do chars[#chars + 1] = string.char(c) end
      write(dir .. "/input.txt", table.concat(chars) .. table.concat(chars, "", 1, 10))
      local ok = os.execute("luajit scripts/tolstoi_prepare.lua " .. dir .. " >/dev/null 2>&1")
      assert.is_true(ok == 0 or ok == true)
      assert.are.equal(75, npy.read(dir .. "/train.npy"):size(1))   -- ceil(0.8 * 93)
      write(dir .. "/input.txt", "abc")
      ok = os.execute("luajit scripts/tolstoi_prepare.lua " .. dir .. " >/dev/null 2>&1")
      assert.is_false(ok == 0 or ok == true)
   end)
end)

describe("contiguous-stream batching", function()
   setup(function() os.execute("rm -rf '" .. TMP .. "'; mkdir -p '" .. TMP .. "'") end)
   teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)

   it("a folder with one of the two files is an error naming the other, even when the next folder has both", function()
      local files = require "fixtures.data_files"
      local cases = {
         { require "datasets.tolstoi", "tolstoi", { "train.npy", "test.npy" }, "tolstoi",
            function(d) files.tolstoi(d, 41, 21) end },
         { require "datasets.ptb", "penn_treebank", { "ptb.train.txt", "ptb.test.txt" }, "ptb",
            function(d) files.ptb(d, 200, 120) end },
      }
      for _, c in ipairs(cases) do
         local mod, folder, names, cmd, make = c[1], c[2], c[3], c[4], c[5]
         for _, gone in ipairs(names) do
            local base = TMP .. "/partial_" .. folder
            fs.rmrf(base)
            make(base)                       -- every file in data_dir itself, searched second
            make(base .. "/" .. folder)
            os.remove(base .. "/" .. folder .. "/" .. gone)
            local e = err_of(mod.load, { data_dir = base, vocab_size = 41, seq_length = 5, batch_size = 2 })
            assert.matches(base .. "/" .. folder .. ": .* files are incomplete, " .. gone:gsub("%.", "%%.") .. " missing",
               e)
            assert.matches("scripts/prepare_data%.sh " .. cmd, e)
         end
      end
   end)

   it("cuts (B, nb L) rows into nb batches; row b of batch i+1 continues row b of batch i", function()
      local B, L = 3, 4
      local n = B * L * 5 + 3                        -- nb = floor((n - 1) / (B L)) = 5
      local s = stream.new { name = "train", ids = arange(n), batch_size = B, seq_length = L }
      assert.are.equal(5, s.num_batches)
      local nb, prev = 0, nil
      for batch in s:batches(123) do
         assert.are.same({ B, L }, batch.x:size())
         local x, y = batch.x:totable(), batch.y:totable()
         for b = 1, B do
            for t = 1, L do
               -- ids are positions: x = arr[(b-1) nb L + i L + t - 1], y = x + 1
               assert.are.equal((b - 1) * 5 * L + nb * L + t - 1, x[b][t])
               assert.are.equal(x[b][t] + 1, y[b][t])
            end
            if prev then assert.are.equal(prev[b][L] + 1, x[b][1]) end
         end
         prev = x
         nb = nb + 1
      end
      assert.are.equal(5, nb)
      -- exactly one batch needs B L + 1 ids
      assert.are.equal(1, stream.new { ids = arange(13), batch_size = 3, seq_length = 4 }.num_batches)
      assert.truthy(err_of(stream.new, { name = "test", ids = arange(12), batch_size = 3, seq_length = 4 })
         :find("too short"))
      local capped = stream.new { ids = arange(n), batch_size = B, seq_length = L, num_batches = 2 }
      local c = 0
      for _ in capped:batches() do c = c + 1 end
      assert.are.equal(2, c)
   end)

   it("batches(seed, start) resumes a stream at any batch, the seed changing nothing", function()
      local s = stream.new { name = "train", ids = arange(61), batch_size = 2, seq_length = 5 }   -- 6 batches
      resume.check(s)
      resume.check(s, 99)
      resume.check(stream.new { ids = arange(61), batch_size = 2, seq_length = 5, num_batches = 4 })
      resume.check_bad_starts(s)
      -- batch 3 of the rows [0, 30) and [30, 60): columns 15..19
      assert.are.same({ { 15, 16, 17, 18, 19 }, { 45, 46, 47, 48, 49 } }, s:batches(nil, 3)().x:totable())
      assert.are.same({ { 16, 17, 18, 19, 20 }, { 46, 47, 48, 49, 50 } }, s:batches(7, 3)().y:totable())
   end)

   it("the Tolstoi loader: splits from train.npy / test.npy, train_eval = all training batches, clear errors", function()
      local dir = TMP .. "/data/tolstoi"
      os.execute("mkdir -p " .. dir)
      local ids = dob.empty(2 * 50 * 4 + 7, "int64")
      local p = ffi.cast("int64_t *", ids:data())
      for i = 0, ids:numel() - 1 do p[i] = (i * 31) % 83 end
      npy.write(dir .. "/train.npy", ids)
      npy.write(dir .. "/test.npy", ids:narrow(1, 1, 2 * 50 + 1))
      local ds = tolstoi.load { data_dir = TMP .. "/data", batch_size = 2 }
      assert.are.equal(4, ds.train.num_batches)
      assert.are.equal(4, ds.train_eval.num_batches)     -- 653,237 // 2 batches asked, 4 exist
      assert.are.equal(1, ds.test.num_batches)
      local b = ds.test:batches()()
      assert.are.same({ 2, 50 }, b.x:size())
      assert.are.equal((50 * 31) % 83, b.y:totable()[1][50])
      local e = err_of(tolstoi.load, { data_dir = TMP .. "/nowhere", batch_size = 2 })
      assert.truthy(e:find("scripts/prepare_data.sh tolstoi", 1, true), e)
      assert.truthy(e:find(TMP .. "/nowhere/tolstoi", 1, true), e)
      p[5] = 83
      npy.write(dir .. "/train.npy", ids)
      e = err_of(tolstoi.load, { data_dir = TMP .. "/data", batch_size = 2 })
      assert.truthy(e:find("train.npy: id 83 at position 5", 1, true), e)
      npy.write(dir .. "/train.npy", dob.zeros(300))
      e = err_of(tolstoi.load, { data_dir = TMP .. "/data", batch_size = 2 })
      assert.truthy(e:find("expected a 1-D int64 array", 1, true), e)
   end)
end)

---------------------------------------------------------------------------------------
-- tolstoi_char_rnn

local P = problems.get("tolstoi_char_rnn")
local CR = P.model

-- naive TF1 LSTMCell: [i, j, f, o] = [x, h] K + b; c' = s(f + 1) c + s(i) tanh(j); h' = s(o) tanh(c')
local function sig(v) return 1 / (1 + math.exp(-v)) end
local function tanh(v) return (math.exp(v) - math.exp(-v)) / (math.exp(v) + math.exp(-v)) end
local function tf_cell(x, h, c, K, b, forget_bias)
   local n = #h
   local xh = {}
   for k = 1, #x do xh[k] = x[k] end
   for k = 1, n do xh[#x + k] = h[k] end
   local z = {}
   for col = 1, 4 * n do
      local s = b[col]
      for r = 1, #xh do s = s + xh[r] * K[r][col] end
      z[col] = s
   end
   local h2, c2 = {}, {}
   for k = 1, n do
      local i, j, f, o = z[k], z[n + k], z[2 * n + k], z[3 * n + k]
      c2[k] = sig(f + forget_bias) * c[k] + sig(i) * tanh(j)
      h2[k] = sig(o) * tanh(c2[k])
   end
   return h2, c2
end

-- the naive char-RNN on batch x [B][T]: per-sequence mean CE; `scale[k]` is
-- what the k-th dropout call multiplies by (calls: in1, out1, in2, out2)
local function naive_losses(m, x, y, state, scale)
   local emb, sw, sb = m.embedding:totable(), m.softmax_w:totable(), m.softmax_b:totable()
   local Ks, bs = {}, {}
   for l = 1, 2 do
      local K, b = CR.tf_kernel(m.layers[l])
      Ks[l], bs[l] = K:totable(), b:totable()
   end
   local B, T, H, V = #x, #x[1], m.hidden, m.vocab_size
   local losses = {}
   for bi = 1, B do
      local st = state[bi]
      local total = 0
      for t = 1, T do
         local v = {}
         for k = 1, H do v[k] = emb[x[bi][t] + 1][k] end
         for l = 1, 2 do
            for k = 1, H do v[k] = v[k] * scale[2 * l - 1] end
            st[l].h, st[l].c = tf_cell(v, st[l].h, st[l].c, Ks[l], bs[l], 1.0)
            v = {}
            for k = 1, H do v[k] = st[l].h[k] * scale[2 * l] end
         end
         local logits, mx = {}, -math.huge
         for c = 1, V do
            local s = sb[c]
            for k = 1, H do s = s + sw[c][k] * v[k] end
            logits[c] = s
            mx = math.max(mx, s)
         end
         local z = 0
         for c = 1, V do z = z + math.exp(logits[c] - mx) end
         total = total + (math.log(z) + mx - logits[y[bi][t] + 1])
      end
      losses[bi] = total / T
   end
   return losses
end

local function zero_state(B, H)
   local st = {}
   for b = 1, B do
      st[b] = {}
      for l = 1, 2 do
         st[b][l] = { h = {}, c = {} }
         for k = 1, H do st[b][l].h[k], st[b][l].c[k] = 0, 0 end
      end
   end
   return st
end

local function ids(B, T, V, salt)
   local t = dob.empty({ B, T }, "int64")
   for b = 1, B do for s = 1, T do t:set((b * 7 + s * 3 + salt) % V, b, s) end end
   return t
end

describe("tolstoi_char_rnn", function()
   it("has 284,499 parameters with DeepOBS's shapes and TF1 initialisers", function()
      dob.manual_seed(42)
      local m = P.build {}
      local ps = dob.nn.ParamSet(m)
      assert.are.equal(284499, ps.n)
      assert.are.same({ 83, 128 }, m.embedding:size())
      local K, b = CR.tf_kernel(m.lstm1)
      assert.are.same({ 256, 512 }, K:size())
      assert.are.equal(0, b:abs():max():item())
      local a = math.sqrt(6 / 768)
      for _, w in ipairs { m.lstm1.w_ih, m.lstm1.w_hh, m.lstm2.w_ih, m.lstm2.w_hh } do
         local mx = w:abs():max():item()
         assert.is_true(mx <= a and mx > 0.99 * a, mx)
      end
      -- the softmax bias is random: U(+-sqrt(6/166))
      local ab = math.sqrt(6 / 166)
      local mb = m.softmax_b:abs():max():item()
      assert.is_true(mb <= ab and mb > 0.8 * ab, mb)
      assert.is_true(m.embedding:abs():max():item() <= math.sqrt(6 / 211))
      assert.are.same({ "tolstoi", 50, 200 }, { P.dataset, P.batch_size, P.num_epochs })
      assert.is_true(P.has_accuracy)
   end)

   it("matches a naive TF1 LSTMCell (gates i, j, f, o; forget bias 1.0) with dropout on each layer's input and output", function()
      dob.manual_seed(5)
      local m = CR.build_model { vocab_size = 5, hidden = 3 }
      -- non-zero biases so that the gate order of the bias is checked too
      dob.no_grad(function()
         for _, cell in ipairs(m.layers) do cell.bias:uniform_(-0.5, 0.5) end
      end)
      local calls = {}
      local scale = { 1.25, 0.5, 2.0, 0.75 }
      m.dropout = function(v, p, training)
         calls[#calls + 1] = { p = p, training = training, size = v:size() }
         if not training then return v end
         return v * scale[#calls]
      end
      local B, T = 2, 3
      local x1, y1, x2, y2 = ids(B, T, 5, 0), ids(B, T, 5, 1), ids(B, T, 5, 2), ids(B, T, 5, 4)
      local st = zero_state(B, 3)
      CR.reset_state(m)
      local got = CR.forward(m, { x = x1, y = y1 }, "train"):totable()
      assert.are.equal(4, #calls)
      for k = 1, 4 do
         assert.is_true(close(calls[k].p, 0.2, 1e-12))
         assert.is_true(calls[k].training)
         assert.are.same({ T, B, 3 }, calls[k].size)
      end
      local want = naive_losses(m, x1:totable(), y1:totable(), st, scale)
      for b = 1, B do assert.is_true(close(got[b], want[b], 1e-5), ("%g vs %g"):format(got[b], want[b])) end
      -- second batch continues from the first batch's final state (st holds it now)
      calls = {}
      got = CR.forward(m, { x = x2, y = y2 }, "train"):totable()
      want = naive_losses(m, x2:totable(), y2:totable(), st, scale)
      for b = 1, B do assert.is_true(close(got[b], want[b], 1e-5), ("%g vs %g"):format(got[b], want[b])) end
      -- evaluation: the dropouts are called with training = false
      calls = {}
      CR.reset_state(m)
      got = CR.forward(m, { x = x1, y = y1 }, "test"):totable()
      for k = 1, 4 do assert.is_false(calls[k].training) end
      want = naive_losses(m, x1:totable(), y1:totable(), zero_state(B, 3), { 1, 1, 1, 1 })
      for b = 1, B do assert.is_true(close(got[b], want[b], 1e-5)) end
      -- the real dropout is active in training only
      m.dropout = dob.dropout
      CR.reset_state(m)
      local a = CR.forward(m, { x = x1, y = y1 }, "train"):totable()
      CR.reset_state(m)
      assert.is_true(math.abs(a[1] - got[1]) > 1e-6 or math.abs(a[2] - got[2]) > 1e-6)
   end)

   it("carries the state from batch to batch and resets it at a phase start", function()
      dob.manual_seed(7)
      local m = P.build {}
      local x1, x2 = ids(2, 50, 83, 0), ids(2, 50, 83, 11)
      local function loss(x) return CR.forward(m, { x = x, y = x }, "test"):totable() end
      P.start_phase(m, "test")
      local first = loss(x1)
      local carried = loss(x2)
      P.start_phase(m, "test")
      local fresh = loss(x2)
      assert.is_true(math.abs(carried[1] - fresh[1]) > 1e-5, "the carried state changes the output")
      P.start_phase(m, "train_eval")
      local again = loss(x1)
      assert.are.same(first, again)
      -- the same batch table again (an optimizer's second closure call) restarts from the batch's initial state
      local b = { x = x2, y = x2 }
      local r1 = CR.forward(m, b, "test"):totable()
      local r2 = CR.forward(m, b, "test"):totable()
      assert.are.same(r1, r2)
      assert.are.same(carried, r1)
      -- the state has no gradient history and a batch-size change mid-phase is an error
      assert.is_false(m.state[1]:requires_grad())
      local e = err_of(CR.forward, m, { x = ids(3, 50, 83, 0), y = ids(3, 50, 83, 0) }, "test")
      assert.truthy(e:find("batch size 2"), e)
   end)

   it("one training step lowers the loss and one evaluation step runs; per-sequence losses and accuracy", function()
      dob.manual_seed(42)
      local m = P.build {}
      local ps = dob.nn.ParamSet(m)
      local x = ids(2, 50, 83, 3)
      local y = ids(2, 50, 83, 4)
      P.start_phase(m, "train")
      ps:zero_grad()
      local losses, reg, acc = P.forward(m, { x = x, y = y }, "train")
      assert.are.same({ 2 }, losses:size())
      assert.is_nil(reg)
      assert.is_true(acc >= 0 and acc <= 1)
      -- near log(83) at initialisation
      assert.is_true(math.abs(losses:mean():item() - math.log(83)) < 0.5)
      losses:mean():backward()
      for _, q in ipairs(ps.params) do
         assert.is_true(q.grad:abs():sum():item() > 0, "zero gradient for " .. q.name)
      end
      P.start_phase(m, "test")
      local l0 = dob.no_grad(P.forward, m, { x = x, y = y }, "test"):mean():item()
      dob.no_grad(function() ps.flat:add_(ps.grad_flat, -0.5) end)
      P.start_phase(m, "test")
      local l1 = dob.no_grad(P.forward, m, { x = x, y = y }, "test"):mean():item()
      assert.is_true(l1 < l0, ("%g -> %g"):format(l0, l1))
   end)

   it("runs through the runner on prepared files; every phase starts from a zero state", function()
      local dir = TMP .. "/run/tolstoi"
      os.execute("rm -rf '" .. TMP .. "'; mkdir -p " .. dir)
      local chars = {}
      for c = 33, 33 + 82 do chars[#chars + 1] = string.char(c) end
      local s = table.concat(chars)
      write(dir .. "/input.txt", s .. s:reverse() .. s .. s .. s:reverse() .. s .. s:sub(1, 40))   -- 538 characters
      tolstoi.prepare(dir)
      local phases = {}
      local wrapped = setmetatable({
         start_phase = function(model, phase)
            phases[#phases + 1] = phase
            P.start_phase(model, phase)
            assert.is_nil(model.state)
         end,
      }, { __index = P })
      local res = runner.run { problem = wrapped, optimizer = "sgd", lr = 0.1, batch_size = 2, num_epochs = 1,
         data_dir = TMP .. "/run", no_logs = true, quiet = true, train_log_interval = 1 }
      assert.are.same({ "train_eval", "test", "train", "train_eval", "test" }, phases)
      assert.are.equal(2, #res.test_losses)
      assert.are.equal(4, #res.minibatch_train_losses)   -- ceil(0.8 * 538) = 431 ids: 4 batches of 2 x 50
      for _, v in ipairs(res.train_losses) do assert.is_true(v > 0 and v < 10) end
      -- same seed, same thread count: the same numbers (dropout masks included)
      local again = runner.run { problem = "tolstoi_char_rnn", optimizer = "sgd", lr = 0.1, batch_size = 2,
         num_epochs = 1, data_dir = TMP .. "/run", no_logs = true, quiet = true, train_log_interval = 1 }
      assert.are.same(res.minibatch_train_losses, again.minibatch_train_losses)
      assert.are.same(res.test_losses, again.test_losses)
      assert.are.same(res.train_accuracies, again.train_accuracies)
      os.execute("rm -rf '" .. TMP .. "'")
   end)
end)

---------------------------------------------------------------------------------------
-- the download scripts (with a stand-in for the network)

describe("scripts/prepare_data.d", function()
   setup(function() os.execute("rm -rf '" .. TMP .. "'; mkdir -p '" .. TMP .. "'") end)
   teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)

   -- runs prepare_NAME with fetch() copying from TMP/net and HERE = TMP/bin
   local function prepare(name)
      local cmd = ("cd %s && DATA_DIR=data HERE=bin sh -c '. %s/scripts/prepare_data.d/%s.sh; "
         .. "fetch() { cp \"net/$(basename \"$1\")\" \"$2\"; }; prepare_%s' >/dev/null 2>&1"):format(TMP,
         os.getenv("PWD"), name, name)
      local ok = os.execute(cmd)
      return ok == 0 or ok == true
   end

   it("tolstoi.sh deletes lines 1-29, then 5-775, then 63850-64207, as DeepOBS 1.1 did, then runs the preparation", function()
      os.execute(("mkdir -p %s/net %s/bin"):format(TMP, TMP))
      local lines = {}
      for i = 1, 65000 do lines[i] = tostring(i) end
      write(TMP .. "/net/war-and-peace.txt", table.concat(lines, "\n") .. "\n")
      -- a stand-in for tolstoi_prepare.lua that records it ran on the folder
      write(TMP .. "/bin/tolstoi_prepare.lua", "io.open(arg[1] .. '/ran', 'w'):close()")
      assert.is_true(prepare("tolstoi"))
      local want = {}
      for i = 1, 65000 do want[i] = tostring(i) end
      local function delete(a, b)
         local out = {}
         for i, l in ipairs(want) do if i < a or i > b then out[#out + 1] = l end end
         want = out
      end
      delete(1, 29); delete(5, 775); delete(63850, 64207)
      assert.are.equal(table.concat(want, "\n") .. "\n", read(TMP .. "/data/tolstoi/input.txt"))
      assert.truthy(io.open(TMP .. "/data/tolstoi/ran"))
   end)

   it("ptb.sh fetches the two text files into penn_treebank/ and fails clearly without them", function()
      os.execute(("mkdir -p %s/net"):format(TMP))
      write(TMP .. "/net/ptb.train.txt", " the cat\n")
      assert.is_false(prepare("ptb"))
      write(TMP .. "/net/ptb.test.txt", " a dog\n")
      assert.is_true(prepare("ptb"))
      assert.are.equal(" the cat\n", read(TMP .. "/data/penn_treebank/ptb.train.txt"))
      assert.are.equal(" a dog\n", read(TMP .. "/data/penn_treebank/ptb.test.txt"))
   end)
end)

---------------------------------------------------------------------------------------
-- Penn Treebank and the fork's problems

local ptb = require "datasets.ptb"

-- a small PTB folder: train and test texts of n and m characters
local function ptb_files(dir, n, m)
   os.execute("mkdir -p " .. dir .. "/penn_treebank")
   local words = { " the", " cat", " sat", " on", " <unk>", " N", " mat", "\n", " $", " 's" }
   local function make(len, salt)
      local s, i = {}, salt
      local total = 0
      while total < len do
         local w = words[(i * 7) % #words + 1]
         s[#s + 1] = w
         total = total + #w
         i = i + 1
      end
      return table.concat(s):sub(1, len)
   end
   local train, test = make(n, 0), make(m, 3) .. "Z"   -- Z only in the test text
   write(dir .. "/penn_treebank/ptb.train.txt", train)
   write(dir .. "/penn_treebank/ptb.test.txt", test)
   return train, test
end

describe("Penn Treebank characters", function()
   setup(function() os.execute("rm -rf '" .. TMP .. "'; mkdir -p '" .. TMP .. "'") end)
   teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)

   it("vocabulary = sorted characters of train + test; contiguous streams; train_eval covers the training batches", function()
      local train, test = ptb_files(TMP .. "/d", 1000, 400)
      local ds = ptb.load { data_dir = TMP .. "/d", batch_size = 3, seq_length = 50 }
      local chars = {}
      for i, c in ipairs(ds.vocab) do chars[i] = string.char(c) end
      assert.are.equal("\n $'<>NZacehkmnostu", table.concat(chars))
      assert.are.equal(19, ds.vocab_size)
      assert.are.equal(math.floor(999 / 150), ds.train.num_batches)
      assert.are.equal(ds.train.num_batches, ds.train_eval.num_batches)
      assert.are.equal(math.floor(400 / 150), ds.test.num_batches)
      -- batch 2, row 2 continues row 2 of batch 1 in the training text
      local it = ds.train:batches()
      local b1, b2 = it(), it()
      local nb = ds.train.num_batches
      local function decode(row)
         local s = {}
         for t, id in ipairs(row) do s[t] = chars[id + 1] end
         return table.concat(s)
      end
      assert.are.equal(train:sub(nb * 50 + 1, nb * 50 + 50), decode(b1.x:totable()[2]))
      assert.are.equal(train:sub(nb * 50 + 51, nb * 50 + 100), decode(b2.x:totable()[2]))
      assert.are.equal(train:sub(nb * 50 + 52, nb * 50 + 101), decode(b2.y:totable()[2]))
      local e = err_of(ptb.load, { data_dir = TMP .. "/none" })
      assert.truthy(e:find("scripts/prepare_data.sh ptb", 1, true), e)
      write(TMP .. "/d/penn_treebank/ptb.test.txt", "abc\255")
      e = err_of(ptb.load, { data_dir = TMP .. "/d" })
      assert.truthy(e:find("ptb.test.txt: not valid UTF-8", 1, true), e)
      write(TMP .. "/d/penn_treebank/ptb.test.txt", "abc")
      e = err_of(ptb.load, { data_dir = TMP .. "/d", batch_size = 3 })
      assert.truthy(e:find("ptb.test.txt: the test split (3 characters) is too short", 1, true), e)
   end)
end)

describe("ptb_lstm", function()
   local PL = problems.get("ptb_lstm")
   it("has 257 V + 264,192 parameters, PyTorch's initialisers and the fork's dropout placement", function()
      dob.manual_seed(1)
      assert.are.equal(257 * 50 + 264192, dob.nn.ParamSet(PL.build {}).n)
      local m = PL.build { vocab_size = 19 }
      assert.are.equal(257 * 19 + 264192, dob.nn.ParamSet(m).n)
      local k = 1 / math.sqrt(128)
      for _, t in ipairs { m.lstm1.w_ih, m.lstm2.w_hh, m.lstm1.b_ih, m.lstm2.b_hh, m.fc_w, m.fc_b } do
         local mx = t:abs():max():item()
         assert.is_true(mx <= k and mx > 0.9 * k, mx)
      end
      local std = m.embedding:std():item()
      assert.is_true(math.abs(std - 1) < 0.05, std)
      -- dropout: on the embedding, between the layers and after the last one
      local calls = {}
      m.dropout = function(v, p, training)
         calls[#calls + 1] = { p, training, v:size() }
         return v
      end
      PL.forward(m, { x = ids(2, 5, 19, 0), y = ids(2, 5, 19, 1) }, "train")
      assert.are.equal(3, #calls)
      for _, c in ipairs(calls) do
         assert.is_true(close(c[1], 0.2, 1e-12) and c[2])
         assert.are.same({ 5, 2, 128 }, c[3])
      end
   end)

   it("matches a naive PyTorch LSTM (gates i, f, g, o, two biases, no forget bias) and carries its state", function()
      dob.manual_seed(2)
      local M = PL.model
      local m = M.build_model { vocab_size = 7 }
      local x, y = ids(2, 3, 7, 0), ids(2, 3, 7, 5)
      M.reset_state(m)
      local got = PL.forward(m, { x = x, y = y }, "test"):totable()
      local got2 = PL.forward(m, { x = y, y = x }, "test"):totable()
      -- naive: the same cell as TF's with the gate blocks reordered and bias b_ih + b_hh
      local emb, fw, fb = m.embedding:totable(), m.fc_w:totable(), m.fc_b:totable()
      local W = {}
      for l = 1, 2 do
         local c = m.layers[l]
         W[l] = { ih = c.w_ih:totable(), hh = c.w_hh:totable(), b = (c.b_ih + c.b_hh):totable() }
      end
      local H = 128
      local state = {}
      for b = 1, 2 do
         state[b] = {}
         for l = 1, 2 do
            state[b][l] = { h = {}, c = {} }
            for k = 1, H do state[b][l].h[k], state[b][l].c[k] = 0, 0 end
         end
      end
      local function run(xs, ys)
         local out = {}
         for b = 1, 2 do
            local total = 0
            for t = 1, #xs[1] do
               local v = emb[xs[b][t] + 1]
               for l = 1, 2 do
                  local st, w = state[b][l], W[l]
                  local z = {}
                  for r = 1, 4 * H do
                     local s = w.b[r]
                     for k = 1, #v do s = s + w.ih[r][k] * v[k] end
                     for k = 1, H do s = s + w.hh[r][k] * st.h[k] end
                     z[r] = s
                  end
                  local h2, c2 = {}, {}
                  for k = 1, H do
                     c2[k] = sig(z[H + k]) * st.c[k] + sig(z[k]) * tanh(z[2 * H + k])
                     h2[k] = sig(z[3 * H + k]) * tanh(c2[k])
                  end
                  st.h, st.c = h2, c2
                  v = h2
               end
               local logits, mx = {}, -math.huge
               for c = 1, 7 do
                  local s = fb[c]
                  for k = 1, H do s = s + fw[c][k] * v[k] end
                  logits[c] = s
                  mx = math.max(mx, s)
               end
               local zs = 0
               for c = 1, 7 do zs = zs + math.exp(logits[c] - mx) end
               total = total + math.log(zs) + mx - logits[ys[b][t] + 1]
            end
            out[b] = total / #xs[1]
         end
         return out
      end
      local want = run(x:totable(), y:totable())
      local want2 = run(y:totable(), x:totable())
      for b = 1, 2 do
         assert.is_true(close(got[b], want[b], 1e-5), ("%g vs %g"):format(got[b], want[b]))
         assert.is_true(close(got2[b], want2[b], 1e-5), ("%g vs %g"):format(got2[b], want2[b]))
      end
      PL.start_phase(m, "test")
      assert.is_nil(m.state)
   end)
end)

describe("ptb_gpt_micro", function()
   local PG = problems.get("ptb_gpt_micro")
   local G = PG.model
   it("has 1,206,272 + 128 V parameters, N(0, 0.02) weights, zero biases, a tied output layer", function()
      dob.manual_seed(3)
      assert.are.equal(1206272 + 128 * 50, dob.nn.ParamSet(PG.build {}).n)
      local m = PG.build { vocab_size = 19 }
      assert.are.equal(1206272 + 128 * 19, dob.nn.ParamSet(m).n)
      local std = m.block1.fc1.weight:std():item()
      assert.is_true(math.abs(std - 0.02) < 0.001, std)
      assert.are.equal(0, m.block3.qkv.bias:abs():max():item())
      assert.are.equal(1, m.ln_f.weight:min():item())
      assert.are.same({ 128, 128 }, m.pos_emb:size())
      -- tied: the logits are the final features times the token embedding, no separate head
      for _, p in ipairs(m:named_parameters()) do assert.is_nil(p.name:find("head")) end
      local x = ids(1, 4, 19, 0)
      local logits = G.logits(m, x, false)
      local before = logits:totable()[1][5]
      -- (one element: a constant row shift would vanish against the LayerNorm-ed features)
      dob.no_grad(function() m.tok_emb:narrow(1, 5, 1):narrow(2, 1, 1):add_(1) end)
      local after = G.logits(m, x, false):totable()[1][5]
      assert.is_true(math.abs(after - before) > 1e-3)
   end)

   it("is causal: a later character never changes an earlier prediction; dropout only in training", function()
      dob.manual_seed(4)
      local m = PG.build { vocab_size = 11 }
      local x = ids(2, 9, 11, 0)
      local a = G.logits(m, x, false):totable()
      local x2 = x:clone()
      x2:set(10 - x:totable()[1][6] % 10, 1, 6)
      local b = G.logits(m, x2, false):totable()
      for t = 1, 9 do
         local same = true
         for c = 1, 11 do if a[t][c] ~= b[t][c] then same = false end end
         if t < 6 then assert.is_true(same, "position " .. t .. " changed") else if t == 6 then assert.is_false(same) end end
      end
      -- the second sequence is untouched
      for t = 10, 18 do for c = 1, 11 do assert.are.equal(a[t][c], b[t][c]) end end
      local e1 = G.logits(m, x, false):totable()
      assert.are.same(a, e1)
      local t1 = G.logits(m, x, true):totable()
      assert.are_not.same(a, t1)
      assert.truthy(err_of(PG.forward, m, { x = ids(1, 129, 11, 0), y = ids(1, 129, 11, 0) }, "test"):find("at most 128"))
   end)
end)

describe("PTB problems through the runner", function()
   setup(function() os.execute("rm -rf '" .. TMP .. "'; mkdir -p '" .. TMP .. "'") end)
   teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)

   for _, name in ipairs { "ptb_lstm", "ptb_gpt_micro" } do
      it(name .. ": one epoch of training and both evaluations at batch size 2, vocabulary from the data", function()
         ptb_files(TMP .. "/d", 700, 300)
         local P0 = problems.get(name)
         local built
         local wrapped = setmetatable({ build = function(opts)
            built = P0.build(opts)
            return built
         end }, { __index = P0 })
         local res = runner.run { problem = wrapped, optimizer = "adam", lr = 1e-3, batch_size = 2, num_epochs = 1,
            data_dir = TMP .. "/d", no_logs = true, quiet = true, train_log_interval = 1 }
         local L = name == "ptb_lstm" and 50 or 128
         assert.are.equal(math.floor(699 / (2 * L)), #res.minibatch_train_losses)
         assert.are.equal(2, #res.test_losses)
         assert.are.equal(19, built.vocab_size)   -- the data's vocabulary, not the default 50
         for _, v in ipairs(res.minibatch_train_losses) do assert.is_true(v > 0 and v < 10, v) end
         assert.is_true(res.train_losses[2] < res.train_losses[1],
            ("%g -> %g"):format(res.train_losses[1], res.train_losses[2]))
      end)
   end
end)
