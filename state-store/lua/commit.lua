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
--       flags (the letters of the optional sections present below, in this order),
--       c: the transition creates its execution (a STANDARD one's first step,
--          decided at start; an EXPRESS one, ended already): execution id, name key ("" = none),
--          all-executions zset, per-state-machine zset, input, started ms,
--          timeout score ("" = none), timeout member; the record's fields lead the
--          set and ExecutionStarted the events; no guard. An execution of that name
--          that exists already: nothing is written, the reply is {'same' | 'conflict', id}.
--       nset, (field, value)*   nevents, event*
--       d: ndel, field*
--       w: nwork, (exec, run, version, kind, data)*
--       t: ntimers, (score, member)*
--       u: nuntimers, member*
--       j: the join of a finished child run: parent, child run, ok ("1"/"0"),
--          result text (output JSON, or {"error","cause"} JSON), children prefix,
--          count, max concurrency (0 = all at once), tolerated failure count,
--          tolerated failure percentage
--       p: park version: a callback step parks at this version
--       f: the execution ended: expire seconds (0 = none), publish channel,
--          publish payload, name key to expire with the record ("" = none)
--       k: (no arguments) the ack is the run's lease member, kept as it is for
--          its next step
--       r: (no arguments) reply {'ok', history length} instead of 'ok'
--   Sections a transition does not use cost no arguments: each argument costs
--   Redis more (request parsing, a Lua string) than the few flag lookups.
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
local find = string.find
-- Calls `cmd key` with the arguments argv[from..to], in chunks: unpack() of more
-- than ~8000 values fails (Lua's C stack), and a Map or Parallel with thousands of
-- children sets and deletes two fields per child. A chunk holds whole pairs.
local CHUNK = 4000
local function call_range(cmd, key, from, to)
  while from <= to do
    local last = to
    if last - from >= CHUNK then
      last = from + CHUNK - 1
    end
    call(cmd, key, unpack(argv, from, last))
    from = last + 1
  end
end
-- Removes the acknowledged work item: a stream entry, or a lease (a timer member) unless it
-- goes on with the run's next step (renewed). A run's lease on its current version
-- ("exec|run|@|kind", one member for all its steps) is not this router's to remove when its
-- commit is stale: the router that moved the version on holds it now (or removed it).
local function do_ack(ack, outcome, renewed)
  if ack == '' then
    return
  end
  if find(ack, '|', 1, true) then
    if renewed or (outcome == 'stale' and find(ack, '|@|', 1, true)) then
      return
    end
    call('ZREM', timers, ack)
  else
    call('XACK', work, group, ack)
    call('XDEL', work, ack)
  end
end
-- Applies the transition whose arguments start at argv[b]. Arguments are read by
-- index (no helper calls) and counts of '0' compared as strings: both cost more
-- in Lua than the commands here.
local function apply(h, hist, b)
  local run, expected, ack, flags = argv[b], argv[b + 1], argv[b + 2], argv[b + 3]
  local renewed = false  -- this transition leased its next step under the ack's own member
  local f = flags ~= ''  -- most steps have no optional section but k or r
  local i = b + 4
  local ev = ''  -- the history length, kept with the fields below
  local create  -- where the create section's arguments start (written after the record)
  if f and find(flags, 'c', 1, true) then
    create = i
    local name_key = argv[i + 1]
    if name_key ~= '' then
      local existing = call('GET', name_key)
      if existing then
        local input = call('HGET', 'sy:x:{' .. existing .. '}', 'input')
        return {input == argv[i + 4] and 'same' or 'conflict', existing}
      end
    end
    i = i + 8
  else
    -- One HMGET for the guard and the event count: every redis.call costs Redis
    -- more than the command itself (argument and reply conversion, propagation).
    local cur = call('HMGET', h, 'status', 'rv:' .. run, 'ev')
    if cur[1] ~= 'RUNNING' then
      do_ack(ack, 'gone', false)
      return 'gone'
    end
    if expected ~= '*' and cur[2] ~= expected then
      do_ack(ack, 'stale', false)
      return 'stale'
    end
    ev = cur[3] or ''
  end
  -- Sections are passed to commands straight from ARGV (unpack of a range): no
  -- per-item function calls or tables, which cost more than the commands here.
  local nset = argv[i] == '0' and 0 or tonumber(argv[i])
  local set_from = i + 1
  i = set_from + 2 * nset
  local nev = argv[i] == '0' and 0 or tonumber(argv[i])
  local ev_from = i + 1
  i = ev_from + nev
  if nev > 0 then
    ev = tostring((tonumber(ev) or 0) + nev)
    if nset <= CHUNK / 2 then
      call('HSET', h, 'ev', ev, unpack(argv, set_from, set_from + 2 * nset - 1))
    else
      call('HSET', h, 'ev', ev)
      call_range('HSET', h, set_from, set_from + 2 * nset - 1)
    end
    call_range('RPUSH', hist, ev_from, ev_from + nev - 1)
  elseif nset > 0 then
    call_range('HSET', h, set_from, set_from + 2 * nset - 1)
  end
  if create then
    -- After the record: a create that fails before it leaves no name, index entry or timer
    -- pointing at nothing. The name lives as long as the execution: the commit (or stop)
    -- that ends it gives it the record's retention, so the two expire together.
    local id, name_key, started = argv[create], argv[create + 1], argv[create + 5]
    if name_key ~= '' then
      call('SET', name_key, id)
    end
    call('ZADD', argv[create + 2], started, id)
    call('ZADD', argv[create + 3], started, id)
    if argv[create + 6] ~= '' then
      call('ZADD', timers, argv[create + 6], argv[create + 7])
    end
  end
  if f and find(flags, 'd', 1, true) then
    local n = tonumber(argv[i])
    call_range('HDEL', h, i + 1, i + n)
    i = i + 1 + n
  end
  if f and find(flags, 'w', 1, true) then
    local n = tonumber(argv[i])
    i = i + 1
    for _ = 1, n do
      call('XADD', work, '*', 'x', argv[i], 'r', argv[i + 1], 'v', argv[i + 2], 'k', argv[i + 3], 'd', argv[i + 4])
      i = i + 5
    end
  end
  if f and find(flags, 't', 1, true) then
    local n = tonumber(argv[i])
    call_range('ZADD', timers, i + 1, i + 2 * n)
    for k = 1, n do
      if argv[i + 2 * k] == ack then
        renewed = true  -- the same member with the new lease's score: nothing to remove
      end
    end
    i = i + 1 + 2 * n
  end
  if f and find(flags, 'u', 1, true) then
    local n = tonumber(argv[i])
    call_range('ZREM', timers, i + 1, i + n)
    i = i + 1 + n
  end
  -- Durable join of Parallel branches / Map iterations. The parent keeps, in the
  -- execution hash: jn:<p> (children), jd:<p> (succeeded), jf:<p> (failed),
  -- jl:<p> (launched), and each child's result in o:<child>. The last child to
  -- finish (or the first failure beyond the tolerance) enqueues the parent.
  if f and find(flags, 'j', 1, true) then
    local parent, child, okflag, result, prefix = argv[i], argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4]
    local n, maxc, tolc, tolp = tonumber(argv[i + 5]), tonumber(argv[i + 6]), tonumber(argv[i + 7]), tonumber(argv[i + 8])
    i = i + 9
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
  if f and find(flags, 'p', 1, true) then
    local park = argv[i]
    i = i + 1
    local early = redis.call('HGET', h, 'tr:' .. run)
    if early then
      local xid = redis.call('HGET', h, 'id')
      redis.call('HDEL', h, 'tr:' .. run)
      -- The step is complete: the timeouts this commit just set have nothing to time.
      redis.call('ZREM', timers, xid .. '|' .. run .. '|' .. park .. '|hb', xid .. '|' .. run .. '|' .. park .. '|ttimeout')
      redis.call('XADD', work, '*', 'x', xid, 'r', run, 'v', park, 'k', 'result', 'd', early)
    end
  end
  if f and find(flags, 'f', 1, true) then
    local expire, channel, payload, name_key = tonumber(argv[i]), argv[i + 1], argv[i + 2], argv[i + 3]
    if expire > 0 then
      call('EXPIRE', h, expire)
      call('EXPIRE', hist, expire)
      -- The execution's name key (the create above; a key outside KEYS) expires with the record. The
      -- router names it (it has the record at hand): no HMGET here, no EXPIRE when there is none.
      if name_key ~= '' then
        call('EXPIRE', name_key, expire)
      end
    end
    if channel ~= '' then
      call('PUBLISH', channel, payload)
    end
  end
  if f and find(flags, 'k', 1, true) then
    renewed = true  -- the lease goes on with the next step as it is (gone, stale: do_ack above)
  end
  do_ack(ack, 'ok', renewed)
  if f and find(flags, 'r', 1, true) then
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
  local b = at + 1
  at = b + tonumber(argv[at])
  local ok, res = pcall(apply, KEYS[1 + 2 * t], KEYS[2 + 2 * t], b)
  if ok then
    out[t] = res
  elseif type(res) == 'table' and res.err then
    out[t] = res  -- a command's error reply
  else
    out[t] = {err = 'commit: ' .. tostring(res)}
  end
end
return out
