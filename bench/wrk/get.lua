-- GET one existing task of a random user.
local common = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local rows

setup = common.setup

function init(args)
  rows = common.init(args)
end

function request()
  local row = common.pick(rows)
  local path = "/api/" .. row.user .. "/tasks/" .. row.id
  return wrk.format("GET", path, { Authorization = row.auth })
end
