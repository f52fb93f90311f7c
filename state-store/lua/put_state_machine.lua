-- Creates or updates a state machine. An update that changes the definition,
-- type or triggers makes a new revision; running executions keep theirs
-- (revisions are immutable keys). The trigger indexes (keys.hpp, sy:tg:*)
-- change in the same script, so they never disagree with the stored triggers.
-- Returns {revision, 'created'|'updated'|'unchanged'}, or {0, 'conflict', why}
-- (nothing written) when a webhook name belongs to another state machine.
-- KEYS[1] state machine hash  KEYS[2] names zset  KEYS[3] revision key prefix
-- KEYS[4] webhook index hash  KEYS[5] scheduled set  KEYS[6] schedules version
-- ARGV: name, definition text, type, triggers text, now (RFC 3339), event type key prefix
local function decode(text)
  if not text or text == '' then
    return {}
  end
  local ok, list = pcall(cjson.decode, text)
  if ok and type(list) == 'table' then
    return list
  end
  return {}
end

-- Adds (add=true) or removes this state machine's entries; true when it has schedules.
local function index(list, add)
  local scheduled = false
  for _, t in ipairs(list) do
    if type(t) == 'table' then
      if t.type == 'webhook' and type(t.name) == 'string' then
        if add then
          redis.call('HSET', KEYS[4], t.name, ARGV[1])
        elseif redis.call('HGET', KEYS[4], t.name) == ARGV[1] then
          redis.call('HDEL', KEYS[4], t.name)
        end
      elseif t.type == 'cloudevent' and type(t.eventType) == 'string' then
        if add then
          redis.call('SADD', ARGV[6] .. t.eventType, ARGV[1])
        else
          redis.call('SREM', ARGV[6] .. t.eventType, ARGV[1])
        end
      elseif t.type == 'schedule' then
        scheduled = true
      end
    end
  end
  return scheduled
end

local new = decode(ARGV[4])
for _, t in ipairs(new) do
  if type(t) == 'table' and t.type == 'webhook' and type(t.name) == 'string' then
    local owner = redis.call('HGET', KEYS[4], t.name)
    if owner and owner ~= ARGV[1] then
      return {0, 'conflict', "the webhook name '" .. t.name .. "' is used by state machine '" .. owner .. "'"}
    end
  end
end

local cur = redis.call('HMGET', KEYS[1], 'revision', 'definition', 'type', 'triggers')
if cur[1] and cur[2] == ARGV[2] and cur[3] == ARGV[3] and cur[4] == ARGV[4] then
  if index(new, true) then
    redis.call('SADD', KEYS[5], ARGV[1])  -- heals an index written before it existed
  end
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
local was_scheduled = index(decode(cur[4]), false)
local scheduled = index(new, true)
if scheduled then
  redis.call('SADD', KEYS[5], ARGV[1])
else
  redis.call('SREM', KEYS[5], ARGV[1])
end
if scheduled or was_scheduled then
  redis.call('INCR', KEYS[6])
end
return {rev, outcome}
