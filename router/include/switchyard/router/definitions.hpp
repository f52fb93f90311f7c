#pragma once
/// Parsed definitions by (state machine, revision). Revisions are immutable,
/// so each is parsed once per process and shared by every execution of it.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "switchyard/asl/definition.hpp"
#include "switchyard/store/state_machine_store.hpp"

namespace switchyard::router {

class DefinitionCache {
 public:
  explicit DefinitionCache(store::StateMachineStore& store, size_t capacity = 1024)
      : store_(store), capacity_(capacity) {}

  /// The parsed revision; throws std::runtime_error when it is missing or invalid
  /// (both are broken invariants of stored data, handled per work item).
  boost::asio::awaitable<std::shared_ptr<const asl::Definition>> get(const std::string& name, int64_t revision);

 private:
  store::StateMachineStore& store_;
  size_t capacity_;
  std::map<std::pair<std::string, int64_t>, std::shared_ptr<const asl::Definition>> cache_;
};

}  // namespace switchyard::router
