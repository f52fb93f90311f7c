-- Takes due timers as leases of the calling router, which processes them at
-- once: each stays in the zset, re-scored to the lease's end, and the step's
-- commit removes it (its ack); if the router dies, it falls due again for
-- another router. Whoever re-scores a timer owns it, so any number of routers
-- can take timers and each fires once. A router takes only as many as it has
-- room for, so due timers wait here (not in the work stream behind new
-- executions) until some router can run them.
-- KEYS[1] timers zset
-- ARGV: now ms, max count, lease until ms
-- A member is "exec|run|version|kind". Returns the leased members, each
-- followed by the time it fell due (its score before the lease: lateness).
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for k = 1, #due, 2 do
  local m = due[k]
  if string.match(m, '^[^|]*|[^|]*|[^|]*|.*$') then
    redis.call('ZADD', KEYS[1], ARGV[3], m)
    out[#out + 1] = m
    out[#out + 1] = due[k + 1]
  else
    redis.call('ZREM', KEYS[1], m)  -- not a timer of ours: drop it rather than fire it forever
  end
end
return out
