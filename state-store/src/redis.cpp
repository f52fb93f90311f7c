// The hiredis <-> Asio adapter and the Redis client built on it.
//
// Shape: Redis::Impl owns at most one ready AsioConnection (`conn`) and runs at
// most one reconnect loop (a detached coroutine). Commands are pipelined on the
// ready connection; each awaits its own PendingCommand, whose timer doubles as
// the completion signal (the reply cancels it) and the timeout (it expires).
//
// Failure model:
// - Connection lost (server gone, read/write error): hiredis fails every
//   pending callback with a NULL reply, so every pending command throws
//   RedisError; a posted notification drops the connection and starts the
//   reconnect loop (100 ms backoff doubling up to options.max_backoff).
// - Command timeout: the connection is reset, failing every other command in
//   flight on it, and then reconnected. Replies are matched to commands by
//   order only, and a connection that does not answer one command in time is
//   either blocked behind it (BLPOP and friends) or half-dead (no RST from a
//   vanished peer); waiting on it would stall every later command. Callers
//   of blocking commands pass a timeout longer than the block.
// - Commands issued while disconnected wait for the reconnect, bounded by
//   their own timeout.
// - close()/destruction: no more reconnects; pending commands fail at once.
//   Coroutines that are still suspended keep Impl alive through shared_ptr,
//   so they resume safely after the Redis object is gone.
//
// Not supported on this connection: pub/sub (SUBSCRIBE, MONITOR), whose
// replies hiredis routes differently. The process ignores SIGPIPE (set once,
// only if it was the default) because hiredis writes with write(2).
#include "switchyard/store/redis.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <signal.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>
#include <charconv>
#include <iterator>
#include <list>
#include <map>

#include "redis_adapter.hpp"

namespace switchyard::store {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

void append_count(std::string& out, char kind, size_t n) {
  char head[24];
  head[0] = kind;
  char* end = std::to_chars(head + 1, head + sizeof head - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(head, static_cast<size_t>(end - head));
}

void append_bulk(std::string& out, std::string_view arg) {
  append_count(out, '$', arg.size());
  out.append(arg.data(), arg.size());
  out.append("\r\n", 2);
}

// RESP formatted here: hiredis' argv formatting (an sdscatfmt per argument)
// cost more than the rest of a commit's client side.
std::string encode_command(const std::vector<std::string>& args) {
  size_t total = 16;
  for (const auto& a : args) {
    total += a.size() + 24;
  }
  std::string cmd;
  cmd.reserve(total);
  append_count(cmd, '*', args.size());
  for (const auto& a : args) {
    append_bulk(cmd, a);
  }
  return cmd;
}

}  // namespace

void RespArgs::add(std::string_view arg) {
  // Hot (every argument of every commit): one growth check for the header (at most 24 bytes),
  // the argument and its CRLF, then append_bulk's three appends fit.
  const size_t need = buf_.size() + 24 + arg.size() + 2;
  if (need > buf_.capacity()) {
    buf_.reserve(std::max(need, 2 * buf_.capacity()));
  }
  append_bulk(buf_, arg);
  ++count_;
}

void RespArgs::add_int(int64_t n) {
  char num[24];
  auto end = std::to_chars(num, num + sizeof num, n).ptr;
  add(std::string_view(num, static_cast<size_t>(end - num)));
}

const Reply& Reply::check() const {
  if (is_error()) {
    throw RedisError("redis error reply: " + str);
  }
  return *this;
}

std::vector<std::string> Reply::take_strings() {
  std::vector<std::string> out;
  out.reserve(elements.size());
  for (auto& e : elements) {
    out.push_back(std::move(e.str));
  }
  return out;
}

namespace detail {

namespace {

Reply copy_reply(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::String;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::Status;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::Error;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::Integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::Array;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) {
        out.elements.push_back(r.element[i] != nullptr ? copy_reply(*r.element[i]) : Reply{});
      }
      break;
    default:
      out.type = Reply::Type::Nil;
      break;
  }
  return out;
}

// hiredis calls this exactly once per queued command: with the reply, or with
// NULL when the context is freed. It must copy the reply now (hiredis frees it
// after we return) and must not call back into hiredis.
void on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<std::shared_ptr<PendingCommand>> holder(static_cast<std::shared_ptr<PendingCommand>*>(privdata));
  PendingCommand& p = **holder;
  if (p.abandoned || p.done) {
    return;
  }
  if (reply != nullptr) {
    p.reply = copy_reply(*static_cast<redisReply*>(reply));
  } else {
    p.error = "redis connection lost";
    if (ac != nullptr && ac->err != 0 && ac->errstr != nullptr) {
      p.error += std::string(": ") + ac->errstr;
    }
  }
  p.done = true;
  p.signal.cancel();  // posts the awaiting coroutine's resumption
}

}  // namespace

