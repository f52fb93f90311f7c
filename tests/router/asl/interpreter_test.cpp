// The interpreter, driven through whole runs: (definition, input, events fed)
// -> (decision kind, output or error, history event types).
#include <gtest/gtest.h>

#include <set>

#include "core_test_util.hpp"

namespace switchyard::asl {
namespace {

using testing::drive;
using testing::failure_of;
using testing::kind;
using testing::kNow;
using testing::must_parse;
using testing::output_of;

struct FlowCase {
  std::string name;
  std::string definition;
  Json input;
  std::vector<Event> feed;
  std::string kind;   // of the last decision
  Json output;        // Succeeded
  std::string error;  // Failed
  std::vector<std::string> types;
};

const char* kPassPass = R"json({"StartAt": "A", "States": {
  "A": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.r", "Next": "B"},
  "B": {"Type": "Pass", "End": true}}})json";

std::vector<FlowCase> flow_cases() {
  return {
      {"pass_result_into_result_path",
       kPassPass,
       {{"x", 1}},
       {},
       "Succeeded",
       {{"x", 1}, {"r", {{"a", 1}}}},
       "",
       {"PassStateEntered", "PassStateExited", "PassStateEntered", "PassStateExited"}},
      {"pass_parameters_with_input_and_context",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true,
          "Parameters": {"v.$": "$.x", "name.$": "$$.State.Name", "entered.$": "$$.State.EnteredTime", "k": "lit"}}}})json",
       {{"x", 7}},
       {},
       "Succeeded",
       {{"v", 7}, {"name", "P"}, {"entered", "2023-11-14T22:13:20.000Z"}, {"k", "lit"}},
       "",
       {"PassStateEntered", "PassStateExited"}},
      {"input_path_and_output_path",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.a", "ResultPath": "$.copy",
          "OutputPath": "$.copy", "End": true}}})json",
       {{"a", {{"b", 2}}}},
       {},
       "Succeeded",
       {{"b", 2}},
       "",
       {"PassStateEntered", "PassStateExited"}},
      {"input_path_null_is_empty_object",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": null, "End": true}}})json",
       {{"a", 1}},
       {},
       "Succeeded",
       Json::object(),
       "",
       {"PassStateEntered", "PassStateExited"}},
      {"output_path_null_is_empty_object",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": null, "End": true}}})json",
       {{"a", 1}},
       {},
       "Succeeded",
       Json::object(),
       "",
       {"PassStateEntered", "PassStateExited"}},
      {"result_path_null_keeps_input",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 5, "ResultPath": null, "End": true}}})json",
       {{"a", 1}},
       {},
       "Succeeded",
       {{"a", 1}},
       "",
       {"PassStateEntered", "PassStateExited"}},
      {"result_path_dollar_replaces_input",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": [1, 2], "End": true}}})json",
       {{"a", 1}},
       {},
       "Succeeded",
       Json::array({1, 2}),
       "",
       {"PassStateEntered", "PassStateExited"}},
      {"result_path_creates_nested_objects",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.x.y.z", "End": true}}})json",
       {{"a", 1}},
       {},
       "Succeeded",
       {{"a", 1}, {"x", {{"y", {{"z", 1}}}}}},
       "",
       {"PassStateEntered", "PassStateExited"}},
      {"input_path_missing_is_runtime_error",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.nope", "End": true}}})json",
       {{"a", 1}},
       {},
       "Failed",
       nullptr,
       "States.Runtime",
       {"PassStateEntered"}},
      {"output_path_missing_is_runtime_error",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": "$.nope", "End": true}}})json",
       {{"a", 1}},
       {},
       "Failed",
       nullptr,
       "States.Runtime",
       {"PassStateEntered"}},
      {"parameters_path_missing_is_runtime_error",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$.nope"}, "End": true}}})json",
       {{"a", 1}},
       {},
       "Failed",
       nullptr,
       "States.Runtime",
       {"PassStateEntered"}},
      {"result_path_through_a_string_fails",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": true}}})json",
       {{"a", "text"}},
       {},
       "Failed",
       nullptr,
       "States.ResultPathMatchFailure",
       {"PassStateEntered"}},
      {"choice_first_matching_rule",
       R"json({"StartAt": "C", "States": {
          "C": {"Type": "Choice", "Choices": [
             {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
             {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Mid"}], "Default": "Small"},
          "Big": {"Type": "Pass", "Result": "big", "End": true},
          "Mid": {"Type": "Pass", "Result": "mid", "End": true},
          "Small": {"Type": "Pass", "Result": "small", "End": true}}})json",
       {{"n", 5}},
       {},
       "Succeeded",
       "mid",
       "",
       {"ChoiceStateEntered", "ChoiceStateExited", "PassStateEntered", "PassStateExited"}},
      {"choice_default",
       R"json({"StartAt": "C", "States": {
          "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}], "Default": "Other"},
          "One": {"Type": "Succeed"}, "Other": {"Type": "Fail", "Error": "NotOne", "Cause": "n is not 1"}}})json",
       {{"n", 5}},
       {},
       "Failed",
       nullptr,
       "NotOne",
       {"ChoiceStateEntered", "ChoiceStateExited", "FailStateEntered"}},
      {"choice_no_match_without_default",
       R"json({"StartAt": "C", "States": {
          "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}]},
          "One": {"Type": "Succeed"}}})json",
       {{"n", 5}},
       {},
       "Failed",
       nullptr,
       "States.NoChoiceMatched",
       {"ChoiceStateEntered"}},
      {"choice_output_path",
       R"json({"StartAt": "C", "States": {
          "C": {"Type": "Choice", "OutputPath": "$.keep", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}]},
          "One": {"Type": "Succeed"}}})json",
       {{"n", 1}, {"keep", {{"k", true}}}},
       {},
       "Succeeded",
       {{"k", true}},
       "",
       {"ChoiceStateEntered", "ChoiceStateExited", "SucceedStateEntered", "SucceedStateExited"}},
      {"succeed_with_input_and_output_path",
       R"json({"StartAt": "S", "States": {"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}})json",
       {{"a", {{"b", 3}}}},
       {},
       "Succeeded",
       3,
       "",
       {"SucceedStateEntered", "SucceedStateExited"}},
      {"wait_seconds_then_timer",
       R"json({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": true}}})json",
       {{"a", 1}},
       {TimerFired{}},
       "Succeeded",
       {{"a", 1}},
       "",
       {"WaitStateEntered", "WaitStateExited"}},
      {"wait_in_the_past_continues_at_once",
       R"json({"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "2001-01-01T00:00:00Z", "Next": "S"},
          "S": {"Type": "Succeed"}}})json",
       {{"a", 1}},
       {},
       "Succeeded",
       {{"a", 1}},
       "",
       {"WaitStateEntered", "WaitStateExited", "SucceedStateEntered", "SucceedStateExited"}},
      {"wait_seconds_path_not_a_number",
       R"json({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}})json",
       {{"s", "ten"}},
       {},
       "Failed",
       nullptr,
       "States.Runtime",
       {"WaitStateEntered"}},
      {"wait_timestamp_path_not_a_timestamp",
       R"json({"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.t", "End": true}}})json",
       {{"t", "tomorrow"}},
       {},
       "Failed",
       nullptr,
       "States.Runtime",
       {"WaitStateEntered"}},
      {"fail_error_path_and_cause_path",
       R"json({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}}})json",
       {{"e", "Boom"}, {"c", "because"}},
       {},
       "Failed",
       nullptr,
       "Boom",
       {"FailStateEntered"}},
      {"fail_error_path_not_a_string",
       R"json({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e"}}})json",
       {{"e", 1}},
       {},
       "Failed",
       nullptr,
       "States.Runtime",
       {"FailStateEntered"}},
      {"task_success_data_flow",
       R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:echo", "InputPath": "$.in",
          "Parameters": {"v.$": "$.x"}, "ResultSelector": {"got.$": "$.v"}, "ResultPath": "$.res",
          "OutputPath": "$.res", "End": true}}})json",
       {{"in", {{"x", 1}}}},
       {TaskSucceeded{{{"v", 9}}}},
       "Succeeded",
       {{"got", 9}},
       "",
       {"TaskStateEntered", "TaskScheduled", "TaskSucceeded", "TaskStateExited"}},
      {"task_result_path_null_discards_result",
       R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:echo", "ResultPath": null, "End": true}}})json",
       {{"a", 1}},
       {TaskSucceeded{"ignored"}},
       "Succeeded",
       {{"a", 1}},
       "",
       {"TaskStateEntered", "TaskScheduled", "TaskSucceeded", "TaskStateExited"}},
      {"task_failure_uncaught",
       R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:echo", "End": true}}})json",
       {{"a", 1}},
       {TaskFailed{"MyError", "it broke"}},
       "Failed",
       nullptr,
       "MyError",
       {"TaskStateEntered", "TaskScheduled", "TaskFailed"}},
      {"task_timeout_is_task_timed_out",
       R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:echo", "TimeoutSeconds": 3, "End": true,
          "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "S"}]}, "S": {"Type": "Succeed"}}})json",
       {{"a", 1}},
       {TaskFailed{"States.Timeout", ""}},
       "Failed",
       nullptr,
       "States.Timeout",
       {"TaskStateEntered", "TaskScheduled", "TaskTimedOut"}},
      {"catch_places_error_and_continues",
       R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:echo", "End": true,
          "Catch": [{"ErrorEquals": ["Other"], "Next": "S"}, {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "S"}]},
          "S": {"Type": "Succeed"}}})json",
       {{"a", 1}},
       {TaskFailed{"MyError", "it broke"}},
       "Succeeded",
       {{"a", 1}, {"err", {{"Error", "MyError"}, {"Cause", "it broke"}}}},
       "",
       {"TaskStateEntered", "TaskScheduled", "TaskFailed", "TaskStateExited", "SucceedStateEntered",
        "SucceedStateExited"}},
      {"catch_output_skips_output_path",
       R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:echo", "OutputPath": "$.nope", "End": true,
          "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S"}]}, "S": {"Type": "Succeed"}}})json",
       {{"a", 1}},
       {TaskFailed{"E", "c"}},
       "Succeeded",
       {{"Error", "E"}, {"Cause", "c"}},
       "",
       {"TaskStateEntered", "TaskScheduled", "TaskFailed", "TaskStateExited", "SucceedStateEntered",
        "SucceedStateExited"}},
      {"runtime_error_is_not_caught_by_states_all",
       R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:echo", "OutputPath": "$.nope", "End": true,
          "Retry": [{"ErrorEquals": ["States.ALL"]}],
          "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S"}]}, "S": {"Type": "Succeed"}}})json",
       {{"a", 1}},
       {TaskSucceeded{{{"v", 1}}}},
       "Failed",
       nullptr,
       "States.Runtime",
       {"TaskStateEntered", "TaskScheduled", "TaskSucceeded"}},
      {"result_path_match_failure_is_catchable",
       R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:echo", "ResultPath": "$.a.b", "End": true,
          "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": null, "Next": "S"}]},
          "S": {"Type": "Succeed"}}})json",
       {{"a", 1}},
       {TaskSucceeded{2}},
       "Succeeded",
       {{"a", 1}},
       "",
       {"TaskStateEntered", "TaskScheduled", "TaskSucceeded", "TaskStateExited", "SucceedStateEntered",
        "SucceedStateExited"}},
      {"parallel_success",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "ResultSelector": {"first.$": "$[0]"},
          "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                       {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]}}})json",
       {{"a", 1}},
       {ChildrenSucceeded{Json::array({"x", "y"})}},
       "Succeeded",
       {{"first", "x"}},
       "",
       {"ParallelStateEntered", "ParallelStateStarted", "ParallelStateSucceeded", "ParallelStateExited"}},
      {"parallel_failure_caught",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
          "Catch": [{"ErrorEquals": ["BranchError"], "Next": "S"}],
          "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]}, "S": {"Type": "Succeed"}}})json",
       {{"a", 1}},
       {ChildrenFailed{"BranchError", "why"}},
       "Succeeded",
       {{"Error", "BranchError"}, {"Cause", "why"}},
       "",
       {"ParallelStateEntered", "ParallelStateStarted", "ParallelStateFailed", "ParallelStateExited",
        "SucceedStateEntered", "SucceedStateExited"}},
      {"parallel_failure_uncaught",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
          "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]}}})json",
       {{"a", 1}},
       {ChildrenFailed{"BranchError", "why"}},
       "Failed",
       nullptr,
       "BranchError",
       {"ParallelStateEntered", "ParallelStateStarted", "ParallelStateFailed"}},
      {"map_success_with_result_path",
       R"json({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.out", "End": true,
          "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}})json",
       {{"items", {1, 2}}},
       {ChildrenSucceeded{Json::array({10, 20})}},
       "Succeeded",
       {{"items", {1, 2}}, {"out", {10, 20}}},
       "",
       {"MapStateEntered", "MapStateStarted", "MapStateSucceeded", "MapStateExited"}},
      {"map_of_no_items_finishes_at_once",
       R"json({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
          "Iterator": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}})json",
       Json::array(),
       {},
       "Succeeded",
       Json::array(),
       "",
       {"MapStateEntered", "MapStateStarted", "MapStateSucceeded", "MapStateExited"}},
      {"map_items_not_an_array",
       R"json({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "End": true,
          "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}})json",
       {{"items", {{"a", 1}}}},
       {},
       "Failed",
       nullptr,
       "States.Runtime",
       {"MapStateEntered"}},
      {"map_failure_uncaught",
       R"json({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
          "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}})json",
       Json::array({1}),
       {ChildrenFailed{"States.ExceedToleratedFailureThreshold", "too many"}},
       "Failed",
       nullptr,
       "States.ExceedToleratedFailureThreshold",
       {"MapStateEntered", "MapStateStarted", "MapStateFailed"}},
      {"event_not_expected_in_state",
       R"json({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": true}}})json",
       {{"a", 1}},
       {TaskSucceeded{1}},
       "Failed",
       nullptr,
       "States.Runtime",
       {"WaitStateEntered"}},
  };
}

