-- One state transition of one run of an execution, atomically: guard, record
-- fields, history events, next work items, timers, ack of the processed work
-- item, completion notice. The only script that changes a running execution
-- (besides start and stop), so a transition happens exactly once even when a
-- work item is delivered twice: the second delivery fails the version guard.
--
-- KEYS[1] execution hash   KEYS[2] history list   KEYS[3] work stream   KEYS[4] timers zset
-- ARGV: run, expected run version ("*" = no check), ack id ("" = none; a lease
--       member "exec|run|version|kind" is removed from the timers), group,
--       expire seconds (0 = none), publish channel ("" = none), publish payload,
--       then counted sections:
--       nset, (field, value)*   ndel, field*   nevents, event*
--       nwork, (exec, run, version, kind, data)*   ntimers, (score, member)*
--       nuntimers, member*
--       then the join of a finished child run ("" = this run is not a child):
--       parent, child run, ok ("1"/"0"), result text (output JSON, or
--       {"error","cause"} JSON), children prefix, count, max concurrency
--       (0 = all at once), tolerated failure count, tolerated failure percentage
--       then park version ("" = none): a callback step parks at this version
--       then report ("1" = reply {'ok', history length} instead of 'ok')
-- A router that goes on with the next step itself holds it as a lease: a timer
-- (ntimers) due at the lease's end instead of a work item, removed (nuntimers)
-- by the next step's commit; if the router dies, the timer puts it in the stream.
-- An event is a JSON object text stored as it is: its id is its position in
-- the list (1-based), so concurrent runs never reuse one, and the reader
-- (ExecutionStore::history) adds id and previousEventId.
-- Returns 'ok', 'stale' (version moved on) or 'gone' (execution not running).
local h = KEYS[1]
local ack = ARGV[3]
local function do_ack()
  if ack == '' then
    return
  end
  if string.find(ack, '|', 1, true) then
    redis.call('ZREM', KEYS[4], ack)  -- a lease (a timer member), not a stream entry
  else
    redis.call('XACK', KEYS[3], ARGV[4], ack)
    redis.call('XDEL', KEYS[3], ack)
  end
end
local status = redis.call('HGET', h, 'status')
if status ~= 'RUNNING' then
  do_ack()
  return 'gone'
end
if ARGV[2] ~= '*' then
  local ver = redis.call('HGET', h, 'rv:' .. ARGV[1])
  if ver ~= ARGV[2] then
    do_ack()
    return 'stale'
  end
end
local i = 8
local function take()
  local v = ARGV[i]
  i = i + 1
  return v