AsioConnection::AsioConnection(asio::any_io_executor ex, uint64_t id, std::function<void(uint64_t)> on_lost)
    : ex_(ex), id_(id), on_lost_(std::move(on_lost)), fd_(ex), connect_signal_(ex) {}

AsioConnection::~AsioConnection() { close(); }

void AsioConnection::start_tcp(const std::string& ip, int port) {
  assert(ac_ == nullptr);
  redisAsyncContext* ac = redisAsyncConnect(ip.c_str(), port);
  if (ac == nullptr) {
    throw RedisError("redisAsyncConnect: out of memory");
  }
  ac_ = ac;
  attach();
}

void AsioConnection::start_unix(const std::string& path) {
  assert(ac_ == nullptr);
  redisAsyncContext* ac = redisAsyncConnectUnix(path.c_str());
  if (ac == nullptr) {
    throw RedisError("redisAsyncConnectUnix: out of memory");
  }
  ac_ = ac;
  attach();
}

void AsioConnection::attach() {
  if (ac_->err != 0) {
    error_ = ac_->errstr;
    redisAsyncFree(ac_);  // no hooks attached yet: frees synchronously without calling us
    ac_ = nullptr;
    throw RedisError(error_);
  }
  boost::system::error_code ec;
  fd_.assign(ac_->c.fd, ec);
  if (ec) {
    error_ = "cannot watch redis socket: " + ec.message();
    redisAsyncFree(ac_);
    ac_ = nullptr;
    throw RedisError(error_);
  }
  ac_->data = this;
  ac_->ev.data = this;
  ac_->ev.addRead = &on_add_read;
  ac_->ev.delRead = &on_del_read;
  ac_->ev.addWrite = &on_add_write;
  ac_->ev.delWrite = &on_del_write;
  ac_->ev.cleanup = &on_cleanup;
  // Also asks for the first write event, which is how hiredis learns the connect finished.
  redisAsyncSetConnectCallback(ac_, &on_connect);
}

void AsioConnection::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<AsioConnection*>(ac->data);
  self->connect_settled_ = true;
  self->connected_ = status == REDIS_OK;
  if (status != REDIS_OK) {
    self->error_ = ac->errstr != nullptr ? ac->errstr : "connect failed";
  }
  self->connect_signal_.cancel();
}

asio::awaitable<void> AsioConnection::wait_connected(Clock::time_point deadline) {
  auto self = shared_from_this();
  connect_signal_.expires_at(deadline);
  if (ac_ != nullptr && !connect_settled_) {
    boost::system::error_code ec;
    co_await connect_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (alive()) {
    co_return;
  }
  std::string why = !error_.empty() ? error_ : (ac_ != nullptr ? "connect timed out" : "connection closed");
  close();
  throw RedisError(why);
}

bool AsioConnection::send(std::string_view cmd, const std::shared_ptr<PendingCommand>& pending) {
  assert(!cmd.empty());
  if (!alive()) {
    return false;
  }
  auto* holder = new std::shared_ptr<PendingCommand>(pending);
  if (redisAsyncFormattedCommand(ac_, &on_reply, holder, cmd.data(), cmd.size()) != REDIS_OK) {
    delete holder;  // not queued: hiredis will never call back
    return false;
  }
  return true;
}

void AsioConnection::close() {
  if (ac_ != nullptr) {
    // Not inside a hiredis callback (see the header), so this frees at once:
    // pending callbacks get NULL, then on_cleanup runs.
    redisAsyncFree(ac_);
  }
}

void AsioConnection::arm_read() {
  if (read_armed_ || ac_ == nullptr) {
    return;
  }
  read_armed_ = true;
  fd_.async_wait(asio::posix::stream_descriptor::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
    self->read_armed_ = false;
    if (ec || self->ac_ == nullptr || !self->want_read_) {
      return;
    }
    redisAsyncHandleRead(self->ac_);  // may free the context (then ac_ is null)
    if (self->ac_ != nullptr && self->want_read_) {
      self->arm_read();
    }
  });
}

