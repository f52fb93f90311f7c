-- Drops a fired lease whose step will not run here (ExecutionStore::drop): the
-- execution is not running, the run is gone, or (a "exec|run|@|kind" lease, see
-- commit.lua) the run moved past the version the lease was fired at. In that
-- last case the member is not removed: the router that moved the run on may
-- have leased the next step under the same member, and removing it would leave
-- that step to nobody if that router then died. A member nobody holds anymore
-- fires again and is resolved to the run's version then.
-- KEYS[1] timers zset  KEYS[2] execution hash
-- ARGV: member, run, the version the lease was fired at
if string.find(ARGV[1], '|@|', 1, true) then
  local cur = redis.call('HMGET', KEYS[2], 'status', 'rv:' .. ARGV[2])
  if cur[1] == 'RUNNING' and cur[2] and cur[2] ~= ARGV[3] then
    return 0
  end
end
return redis.call('ZREM', KEYS[1], ARGV[1])