void PrintTo(const FlowCase& c, std::ostream* os) { *os << c.name; }

class FlowTest : public ::testing::TestWithParam<FlowCase> {};

TEST_P(FlowTest, RunsLikeStepFunctions) {
  const FlowCase& c = GetParam();
  auto def = must_parse(c.definition);
  ASSERT_TRUE(def);
  auto t = drive(*def, c.input, c.feed);
  EXPECT_EQ(kind(t.last.next), c.kind) << failure_of(t.last).error << ": " << failure_of(t.last).cause;
  if (c.kind == "Succeeded") {
    EXPECT_EQ(output_of(t.last), c.output);
  }
  if (c.kind == "Failed") {
    EXPECT_EQ(failure_of(t.last).error, c.error) << failure_of(t.last).cause;
  }
  EXPECT_EQ(t.types, c.types);
}

INSTANTIATE_TEST_SUITE_P(Table, FlowTest, ::testing::ValuesIn(flow_cases()),
                         [](const auto& p) { return p.param.name; });

// ---- history shapes ---------------------------------------------------------

TEST(Interpreter, StateEventsCarryJsonTextAsAwsDoes) {
  auto def =
      must_parse(R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"b": [1]}, "End": true}}})json");
  auto t = drive(*def, Json{{"a", "x"}});
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[0].details(),
            (Json{{"stateEnteredEventDetails",
                   {{"name", "P"}, {"input", R"({"a":"x"})"}, {"inputDetails", {{"truncated", false}}}}}}));
  EXPECT_EQ(t.events[1].details(),
            (Json{{"stateExitedEventDetails",
                   {{"name", "P"}, {"output", R"({"b":[1]})"}, {"outputDetails", {{"truncated", false}}}}}}));
}

