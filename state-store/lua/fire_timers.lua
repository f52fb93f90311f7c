-- Takes due timers as leases of the calling router, which processes them at
-- once: each stays in the zset, re-scored to the lease's end, and the step's
-- commit removes it (its ack); if the router dies, it falls due again for
-- another router. Whoever re-scores a timer owns it, so any number of routers
-- can take timers and each fires once. A router takes only as many as it has
-- room for, so due timers wait here (not in the work stream behind new
-- executions) until some router can run them.
-- KEYS[1] timers zset
-- ARGV: now ms, max count, lease until ms
-- A member is "exec|run|version|kind"; version "@" is a router's lease on the
-- run's next step (commit.lua): it stands for the run's current version, read
-- here, in the same script as the lease is taken, so the step is guarded by the
-- version it was leased at. Returns the leased members, each followed by the
-- time it fell due (its score before the lease: lateness) and its version.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for k = 1, #due, 2 do
  local m = due[k]
  local exec, run, version = string.match(m, '^([^|]*)|([^|]*)|([^|]*)|.*$')
  if version == '@' then
    -- The execution hash (a key outside KEYS, like the name key in commit.lua; keys.hpp).
    version = redis.call('HGET', 'sy:x:{' .. exec .. '}', 'rv:' .. run)
  end
  if version then
    redis.call('ZADD', KEYS[1], ARGV[3], m)
    out[#out + 1] = m
    out[#out + 1] = due[k + 1]
    out[#out + 1] = version
  else
    -- Not a timer of ours, or a lease of a run that is gone (expired, joined): drop it rather
    -- than fire it forever.
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
