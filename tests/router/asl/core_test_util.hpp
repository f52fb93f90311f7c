#pragma once
// Helpers for the definition/validator/interpreter tests: parse a definition
// from JSON text and drive a run through step() with a scripted list of events.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "switchyard/asl/definition.hpp"
#include "switchyard/asl/interpreter.hpp"

namespace switchyard::asl::testing {

inline constexpr int64_t kNow = 1700000000000;  // 2023-11-14T22:13:20.000Z

inline std::shared_ptr<const Definition> must_parse(const std::string& text) {
  ParseResult r = parse_definition(Json::parse(text));
  std::string problems;
  for (const auto& p : r.problems) {
    problems += p.path + ": " + p.message + "\n";
  }
  EXPECT_TRUE(r.ok()) << problems;
  return r.definition;
}

inline Env test_env() {
  Env env;
  env.now_ms = kNow;
  env.random = [] { return uint64_t{1} << 63; };  // 0.5 of the range
  env.new_task_token = [] { return std::string("tok-1"); };
  return env;
}

inline std::string kind(const Next& n) {
  static const char* kNames[] = {"InvokeTask", "Sleep", "RunChildren", "Succeeded", "Failed", "Yield"};
  return kNames[n.index()];
}

/// Every history event type of a sequence of decisions, in order.
struct Trace {
  std::vector<std::string> types;
  std::vector<HistoryEvent> events;
  Decision last;
};

/// Enters the machine's StartAt with `input`, then feeds `feed` one event per call.
inline Trace drive(const Definition& def, const Json& input, const std::vector<Event>& feed = {},
                   const std::string& machine = "", RunContext ctx = {}, Env env = test_env()) {
  Trace t;
  Cursor cur = start_cursor(def, machine, input, env.now_ms);
  std::vector<Event> events = {Enter{}};
  events.insert(events.end(), feed.begin(), feed.end());
  for (const auto& ev : events) {
    t.last = step(def, machine, ctx, cur, ev, env);
    for (const auto& h : t.last.events) {
      t.types.push_back(h.type);
      t.events.push_back(h);
    }
    cur = t.last.cursor;
    ctx.variables = t.last.variables;
  }
  return t;
}

inline Json output_of(const Decision& d) {
  if (const auto* s = std::get_if<Succeeded>(&d.next)) {
    return s->output;
  }
  return Json();
}

inline Failed failure_of(const Decision& d) {
  if (const auto* f = std::get_if<Failed>(&d.next)) {
    return *f;
  }
  return Failed{"<not failed>", ""};
}

}  // namespace switchyard::asl::testing
