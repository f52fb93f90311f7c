#include "switchyard/store/state_machine_store.hpp"

#include "switchyard/store/keys.hpp"

namespace switchyard::store {

namespace asio = boost::asio;

asio::awaitable<PutOutcome> StateMachineStore::put(const std::string& name, const std::string& definition,
                                                   const std::string& type, const std::string& triggers,
                                                   const std::string& now) {
  std::vector<std::string> keys{keys::state_machine(name),     std::string(keys::kStateMachines),
                                keys::revision_prefix(name),   std::string(keys::kHooks),
                                std::string(keys::kSchedules), std::string(keys::kSchedulesVersion)};
  std::vector<std::string> args{name, definition, type, triggers, now, std::string(keys::kEventTypePrefix)};
  Reply r = co_await redis_.eval("put_state_machine", keys, args);
  r.check();
  if (r.elements.size() < 2) {
    throw RedisError("put_state_machine: unexpected reply");
  }
  PutOutcome out;
  out.revision = r.elements[0].integer;
  const auto& k = r.elements[1].str;
  out.kind = k == "created"    ? PutOutcome::Kind::Created
             : k == "updated"  ? PutOutcome::Kind::Updated
             : k == "conflict" ? PutOutcome::Kind::Conflict
                               : PutOutcome::Kind::Unchanged;
  if (out.kind == PutOutcome::Kind::Conflict && r.elements.size() > 2) {
    out.conflict = r.elements[2].str;
  }
  co_return out;
}

asio::awaitable<std::optional<StateMachineRecord>> StateMachineStore::head(const std::string& name) {
  std::vector<std::string> args{"HMGET", keys::state_machine(name), "name", "revision", "type"};
  Reply r = co_await redis_.command(std::move(args));
  r.check();
  if (r.elements.size() != 3 || r.elements[0].is_nil()) {
    co_return std::nullopt;
  }
  StateMachineRecord rec;
  rec.name = r.elements[0].str;
  rec.revision = std::stoll(r.elements[1].str);
  rec.type = r.elements[2].str;
  co_return rec;
}

asio::awaitable<std::optional<StateMachineRecord>> StateMachineStore::get(const std::string& name) {
  std::vector<std::string> args1{
      "HMGET",    keys::state_machine(name), "name", "revision", "type", "definition", "triggers", "createdAt",
      "updatedAt"};
  Reply r = co_await redis_.command(std::move(args1));
  r.check();
  if (r.elements.size() != 7 || r.elements[0].is_nil()) {
    co_return std::nullopt;
  }
  StateMachineRecord rec;
  rec.name = r.elements[0].str;
  rec.revision = std::stoll(r.elements[1].str);
  rec.type = r.elements[2].str;
  rec.definition = r.elements[3].str;
  rec.triggers = r.elements[4].str;
  rec.created_at = r.elements[5].str;
  rec.updated_at = r.elements[6].str;
  co_return rec;
}

asio::awaitable<std::optional<std::string>> StateMachineStore::revision(const std::string& name, int64_t rev) {
  std::vector<std::string> args2{"GET", keys::revision(name, rev)};
  Reply r = co_await redis_.command(std::move(args2));
  r.check();
  if (r.is_nil()) {
    co_return std::nullopt;
  }
  co_return std::move(r.str);
}

asio::awaitable<std::vector<std::string>> StateMachineStore::list(const std::string& after, int64_t limit) {
  std::vector<std::string> args3{
      "ZRANGEBYLEX",        std::string(keys::kStateMachines), after.empty() ? "-" : "(" + after, "+", "LIMIT", "0",
      std::to_string(limit)};
  Reply r = co_await redis_.command(std::move(args3));
  r.check();
  co_return r.take_strings();
}

asio::awaitable<bool> StateMachineStore::remove(const std::string& name) {
  std::vector<std::string> keys{keys::state_machine(name),
                                std::string(keys::kStateMachines),
                                std::string(keys::kHooks),
                                std::string(keys::kSchedules),
                                std::string(keys::kSchedulesVersion),
                                std::string(keys::kSchedulesLast),
                                std::string(keys::kDeletedStateMachines)};
  std::vector<std::string> args{name, std::string(keys::kEventTypePrefix)};
  Reply r = co_await redis_.eval("delete_state_machine", keys, args);
  r.check();
  co_return r.integer > 0;
}

}  // namespace switchyard::store
