#pragma once
/// The Redis key schema, in one place. Keys of one execution share the hash
/// tag {<execution id>} so they land in one slot on Redis Cluster.
///
///   sy:sm                      zset   state machine names (score 0, lexical order)
///   sy:sm:<name>               hash   name, revision, type, definition, triggers, createdAt, updatedAt
///   sy:sm:<name>:r:<rev>       string definition text of one revision (immutable)
///   sy:x:{<id>}                hash   the execution record (see execution_store.hpp)
///   sy:x:{<id>}:h              list   history events (encoded JSON text, event_codec.hpp; id = position)
///   sy:xs / sy:xs:<name>       zset   execution ids by start time (all / per state machine); ids of
///                                     expired executions are removed by the routers' sweep (sweep_index.lua)
///   sy:xsd                     set    deleted state machines whose sy:xs:<name> may still hold ids (swept too)
///   sy:xn:<name>:<execname>    string execution name -> id (idempotent start)
///   sy:work                    stream work items, consumer group "routers"
///   sy:timers                  zset   "exec|run|version|kind" by due time (ms)
///   sy:timers:behind           string set (expiring by itself) while a router takes due timers late:
///                                     new starts are held back meanwhile (router/admission.hpp)
///   sy:tok:<token>             hash   a callback task token
///   sy:done                    pubsub execution ids as they finish (for observers: the load driver
///                                     sees finishes on any router through it)
///   sy:tg:hooks                hash   webhook trigger name -> state machine (unique across state machines)
///   sy:tg:ev:<ce type>         set    state machines with a cloudevent trigger of that type
///   sy:tg:sched                set    state machines with schedule triggers
///   sy:tg:sched:v              string bumped whenever a schedule trigger may have changed (routers reload)
///   sy:tg:sched:last           hash   "<state machine>#<trigger index>" -> last fired minute (Unix seconds)
/// The sy:tg:* indexes change only with the state machine writes (put/delete_state_machine.lua).
#include <string>
#include <string_view>

namespace switchyard::store::keys {

inline constexpr std::string_view kWork = "sy:work";
inline constexpr std::string_view kWorkGroup = "routers";
inline constexpr std::string_view kTimers = "sy:timers";
inline constexpr std::string_view kTimersBehind = "sy:timers:behind";
inline constexpr std::string_view kStateMachines = "sy:sm";
inline constexpr std::string_view kExecutions = "sy:xs";
inline constexpr std::string_view kDeletedStateMachines = "sy:xsd";
inline constexpr std::string_view kDoneChannel = "sy:done";
inline constexpr std::string_view kHooks = "sy:tg:hooks";
inline constexpr std::string_view kEventTypePrefix = "sy:tg:ev:";
inline constexpr std::string_view kSchedules = "sy:tg:sched";
inline constexpr std::string_view kSchedulesVersion = "sy:tg:sched:v";
inline constexpr std::string_view kSchedulesLast = "sy:tg:sched:last";

inline std::string state_machine(std::string_view name) { return "sy:sm:" + std::string(name); }
inline std::string revision_prefix(std::string_view name) { return "sy:sm:" + std::string(name) + ":r:"; }
inline std::string revision(std::string_view name, long rev) { return revision_prefix(name) + std::to_string(rev); }
inline std::string execution(std::string_view id) { return "sy:x:{" + std::string(id) + "}"; }
inline std::string history(std::string_view id) { return "sy:x:{" + std::string(id) + "}:h"; }
inline std::string executions_of(std::string_view sm) { return "sy:xs:" + std::string(sm); }
inline std::string execution_name(std::string_view sm, std::string_view name) {
  return "sy:xn:" + std::string(sm) + ":" + std::string(name);
}
inline std::string token(std::string_view t) { return "sy:tok:" + std::string(t); }
inline std::string event_type(std::string_view type) { return std::string(kEventTypePrefix) + std::string(type); }

}  // namespace switchyard::store::keys