TEST(Interpreter, TaskScheduledAndSucceededDetails) {
  auto def = must_parse(R"json({"StartAt": "T", "States": {"T": {"Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "Payload.$": "$"},
      "TimeoutSeconds": 30, "HeartbeatSeconds": 10, "End": true}}})json");
  auto t = drive(*def, Json{{"a", 1}});
  const auto* call = std::get_if<InvokeTask>(&t.last.next);
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(call->resource, "arn:aws:states:::lambda:invoke");
  EXPECT_EQ(call->payload, (Json{{"FunctionName", "f"}, {"Payload", {{"a", 1}}}}));
  EXPECT_EQ(call->timeout_ms, 30000);
  EXPECT_EQ(call->heartbeat_ms, 10000);
  EXPECT_FALSE(call->wait_for_token);
  EXPECT_EQ(call->attempt, 0);
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[1].details(), (Json{{"taskScheduledEventDetails",
                                          {{"resourceType", "lambda"},
                                           {"resource", "invoke"},
                                           {"region", "us-east-1"},
                                           {"parameters", R"({"FunctionName":"f","Payload":{"a":1}})"},
                                           {"timeoutInSeconds", 30},
                                           {"heartbeatInSeconds", 10}}}}));
  EXPECT_EQ(task_started_event(*call).type, "TaskStarted");
  EXPECT_EQ(task_started_event(*call).details(),
            (Json{{"taskStartedEventDetails", {{"resourceType", "lambda"}, {"resource", "invoke"}}}}));

  Decision d = step(*def, "", {}, t.last.cursor, TaskSucceeded{Json{{"Payload", 5}}}, testing::test_env());
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].type, "TaskSucceeded");
  EXPECT_EQ(d.events[0].details(), (Json{{"taskSucceededEventDetails",
                                          {{"resourceType", "lambda"},
                                           {"resource", "invoke"},
                                           {"output", R"({"Payload":5})"},
                                           {"outputDetails", {{"truncated", false}}}}}}));
  EXPECT_EQ(output_of(d), (Json{{"Payload", 5}}));
}

