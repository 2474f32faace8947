-- Shared by the operation scripts: the data file is `user<TAB>token<TAB>task id` lines.
local M = {}

function M.load(path)
  local rows = {}
  for line in io.lines(path) do
    local user, token, id = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)$")
    if user then
      rows[#rows + 1] = { user = user, auth = "Bearer " .. token, id = id }
    end
  end
  assert(#rows > 0, "no rows in " .. path)
  return rows
end

-- Each wrk thread gets its own Lua state; seed them differently.
local threads = 0
function M.setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function M.init(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
  return M.load(args[1])
end

function M.pick(rows)
  return rows[math.random(#rows)]
end

return M
