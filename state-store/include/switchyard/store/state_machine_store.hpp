#pragma once
/// State machines and their immutable revisions in Redis.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/store/redis.hpp"

namespace switchyard::store {

struct StateMachineRecord {
  std::string name;
  int64_t revision = 0;
  std::string type;        ///< STANDARD | EXPRESS
  std::string definition;  ///< ASL as JSON text
  std::string triggers;    ///< JSON array text
  std::string created_at;
  std::string updated_at;
};

struct PutOutcome {
  int64_t revision = 0;
  /// Conflict: a webhook trigger's name belongs to another state machine; nothing was written.
  enum class Kind { Created, Updated, Unchanged, Conflict } kind = Kind::Created;
  std::string conflict;  ///< Conflict: why, for people
};

class StateMachineStore {
 public:
  explicit StateMachineStore(Redis& redis) : redis_(redis) {}

  /// Writes the state machine and its trigger indexes (keys.hpp, sy:tg:*) atomically.
  boost::asio::awaitable<PutOutcome> put(const std::string& name, const std::string& definition,
                                         const std::string& type, const std::string& triggers, const std::string& now);
  boost::asio::awaitable<std::optional<StateMachineRecord>> get(const std::string& name);
  /// get() without the definition, triggers and times (name, revision, type only):
  /// what starting an execution needs, without copying the definition each time.
  boost::asio::awaitable<std::optional<StateMachineRecord>> head(const std::string& name);
  /// The definition text of one revision; nullopt when unknown.
  boost::asio::awaitable<std::optional<std::string>> revision(const std::string& name, int64_t revision);
  /// Names in lexical order after `after` (exclusive), at most `limit`.
  boost::asio::awaitable<std::vector<std::string>> list(const std::string& after, int64_t limit);
  /// Deletes the state machine and its trigger index entries (its revisions stay for running
  /// executions). False when unknown.
  boost::asio::awaitable<bool> remove(const std::string& name);

 private:
  Redis& redis_;
};

}  // namespace switchyard::store
