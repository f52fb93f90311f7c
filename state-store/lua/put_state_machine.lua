-- Creates or updates a state machine. An update that changes the definition,
-- type or triggers makes a new revision; running executions keep theirs
-- (revisions are immutable keys). Returns {revision, 'created'|'updated'|'unchanged'}.
-- KEYS[1] state machine hash  KEYS[2] names zset  KEYS[3] revision key prefix
-- ARGV: name, definition text, type, triggers text, now (RFC 3339)
local cur = redis.call('HMGET', KEYS[1], 'revision', 'definition', 'type', 'triggers')
if cur[1] and cur[2] == ARGV[2] and cur[3] == ARGV[3] and cur[4] == ARGV[4] then
  return {tonumber(cur[1]), 'unchanged'}
end
local rev = 1
local outcome = 'created'
if cur[1] then
  rev = tonumber(cur[1]) + 1
  outcome = 'updated'
else
  redis.call('HSET', KEYS[1], 'createdAt', ARGV[5])
end
redis.call('SET', KEYS[3] .. rev, ARGV[2])
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'revision', rev, 'definition', ARGV[2], 'type', ARGV[3],
           'triggers', ARGV[4], 'updatedAt', ARGV[5])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return {rev, outcome}
