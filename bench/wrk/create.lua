-- POST a new task for a random user.
local common = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local rows
local body = '{"title":"Bench task","description":"Created under load.","completed":false}'

setup = common.setup

function init(args)
  rows = common.init(args)
end

function request()
  local row = common.pick(rows)
  local headers = { Authorization = row.auth, ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/api/" .. row.user .. "/tasks", headers, body)
end
