-- GCRA (the leaky bucket as a meter), the same arithmetic as trust-core's MemoryLimiter.
-- KEYS[1]  the (tenant, route) state key; its value is the theoretical arrival time (TAT) as
--          "<seconds> <nanoseconds>" since the Unix epoch.
-- ARGV[1]  emission interval in ns; ARGV[2] burst; ARGV[3] cost.
-- ARGV[4..6] (replay only) now as seconds, nanoseconds, and extra ms to keep the key.
-- Returns {1, 0} when admitted, {0, retry_after_ns} when refused.
--
-- Lua numbers are doubles: exact for integers below 2^53. Times are kept as (seconds, ns)
-- pairs and only differences (bounded by the tolerance, below 2^50 ns) are taken in ns.
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local increment = interval * tonumber(ARGV[3])
local now_s, now_n, keep
if ARGV[4] then
  now_s = tonumber(ARGV[4])
  now_n = tonumber(ARGV[5])
  keep = tonumber(ARGV[6])
else
  -- The server's clock: the workers' clocks never enter the decision.
  local t = redis.call('TIME')
  now_s = tonumber(t[1])
  now_n = tonumber(t[2]) * 1000
  keep = 0
end
local ahead = 0
local stored = redis.call('GET', KEYS[1])
if stored then
  local sp = string.find(stored, ' ', 1, true)
  if sp then
    local tat_s = tonumber(string.sub(stored, 1, sp - 1))
    local tat_n = tonumber(string.sub(stored, sp + 1))
    if tat_s and tat_n then
      ahead = (tat_s - now_s) * 1000000000 + (tat_n - now_n)
    end
  end
  if ahead < 0 then
    ahead = 0
  end
end
local new_ahead = ahead + increment
if new_ahead > tolerance then
  return {0, new_ahead - tolerance}
end
local total = now_n + new_ahead
local carry = math.floor(total / 1000000000)
local value = string.format('%d %d', now_s + carry, total - carry * 1000000000)
-- Expire the key when its budget is full again: forgetting it then loses nothing.
redis.call('SET', KEYS[1], value, 'PX', math.floor(new_ahead / 1000000) + 1 + keep)
return {1, 0}