end
local nset = tonumber(take())
if nset > 0 then
  local args = {}
  for _ = 1, nset do
    args[#args + 1] = take()
    args[#args + 1] = take()
  end
  redis.call('HSET', h, unpack(args))
end
local ndel = tonumber(take())
if ndel > 0 then
  local args = {}
  for _ = 1, ndel do
    args[#args + 1] = take()
  end
  redis.call('HDEL', h, unpack(args))
end
local nev = tonumber(take())
if nev > 0 then
  local args = {}
  for _ = 1, nev do
    args[#args + 1] = take()
  end
  redis.call('RPUSH', KEYS[2], unpack(args))
  redis.call('HINCRBY', h, 'ev', nev)
end
local nwork = tonumber(take())
for _ = 1, nwork do
  redis.call('XADD', KEYS[3], '*', 'x', take(), 'r', take(), 'v', take(), 'k', take(), 'd', take())
end
local nt = tonumber(take())
if nt > 0 then
  local args = {}
  for _ = 1, nt do
    args[#args + 1] = take()
    args[#args + 1] = take()
  end
  redis.call('ZADD', KEYS[4], unpack(args))
end
local nut = tonumber(take())
if nut > 0 then
  local args = {}
  for _ = 1, nut do
    args[#args + 1] = take()
  end
  redis.call('ZREM', KEYS[4], unpack(args))
end
-- Durable join of Parallel branches / Map iterations. The parent keeps, in the
-- execution hash: jn:<p> (children), jd:<p> (succeeded), jf:<p> (failed),
-- jl:<p> (launched), and each child's result in o:<child>. The last child to
-- finish (or the first failure beyond the tolerance) enqueues the parent.
local parent = take()
if parent ~= '' then
  local child, okflag, result, prefix = take(), take(), take(), take()
  local n, maxc, tolc, tolp = tonumber(take()), tonumber(take()), tonumber(take()), tonumber(take())
  local xid = redis.call('HGET', h, 'id')
  local pv = redis.call('HGET', h, 'rv:' .. parent)
  if pv and redis.call('HEXISTS', h, 'jn:' .. parent) == 1 then
    local done, failed
    if okflag == '1' then
      redis.call('HSET', h, 'o:' .. child, result)
      done = redis.call('HINCRBY', h, 'jd:' .. parent, 1)
      failed = tonumber(redis.call('HGET', h, 'jf:' .. parent) or '0')
    else
      redis.call('HSET', h, 'o:' .. child, 'null')
      failed = redis.call('HINCRBY', h, 'jf:' .. parent, 1)
      done = tonumber(redis.call('HGET', h, 'jd:' .. parent) or '0')
    end
    local too_many = false
    if okflag ~= '1' then
      too_many = failed > tolc and (failed * 100.0 / n) > tolp
    end
    local function clear(results)
      for k = 0, n - 1 do
        local c = prefix .. '.' .. k
        if results then
          results[#results + 1] = redis.call('HGET', h, 'o:' .. c) or 'null'
        end
        -- A child still waiting for a callback is abandoned: its token is refused from now on (410).
        local secret = redis.call('HGET', h, 'tk:' .. c)
        if secret then
          redis.call('HSET', h, 'tu:' .. secret, 'expired')
        end
        redis.call('HDEL', h, 'o:' .. c, 'r:' .. c, 'rv:' .. c, 'tk:' .. c, 'tw:' .. c, 'th:' .. c, 'tr:' .. c)
      end
      redis.call('HDEL', h, 'jn:' .. parent, 'jd:' .. parent, 'jf:' .. parent, 'jl:' .. parent)
    end
    if too_many then
      clear(nil)
      redis.call('XADD', KEYS[3], '*', 'x', xid, 'r', parent, 'v', pv, 'k', 'children', 'd',
                 '{"failed":true,"detail":' .. result .. '}')
    elseif done + failed >= n then
      local results = {}
      clear(results)
      redis.call('XADD', KEYS[3], '*', 'x', xid, 'r', parent, 'v', pv, 'k', 'children', 'd',
                 '{"outputs":[' .. table.concat(results, ',') .. ']}')
    else
      local launched = tonumber(redis.call('HGET', h, 'jl:' .. parent) or '0')
      if launched < n then
        redis.call('HSET', h, 'jl:' .. parent, launched + 1)
        redis.call('XADD', KEYS[3], '*', 'x', xid, 'r', prefix .. '.' .. launched, 'v', '0', 'k', 'enter',
                   'd', '')
      end
    end
  end
end
-- A callback step just parked (its hand-off call returned): if the agent
-- already completed the token (complete_task.lua stored tr:<run>), deliver it.
local park = take()
if park and park ~= '' then
  local early = redis.call('HGET', h, 'tr:' .. ARGV[1])
  if early then
    local xid = redis.call('HGET', h, 'id')
    redis.call('HDEL', h, 'tr:' .. ARGV[1])
    -- The step is complete: the timeouts this commit just set have nothing to time.
    redis.call('ZREM', KEYS[4], xid .. '|' .. ARGV[1] .. '|' .. park .. '|hb', xid .. '|' .. ARGV[1] .. '|' .. park .. '|ttimeout')
    redis.call('XADD', KEYS[3], '*', 'x', xid, 'r', ARGV[1], 'v', park, 'k', 'result', 'd', early)
  end
end
local expire = tonumber(ARGV[5])
if expire > 0 then
  redis.call('EXPIRE', h, expire)
  redis.call('EXPIRE', KEYS[2], expire)
end
if ARGV[6] ~= '' then
  redis.call('PUBLISH', ARGV[6], ARGV[7])
end
do_ack()
if take() == '1' then
  return {'ok', redis.call('HGET', h, 'ev') or ''}
end
return 'ok'
