--- Reading REPL lines: GNU readline through the FFI when the input is a terminal and
-- libreadline can be loaded (line editing, history kept in a file, tab completion),
-- plain lines from stdin otherwise. Never fails for lack of readline.
--
--    local rl = require "deepobs.repl.readline"
--    local input = rl.open { history_file = os.getenv("HOME") .. "/.deepobs_history",
--                            complete = function(word) return { "dob.randn", "dob.rand" } end }
--    local line = input:read("> ")    -- nil at end of input (Ctrl-D)
--    input:close()                    -- saves the history
local ffi = require "ffi"

local M = {}

M.HISTORY_LINES = 1000

ffi.cdef [[
char *readline(const char *prompt);
void add_history(const char *line);
int read_history(const char *filename);
int write_history(const char *filename);
int history_truncate_file(const char *filename, int nlines);
typedef char *dob_rl_generator(const char *text, int state);
typedef char **dob_rl_completion(const char *text, int start, int end);
char **rl_completion_matches(const char *text, dob_rl_generator *generator);
extern dob_rl_completion *rl_attempted_completion_function;
extern const char *rl_basic_word_break_characters;
extern const char *rl_completer_word_break_characters;
extern int rl_attempted_completion_over;
extern const char *rl_readline_name;
extern int rl_completion_append_character;
int isatty(int fd);
void free(void *p);
char *strdup(const char *s);
]]

-- Completion splits words at these characters only, so that `x:ad` and `dob.nn.Li`
-- reach the completer whole (readline's default also breaks at '.' and ':').
local WORD_BREAKS = " \t\n\"'`@$><=;|&{(),+-*/%^#~["

local function load_readline()
   local ok, lib = pcall(ffi.load, "readline")
   if not ok then ok, lib = pcall(ffi.load, "libreadline.so.8") end
   if ok then return lib end
   return nil
end

-- Plain lines: a pipe, a file, or a terminal without libreadline.
local Plain = {}
Plain.__index = Plain

function Plain:read(prompt)
   io.stdout:write(prompt)
   io.stdout:flush()
   return io.stdin:read("*l")
end

function Plain:add_history() end
function Plain:close() end

local Readline = {}
Readline.__index = Readline

function Readline:read(prompt)
   local p = self.lib.readline(prompt)
   if p == nil then return nil end
   local line = ffi.string(p)
   ffi.C.free(p)
   return line
end

--- Remembers a line for arrow-up and the history file (blank lines and repeats are not kept).
function Readline:add_history(line)
   if line:match("^%s*$") or line == self.last then return end
   self.last = line
   self.lib.add_history(line)
end

function Readline:close()
   if self.closed then return end
   self.closed = true
   if self.history_file then
      -- a history file that cannot be written (read-only home) costs the history, not the session
      if self.lib.write_history(self.history_file) == 0 then
         self.lib.history_truncate_file(self.history_file, M.HISTORY_LINES)
      end
   end
   for _, cb in ipairs(self.callbacks) do cb:free() end
   self.callbacks = {}
   self.lib.rl_attempted_completion_function = nil
end

-- Installs complete(word) -> list of strings as readline's completer.
local function install_completer(self, complete)
   local lib = self.lib
   local matches = {}
   local next_match = 1
   -- readline asks for matches one by one, state 0 for the first
   local generator = ffi.cast("dob_rl_generator *", function(_, state)
      next_match = state == 0 and 1 or next_match + 1
      local m = matches[next_match]
      if m == nil then return nil end
      return ffi.C.strdup(m)   -- readline frees it
   end)
   local attempted = ffi.cast("dob_rl_completion *", function(text, _, _)
      lib.rl_attempted_completion_over = 1   -- no file-name completion as a fallback
      lib.rl_completion_append_character = 0   -- `x:add_` then `(`, not `x:add_ (`
      local ok, list = pcall(complete, ffi.string(text))
      matches = ok and type(list) == "table" and list or {}
      if #matches == 0 then return nil end
      return lib.rl_completion_matches(text, generator)
   end)
   self.callbacks = { generator, attempted }
   lib.rl_attempted_completion_function = attempted
   lib.rl_basic_word_break_characters = self.word_breaks
   lib.rl_completer_word_break_characters = self.word_breaks
end

--- Whether stdin and stdout are both terminals (a person typing).
function M.interactive() return ffi.C.isatty(0) == 1 and ffi.C.isatty(1) == 1 end

--- Opens the input: opts.history_file (read now, written by close), opts.complete(word)
-- -> candidates, opts.plain = true to skip readline. Readline is used only when both
-- stdin and stdout are terminals.
function M.open(opts)
   opts = opts or {}
   local lib = not opts.plain and M.interactive() and load_readline()
   if not lib then return setmetatable({ kind = "plain" }, Plain) end
   local self = setmetatable({ kind = "readline", lib = lib, history_file = opts.history_file, callbacks = {},
      word_breaks = ffi.C.strdup(WORD_BREAKS) }, Readline)
   lib.rl_readline_name = ffi.C.strdup("deepobs")   -- for `$if deepobs` in ~/.inputrc (kept for the session)
   if self.history_file then lib.read_history(self.history_file) end
   if opts.complete then install_completer(self, opts.complete) end
   return self
end

return M
