-- PATCH the title and completion of an existing task of a random user.
local common = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local rows
local bodies = {
  '{"title":"Edited under load","completed":true}',
  '{"title":"Edited under load","completed":false}',
}

setup = common.setup

function init(args)
  rows = common.init(args)
end

function request()
  local row = common.pick(rows)
  local headers = { Authorization = row.auth, ["Content-Type"] = "application/json" }
  local path = "/api/" .. row.user .. "/tasks/" .. row.id
  return wrk.format("PATCH", path, headers, bodies[math.random(2)])
end
