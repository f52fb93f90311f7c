-- Completes, fails or heartbeats a waiting callback step by its token.
-- A token is "<execution>_<run>_<secret>"; the run's active secret is in
-- tk:<run>. The step may not be parked yet (the agent answered before the
-- hand-off call returned): then the outcome waits in tr:<run> and the park
-- commit picks it up (commit.lua). A token completes once: used tokens are
-- remembered as tu:<secret> = 'used' (409) or 'expired' (410, its step ended
-- by timeout or failure).
-- KEYS[1] execution hash  KEYS[2] work stream  KEYS[3] timers zset
-- ARGV: run, secret, kind (success|failure|heartbeat), data (JSON text), now ms
-- Returns 'ok', 'unknown', 'used', 'expired' or 'finished'.
local h = KEYS[1]
local run, secret, kind = ARGV[1], ARGV[2], ARGV[3]
local status = redis.call('HGET', h, 'status')
if not status then
  return 'unknown'
end
local used = redis.call('HGET', h, 'tu:' .. secret)
if used then
  return used
end
if status ~= 'RUNNING' then
  return 'finished'
end
if redis.call('HGET', h, 'tk:' .. run) ~= secret then
  return 'unknown'
end
local parked = redis.call('HGET', h, 'tw:' .. run)
local xid = redis.call('HGET', h, 'id')
if kind == 'heartbeat' then
  local hb = redis.call('HGET', h, 'th:' .. run)
  if parked and hb then
    redis.call('ZADD', KEYS[3], tonumber(ARGV[5]) + tonumber(hb), xid .. '|' .. run .. '|' .. parked .. '|hb')
  end
  return 'ok'
end
redis.call('HDEL', h, 'tk:' .. run)
redis.call('HSET', h, 'tu:' .. secret, 'used')
if parked then
  redis.call('ZREM', KEYS[3], xid .. '|' .. run .. '|' .. parked .. '|hb', xid .. '|' .. run .. '|' .. parked .. '|ttimeout')
  redis.call('XADD', KEYS[2], '*', 'x', xid, 'r', run, 'v', parked, 'k', 'result', 'd', ARGV[4])
else
  redis.call('HSET', h, 'tr:' .. run, ARGV[4])
end
return 'ok'
