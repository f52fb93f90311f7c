-- Creates an execution with its first history event and first work item, or,
-- when the caller gave an execution name that exists already, reports the
-- existing execution: 'same' when it was started with the same input
-- (idempotent start), 'conflict' otherwise.
--
-- KEYS[1] execution hash  KEYS[2] history list  KEYS[3] work stream
-- KEYS[4] all-executions zset  KEYS[5] per-state-machine zset
-- KEYS[6] name key (execution name -> id)  KEYS[7] timers zset
-- ARGV: id, input, started ms, has-name (0/1), first event, run, kind,
--       timeout score ("" = none), timeout member, name-key ttl seconds (0 = until the end),
--       nset, (field, value)*, lease due ms ("" = none)
-- With a lease, the first work item is not added to the stream: the starting
-- router runs it at once and holds it as the timer "<id>|<run>|0|<kind>" due
-- at the lease's end, which puts it in the stream only if that router fails.
local id = ARGV[1]
if ARGV[4] == '1' then
  local existing = redis.call('GET', KEYS[6])
  if existing then
    local input = redis.call('HGET', 'sy:x:{' .. existing .. '}', 'input')
    if input == ARGV[2] then
      return {'same', existing}
    end
    return {'conflict', existing}
  end
  -- ttl 0: the name lives as long as the execution; the commit (or stop) that ends it gives
  -- the name the record's retention, so the two expire together and never apart.
  local ttl = tonumber(ARGV[10])
  if ttl > 0 then
    redis.call('SET', KEYS[6], id, 'EX', ttl)
  else
    redis.call('SET', KEYS[6], id)
  end
end
local args = {}
local n = tonumber(ARGV[11])
local i = 12
for _ = 1, n do
  args[#args + 1] = ARGV[i]
  args[#args + 1] = ARGV[i + 1]
  i = i + 2
end
redis.call('HSET', KEYS[1], 'ev', 1, unpack(args))
redis.call('RPUSH', KEYS[2], ARGV[5])  -- event #1 (ids are positions, see commit.lua)
redis.call('ZADD', KEYS[4], ARGV[3], id)
redis.call('ZADD', KEYS[5], ARGV[3], id)
local lease = ARGV[i]
if ARGV[7] ~= '' then
  if lease and lease ~= '' then
    redis.call('ZADD', KEYS[7], lease, id .. '|' .. ARGV[6] .. '|0|' .. ARGV[7])
  else
    redis.call('XADD', KEYS[3], '*', 'x', id, 'r', ARGV[6], 'v', '0', 'k', ARGV[7], 'd', '')
  end
end
if ARGV[8] ~= '' then
  redis.call('ZADD', KEYS[7], ARGV[8], ARGV[9])
end
return {'created', id}
