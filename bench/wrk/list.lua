-- GET a 20-item page of a random user's tasks.
local common = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local rows

setup = common.setup

function init(args)
  rows = common.init(args)
end

function request()
  local row = common.pick(rows)
  return wrk.format("GET", "/api/" .. row.user .. "/tasks?limit=20", { Authorization = row.auth })
end
