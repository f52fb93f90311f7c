#pragma once
/// Reads of the trigger indexes (keys.hpp, sy:tg:*), which put_state_machine.lua
/// and delete_state_machine.lua maintain with the state machine writes.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/store/redis.hpp"

namespace switchyard::store {

class TriggerIndex {
 public:
  explicit TriggerIndex(Redis& redis) : redis_(redis) {}

  /// The state machine that owns webhook `hook`; nullopt when none.
  boost::asio::awaitable<std::optional<std::string>> hook_owner(const std::string& hook);
  /// State machines with a cloudevent trigger of this type (sorted).
  boost::asio::awaitable<std::vector<std::string>> event_subscribers(const std::string& type);
  /// State machines with schedule triggers (sorted).
  boost::asio::awaitable<std::vector<std::string>> scheduled();
  /// A counter bumped whenever a schedule trigger may have changed (0 when never).
  boost::asio::awaitable<int64_t> schedules_version();
  /// "<state machine>#<trigger index>" -> the last minute a router fired (Unix seconds).
  boost::asio::awaitable<std::map<std::string, int64_t>> last_fired();
  /// Records that `key`'s schedule fired for `minute` (Unix seconds).
  boost::asio::awaitable<void> set_last_fired(const std::string& key, int64_t minute);

 private:
  Redis& redis_;
};

}  // namespace switchyard::store