void AsioConnection::arm_write() {
  if (write_armed_ || ac_ == nullptr) {
    return;
  }
  write_armed_ = true;
  fd_.async_wait(asio::posix::stream_descriptor::wait_write, [self = shared_from_this()](boost::system::error_code ec) {
    self->write_armed_ = false;
    if (ec || self->ac_ == nullptr || !self->want_write_) {
      return;
    }
    redisAsyncHandleWrite(self->ac_);  // may connect, or free the context
    if (self->ac_ != nullptr && self->want_write_) {
      self->arm_write();
    }
  });
}

void AsioConnection::on_add_read(void* p) {
  auto* self = static_cast<AsioConnection*>(p);
  self->want_read_ = true;
  self->arm_read();
}

void AsioConnection::on_del_read(void* p) { static_cast<AsioConnection*>(p)->want_read_ = false; }

void AsioConnection::on_add_write(void* p) {
  auto* self = static_cast<AsioConnection*>(p);
  self->want_write_ = true;
  self->arm_write();
}

void AsioConnection::on_del_write(void* p) { static_cast<AsioConnection*>(p)->want_write_ = false; }

void AsioConnection::on_cleanup(void* p) {
  auto* self = static_cast<AsioConnection*>(p);
  if (self->ac_ != nullptr && self->ac_->err != 0 && self->ac_->errstr != nullptr && self->error_.empty()) {
    self->error_ = self->ac_->errstr;
  }
  self->ac_ = nullptr;
  self->connected_ = false;
  self->want_read_ = false;
  self->want_write_ = false;
  // Cancels the waits and deregisters the fd before hiredis closes it.
  (void)self->fd_.release();
  self->connect_signal_.cancel();
  if (self->on_lost_) {
    asio::post(self->ex_, [f = self->on_lost_, id = self->id_] { f(id); });
  }
}

}  // namespace detail

struct Redis::Impl : std::enable_shared_from_this<Redis::Impl> {
  Impl(asio::any_io_executor e, Address a, RedisOptions o)
      : ex(std::move(e)), address(std::move(a)), options(o), backoff_timer(ex) {}
  ~Impl() { close(); }

  asio::any_io_executor ex;
  Address address;
  RedisOptions options;
  std::shared_ptr<detail::AsioConnection> conn;        ///< the ready connection, if any
  std::shared_ptr<detail::AsioConnection> connecting;  ///< the attempt in progress, if any
  bool closed = false;
  bool reconnecting = false;
  uint64_t next_id = 0;
  uint64_t resolve_attempts = 0;
  std::string last_error = "not connected yet";
  std::list<asio::steady_timer*> waiters;  ///< commands waiting for a connection
  asio::steady_timer backoff_timer;
  std::map<std::string, std::string, std::less<>> shas;  ///< script name -> SHA1 hex

  bool ready() const { return !closed && conn && conn->alive(); }

  void close() {
    closed = true;
    backoff_timer.cancel();
    if (connecting) {
      connecting->close();
    }
    if (conn) {
      auto c = std::move(conn);
      c->close();
    }
    wake_waiters();
  }

  void wake_waiters() {
    for (auto* t : waiters) {
      t->cancel();
    }
  }

  void connection_lost(uint64_t id) {
    if (conn && conn->id() == id) {
      last_error = conn->error().empty() ? "connection lost" : conn->error();
      conn.reset();
      ensure_connecting();
    }
  }

  void ensure_connecting() {
    if (closed || reconnecting || ready()) {
      return;
    }
    reconnecting = true;
    asio::co_spawn(ex, reconnect_loop(shared_from_this()), asio::detached);
  }

  asio::awaitable<void> reconnect_loop([[maybe_unused]] std::shared_ptr<Impl> keepalive) {
    milliseconds backoff{100};
    while (!closed) {
      try {
        auto c = co_await open_connection();
        if (closed) {
          c->close();
          break;
        }
        conn = std::move(c);
        wake_waiters();
        break;
      } catch (const std::exception& e) {
        last_error = e.what();
      }
      if (closed) {
        break;
      }
      backoff_timer.expires_after(backoff);
      boost::system::error_code ec;
      co_await backoff_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      backoff = std::min(backoff * 2, options.max_backoff);
    }
    reconnecting = false;
  }

