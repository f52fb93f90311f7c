-- Moves due timers to the work stream. Whoever removes a timer enqueues it,
-- so any number of routers can fire timers and each fires once.
-- KEYS[1] timers zset  KEYS[2] work stream
-- ARGV: now ms, max count
-- A member is "exec|run|version|kind".
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  local x, r, v, k = string.match(m, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  if x then
    redis.call('XADD', KEYS[2], '*', 'x', x, 'r', r, 'v', v, 'k', k, 'd', '')
  end
end
return #due