TEST(Interpreter, EventDetailsTextIsTheCompactSortedJsonOfTheDetails) {
  // The hot events are written as text field by field: the text must be exactly what printing
  // the details as Json gives (keys sorted, strings escaped), as for every other event.
  auto def = must_parse(R"json({"StartAt": "A", "States": {
      "A": {"Type": "Pass", "Assign": {"who": "q\"uote", "n": 2}, "Next": "T"},
      "T": {"Type": "Task", "Resource": "fn:echo", "TimeoutSeconds": 30, "HeartbeatSeconds": 10,
            "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1, "IntervalSeconds": 1}], "Next": "U"},
      "U": {"Type": "Task", "Resource": "https://example.com/x\u00e9", "End": true}}})json");
  auto t = drive(*def, Json{{"s\u00e9", "line\nbreak \"q\""}},
                 {TaskFailed{"Boom", "cause with \"quotes\" and \u00e9"}, TimerFired{},
                  TaskSucceeded{Json{{"out", {1, "two"}}}}, TaskFailed{"States.Timeout", "slow"}});
  std::set<std::string> types(t.types.begin(), t.types.end());
  for (const char* want : {"PassStateEntered", "PassStateExited", "TaskStateEntered", "TaskScheduled", "TaskFailed",
                           "TaskSucceeded", "TaskStateExited", "TaskTimedOut"}) {
    EXPECT_TRUE(types.count(want)) << want << " not emitted";
  }
  for (const auto& e : t.events) {
    if (!e.details_text.empty()) {
      EXPECT_EQ(e.details_text, dump_json(e.details())) << e.type;
    }
  }
  InvokeTask call;
  call.resource = "fn:echo";
  auto started = task_started_event(call);
  EXPECT_EQ(started.details_text, dump_json(started.details()));
}

