-- Shared by the SCIM benchmark scenarios: the bearer token and the number of seeded users
-- come from the environment (wrk's Lua has os.getenv).
token = os.getenv("ROSTER_SCIM_TOKEN")
users = tonumber(os.getenv("ROSTER_BENCH_USERS") or "100000")
auth = "Bearer " .. token
math.randomseed(os.time())
