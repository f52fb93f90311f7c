-- Fires due timers. Whoever removes (or re-scores) a timer owns it, so any
-- number of routers can fire timers and each fires once.
-- The first `take` due timers become leases of the caller, which processes
-- them at once (no trip through the work stream, so a wake-up does not queue
-- behind the new executions waiting there): each stays in the zset re-scored
-- to the lease's end, and the step's commit removes it (its ack) or, if the
-- caller dies, it fires again for another router. The rest go to the stream.
-- KEYS[1] timers zset  KEYS[2] work stream
-- ARGV: now ms, max count, take, lease until ms
-- A member is "exec|run|version|kind". Returns {queued to the stream, leased member*}.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local take = tonumber(ARGV[3])
local out = {0}
for _, m in ipairs(due) do
  local x, r, v, k = string.match(m, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  if not x then
    redis.call('ZREM', KEYS[1], m)  -- not a timer of ours: drop it rather than fire it forever
  elseif #out - 1 < take then
    redis.call('ZADD', KEYS[1], ARGV[4], m)
    out[#out + 1] = m
  else
    redis.call('ZREM', KEYS[1], m)
    redis.call('XADD', KEYS[2], '*', 'x', x, 'r', r, 'v', v, 'k', k, 'd', '')
    out[1] = out[1] + 1
  end
end
return out