TEST(Interpreter, LegacyLambdaArnUsesLambdaFunctionEvents) {
  auto def = must_parse(R"json({"StartAt": "T", "States": {"T": {"Type": "Task",
      "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:hello", "End": true}}})json");
  auto t = drive(*def, Json{{"a", 1}}, {TaskFailed{"Oops", "{\"errorMessage\":\"x\"}"}});
  EXPECT_EQ(t.types, (std::vector<std::string>{"TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionFailed"}));
  EXPECT_EQ(t.events[1].details()["lambdaFunctionScheduledEventDetails"]["resource"],
            "arn:aws:lambda:eu-west-1:123456789012:function:hello");
  EXPECT_EQ(t.events[1].details()["lambdaFunctionScheduledEventDetails"]["input"], R"({"a":1})");
  EXPECT_EQ(t.events[2].details(),
            (Json{{"lambdaFunctionFailedEventDetails", {{"error", "Oops"}, {"cause", "{\"errorMessage\":\"x\"}"}}}}));
  InvokeTask call;
  call.resource = "arn:aws:lambda:eu-west-1:123456789012:function:hello";
  EXPECT_EQ(task_started_event(call).type, "LambdaFunctionStarted");
}

TEST(Interpreter, NativeAndHttpResourcesNameThemselves) {
  struct Case {
    std::string resource;
    std::string type;
    std::string name;
  };
  for (const auto& c : std::vector<Case>{{"fn:echo", "fn", "echo"},
                                         {"http://127.0.0.1:9/x", "http", "http://127.0.0.1:9/x"},
                                         {"arn:aws:states:::http:invoke", "http", "invoke"}}) {
    Json def = {{"StartAt", "T"}, {"States", {{"T", {{"Type", "Task"}, {"Resource", c.resource}, {"End", true}}}}}};
    if (c.resource == "arn:aws:states:::http:invoke") {
      def["States"]["T"]["Parameters"] = {{"ApiEndpoint", "http://x"}, {"Method", "GET"}};
    }
    auto parsed = parse_definition(def);
    ASSERT_TRUE(parsed.ok()) << c.resource;
    auto t = drive(*parsed.definition, Json::object());
    EXPECT_EQ(t.events[1].details()["taskScheduledEventDetails"]["resourceType"], c.type) << c.resource;
    EXPECT_EQ(t.events[1].details()["taskScheduledEventDetails"]["resource"], c.name) << c.resource;
    EXPECT_FALSE(t.events[1].details()["taskScheduledEventDetails"].contains("timeoutInSeconds"));
  }
}

TEST(Interpreter, WaitSleepsUntilTheRightTime) {
  struct Case {
    std::string state;
    Json input;
    int64_t until;
  };
  for (const auto& c : std::vector<Case>{
           {R"({"Type": "Wait", "Seconds": 5, "End": true})", Json::object(), kNow + 5000},
           {R"({"Type": "Wait", "SecondsPath": "$.s", "End": true})", Json{{"s", 7}}, kNow + 7000},
           {R"({"Type": "Wait", "Timestamp": "2030-01-01T00:00:00Z", "End": true})", Json::object(), 1893456000000},
           {R"({"Type": "Wait", "TimestampPath": "$.t", "End": true})", Json{{"t", "2030-01-01T01:00:00.5+01:00"}},
            1893456000500},
       }) {
    auto def = must_parse(R"({"StartAt": "W", "States": {"W": )" + c.state + "}}");
    auto t = drive(*def, c.input);
    const auto* sleep = std::get_if<Sleep>(&t.last.next);
    ASSERT_NE(sleep, nullptr) << c.state;
    EXPECT_EQ(sleep->until_ms, c.until) << c.state;
    EXPECT_EQ(t.types, std::vector<std::string>{"WaitStateEntered"});
  }
}

TEST(Interpreter, RetryBacksOffThenFails) {
  auto def = must_parse(R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:f", "End": true,
      "Parameters": {"attempt.$": "$$.State.RetryCount"},
      "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 2}]}}})json");
  Env env = testing::test_env();
  Cursor cur = start_cursor(*def, "", Json::object(), env.now_ms);
  Decision d = step(*def, "", {}, cur, Enter{}, env);
  ASSERT_EQ(kind(d.next), "InvokeTask");
  EXPECT_EQ(std::get<InvokeTask>(d.next).payload, (Json{{"attempt", 0}}));

  d = step(*def, "", {}, d.cursor, TaskFailed{"E", "c"}, env);
  ASSERT_EQ(kind(d.next), "Sleep");
  EXPECT_EQ(std::get<Sleep>(d.next).until_ms, kNow + 2000);
  EXPECT_EQ(d.cursor.retry_count, 1);
  EXPECT_EQ(d.cursor.retriers, std::vector<int>{1});
  EXPECT_EQ(d.events.size(), 1u);  // TaskFailed only: a retry adds no event of its own

  d = step(*def, "", {}, d.cursor, TimerFired{}, env);
  ASSERT_EQ(kind(d.next), "InvokeTask");
  EXPECT_EQ(std::get<InvokeTask>(d.next).attempt, 1);
  EXPECT_EQ(std::get<InvokeTask>(d.next).payload, (Json{{"attempt", 1}}));
  EXPECT_EQ(d.events.size(), 1u);  // TaskScheduled, no second TaskStateEntered

  d = step(*def, "", {}, d.cursor, TaskFailed{"E", "c"}, env);
  ASSERT_EQ(kind(d.next), "Sleep");
  EXPECT_EQ(std::get<Sleep>(d.next).until_ms, kNow + 6000);

  d = step(*def, "", {}, d.cursor, TimerFired{}, env);
  d = step(*def, "", {}, d.cursor, TaskFailed{"E", "c"}, env);
  EXPECT_EQ(failure_of(d).error, "E");
  EXPECT_EQ(failure_of(d).cause, "c");
}

