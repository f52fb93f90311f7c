#!/usr/bin/env node
// Load driver for B4 and B6 (DESIGN.md §6). Talks HTTP to one gateway on
// 127.0.0.1 (keep-alive, bounded concurrency) and RESP to the redis-server's
// unix socket (finishes arrive on the sy:done channel, histories are read in
// pipelined batches). Prints one JSON line of figures. Every phase is bounded
// in count and time; nothing leaves the machine.
//
//   node driver.js b4 --port P --redis SOCK --n 100000 --concurrency 64 [--pids 1,2] [--wait-seconds 5]
//   node driver.js b6 --port P --redis SOCK --concurrency 64 --seconds 20 [--max 20000] [--warmup 300]
'use strict';

const http = require('http');
const net = require('net');
const fs = require('fs');

function args() {
  const out = { _: process.argv[2] };
  for (let i = 3; i < process.argv.length; i += 2) {
    out[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
  }
  return out;
}

// ---- RESP over a unix socket (just what the driver needs) ------------------------------

class Resp {
  constructor(path) {
    this.sock = net.createConnection(path);
    this.chunks = [];
    this.buf = Buffer.alloc(0);
    this.pending = [];
    this.onPush = null;
    this.sock.on('data', (d) => this.feed(d));
    this.sock.on('error', (e) => {
      for (const p of this.pending) p.reject(e);
      this.pending = [];
    });
  }
  ready() {
    return new Promise((res, rej) => {
      this.sock.once('connect', res);
      this.sock.once('error', rej);
    });
  }
  send(argv) {
    let s = '*' + argv.length + '\r\n';
    for (const a of argv) {
      const b = Buffer.from(String(a));
      s += '$' + b.length + '\r\n' + b.toString() + '\r\n';
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.sock.write(s);
    });
  }
  feed(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let off = 0;
    for (;;) {
      const r = this.parse(off);
      if (!r) break;
      off = r.off;
      if (Array.isArray(r.v) && r.v[0] === 'message' && this.onPush) {
        this.onPush(r.v[2]);
      } else if (this.pending.length) {
        const p = this.pending.shift();
        if (r.v instanceof Error) p.reject(r.v);
        else p.resolve(r.v);
      }
    }
    this.buf = this.buf.subarray(off);
  }
  parse(off) {
    const b = this.buf;
    const eol = b.indexOf('\r\n', off);
    if (eol < 0) return null;
    const type = String.fromCharCode(b[off]);
    const line = b.toString('utf8', off + 1, eol);
    const next = eol + 2;
    if (type === '+') return { v: line, off: next };
    if (type === '-') return { v: new Error(line), off: next };
    if (type === ':') return { v: Number(line), off: next };
    if (type === '$') {
      const n = Number(line);
      if (n < 0) return { v: null, off: next };
      if (b.length < next + n + 2) return null;
      return { v: b.toString('utf8', next, next + n), off: next + n + 2 };
    }
    if (type === '*') {
      const n = Number(line);
      if (n < 0) return { v: null, off: next };
      const arr = [];
      let o = next;
      for (let i = 0; i < n; i++) {
        const r = this.parse(o);
        if (!r) return null;
        arr.push(r.v);
        o = r.off;
      }
      return { v: arr, off: o };
    }
    throw new Error('bad RESP type ' + type);
  }
  close() {
    this.sock.destroy();
  }
}

// ---- HTTP --------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(port, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        host: '127.0.0.1', port, method, path, agent,
        headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {},
        timeout: 30000, // a start never takes this long; fail the run instead of hanging
      },
      (res) => {
        const parts = [];
        res.on('data', (c) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString() }));
      });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function deploy(port, name, definition) {
  const r = await request(port, 'PUT', '/v1/state-machines/' + name, { type: 'STANDARD', definition });
  if (r.status !== 200 && r.status !== 201) throw new Error('deploy ' + name + ': ' + r.status + ' ' + r.body);
}