  asio::awaitable<std::string> resolve_host(Clock::time_point deadline) {
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(address.host, ec);
    if (!ec) {
      co_return ip.to_string();
    }
    // hiredis would resolve with a blocking getaddrinfo; Asio's resolver does it off the loop.
    using namespace asio::experimental::awaitable_operators;
    asio::ip::tcp::resolver resolver(ex);
    asio::steady_timer timer(ex, deadline);  // a resolver that does not answer in the connect timeout is down
    auto result = co_await (
        resolver.async_resolve(address.host, std::to_string(address.port), asio::as_tuple(asio::use_awaitable)) ||
        timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (result.index() == 1) {
      throw RedisError("resolving " + address.host + " timed out");
    }
    auto& [rec, results] = std::get<0>(result);
    if (rec || results.empty()) {
      throw RedisError("cannot resolve " + address.host + ": " + rec.message());
    }
    // Successive attempts walk the list, so a name with an unreachable first address (::1) still connects.
    auto it = results.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(resolve_attempts++ % results.size()));
    co_return it->endpoint().address().to_string();
  }

  asio::awaitable<std::shared_ptr<detail::AsioConnection>> open_connection() {
    auto deadline = Clock::now() + options.connect_timeout;
    std::weak_ptr<Impl> weak = weak_from_this();
    auto c = std::make_shared<detail::AsioConnection>(ex, ++next_id, [weak](uint64_t id) {
      if (auto self = weak.lock()) {
        self->connection_lost(id);
      }
    });
    connecting = c;
    struct ClearConnecting {
      Impl* impl;
      ~ClearConnecting() { impl->connecting.reset(); }
    } clear{this};
    if (!address.unix_path.empty()) {
      c->start_unix(address.unix_path);
    } else {
      std::string ip = co_await resolve_host(deadline);
      if (closed) {
        throw RedisError("redis client closed");
      }
      c->start_tcp(ip, address.port);
    }
    co_await c->wait_connected(deadline);
    if (address.db != 0) {
      std::string select = encode_command({"SELECT", std::to_string(address.db)});
      Reply r = co_await exec(c, select, "SELECT", Clock::now() + options.command_timeout);
      if (r.is_error()) {
        c->close();
        throw RedisError("SELECT " + std::to_string(address.db) + " failed: " + r.str);
      }
    }
    co_return c;
  }