TEST(Interpreter, FirstMatchingRetrierDecidesEvenWhenExhausted) {
  auto def = must_parse(R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:f", "End": true,
      "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]}}})json");
  auto t = drive(*def, Json::object(), {TaskFailed{"E", ""}});
  EXPECT_EQ(failure_of(t.last).error, "E");
  auto other = drive(*def, Json::object(), {TaskFailed{"Other", ""}});
  EXPECT_EQ(kind(other.last.next), "Sleep");
  EXPECT_EQ(other.last.cursor.retriers, (std::vector<int>{0, 1}));
}

TEST(Interpreter, ParallelRetryReRunsChildren) {
  auto def = must_parse(R"json({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
      "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
      "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]}}})json");
  auto t = drive(*def, Json{{"a", 1}}, {ChildrenFailed{"E", ""}, TimerFired{}});
  ASSERT_EQ(kind(t.last.next), "RunChildren");
  EXPECT_EQ(t.types,
            (std::vector<std::string>{"ParallelStateEntered", "ParallelStateStarted", "ParallelStateStarted"}));
  const auto& run = std::get<RunChildren>(t.last.next);
  ASSERT_EQ(run.children.size(), 1u);
  EXPECT_EQ(run.children[0].machine, "/States/P/Branches/0");
  EXPECT_EQ(run.children[0].input, (Json{{"a", 1}}));
  EXPECT_TRUE(run.children[0].map_item.is_null());
  EXPECT_FALSE(run.is_map);
}

TEST(Interpreter, MapBuildsChildrenWithItemSelectorAndLimits) {
  auto def = must_parse(R"json({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
      "ItemsPath": "$.items", "MaxConcurrencyPath": "$.conc", "ToleratedFailureCount": 1,
      "ToleratedFailurePercentagePath": "$.pct",
      "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "shared.$": "$.shared"},
      "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}})json");
  auto t = drive(*def, Json{{"items", {"a", "b"}}, {"conc", 2}, {"pct", 12.5}, {"shared", true}});
  ASSERT_EQ(kind(t.last.next), "RunChildren");
  const auto& run = std::get<RunChildren>(t.last.next);
  EXPECT_TRUE(run.is_map);
  EXPECT_EQ(run.max_concurrency, 2);
  EXPECT_EQ(run.tolerated_failure_count, 1);
  EXPECT_DOUBLE_EQ(run.tolerated_failure_percentage, 12.5);
  ASSERT_EQ(run.children.size(), 2u);
  EXPECT_EQ(run.children[1].machine, "/States/M/ItemProcessor");
  EXPECT_EQ(run.children[1].input, (Json{{"i", 1}, {"v", "b"}, {"shared", true}}));
  EXPECT_EQ(run.children[1].map_item, (Json{{"Index", 1}, {"Value", "b"}}));
  EXPECT_EQ(t.events.back().type, "MapStateStarted");
  EXPECT_EQ(t.events.back().details(), (Json{{"mapStateStartedEventDetails", {{"length", 2}}}}));
}

TEST(Interpreter, NestedMachineRunsWithOuterVariablesAndMapItem) {
  auto def = must_parse(R"json({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
      "Iterator": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true,
         "Parameters": {"outer.$": "$outer", "index.$": "$$.Map.Item.Index", "in.$": "$"},
         "Assign": {"inner": 1}}}}}}})json");
  ASSERT_TRUE(def->has_machine("/States/M/Iterator"));
  RunContext ctx;
  ctx.variables = {{"outer", "o"}};
  ctx.map_item = {{"Index", 3}, {"Value", 9}};
  auto t = drive(*def, 9, {}, "/States/M/Iterator", ctx);
  EXPECT_EQ(output_of(t.last), (Json{{"outer", "o"}, {"index", 3}, {"in", 9}}));
  EXPECT_EQ(t.last.variables, (Json{{"outer", "o"}, {"inner", 1}}));
}

TEST(Interpreter, ABranchOrIterationCannotAssignAnOuterVariable) {
  auto def = must_parse(R"json({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
      "ItemProcessor": {"StartAt": "A", "States": {
         "A": {"Type": "Pass", "Assign": {"outer": 2}, "End": true}}}}}})json");
  RunContext ctx;
  ctx.variables = {{"outer", "o"}};
  ctx.outer_variables = child_outer_variables(ctx.variables);
  EXPECT_EQ(ctx.outer_variables, Json::array({"outer"}));
  auto t = drive(*def, 1, {}, "/States/M/ItemProcessor", ctx);
  auto [error, cause] = failure_of(t.last);
  EXPECT_EQ(error, "States.Runtime");
  EXPECT_EQ(cause, "Cannot bind value '2' to variable 'outer' as it belongs to an outer scope.");
  // The same name at the top level (no outer scope) is an ordinary reassignment.
  auto top =
      must_parse(R"json({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"outer": 2}, "End": true}}})json");
  RunContext top_ctx;
  top_ctx.variables = {{"outer", "o"}};
  EXPECT_EQ(drive(*top, 1, {}, "", top_ctx).last.variables, (Json{{"outer", 2}}));
}

