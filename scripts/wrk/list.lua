-- GET /Users?startIndex=<random>&count=100: pages of 100 anywhere in the listing.
dofile(os.getenv("ROSTER_WRK_DIR") .. "/common.lua")
request = function()
  local start = math.random(1, users - 99)
  local path = "/scim/v2/Users?startIndex=" .. start .. "&count=100"
  return wrk.format("GET", path, { ["Authorization"] = auth })
end
