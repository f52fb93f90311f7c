-- State transitions of runs of executions, each atomically: guard, record
-- fields, history events, next work items, timers, ack of the processed work
-- item, completion notice. The only script that changes a running execution
-- (besides start and stop), so a transition happens exactly once even when a
-- work item is delivered twice: the second delivery fails the version guard.
--
-- One call applies a batch of transitions in order, each exactly as if it were
-- alone (its own guard, its own result): a router sends the transitions its
-- coroutines commit in the same event-loop turn as one call, which saves Redis
-- the per-call, per-script and per-MULTI/EXEC (AOF) cost of each.
--
-- KEYS[1] work stream   KEYS[2] timers zset
--   then per transition t: KEYS[1 + 2t] execution hash, KEYS[2 + 2t] history list
-- ARGV[1] group, then per transition: the count of its arguments, then its
--   arguments:
--       run, expected run version ("*" = no check), ack id ("" = none; a lease
--       member "exec|run|version|kind" is removed from the timers),
--       expire seconds (0 = none), publish channel ("" = none), publish payload,
--       name key to expire with the record ("" = none),
--       keep ("1" = the ack is the run's lease member, kept as it is for its next step),
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
-- (ntimers) due at the lease's end instead of a work item; if the router dies,
-- the timer puts it in the stream. The lease member "exec|run|@|kind" stands
-- for the run's current version (fire_timers.lua reads it), so consecutive
-- steps of one kind re-score one member: the next step's commit, whose ack is
-- that member, leases under it again instead of removing it and adding another;
-- while the lease is still due far enough ahead (the router knows when, and its
-- renewals only move it later), the commit keeps it as it is ("keep"): no ZADD.
-- An event is a JSON object text (encoded: event_codec.hpp): its id is its position in
-- the list (1-based), so concurrent runs never reuse one, and the reader
-- (ExecutionStore::history) adds id and previousEventId.
-- Returns an array with one result per transition, in order: 'ok' (or
-- {'ok', history length}), 'stale' (version moved on), 'gone' (execution not
-- running), or the error a command of that transition raised (the writes it made
-- before stay, as for a script that fails alone; the other transitions are
-- unaffected).
local argv, call, unpack, tonumber, tostring = ARGV, redis.call, unpack, tonumber, tostring
local work, timers, group = KEYS[1], KEYS[2], argv[1]
local i  -- the next argument of the transition being applied
local function take()
  local v = argv[i]
  i = i + 1
  return v
end
local function apply(h, hist)
  local run, expected, ack = take(), take(), take()
  local expire, channel, payload, name_key = tonumber(take()), take(), take(), take()
  local keep = take() == '1'
  local renewed = false  -- this transition leased its next step under the ack's own member
  local function do_ack(outcome)
    if ack == '' then
      return
    end
    if string.find(ack, '|', 1, true) then
      -- A lease (a timer member), not a stream entry. A run's lease on its current version
      -- ("exec|run|@|kind", one member for all its steps) is not this router's to remove when
      -- its commit is stale: the router that moved the version on holds it now (or removed it).
      if renewed or (outcome == 'stale' and string.find(ack, '|@|', 1, true)) then
        return
      end
      call('ZREM', timers, ack)
    else
      redis.call('XACK', work, group, ack)
      redis.call('XDEL', work, ack)
    end
  end
  -- One HMGET for the guard and the event count: every redis.call costs Redis
  -- more than the command itself (argument and reply conversion, propagation).
  local cur = call('HMGET', h, 'status', 'rv:' .. run, 'ev')
  if cur[1] ~= 'RUNNING' then
    do_ack('gone')
    return 'gone'
  end
  if expected ~= '*' and cur[2] ~= expected then
    do_ack('stale')
    return 'stale'
  end
  -- Sections are passed to commands straight from ARGV (unpack of a range): no
  -- per-item function calls or tables, which cost more than the commands here.
  local ev = cur[3] or ''  -- the history length, kept with the fields below
  local nset = tonumber(argv[i])
  local set_from = i + 1
  i = set_from + 2 * nset
  local ndel = tonumber(argv[i])
  local del_from = i + 1
  i = del_from + ndel
  local nev = tonumber(argv[i])
  local ev_from = i + 1
  i = ev_from + nev
  if nev > 0 then
    ev = tostring((tonumber(ev) or 0) + nev)
    call('HSET', h, 'ev', ev, unpack(argv, set_from, set_from + 2 * nset - 1))
  elseif nset > 0 then
    call('HSET', h, unpack(argv, set_from, set_from + 2 * nset - 1))
  end
  if ndel > 0 then
    call('HDEL', h, unpack(argv, del_from, del_from + ndel - 1))
  end
  if nev > 0 then
    call('RPUSH', hist, unpack(argv, ev_from, ev_from + nev - 1))
  end
  local nwork = tonumber(take())
  for _ = 1, nwork do
    call('XADD', work, '*', 'x', take(), 'r', take(), 'v', take(), 'k', take(), 'd', take())
  end
  local nt = tonumber(argv[i])
  if nt > 0 then
    call('ZADD', timers, unpack(argv, i + 1, i + 2 * nt))
    for k = 1, nt do
      if argv[i + 2 * k] == ack then
        renewed = true  -- the same member with the new lease's score: nothing to remove
      end
    end
  end
  i = i + 1 + 2 * nt
  local nut = tonumber(argv[i])
  if nut > 0 then
    call('ZREM', timers, unpack(argv, i + 1, i + nut))
  end
  i = i + 1 + nut
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
        redis.call('XADD', work, '*', 'x', xid, 'r', parent, 'v', pv, 'k', 'children', 'd',
                   '{"failed":true,"detail":' .. result .. '}')
      elseif done + failed >= n then
        local results = {}
        clear(results)
        redis.call('XADD', work, '*', 'x', xid, 'r', parent, 'v', pv, 'k', 'children', 'd',
                   '{"outputs":[' .. table.concat(results, ',') .. ']}')
      else
        local launched = tonumber(redis.call('HGET', h, 'jl:' .. parent) or '0')
        if launched < n then
          redis.call('HSET', h, 'jl:' .. parent, launched + 1)
          redis.call('XADD', work, '*', 'x', xid, 'r', prefix .. '.' .. launched, 'v', '0', 'k', 'enter',
                     'd', '')
        end
      end
    end
  end
  -- A callback step just parked (its hand-off call returned): if the agent
  -- already completed the token (complete_task.lua stored tr:<run>), deliver it.
  local park = take()
  if park and park ~= '' then
    local early = redis.call('HGET', h, 'tr:' .. run)
    if early then
      local xid = redis.call('HGET', h, 'id')
      redis.call('HDEL', h, 'tr:' .. run)
      -- The step is complete: the timeouts this commit just set have nothing to time.
      redis.call('ZREM', timers, xid .. '|' .. run .. '|' .. park .. '|hb', xid .. '|' .. run .. '|' .. park .. '|ttimeout')
      redis.call('XADD', work, '*', 'x', xid, 'r', run, 'v', park, 'k', 'result', 'd', early)
    end
  end
  if expire > 0 then
    redis.call('EXPIRE', h, expire)
    redis.call('EXPIRE', hist, expire)
    -- The execution's name key (start.lua; a key outside KEYS) expires with the record. The
    -- router names it (it has the record at hand): no HMGET here, no EXPIRE when there is none.
    if name_key ~= '' then
      redis.call('EXPIRE', name_key, expire)
    end
  end
  if channel ~= '' then
    redis.call('PUBLISH', channel, payload)
  end
  if keep then
    renewed = true  -- the lease goes on with the next step as it is (gone, stale: do_ack above)
  end
  do_ack('ok')
  if take() == '1' then
    return {'ok', ev}
  end
  return 'ok'
end
local out = {}
local at = 2  -- where the next transition's arguments start
local t = 0
local nargv = #argv
while at <= nargv do
  t = t + 1
  i = at + 1
  at = i + tonumber(argv[at])
  local ok, res = pcall(apply, KEYS[1 + 2 * t], KEYS[2 + 2 * t])
  if ok then
    out[t] = res
  elseif type(res) == 'table' and res.err then
    out[t] = res  -- a command's error reply
  else
    out[t] = {err = 'commit: ' .. tostring(res)}
  end
end
return out
