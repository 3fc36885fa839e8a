-- wrk script: POST /tickets one snapshot per request, every request a new ticket or a status change.
-- BENCH_API_KEY in the environment is sent as the bearer key; BENCH_PATH names another endpoint.
local threads = 0
local priorities = {"low", "high"}
local tiers = {"silver", "gold"}
local statuses = {"open", "in_progress", "pending", "resolved"}
local headers = {["Content-Type"] = "application/json"}
local key = os.getenv("BENCH_API_KEY")
local path = os.getenv("BENCH_PATH") or "/tickets"
if key and key ~= "" then
  headers["Authorization"] = "Bearer " .. key
end

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  counter = 0
  start = os.time()
end

function request()
  counter = counter + 1
  local ticket = math.floor(counter / 3)
  local step = counter % 3
  local created = os.date("!%Y-%m-%dT%H:%M:%SZ", start - 3600 + ticket % 3600)
  local updated = os.date("!%Y-%m-%dT%H:%M:%SZ", start - 3600 + ticket % 3600 + step * 60)
  local body = string.format(
    '{"id":"W%d-%d","priority":"%s","customer_tier":"%s","created_at":"%s","updated_at":"%s","status":"%s"}',
    tid, ticket, priorities[ticket % 2 + 1], tiers[math.floor(ticket / 2) % 2 + 1], created, updated,
    statuses[step + 1])
  return wrk.format("POST", path, headers, body)
end