async function start(port, name, input) {
  const r = await request(port, 'POST', '/v1/state-machines/' + name + '/executions', { input });
  if (r.status !== 201) throw new Error('start ' + name + ': ' + r.status + ' ' + r.body);
  return JSON.parse(r.body).executionId;
}

// ---- helpers -----------------------------------------------------------------------------

const now = () => Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function q(sorted, p) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.round(p * (sorted.length - 1)))];
}

function rss(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync('/proc/' + pid + '/status', 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch (e) {
      // the process is gone: it counts as 0
    }
  }
  return total;
}

// User+system CPU milliseconds used so far by the processes (clock ticks are 10 ms on Linux).
function cpuMs(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const f = fs.readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].split(' ');
      total += (Number(f[11]) + Number(f[12])) * 10;
    } catch (e) {
      // gone
    }
  }
  return total;
}

// Nanoseconds the processes' threads spent runnable but waiting for a CPU (/proc/PID/schedstat,
// main thread): with other work on the machine this shows how much of a slowdown is contention.
function runqueueWaitMs(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      total += Number(fs.readFileSync('/proc/' + pid + '/schedstat', 'utf8').split(' ')[1]) / 1e6;
    } catch (e) {
      // gone
    }
  }
  return total;
}

// "--cpu 'routers:1,2 redis:3 gateway:4'" -> groups of pids; routers' children count as "functions".
function cpuGroups(spec) {
  const groups = {};
  for (const part of (spec || '').split(' ').filter(Boolean)) {
    const [name, list] = part.split(':');
    groups[name] = (list || '').split(',').filter(Boolean).map(Number);
  }
  if (groups.routers) {
    groups.functions = [];
    for (const pid of groups.routers) {
      try {
        const kids = fs.readFileSync('/proc/' + pid + '/task/' + pid + '/children', 'utf8').trim().split(/\s+/);
        groups.functions.push(...kids.filter(Boolean).map(Number));
      } catch (e) {
        // gone
      }
    }
  }
  groups.driver = [process.pid];
  return groups;
}

function cpuSnapshot(groups) {
  const out = {};
  for (const [name, pids] of Object.entries(groups)) out[name] = cpuMs(pids);
  return out;
}

