#pragma once
// One hiredis async context driven by Asio (private to redis.cpp).
//
// hiredis' event-library contract (see hiredis/adapters/libevent.h): it calls
// ev.addRead/delRead/addWrite/delWrite when it wants or no longer wants
// readiness events, and ev.cleanup just before it frees the context (which
// closes the fd). We keep one async_wait per direction armed while wanted on a
// non-owning posix::stream_descriptor; cleanup releases the fd (never closes
// it: hiredis owns it) and cancels the waits.
//
// Lifetime rules that keep this ASan-clean:
// - hiredis is only ever entered from posted handlers/coroutines, never from
//   inside one of its own callbacks, so redisAsyncFree is never deferred
//   behind our back.
// - Every wait handler holds a shared_ptr to the connection, and re-checks
//   `ac_` after calling into hiredis, which may have freed the context.
// - A reply callback owns a heap shared_ptr<PendingCommand>: the command's
//   state outlives an awaiting coroutine that gave up (timeout) or vanished.
// - Nothing is completed inline: a reply cancels the pending command's timer,
//   which posts the awaiting coroutine's resumption; loss of the connection is
//   reported through a posted callback.
#include <hiredis/async.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/store/redis.hpp"

namespace switchyard::store::detail {

/// The shared state of one command in flight.
struct PendingCommand {
  explicit PendingCommand(const boost::asio::any_io_executor& ex) : signal(ex) {}
  boost::asio::steady_timer signal;  ///< expires at the deadline; cancelled when the reply (or failure) is in
  bool done = false;                 ///< reply or error is set
  bool abandoned = false;            ///< the awaiter timed out: drop the late reply
  Reply reply;
  std::string error;  ///< non-empty: the connection failed before the reply
};

class AsioConnection : public std::enable_shared_from_this<AsioConnection> {
 public:
  AsioConnection(boost::asio::any_io_executor ex, uint64_t id, std::function<void(uint64_t)> on_lost);
  ~AsioConnection();
  AsioConnection(const AsioConnection&) = delete;
  AsioConnection& operator=(const AsioConnection&) = delete;

  /// Starts a non-blocking connect to a numeric IP or a unix socket. Must be
  /// owned by a shared_ptr. Throws RedisError when hiredis fails at once.
  void start_tcp(const std::string& ip, int port);
  void start_unix(const std::string& path);
  /// Waits for hiredis' connect callback; throws RedisError (and closes) on failure or at `deadline`.
  boost::asio::awaitable<void> wait_connected(std::chrono::steady_clock::time_point deadline);

  /// Queues a command (RESP-encoded; hiredis copies it); false when the connection can take no more commands.
  bool send(std::string_view cmd, const std::shared_ptr<PendingCommand>& pending);

  /// Connected and not freed.
  bool alive() const { return ac_ != nullptr && connected_; }
  uint64_t id() const { return id_; }
  /// Why the connection failed or ended (hiredis' message), empty if unknown.
  const std::string& error() const { return error_; }
  /// Frees the hiredis context: pending commands fail now. Idempotent.
  void close();

 private:
  void attach();
  void arm_read();
  void arm_write();
  static void on_add_read(void* self);
  static void on_del_read(void* self);
  static void on_add_write(void* self);
  static void on_del_write(void* self);
  static void on_cleanup(void* self);
  static void on_connect(const redisAsyncContext* ac, int status);

  boost::asio::any_io_executor ex_;
  uint64_t id_;
  std::function<void(uint64_t)> on_lost_;  ///< posted with id_ when hiredis frees the context
  boost::asio::posix::stream_descriptor fd_;
  boost::asio::steady_timer connect_signal_;  ///< cancelled when the connect attempt settles
  redisAsyncContext* ac_ = nullptr;
  bool connected_ = false;
  bool connect_settled_ = false;
  bool want_read_ = false;
  bool want_write_ = false;
  bool read_armed_ = false;
  bool write_armed_ = false;
  std::string error_;
};

}  // namespace switchyard::store::detail
