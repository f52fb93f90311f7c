#pragma once
/// An Asio adapter for hiredis' async API, with C++20 coroutines.
///
/// One Redis object is one connection. Commands are pipelined: many
/// coroutines may await command() concurrently and share the socket. The
/// hiredis reply is copied into a Reply before hiredis frees it. On a broken
/// connection every pending command fails with RedisError and the adapter
/// reconnects in the background with exponential backoff; the next command
/// waits for the reconnect (bounded by the command timeout). Nothing here ever
/// blocks the event loop. All use must be on the io_context's single thread.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace switchyard::store {

/// Where Redis is: "redis://host:port[/db]" or "unix:///path/to/socket" (or a bare path).
struct Address {
  std::string host;  ///< empty for unix sockets
  int port = 6379;
  std::string unix_path;  ///< set for unix sockets
  int db = 0;
  static Address parse(std::string_view url);  ///< throws std::invalid_argument
  std::string to_string() const;
};

/// I/O failure talking to Redis (connection lost, timeout). Not an error reply.
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A copied RESP2 reply.
struct Reply {
  enum class Type { Nil, Integer, String, Status, Error, Array };
  Type type = Type::Nil;
  int64_t integer = 0;
  std::string str;              ///< String, Status, Error
  std::vector<Reply> elements;  ///< Array

  bool is_nil() const { return type == Type::Nil; }
  bool is_error() const { return type == Type::Error; }
  /// Throws RedisError when this is an error reply (for callers that expect none).
  const Reply& check() const;
  /// The elements of an array reply as strings, moved out (empty for any other reply).
  std::vector<std::string> take_strings();
};

/// Command arguments encoded as RESP bulk strings as they are added: a big
/// command (a batch of commits) is built once, not as a vector of strings
/// copied on its way to the socket.
class RespArgs {
 public:
  void reserve(size_t bytes) { buf_.reserve(bytes); }
  void add(std::string_view arg);
  void add_int(int64_t n);
  size_t count() const { return count_; }
  size_t bytes() const { return buf_.size(); }
  const std::string& encoded() const { return buf_; }

 private:
  std::string buf_;
  size_t count_ = 0;
};

struct RedisOptions {
  std::chrono::milliseconds connect_timeout{2000};  ///< a Redis that does not accept in 2 s is down
  std::chrono::milliseconds command_timeout{5000};  ///< default bound on one command's round trip
  std::chrono::milliseconds max_backoff{2000};      ///< reconnect backoff cap
};

class Redis {
 public:
  Redis(boost::asio::any_io_executor ex, Address address, RedisOptions options = {});
  ~Redis();
  Redis(const Redis&) = delete;
  Redis& operator=(const Redis&) = delete;

  /// Connects (retrying with backoff until `deadline` passes; throws RedisError then).
  boost::asio::awaitable<void> connect(std::chrono::milliseconds deadline = std::chrono::milliseconds{10000});

  /// Sends one command (binary-safe arguments) and returns its reply; an
  /// error reply is returned as Reply::Type::Error, not thrown.
  /// `timeout` 0 means options.command_timeout. Throws RedisError on I/O failure/timeout.
  boost::asio::awaitable<Reply> command(std::vector<std::string> args,
                                        std::chrono::milliseconds timeout = std::chrono::milliseconds{0});

  /// Runs a Lua script by SHA (EVALSHA), loading it on NOSCRIPT.
  boost::asio::awaitable<Reply> eval(std::string_view script_name, const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout = std::chrono::milliseconds{0});

  /// eval() with the keys and arguments already encoded.
  boost::asio::awaitable<Reply> eval_encoded(std::string_view script_name, RespArgs keys, RespArgs args,
                                             std::chrono::milliseconds timeout = std::chrono::milliseconds{0});

  bool connected() const;
  /// Closes the connection; pending commands fail; no reconnect afterwards.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

/// The source of an embedded Lua script (state-store/lua/<name>.lua), empty when unknown.
std::string_view lua_source(std::string_view name);

}  // namespace switchyard::store
