-- POST one JSON body per request, cycling through the lines of BODIES (env), so every
-- request scores a different real customer. Same script for both servers.
local path = os.getenv("BODIES")
local token = os.getenv("TOKEN")
local bodies = {}
for line in io.lines(path) do
  bodies[#bodies + 1] = line
end
local counter = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])
end
