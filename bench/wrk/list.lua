-- GET a 20-item page of a random user's tasks; a second argument is added to the query
-- (e.g. `&tag=work`).
local common = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local rows
local extra = ""

setup = common.setup

function init(args)
  rows = common.init(args)
  extra = args[2] or ""
end

function request()
  local row = common.pick(rows)
  return wrk.format("GET", "/api/" .. row.user .. "/tasks?limit=20" .. extra, { Authorization = row.auth })
end