TEST(Definition, ExpressStateMachinesCannotWaitForTaskTokens) {
  auto def = must_parse(R"json({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
      {"StartAt": "T", "States": {
         "T": {"Type": "Task", "Resource": "fn:agent.waitForTaskToken", "End": true}}}]}}})json");
  auto problems = express_problems(*def);
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_EQ(problems[0].path, "/States/P/Branches/0/States/T/Resource");
  auto plain =
      must_parse(R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:echo", "End": true}}})json");
  EXPECT_TRUE(express_problems(*plain).empty());
}

TEST(Interpreter, WaitForTaskTokenExposesTheToken) {
  auto def = must_parse(R"json({"StartAt": "T", "States": {"T": {"Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Parameters": {"FunctionName": "agent", "Payload": {"token.$": "$$.Task.Token"}},
      "TimeoutSecondsPath": "$.timeout", "HeartbeatSecondsPath": "$.hb", "End": true}}})json");
  Json input = {{"timeout", 300}, {"hb", 60}};
  auto t = drive(*def, input);
  const auto* call = std::get_if<InvokeTask>(&t.last.next);
  ASSERT_NE(call, nullptr);
  EXPECT_TRUE(call->wait_for_token);
  EXPECT_EQ(call->task_token, "tok-1");
  EXPECT_EQ(call->payload["Payload"]["token"], "tok-1");
  EXPECT_EQ(call->timeout_ms, 300000);
  EXPECT_EQ(call->heartbeat_ms, 60000);
  EXPECT_EQ(t.events[1].details()["taskScheduledEventDetails"]["resource"], "invoke.waitForTaskToken");
}

TEST(Interpreter, TimeoutSecondsPathMustBePositive) {
  auto def = must_parse(R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:f",
      "TimeoutSecondsPath": "$.t", "End": true}}})json");
  auto t = drive(*def, Json{{"t", 0}});
  EXPECT_EQ(failure_of(t.last).error, "States.Runtime");
}

// ---- variables ----------------------------------------------------------------

TEST(Interpreter, AssignTakesEffectOnExitAndSeesEntryValues) {
  auto def = must_parse(R"json({"StartAt": "Swap", "States": {
      "Swap": {"Type": "Pass", "Assign": {"x.$": "$y", "y.$": "$x"}, "Next": "Read"},
      "Read": {"Type": "Pass", "Parameters": {"x.$": "$x", "y.$": "$y"}, "End": true}}})json");
  RunContext ctx;
  ctx.variables = {{"x", 1}, {"y", 2}};
  auto t = drive(*def, Json::object(), {}, "", ctx);
  EXPECT_EQ(output_of(t.last), (Json{{"x", 2}, {"y", 1}}));
  EXPECT_EQ(t.events[1].details()["stateExitedEventDetails"]["assignedVariables"], (Json{{"x", "2"}, {"y", "1"}}));
  EXPECT_EQ(t.events[1].details()["stateExitedEventDetails"]["assignedVariablesDetails"], (Json{{"truncated", false}}));
  EXPECT_FALSE(t.events[3].details()["stateExitedEventDetails"].contains("assignedVariables"));
}

TEST(Interpreter, AssignDollarIsTheStateResult) {
  struct Case {
    std::string name;
    std::string definition;
    std::vector<Event> feed;
    Json expected;
  };
  const std::vector<Case> cases = {
      {"pass_result",
       R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.x",
          "Assign": {"v.$": "$.r"}, "End": true}}})json",
       {},
       1},
      {"task_raw_result_before_result_selector",
       R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:f",
          "ResultSelector": {"other": 0}, "Assign": {"v.$": "$.r"}, "End": true}}})json",
       {TaskSucceeded{{{"r", 2}}}},
       2},
      {"wait_effective_input",
       R"json({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "InputPath": "$.in",
          "Assign": {"v.$": "$.r"}, "End": true}}})json",
       {TimerFired{}},
       3},
      {"map_results",
       R"json({"StartAt": "M", "States": {"M": {"Type": "Map", "Assign": {"v.$": "$[1]"}, "End": true,
          "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}})json",
       {ChildrenSucceeded{Json::array({0, 4})}},
       4},
      {"catcher_error_output",
       R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:f", "End": true,
          "Assign": {"v": "not used"},
          "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"v.$": "$.Cause"}, "Next": "S"}]}, "S": {"Type": "Succeed"}}})json",
       {TaskFailed{"E", "5"}},
       "5"},
  };
  for (const auto& c : cases) {
    auto def = must_parse(c.definition);
    Json input = c.name == "map_results" ? Json::array({1, 2}) : Json{{"in", {{"r", 3}}}};
    auto t = drive(*def, input, c.feed);
    EXPECT_EQ(kind(t.last.next), "Succeeded") << c.name << ": " << failure_of(t.last).cause;
    EXPECT_EQ(t.last.variables["v"], c.expected) << c.name;
  }
}

