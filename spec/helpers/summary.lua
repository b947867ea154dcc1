-- Busted output handler: failures in full, then the closing line
-- "N passed, N failed, N skipped" that CI reads.
return function(options)
   local busted = require "busted"
   local handler = require "busted.outputHandlers.base"()
   local quiet = os.getenv("DEEPOBS_SPEC_QUIET")

   busted.subscribe({ "test", "end" }, function(element, parent, status)
      if not quiet then
         local mark = ({ success = ".", failure = "F", error = "E", pending = "s" })[status] or "?"
         io.write(mark)
         io.flush()
      end
      return nil, true
   end)

   busted.subscribe({ "suite", "end" }, function()
      io.write("\n")
      local function show(kind, list)
         for _, f in ipairs(list) do
            local where = f.trace and f.trace.short_src and (f.trace.short_src .. ":" .. tostring(f.trace.currentline)) or ""
            io.write(kind, " ", f.name or "?", "  ", where, "\n  ", tostring(f.message), "\n")
         end
      end
      show("FAIL", handler.failures)
      show("ERROR", handler.errors)
      io.write(("%d passed, %d failed, %d skipped\n"):format(handler.successesCount,
         handler.failuresCount + handler.errorsCount, handler.pendingsCount))
      io.flush()
      return nil, true
   end)

   return handler
end