  // Waits until a connection is ready, starting the reconnect loop if needed.
  asio::awaitable<void> wait_ready(Clock::time_point deadline) {
    auto self = shared_from_this();
    while (!ready()) {
      if (closed) {
        throw RedisError("redis client closed");
      }
      ensure_connecting();
      if (Clock::now() >= deadline) {
        throw RedisError("not connected to redis at " + address.to_string() + ": " + last_error);
      }
      asio::steady_timer t(ex, deadline);
      waiters.push_back(&t);
      struct Unlist {
        Impl* impl;
        std::list<asio::steady_timer*>::iterator it;
        ~Unlist() { impl->waiters.erase(it); }
      } unlist{this, std::prev(waiters.end())};
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // Sends one encoded command (named `what` in errors) on `c` and awaits its reply until `deadline`.
  asio::awaitable<Reply> exec(std::shared_ptr<detail::AsioConnection> c, const std::string& cmd, std::string_view what,
                              Clock::time_point deadline) {
    auto self = shared_from_this();
    auto p = std::make_shared<detail::PendingCommand>(ex);
    if (!c->send(cmd, p)) {
      throw RedisError("redis connection lost" + (c->error().empty() ? "" : ": " + c->error()));
    }
    p->signal.expires_at(deadline);
    if (!p->done) {
      boost::system::error_code ec;
      co_await p->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (p->done) {
      if (!p->error.empty()) {
        throw RedisError(p->error);
      }
      co_return std::move(p->reply);
    }
    // Timed out: the reply, if it ever comes, is dropped by on_reply, and the connection is reset (see top).
    p->abandoned = true;
    c->close();
    if (conn == c) {
      last_error = "reset after a command timed out";
      conn.reset();
      ensure_connecting();
    }
    throw RedisError("redis command " + std::string(what) + " timed out");
  }

  // Not a coroutine itself: the returned one owns `self` from the start.
  asio::awaitable<Reply> command(std::vector<std::string> args, milliseconds timeout) {
    return command_co(shared_from_this(), std::move(args), timeout);
  }

  static asio::awaitable<Reply> command_co(std::shared_ptr<Impl> self, std::vector<std::string> args,
                                           milliseconds timeout) {
    co_return co_await self->command_impl(std::move(args), timeout);
  }

  asio::awaitable<Reply> command_impl(std::vector<std::string> args, milliseconds timeout) {
    if (args.empty()) {
      throw std::invalid_argument("empty redis command");
    }
    std::string cmd = encode_command(args);  // named: it must live across the await
    co_return co_await run_encoded(cmd, args.front(), timeout);
  }

  // Waits for a connection and runs one encoded command; `cmd` and `what` must outlive the await.
  asio::awaitable<Reply> run_encoded(const std::string& cmd, std::string_view what, milliseconds timeout) {
    auto deadline = Clock::now() + (timeout.count() > 0 ? timeout : options.command_timeout);
    co_await wait_ready(deadline);
    co_return co_await exec(conn, cmd, what, deadline);
  }

  static asio::awaitable<void> connect_co(std::shared_ptr<Impl> impl, milliseconds deadline) {
    co_await impl->wait_ready(Clock::now() + deadline);
  }

  static asio::awaitable<Reply> eval_co(std::shared_ptr<Impl> impl, std::string script_name, RespArgs keys,
                                        RespArgs args, milliseconds timeout) {
    std::string_view source = lua_source(script_name);
    if (source.empty()) {
      // A name not in state-store/lua/ is a programming error; thrown (not asserted) so release builds fail loudly too.
      throw std::invalid_argument("unknown Lua script '" + script_name + "'");
    }
    auto deadline = Clock::now() + (timeout.count() > 0 ? timeout : impl->options.command_timeout);
    auto encode = [&](std::string_view verb, std::string_view script) {
      std::string cmd;
      cmd.reserve(64 + script.size() + keys.bytes() + args.bytes());
      append_count(cmd, '*', 3 + keys.count() + args.count());
      append_bulk(cmd, verb);
      append_bulk(cmd, script);
      append_bulk(cmd, std::to_string(keys.count()));
      cmd += keys.encoded();
      cmd += args.encoded();
      return cmd;
    };
    std::string cmd = encode("EVALSHA", impl->sha_of(script_name));
    Reply r = co_await impl->run_encoded(cmd, "EVALSHA", timeout);
    if (r.is_error() && r.str.starts_with("NOSCRIPT")) {
      // First use on this server (or after SCRIPT FLUSH / a restart): EVAL also caches it for the next EVALSHA.
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      cmd = encode("EVAL", source);
      r = co_await impl->run_encoded(cmd, "EVAL", std::max(left, milliseconds{1}));
    }
    co_return r;
  }

  const std::string& sha_of(std::string_view name) {
    auto it = shas.find(name);
    if (it != shas.end()) {
      return it->second;
    }
    std::string_view src = lua_source(name);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(src.data()), src.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char b : digest) {
      hex += kHex[b >> 4];
      hex += kHex[b & 0xf];
    }
    return shas.emplace(std::string(name), std::move(hex)).first->second;
  }
};

namespace {

// hiredis writes with write(2): a peer that closed must not kill the process with SIGPIPE.
void ignore_sigpipe_once() {
  static const bool done = [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
    return true;
  }();
  (void)done;
}

}  // namespace

Redis::Redis(asio::any_io_executor ex, Address address, RedisOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(address), options)) {
  ignore_sigpipe_once();
}

Redis::~Redis() { impl_->close(); }

// The public coroutines are plain functions returning a coroutine that owns a
// shared_ptr to Impl and copies of its arguments, so an awaitable started
// later (co_spawn posts the start) never touches a destroyed Redis.
asio::awaitable<void> Redis::connect(milliseconds deadline) { return Impl::connect_co(impl_, deadline); }

asio::awaitable<Reply> Redis::command(std::vector<std::string> args, milliseconds timeout) {
  return impl_->command(std::move(args), timeout);
}

asio::awaitable<Reply> Redis::eval(std::string_view script_name, const std::vector<std::string>& keys,
                                   const std::vector<std::string>& args, milliseconds timeout) {
  RespArgs k;
  RespArgs a;
  for (const auto& key : keys) {
    k.add(key);
  }
  for (const auto& arg : args) {
    a.add(arg);
  }
  return Impl::eval_co(impl_, std::string(script_name), std::move(k), std::move(a), timeout);
}

asio::awaitable<Reply> Redis::eval_encoded(std::string_view script_name, RespArgs keys, RespArgs args,
                                           milliseconds timeout) {
  return Impl::eval_co(impl_, std::string(script_name), std::move(keys), std::move(args), timeout);
}

bool Redis::connected() const { return impl_->ready(); }

void Redis::close() { impl_->close(); }

}  // namespace switchyard::store
