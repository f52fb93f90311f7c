-- Ends a running execution from outside (stop -> ABORTED). Every run of the
-- execution, including Parallel/Map children, stops with it: their commits
-- fail the status guard in commit.lua.
-- KEYS[1] execution hash  KEYS[2] history list  KEYS[3] timers zset
-- ARGV: status, error, cause, stopped ms, event, publish channel, expire seconds
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return 'missing'
end
if status ~= 'RUNNING' then
  return status
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'error', ARGV[2], 'cause', ARGV[3], 'stoppedAt', ARGV[4])
redis.call('RPUSH', KEYS[2], ARGV[5])  -- ids are positions (see commit.lua)
redis.call('HINCRBY', KEYS[1], 'ev', 1)
local expire = tonumber(ARGV[7])
if expire > 0 then
  redis.call('EXPIRE', KEYS[1], expire)
  redis.call('EXPIRE', KEYS[2], expire)
  -- The execution's name key (commit.lua's create; a key outside KEYS) expires with the record.
  local sm, nm = unpack(redis.call('HMGET', KEYS[1], 'stateMachine', 'name'))
  if sm and nm then
    redis.call('EXPIRE', 'sy:xn:' .. sm .. ':' .. nm, expire)
  end
end
local id = redis.call('HGET', KEYS[1], 'id') or ''
redis.call('ZREM', KEYS[3], id .. '|0|*|timeout')
redis.call('PUBLISH', ARGV[6], id)
return 'ok'