TEST(Interpreter, ChoiceRuleAssignOrStateAssignOnDefault) {
  auto def = must_parse(R"json({"StartAt": "C", "States": {
      "C": {"Type": "Choice", "Assign": {"path": "default"},
            "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "S", "Assign": {"path": "rule", "n.$": "$.n"}}],
            "Default": "S"},
      "S": {"Type": "Succeed"}}})json");
  EXPECT_EQ(drive(*def, Json{{"n", 1}}).last.variables, (Json{{"path", "rule"}, {"n", 1}}));
  EXPECT_EQ(drive(*def, Json{{"n", 2}}).last.variables, (Json{{"path", "default"}}));
}

TEST(Interpreter, ChoiceCanTestVariables) {
  auto def = must_parse(R"json({"StartAt": "C", "States": {
      "C": {"Type": "Choice", "Choices": [{"Variable": "$flag", "BooleanEquals": true, "Next": "Yes"}], "Default": "No"},
      "Yes": {"Type": "Pass", "Result": "yes", "End": true}, "No": {"Type": "Pass", "Result": "no", "End": true}}})json");
  RunContext ctx;
  ctx.variables = {{"flag", true}};
  EXPECT_EQ(output_of(drive(*def, Json::object(), {}, "", ctx).last), "yes");
}

// ---- limits ------------------------------------------------------------------

TEST(Interpreter, YieldsAfterMaxStepsAndResumes) {
  auto def = must_parse(R"json({"StartAt": "A", "States": {
      "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "C"},
      "C": {"Type": "Pass", "Next": "D"}, "D": {"Type": "Succeed"}}})json");
  Env env = testing::test_env();
  env.max_steps = 2;
  Cursor cur = start_cursor(*def, "", Json{{"v", 1}}, env.now_ms);
  Decision d = step(*def, "", {}, cur, Enter{}, env);
  ASSERT_EQ(kind(d.next), "Yield");
  EXPECT_EQ(d.cursor.state, "C");
  EXPECT_EQ(d.cursor.input, (Json{{"v", 1}}));
  EXPECT_EQ(d.events.size(), 4u);
  d = step(*def, "", {}, d.cursor, Enter{}, env);
  EXPECT_EQ(output_of(d), (Json{{"v", 1}}));
}

TEST(Interpreter, EndlessChoiceLoopYields) {
  auto def = must_parse(R"json({"StartAt": "Loop", "States": {
      "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "BooleanEquals": true, "Next": "Done"}], "Default": "Loop"},
      "Done": {"Type": "Succeed"}}})json");
  auto t = drive(*def, Json{{"stop", false}});
  EXPECT_EQ(kind(t.last.next), "Yield");
  EXPECT_EQ(t.types.size(), 2u * 1000u);
}

TEST(Interpreter, DataLimitExceeded) {
  Env env = testing::test_env();
  env.max_payload_bytes = 20;
  auto def = must_parse(
      R"json({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "0123456789012345678901234", "End": true}}})json");
  auto t = drive(*def, Json::object(), {}, "", {}, env);
  EXPECT_EQ(failure_of(t.last).error, "States.DataLimitExceeded");

  auto task = must_parse(R"json({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:f", "End": true,
      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S"}]}, "S": {"Type": "Succeed"}}})json");
  auto big = drive(*task, Json::object(), {TaskSucceeded{std::string(50, 'x')}}, "", {}, env);
  EXPECT_EQ(failure_of(big.last).error, "States.DataLimitExceeded");  // terminal: States.ALL does not catch it
  EXPECT_EQ(big.types.back(), "TaskFailed");
}

// ---- cursor ------------------------------------------------------------------

TEST(Cursor, RoundTripsThroughJson) {
  Cursor c;
  c.state = "A/B";
  c.input = {{"x", {1, 2}}};
  c.retry_count = 3;
  c.retriers = {1, 2};
  c.entered_ms = kNow;
  Cursor back = Cursor::from_json(Json::parse(c.to_json().dump()));
  EXPECT_EQ(back.state, c.state);
  EXPECT_EQ(back.input, c.input);
  EXPECT_EQ(back.retry_count, c.retry_count);
  EXPECT_EQ(back.retriers, c.retriers);
  EXPECT_EQ(back.entered_ms, c.entered_ms);
}

TEST(Cursor, StartCursorForTopAndNestedMachines) {
  auto def = must_parse(R"json({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
      "Branches": [{"StartAt": "B1", "States": {"B1": {"Type": "Succeed"}}}]}}})json");
  Cursor top = start_cursor(*def, "", 1, kNow);
  EXPECT_EQ(top.state, "P");
  EXPECT_EQ(top.entered_ms, kNow);
  Cursor branch = start_cursor(*def, "/States/P/Branches/0", 2, kNow);
  EXPECT_EQ(branch.state, "B1");
  EXPECT_EQ(branch.input, 2);
  EXPECT_EQ(output_of(drive(*def, 5, {}, "/States/P/Branches/0").last), 5);
}

}  // namespace
}  // namespace switchyard::asl
