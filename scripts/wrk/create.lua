-- POST /Users with a userName no other request uses (per-thread prefix + counter). Each wrk
-- thread has its own Lua state seeded alike, so the thread number is part of the prefix.
dofile(os.getenv("ROSTER_WRK_DIR") .. "/common.lua")
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
counter = 0
request = function()
  counter = counter + 1
  local name = string.format("new-%x-%d-%d@bench.example", os.time(), thread_id or 0, counter)
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],'
    .. '"userName":"' .. name .. '","name":{"givenName":"New","familyName":"Hire"},'
    .. '"emails":[{"value":"' .. name .. '","type":"work","primary":true}],"active":true}'
  return wrk.format("POST", "/scim/v2/Users",
    { ["Authorization"] = auth, ["Content-Type"] = "application/scim+json" }, body)
end
