-- Deletes a state machine and its trigger index entries (keys.hpp, sy:tg:*)
-- in one step. Its revisions stay: running executions still read them. Its
-- executions index stays too (they can still be listed until they expire); the
-- name goes into the deleted set so that the routers' index sweep (sweep_index.lua)
-- keeps emptying it, and forgets the name once it is empty.
-- Returns 1 when it existed, 0 otherwise.
-- KEYS[1] state machine hash  KEYS[2] names zset  KEYS[3] webhook index hash
-- KEYS[4] scheduled set  KEYS[5] schedules version  KEYS[6] schedules' last fired minutes
-- KEYS[7] deleted state machines set
-- ARGV: name, event type key prefix
local text = redis.call('HGET', KEYS[1], 'triggers')
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
-- Even when its index is empty now: a start that read the state machine just before
-- this delete may still add to it.
if existed == 1 then
  redis.call('SADD', KEYS[7], ARGV[1])
end
if not text or text == '' then
  return existed
end
local ok, list = pcall(cjson.decode, text)
if not ok or type(list) ~= 'table' then
  return existed
end
local scheduled = false
for i, t in ipairs(list) do
  if type(t) == 'table' then
    if t.type == 'webhook' and type(t.name) == 'string' then
      if redis.call('HGET', KEYS[3], t.name) == ARGV[1] then
        redis.call('HDEL', KEYS[3], t.name)
      end
    elseif t.type == 'cloudevent' and type(t.eventType) == 'string' then
      redis.call('SREM', ARGV[2] .. t.eventType, ARGV[1])
    elseif t.type == 'schedule' then
      scheduled = true
      redis.call('HDEL', KEYS[6], ARGV[1] .. '#' .. (i - 1))
    end
  end
end
if scheduled then
  redis.call('SREM', KEYS[4], ARGV[1])
  redis.call('INCR', KEYS[5])
end
return existed
