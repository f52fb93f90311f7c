#include "switchyard/router/definitions.hpp"

#include <stdexcept>

namespace switchyard::router {

boost::asio::awaitable<std::shared_ptr<const asl::Definition>> DefinitionCache::get(const std::string& name,
                                                                                    int64_t revision) {
  auto key = std::make_pair(name, revision);
  if (auto it = cache_.find(key); it != cache_.end()) {
    co_return it->second;
  }
  auto text = co_await store_.revision(name, revision);
  if (!text) {
    throw std::runtime_error("definition " + name + " revision " + std::to_string(revision) + " is missing");
  }
  auto parsed = asl::parse_definition(Json::parse(*text));
  if (!parsed.ok()) {
    throw std::runtime_error("stored definition " + name + " revision " + std::to_string(revision) +
                             " is invalid: " + parsed.problems.front().path + ": " + parsed.problems.front().message);
  }
  // Another coroutine may have filled the slot while this one awaited Redis.
  auto [it, inserted] = cache_.emplace(key, parsed.definition);
  if (cache_.size() > capacity_) {
    // Revisions are cheap to re-parse; evict an arbitrary other entry to bound memory.
    auto victim = cache_.begin();
    if (victim == it) {
      ++victim;
    }
    cache_.erase(victim);
  }
  co_return it->second;
}

}  // namespace switchyard::router
