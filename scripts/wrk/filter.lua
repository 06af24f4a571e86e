-- GET /Users?filter=userName eq "user<random>@bench.example": one hit per request.
dofile(os.getenv("ROSTER_WRK_DIR") .. "/common.lua")
request = function()
  local i = math.random(0, users - 1)
  local path = "/scim/v2/Users?filter=userName%20eq%20%22user" .. i .. "%40bench.example%22"
  return wrk.format("GET", path, { ["Authorization"] = auth })
end