async function usedMemory(redis) {
  const info = await redis.send(['INFO', 'memory']);
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

// Tracks finishes from sy:done; a closed loop waits on them.
class Finishes {
  constructor() {
    this.done = new Map(); // id -> time
    this.waiters = new Map();
  }
  push(id) {
    const t = now();
    this.done.set(id, t);
    const w = this.waiters.get(id);
    if (w) {
      this.waiters.delete(id);
      w(t);
    }
  }
  wait(id) {
    if (this.done.has(id)) return Promise.resolve(this.done.get(id));
    return new Promise((res) => this.waiters.set(id, res));
  }
}

async function subscribe(sock) {
  const sub = new Resp(sock);
  await sub.ready();
  const fin = new Finishes();
  await sub.send(['SUBSCRIBE', 'sy:done']);
  sub.onPush = (id) => fin.push(id);
  return { sub, fin };
}

// ---- B4: parked executions -----------------------------------------------------------------

async function b4(a) {
  const port = Number(a.port);
  const n = Math.min(Number(a.n || 100000), 200000); // bounded
  const conc = Number(a.concurrency || 64);
  const waitSeconds = Number(a['wait-seconds'] || 5);
  const pids = (a.pids || '').split(',').filter(Boolean).map(Number);
  // The other processes sharing the 2 cores, for where the CPU went during the run.
  const redisPids = a['redis-pid'] ? [Number(a['redis-pid'])] : [];
  const gatewayPids = a['gateway-pid'] ? [Number(a['gateway-pid'])] : [];
  const deadline = now() + Number(a['max-seconds'] || 600) * 1000;
  const redis = new Resp(a.redis);
  await redis.ready();
  const { sub, fin } = await subscribe(a.redis);
  await deploy(port, 'b4', {
    StartAt: 'Park',
    States: { Park: { Type: 'Wait', Seconds: waitSeconds, Next: 'Done' }, Done: { Type: 'Succeed' } },
  });
  // A few warm-up executions so the baseline includes the state machine and the stream/group.
  // Started together, waited for together: each takes the whole Wait.
  const warm = [];
  for (let i = 0; i < 10; i++) warm.push(await start(port, 'b4', { warm: i }));
  await Promise.all(warm.map((id) => fin.wait(id)));
  // Memory per parked execution, measured where nothing else moves: M executions of a copy
  // in a 1 h Wait, all parked at once (used_memory delta / M). They stay parked to the end.
  const m = Math.min(Number(a['mem-n'] || 20000), n);
  await deploy(port, 'b4mem', {
    StartAt: 'Park',
    States: { Park: { Type: 'Wait', Seconds: 3600, Next: 'Done' }, Done: { Type: 'Succeed' } },
  });
  await fin.wait(await start(port, 'b4', { warm: 'mem' }));
  const memBase = await usedMemory(redis);
  const timersBase = await redis.send(['ZCARD', 'sy:timers']);
  {
    let k = 0;
    const w = async () => {
      while (k < m && now() < deadline) {
        k++;
        await start(port, 'b4mem', { i: k });
      }
    };
    await Promise.all(Array.from({ length: conc }, w));
  }
  while (now() < deadline && (await redis.send(['ZCARD', 'sy:timers'])) < timersBase + m) await sleep(100);
  const parkedAtOnce = (await redis.send(['ZCARD', 'sy:timers'])) - timersBase;
  const memParked = await usedMemory(redis);
  const baseline = await usedMemory(redis);
  let peakRss = rss(pids);
  let peakParked = 0;
  let memAtPeak = 0;
  let finishedAtPeak = 0;
  // Backlog: work items in the stream not yet acknowledged (queued + in flight), sampled.
  let peakBacklog = 0;
  let sampling = false;
  const sampler = setInterval(async () => {
    peakRss = Math.max(peakRss, rss(pids));
    if (sampling) return;
    sampling = true;
    try {
      peakBacklog = Math.max(peakBacklog, await redis.send(['XLEN', 'sy:work']));
    } finally {
      sampling = false;
    }
  }, 200);
  const cpu0 = cpuMs(pids);
  const redisCpu0 = cpuMs(redisPids);
  const gatewayCpu0 = cpuMs(gatewayPids);
  const rq0 = runqueueWaitMs(pids);
  const wall0 = now();

  const ids = new Array(n);
  let next = 0;
  const t0 = now();
  async function worker() {
    while (next < n && now() < deadline) {
      const i = next++;
      ids[i] = await start(port, 'b4', { i });
    }
  }
  await Promise.all(Array.from({ length: conc }, worker));
  const startSeconds = (now() - t0) / 1000;
  // CPU (cores) of each process while the starts ran: with a short Wait, the wake-ups happen then too.
  const startMs = now() - wall0;
  const startCores = {
    router: +((cpuMs(pids) - cpu0) / startMs).toFixed(2),
    redis: +((cpuMs(redisPids) - redisCpu0) / startMs).toFixed(2),
    gateway: +((cpuMs(gatewayPids) - gatewayCpu0) / startMs).toFixed(2),
  };
  const memAfterStart = await usedMemory(redis);
  const parkedAfterStart = await redis.send(['ZCARD', 'sy:timers']);
  // Bytes a parked execution holds: its hash + history, and its share of the timers and index zsets.
  let sampleBytes = 0;
  let sampled = 0;
  for (let i = n - 1; i >= 0 && sampled < 200; i -= Math.max(1, Math.floor(n / 2000))) {
    const st = await redis.send(['HGET', 'sy:x:{' + ids[i] + '}', 'status']);
    if (st !== 'RUNNING') continue;
    const h = await redis.send(['MEMORY', 'USAGE', 'sy:x:{' + ids[i] + '}', 'SAMPLES', '0']);
    const l = await redis.send(['MEMORY', 'USAGE', 'sy:x:{' + ids[i] + '}:h', 'SAMPLES', '0']);
    sampleBytes += h + l;
    sampled++;
  }
  const zsetShare = async (key) => {
    const card = await redis.send(['ZCARD', key]);
    const bytes = (await redis.send(['MEMORY', 'USAGE', key, 'SAMPLES', '0'])) || 0;
    return card ? bytes / card : 0;
  };
  const parkedBytes = sampled
    ? sampleBytes / sampled + (await zsetShare('sy:timers')) + (await zsetShare('sy:xs')) + (await zsetShare('sy:xs:b4'))
    : 0;

  // Wait for every wake-up (bounded).
  while (now() < deadline) {
    let all = true;
    for (let i = 0; i < n; i++) {
      if (!fin.done.has(ids[i])) {
        all = false;
        break;
      }
    }
    if (all) break;
    await sleep(250);
  }
  clearInterval(sampler);
  const routerCpu = (cpuMs(pids) - cpu0) / (now() - wall0);
  const routerWait = (runqueueWaitMs(pids) - rq0) / (now() - wall0);
  const redisCores = (cpuMs(redisPids) - redisCpu0) / (now() - wall0);
  const gatewayCores = (cpuMs(gatewayPids) - gatewayCpu0) / (now() - wall0);
  const memAfterAll = await usedMemory(redis);
  let finished = 0;
  for (let i = 0; i < n; i++) if (fin.done.has(ids[i])) finished++;

  // Lateness: WaitStateExited timestamp minus (WaitStateEntered timestamp + wait), from the
  // histories as the API serves them (Redis holds them encoded).
  const late = [];
  const bySecond = new Map();
  const dueBySecond = new Map();  // how many fell due in each second: bursts show where lateness comes from
  const batch = 256;
  for (let i = 0; i < n; i += batch) {
    const ps = [];
    for (let j = i; j < Math.min(n, i + batch); j++) ps.push(request(port, 'GET', '/v1/executions/' + ids[j] + '/history'));
    for (const r of await Promise.all(ps)) {
      let entered = null;
      let exited = null;
      const events = r.status === 200 ? JSON.parse(r.body).events : [];
      for (const e of events) {
        if (e.type === 'WaitStateEntered') entered = Date.parse(e.timestamp);
        else if (e.type === 'WaitStateExited') exited = Date.parse(e.timestamp);
      }
      if (entered !== null && exited !== null) {
        const due = entered + waitSeconds * 1000;
        late.push(exited - due);
        // The worst lateness per second of due time: when in the run wake-ups fell behind.
        const sec = Math.floor(due / 1000);
        bySecond.set(sec, Math.max(bySecond.get(sec) ?? 0, exited - due));
        dueBySecond.set(sec, (dueBySecond.get(sec) ?? 0) + 1);
      }
    }
  }
  late.sort((x, y) => x - y);
  sub.close();
  redis.close();
  agent.destroy();
  return {
    bench: 'B4',
    executions: n,
    finished,
    start_seconds: +startSeconds.toFixed(1),
    starts_per_s: Math.round(n / startSeconds),
    parked_after_start: parkedAfterStart,
    redis_bytes_per_execution: Math.round((memAfterAll - baseline) / n),
    redis_bytes_per_execution_after_start: Math.round((memAfterStart - baseline) / n),
    redis_bytes_per_parked_execution: Math.round(parkedBytes),
    parked_at_once: parkedAtOnce,
    redis_bytes_per_parked_execution_used_memory: Math.round((memParked - memBase) / Math.max(1, parkedAtOnce)),
    router_rss_peak_mb: +(peakRss / 1048576).toFixed(1),
    router_cpu_cores: +routerCpu.toFixed(2),
    router_runqueue_wait_cores: +routerWait.toFixed(2),
    redis_cpu_cores: +redisCores.toFixed(2),
    gateway_cpu_cores: +gatewayCores.toFixed(2),
    cpu_cores_while_starting: startCores,
    lateness_max_ms_per_second: [...bySecond.keys()].sort((x, y) => x - y).map((s) => bySecond.get(s)),
    due_per_second: [...dueBySecond.keys()].sort((x, y) => x - y).map((s) => dueBySecond.get(s)),
    work_backlog_peak: peakBacklog,
    lateness_ms: { p50: q(late, 0.5), p99: q(late, 0.99), max: late.length ? late[late.length - 1] : 0, min: late[0] || 0, n: late.length },
  };
}

// ---- B6: 10 Task steps at a fixed concurrency --------------------------------------------

async function b6(a) {
  const port = Number(a.port);
  const conc = Number(a.concurrency || 64);
  const seconds = Math.min(Number(a.seconds || 20), 120); // bounded
  const max = Math.min(Number(a.max || 50000), 200000);
  const warmup = Number(a.warmup || 300);
  const { sub, fin } = await subscribe(a.redis);
  const states = {};
  for (let i = 1; i <= 10; i++) {
    states['T' + i] = i < 10
      ? { Type: 'Task', Resource: 'fn:echo', Next: 'T' + (i + 1) }
      : { Type: 'Task', Resource: 'fn:echo', End: true };
  }
  await deploy(port, 'b6', { StartAt: 'T1', States: states });
  let completed = 0;
  let started = 0;
  let measuring = false;
  const lat = [];
  const measured = [];
  let stopAt = 0;
  const input = { payload: 'xxxxxxxxxxxxxxxx' }; // B2's payload
  async function loop(limit) {
    while (started < limit && (!measuring || now() < stopAt)) {
      started++;
      const t = now();
      const id = await start(port, 'b6', input);
      let timer;
      const end = await Promise.race([
        fin.wait(id),
        new Promise((res) => { timer = setTimeout(() => res(-1), 60000); }), // a stuck run fails the bench
      ]);
      clearTimeout(timer);
      if (end < 0) throw new Error('execution ' + id + ' did not finish within 60 s');
      if (measuring) {
        completed++;
        lat.push(end - t);
        measured.push(id);
      }
    }
  }
  // Warm-up: function processes start (scale from zero) and connections open.
  await Promise.all(Array.from({ length: conc }, () => loop(warmup)));
  measuring = true;
  started = 0;
  const groups = cpuGroups(a.cpu);
  const cpuStart = cpuSnapshot(groups);
  const t0 = now();
  stopAt = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: conc }, () => loop(max)));
  const elapsed = (now() - t0) / 1000;
  const cpuEnd = cpuSnapshot(groups);
  const cpuCores = {};
  let cpuTotal = 0;
  for (const name of Object.keys(groups)) {
    cpuCores[name] = +((cpuEnd[name] - cpuStart[name]) / 1000 / elapsed).toFixed(2);
    cpuTotal += cpuCores[name];
  }
  cpuCores.total = +cpuTotal.toFixed(2);
  lat.sort((x, y) => x - y);
  // Every measured execution must have SUCCEEDED.
  const redis = new Resp(a.redis);
  await redis.ready();
  let errors = 0;
  for (let i = 0; i < measured.length; i += 1000) {
    const ps = measured.slice(i, i + 1000).map((id) => redis.send(['HGET', 'sy:x:{' + id + '}', 'status']));
    for (const st of await Promise.all(ps)) if (st !== 'SUCCEEDED') errors++;
  }
  redis.close();
  sub.close();
  agent.destroy();
  return {
    bench: 'B6',
    concurrency: conc,
    seconds: +elapsed.toFixed(1),
    executions: completed,
    executions_per_s: +(completed / elapsed).toFixed(1),
    task_steps_per_s: Math.round((completed * 10) / elapsed),
    latency_ms: { p50: q(lat, 0.5), p99: q(lat, 0.99) },
    cpu_cores: cpuCores,
    errors,
  };
}

(async () => {
  const a = args();
  const out = a._ === 'b4' ? await b4(a) : a._ === 'b6' ? await b6(a) : null;
  if (!out) {
    console.error('usage: driver.js b4|b6 --port P --redis SOCK ...');
    process.exit(2);
  }
  console.log(JSON.stringify(out));
  process.exit(0);
})().catch((e) => {
  console.error('driver: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
