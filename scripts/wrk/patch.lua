-- PATCH /Users/<random seeded id>: replace title (Okta and Entra's most common update).
dofile(os.getenv("ROSTER_WRK_DIR") .. "/common.lua")
ids = {}
for line in io.lines(os.getenv("ROSTER_BENCH_IDS")) do ids[#ids + 1] = line end
counter = 0
request = function()
  counter = counter + 1
  local id = ids[math.random(1, #ids)]
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
    .. '"Operations":[{"op":"replace","path":"title","value":"Title ' .. counter .. '"}]}'
  return wrk.format("PATCH", "/scim/v2/Users/" .. id,
    { ["Authorization"] = auth, ["Content-Type"] = "application/scim+json" }, body)
end
