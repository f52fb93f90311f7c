#include "switchyard/store/trigger_index.hpp"

#include <algorithm>

#include "switchyard/store/keys.hpp"

namespace switchyard::store {

namespace asio = boost::asio;

namespace {
std::vector<std::string> strings(Reply& r) {
  std::vector<std::string> out = r.take_strings();
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

asio::awaitable<std::optional<std::string>> TriggerIndex::hook_owner(const std::string& hook) {
  std::vector<std::string> cmd1{"HGET", std::string(keys::kHooks), hook};
  Reply r = co_await redis_.command(std::move(cmd1));
  r.check();
  if (r.is_nil()) {
    co_return std::nullopt;
  }
  co_return std::move(r.str);
}

asio::awaitable<std::vector<std::string>> TriggerIndex::event_subscribers(const std::string& type) {
  std::vector<std::string> cmd2{"SMEMBERS", keys::event_type(type)};
  Reply r = co_await redis_.command(std::move(cmd2));
  r.check();
  co_return strings(r);
}

asio::awaitable<std::vector<std::string>> TriggerIndex::scheduled() {
  std::vector<std::string> cmd3{"SMEMBERS", std::string(keys::kSchedules)};
  Reply r = co_await redis_.command(std::move(cmd3));
  r.check();
  co_return strings(r);
}

asio::awaitable<int64_t> TriggerIndex::schedules_version() {
  std::vector<std::string> cmd4{"GET", std::string(keys::kSchedulesVersion)};
  Reply r = co_await redis_.command(std::move(cmd4));
  r.check();
  co_return r.is_nil() ? 0 : std::stoll(r.str);
}

asio::awaitable<std::map<std::string, int64_t>> TriggerIndex::last_fired() {
  std::vector<std::string> cmd5{"HGETALL", std::string(keys::kSchedulesLast)};
  Reply r = co_await redis_.command(std::move(cmd5));
  r.check();
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    try {
      out[r.elements[i].str] = std::stoll(r.elements[i + 1].str);
    } catch (const std::exception&) {
      // not ours: ignore rather than stop every schedule
    }
  }
  co_return out;
}

asio::awaitable<void> TriggerIndex::set_last_fired(const std::string& key, int64_t minute) {
  // Named, not a braced temporary: g++ 12 mishandles init-lists in co_await expressions.
  std::vector<std::string> cmd{"HSET", std::string(keys::kSchedulesLast), key, std::to_string(minute)};
  (co_await redis_.command(std::move(cmd))).check();
}

}  // namespace switchyard::store
