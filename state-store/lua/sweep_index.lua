-- Removes from an execution index zset (sy:xs or sy:xs:<state machine>) the ids
-- whose execution hash is gone (expired by retention), looking at one window of
-- members: ranks [start, start + count), oldest first. Retention expires the
-- hash and its history but cannot reach the indexes, which would otherwise grow
-- forever. Routers call this periodically (Worker's sweep loop), a bounded window
-- per call; the removal is idempotent, so several routers sweeping is harmless.
--
-- Touches keys not in KEYS (each member's sy:x:{<id>}): the project does not
-- support Redis Cluster for these scripts (the indexes span all executions' slots).
--
-- KEYS[1] index zset
-- KEYS[2] (optional) deleted state machines set: when given, ARGV[4] is the
--         state machine this index belongs to, and the name is forgotten there
--         once the index is empty (Redis deleted it with its last member) or the
--         state machine exists again (then it is swept as a live one)
-- KEYS[3] state machine names zset (with KEYS[2])
-- ARGV: start rank, count, max score (started ms; "+inf" = none), state machine
--       name (with KEYS[2])
-- Only members with a score up to the max are looked at: an execution cannot
-- have expired before its retention has passed since it started, so the caller
-- passes now - retention and the sweep skips the bulk of retained executions.
-- Returns {removed, next rank}: next is where the following window starts, 0
-- when this one reached the end (the sweep wraps around). Ranks move forward
-- past members that stay, so long-running executions at the old end never hold
-- the sweep back.
local start = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[3], 'BYSCORE', 'LIMIT', start, count)
local gone = {}
for _, id in ipairs(ids) do
  if redis.call('EXISTS', 'sy:x:{' .. id .. '}') == 0 then
    gone[#gone + 1] = id
  end
end
for i = 1, #gone, 500 do  -- in chunks: unpack() is bounded by Lua's C stack
  redis.call('ZREM', KEYS[1], unpack(gone, i, math.min(i + 499, #gone)))
end
local next_rank = 0
if #ids == count then
  -- Removed members were inside the window: the ones after it moved down by that many.
  next_rank = start + count - #gone
end
if KEYS[2] then
  if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('ZSCORE', KEYS[3], ARGV[4]) then
    redis.call('SREM', KEYS[2], ARGV[4])
  end
end
return {#gone, next_rank}
