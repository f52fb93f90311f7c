-- Records an EXPRESS execution (it ran in memory and has ended) with its first
-- history event and its index entries, or, when the caller gave an execution
-- name that exists already, reports the existing execution: 'same' when it was
-- started with the same input (idempotent start), 'conflict' otherwise.
-- (A STANDARD execution is created by the commit of its first step: commit.lua 'c'.)
--
-- KEYS[1] execution hash  KEYS[2] history list
-- KEYS[3] all-executions zset  KEYS[4] per-state-machine zset  KEYS[5] name key (execution name -> id)
-- ARGV: id, input, started ms, has-name (0/1), first event, name-key ttl seconds (0 = none),
--       nset, (field, value)*
local id = ARGV[1]
if ARGV[4] == '1' then
  local existing = redis.call('GET', KEYS[5])
  if existing then
    local input = redis.call('HGET', 'sy:x:{' .. existing .. '}', 'input')
    if input == ARGV[2] then
      return {'same', existing}
    end
    return {'conflict', existing}
  end
  local ttl = tonumber(ARGV[6])
  if ttl > 0 then
    redis.call('SET', KEYS[5], id, 'EX', ttl)
  else
    redis.call('SET', KEYS[5], id)
  end
end
local n = tonumber(ARGV[7])
redis.call('HSET', KEYS[1], 'ev', 1, unpack(ARGV, 8, 7 + 2 * n))
redis.call('RPUSH', KEYS[2], ARGV[5])  -- event #1 (ids are positions, see commit.lua)
redis.call('ZADD', KEYS[3], ARGV[3], id)
redis.call('ZADD', KEYS[4], ARGV[3], id)
return {'created', id}
