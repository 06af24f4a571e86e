-- POST /Users with a userName no other request uses (per-thread prefix + counter).
dofile(os.getenv("ROSTER_WRK_DIR") .. "/common.lua")
prefix = string.format("%x%x", os.time(), math.random(0, 0xffffff))
counter = 0
request = function()
  counter = counter + 1
  local name = "new-" .. prefix .. "-" .. counter .. "@bench.example"
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],'
    .. '"userName":"' .. name .. '","name":{"givenName":"New","familyName":"Hire"},'
    .. '"emails":[{"value":"' .. name .. '","type":"work","primary":true}],"active":true}'
  return wrk.format("POST", "/scim/v2/Users",
    { ["Authorization"] = auth, ["Content-Type"] = "application/scim+json" }, body)
end
