// parse_definition's validation: every rule, each problem with the JSON
// pointer of the offending field.
#include <gtest/gtest.h>

#include "core_test_util.hpp"

namespace switchyard::asl {
namespace {

struct Expected {
  std::string path;
  std::string message_part;
};

struct ValidationCase {
  std::string name;
  std::string definition;
  std::vector<Expected> problems;  // exactly these, in any order
};

std::string dump(const Problems& ps) {
  std::string s;
  for (const auto& p : ps) {
    s += "  " + p.path + ": " + p.message + "\n";
  }
  return s;
}

// States that wrap a state's JSON into a minimal machine: {"StartAt":"S","States":{"S": <state>}}
std::string one(const std::string& state) { return R"({"StartAt": "S", "States": {"S": )" + state + "}}"; }

// A machine with one Succeed state of the given name.
std::string named(const std::string& name) {
  return R"({"StartAt": ")" + name + R"(", "States": {")" + name + R"(": {"Type": "Succeed"}}})";
}

std::vector<ValidationCase> cases() {
  return {
      {"valid_minimal", one(R"({"Type": "Succeed"})"), {}},
      {"not_an_object", "[1]", {{"", "must be a JSON object"}}},
      {"missing_start_at_and_states", "{}", {{"", "StartAt is required"}, {"", "States is required"}}},
      {"start_at_unknown",
       R"({"StartAt": "X", "States": {"S": {"Type": "Succeed"}}})",
       {{"/StartAt", "'X', which does not exist"}}},
      {"unknown_top_level_field",
       R"({"StartAt": "S", "Foo": 1, "States": {"S": {"Type": "Succeed"}}})",
       {{"/Foo", "Field 'Foo' is not supported"}}},
      {"jsonata_not_supported",
       R"({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Succeed"}}})",
       {{"/QueryLanguage", "not supported yet"}}},
      {"jsonata_state_not_supported",
       one(R"({"Type": "Pass", "QueryLanguage": "JSONata", "Output": 1, "End": true})"),
       {{"/States/S/QueryLanguage", "not supported yet"}}},
      {"bad_query_language",
       R"({"QueryLanguage": "XPath", "StartAt": "S", "States": {"S": {"Type": "Succeed"}}})",
       {{"/QueryLanguage", "must be \"JSONPath\" or \"JSONata\""}}},
      {"bad_timeout",
       R"({"StartAt": "S", "TimeoutSeconds": 0, "States": {"S": {"Type": "Succeed"}}})",
       {{"/TimeoutSeconds", "between 1 and 99999999"}}},
      {"unknown_type", one(R"({"Type": "Sleep"})"), {{"/States/S/Type", "Type must be one of"}}},
      {"missing_type", one(R"({"End": true})"), {{"/States/S", "must have a Type"}}},
      {"unknown_state_field",
       one(R"({"Type": "Pass", "End": true, "Seconds": 3})"),
       {{"/States/S/Seconds", "'Seconds' is not supported in a Pass state"}}},
      {"jsonata_field_in_jsonpath_state",
       one(R"({"Type": "Pass", "End": true, "Arguments": {}})"),
       {{"/States/S/Arguments", "JSONata"}}},
      {"next_and_end",
       R"({"StartAt": "S", "States": {"S": {"Type": "Pass", "Next": "T", "End": true}, "T": {"Type": "Succeed"}}})",
       {{"/States/S", "exactly one of Next and End"}}},
      {"neither_next_nor_end",
       one(R"({"Type": "Pass"})"),
       {{"/States/S", "either Next or \"End\": true"}, {"/States", "no terminal state"}}},
      {"end_false_without_next",
       one(R"({"Type": "Pass", "End": false})"),
       {{"/States/S/End", "End must be true"}, {"/States", "no terminal state"}}},
      {"next_target_missing",
       R"({"StartAt": "S", "States": {"S": {"Type": "Pass", "Next": "Nope"}, "T": {"Type": "Succeed"}}})",
       {{"/States/S/Next", "'Nope' does not exist"}, {"/States/T", "not reachable"}}},
      {"unreachable_state",
       R"({"StartAt": "S", "States": {"S": {"Type": "Succeed"}, "Lost": {"Type": "Succeed"}}})",
       {{"/States/Lost", "'Lost' is not reachable"}}},
      {"state_name_too_long",
       named(std::string(81, 'n')),
       {{"/States/" + std::string(81, 'n'), "longer than 80 characters"}}},
      {"state_name_of_80_unicode_chars_is_fine",
       named([] {
         std::string s;
         for (int i = 0; i < 80; ++i) {
           s += "\xc3\xa9";  // é: 2 bytes, 1 character
         }
         return s;
       }()),
       {}},
      {"choice_with_next",
       R"({"StartAt": "C", "States": {"C": {"Type": "Choice", "Next": "S",
          "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "S"}]}, "S": {"Type": "Succeed"}}})",
       {{"/States/C/Next", "'Next' is not supported in a Choice state"}}},
      {"choice_without_choices",
       R"({"StartAt": "C", "States": {"C": {"Type": "Choice", "Default": "S"}, "S": {"Type": "Succeed"}}})",
       {{"/States/C", "must have a Choices field"}}},
      {"choice_empty_choices",
       R"({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [], "Default": "S"}, "S": {"Type": "Succeed"}}})",
       {{"/States/C/Choices", "non-empty array"}}},
      {"choice_targets_missing",
       R"({"StartAt": "C", "States": {"C": {"Type": "Choice", "Default": "D",
          "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "X"}]}, "S": {"Type": "Succeed"}}})",
       {{"/States/C/Choices/0/Next", "'X' does not exist"},
        {"/States/C/Default", "'D' does not exist"},
        {"/States/S", "not reachable"}}},
      {"wait_needs_exactly_one",
       one(R"({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true})"),
       {{"/States/S", "exactly one of Seconds, Timestamp, SecondsPath and TimestampPath"}}},
      {"wait_needs_one",
       one(R"({"Type": "Wait", "End": true})"),
       {{"/States/S", "exactly one of Seconds, Timestamp, SecondsPath and TimestampPath"}}},
      {"wait_negative_seconds",
       one(R"({"Type": "Wait", "Seconds": -1, "End": true})"),
       {{"/States/S/Seconds", "between 0 and"}}},
      {"wait_bad_timestamp",
       one(R"({"Type": "Wait", "Timestamp": "2020-01-01 00:00:00", "End": true})"),
       {{"/States/S/Timestamp", "not an RFC 3339 timestamp"}}},
      {"fail_error_and_error_path",
       one(R"({"Type": "Fail", "Error": "E", "ErrorPath": "$.e", "Cause": "c", "CausePath": "$.c"})"),
       {{"/States/S/ErrorPath", "Error and ErrorPath"}, {"/States/S/CausePath", "Cause and CausePath"}}},
      {"fail_with_io_fields",
       one(R"({"Type": "Fail", "InputPath": "$", "Next": "S"})"),
       {{"/States/S/InputPath", "not supported in a Fail state"}, {"/States/S/Next", "not supported in a Fail state"}}},
      {"succeed_with_next", one(R"({"Type": "Succeed", "Next": "S"})"), {{"/States/S/Next", "not supported"}}},
      {"task_without_resource", one(R"({"Type": "Task", "End": true})"), {{"/States/S", "must have a Resource"}}},
      {"task_bad_resource",
       one(R"({"Type": "Task", "Resource": "ftp://x", "End": true})"),
       {{"/States/S/Resource", "must be an ARN"}}},
      {"task_sync_not_supported",
       one(R"({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync", "End": true})"),
       {{"/States/S/Resource", ".sync"}}},
      {"task_other_integrations_not_supported",
       one(R"({"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "End": true})"),
       {{"/States/S/Resource", "'aws-sdk:s3:getObject' is not supported"}}},
      {"task_sqs_not_supported",
       one(R"({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true})"),
       {{"/States/S/Resource", "'sqs:sendMessage' is not supported"}}},
      {"task_activity_not_supported",
       one(R"({"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:a", "End": true})"),
       {{"/States/S/Resource", "Activities"}}},
      {"lambda_invoke_needs_function_name",
       one(R"({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
          "Parameters": {"Payload.$": "$"}, "End": true})"),
       {{"/States/S/Parameters", "'FunctionName'"}}},
      {"http_invoke_needs_endpoint_and_method",
       one(R"({"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true})"),
       {{"/States/S", "'ApiEndpoint'"}, {"/States/S", "'Method'"}}},
      {"task_timeouts",
       one(R"({"Type": "Task", "Resource": "fn:f", "End": true, "TimeoutSeconds": 10,
          "TimeoutSecondsPath": "$.t", "HeartbeatSeconds": 0})"),
       {{"/States/S/TimeoutSecondsPath", "cannot both be set"}, {"/States/S/HeartbeatSeconds", "between 1 and"}}},
      {"heartbeat_not_below_timeout",
       one(R"({"Type": "Task", "Resource": "fn:f", "End": true, "TimeoutSeconds": 10,
          "HeartbeatSeconds": 10})"),
       {{"/States/S/HeartbeatSeconds", "smaller than TimeoutSeconds"}}},
      {"heartbeat_path_exclusive",
       one(R"({"Type": "Task", "Resource": "fn:f", "End": true, "HeartbeatSeconds": 5,
          "HeartbeatSecondsPath": "$.h"})"),
       {{"/States/S/HeartbeatSecondsPath", "cannot both be set"}}},
      {"retry_rules",
       one(R"({"Type": "Task", "Resource": "fn:f", "End": true, "Retry": [
          {"ErrorEquals": ["States.ALL", "E"], "IntervalSeconds": 0, "MaxAttempts": -1, "BackoffRate": 0.5,
           "MaxDelaySeconds": 0, "JitterStrategy": "SOME", "Foo": 1},
          {"ErrorEquals": []},
          {"IntervalSeconds": 1}]})"),
       {{"/States/S/Retry/0/ErrorEquals", "States.ALL must appear alone"},
        {"/States/S/Retry/0/ErrorEquals", "must be the last Retrier"},
        {"/States/S/Retry/0/IntervalSeconds", "between 1 and"},
        {"/States/S/Retry/0/MaxAttempts", "between 0 and"},
        {"/States/S/Retry/0/BackoffRate", "greater than or equal to 1.0"},
        {"/States/S/Retry/0/MaxDelaySeconds", "between 1 and"},
        {"/States/S/Retry/0/JitterStrategy", "\"FULL\" or \"NONE\""},
        {"/States/S/Retry/0/Foo", "not supported in a Retrier"},
        {"/States/S/Retry/1/ErrorEquals", "non-empty array"},
        {"/States/S/Retry/2", "ErrorEquals is required"}}},
      {"catch_rules",
       R"({"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "fn:f", "End": true, "Catch": [
          {"ErrorEquals": ["States.ALL"], "Next": "H"},
          {"ErrorEquals": ["E"], "Next": "Nope", "ResultPath": "$$.x"},
          {"ErrorEquals": ["E"]}]}, "H": {"Type": "Succeed"}}})",
       {{"/States/S/Catch/0/ErrorEquals", "must be the last Catcher"},
        {"/States/S/Catch/1/Next", "'Nope' does not exist"},
        {"/States/S/Catch/1/ResultPath", ""},
        {"/States/S/Catch/2", "must have a Next"}}},
      {"catch_target_makes_state_reachable",
       R"({"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "fn:f",
          "End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}]}, "H": {"Type": "Succeed"}}})",
       {}},
      {"bad_paths",
       one(R"({"Type": "Pass", "End": true, "InputPath": 5, "ResultPath": "$.a[*]", "OutputPath": "nope"})"),
       {{"/States/S/InputPath", "must be a string"},
        {"/States/S/ResultPath", "Reference Path"},
        {"/States/S/OutputPath", "not a valid JSONPath"}}},
      {"result_selector_must_be_object",
       one(R"({"Type": "Task", "Resource": "fn:f", "End": true, "ResultSelector": 1})"),
       {{"/States/S/ResultSelector", "must be a JSON object"}}},
      {"payload_template_paths_checked",
       one(R"({"Type": "Pass", "End": true, "Parameters": {"a.$": "not a path"}})"),
       {{"/States/S/Parameters/a.$", ""}}},
      {"assign_where_not_allowed",
       one(R"({"Type": "Succeed", "Assign": {"x": 1}})"),
       {{"/States/S/Assign", "not supported in a Succeed state"}}},
      {"assign_bad_variable_names",
       one(R"({"Type": "Pass", "End": true, "Assign": {"1x": 1, "ok_name.$": "$.a", "a-b": 2}})"),
       {{"/States/S/Assign/1x", "not a valid variable name"}, {"/States/S/Assign/a-b", "not a valid variable name"}}},
      {"assign_must_be_object",
       one(R"({"Type": "Wait", "Seconds": 1, "End": true, "Assign": [1]})"),
       {{"/States/S/Assign", "must be a JSON object"}}},
      {"parallel_branches",
       one(R"({"Type": "Parallel", "End": true, "Branches": [
          {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Outside"}}},
          {"States": {"B": {"Type": "Succeed"}}, "Extra": 1}]})"),
       {{"/States/S/Branches/0/States/A/Next", "'Outside' does not exist in this nested state machine"},
        {"/States/S/Branches/0/States", "no terminal state"},
        {"/States/S/Branches/1", "StartAt is required"},
        {"/States/S/Branches/1/Extra", "not supported in a Parallel branch"}}},
      {"parallel_without_branches",
       one(R"({"Type": "Parallel", "End": true, "Branches": []})"),
       {{"/States/S/Branches", "non-empty array"}}},
      {"nested_cannot_target_outer_state",
       R"({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Next": "Done",
          "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Done"}}}]}, "Done": {"Type": "Succeed"}}})",
       {{"/States/P/Branches/0/States/A/Next", "'Done' does not exist in this nested state machine"},
        {"/States/P/Branches/0/States", "no terminal state"}}},
      {"duplicate_state_names_across_machines",
       R"({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
          "Branches": [{"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}]}}})",
       {{"/States/P/Branches/0/States/P", "already used at /States/P"}}},
      {"map_processor_rules",
       one(R"({"Type": "Map", "End": true, "ItemsPath": "$.a[*]",
          "ItemSelector": {}, "Parameters": {}, "MaxConcurrency": 1, "MaxConcurrencyPath": "$.m",
          "ToleratedFailurePercentage": 101,
          "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                            "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}, "ItemReader": {}})"),
       {{"/States/S/ItemsPath", "Reference Path"},
        {"/States/S/Parameters", "both ItemSelector and the legacy Parameters"},
        {"/States/S/MaxConcurrencyPath", "cannot both be set"},
        {"/States/S/ToleratedFailurePercentage", "from 0 to 100"},
        {"/States/S/ItemProcessor/ProcessorConfig/Mode", "DISTRIBUTED\" is not supported yet"},
        {"/States/S/ItemReader", "DISTRIBUTED Map"}}},
      {"map_without_processor", one(R"({"Type": "Map", "End": true})"), {{"/States/S", "must have an ItemProcessor"}}},
      {"map_both_processor_and_iterator",
       one(R"({"Type": "Map", "End": true,
          "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}},
          "Iterator": {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}})"),
       {{"/States/S/Iterator", "both ItemProcessor and Iterator"}}},
      {"inline_map_execution_type",
       one(R"({"Type": "Map", "End": true,
          "ItemProcessor": {"ProcessorConfig": {"ExecutionType": "EXPRESS"}, "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}})"),
       {{"/States/S/ItemProcessor/ProcessorConfig/ExecutionType", "only allowed with Mode \"DISTRIBUTED\""}}},
      {"escaped_pointer_for_odd_names",
       R"({"StartAt": "a/b~c", "States": {"a/b~c": {"Type": "Pass", "End": true, "Foo": 1}}})",
       {{"/States/a~1b~0c/Foo", "not supported"}}},
      {"no_terminal_state_loop",
       R"({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}})",
       {{"/States", "no terminal state"}}},
  };
}

void PrintTo(const ValidationCase& c, std::ostream* os) { *os << c.name; }

class ValidationTest : public ::testing::TestWithParam<ValidationCase> {};

TEST_P(ValidationTest, ReportsExactlyTheseProblems) {
  const ValidationCase& c = GetParam();
  ParseResult r = parse_definition(Json::parse(c.definition));
  EXPECT_EQ(r.problems.size(), c.problems.size()) << dump(r.problems);
  for (const auto& want : c.problems) {
    bool found = std::any_of(r.problems.begin(), r.problems.end(), [&](const Problem& p) {
      return p.path == want.path && p.message.find(want.message_part) != std::string::npos;
    });
    EXPECT_TRUE(found) << "missing " << want.path << " ~ " << want.message_part << "\ngot:\n" << dump(r.problems);
  }
  EXPECT_EQ(r.ok(), c.problems.empty());
  EXPECT_EQ(r.definition != nullptr, c.problems.empty());
}

INSTANTIATE_TEST_SUITE_P(Table, ValidationTest, ::testing::ValuesIn(cases()),
                         [](const auto& p) { return p.param.name; });

TEST(Validation, EveryProblemHasASentence) {
  ParseResult r = parse_definition(Json::parse(R"({"StartAt": 1, "States": {"A": {"Type": "Task", "Resource": 3,
      "Retry": 1, "Catch": {}, "Next": 2}, "B": {"Type": "Wait"}}})"));
  ASSERT_GE(r.problems.size(), 6u) << dump(r.problems);
  for (const auto& p : r.problems) {
    EXPECT_FALSE(p.message.empty());
    EXPECT_EQ(p.message.back(), '.') << p.message;
    EXPECT_TRUE(p.path.empty() || p.path[0] == '/') << p.path;
  }
}

TEST(Validation, AcceptsARealisticDefinition) {
  testing::must_parse(R"json({
    "Comment": "order flow", "Version": "1.0", "TimeoutSeconds": 3600, "QueryLanguage": "JSONPath",
    "StartAt": "Validate",
    "States": {
      "Validate": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:validate",
                   "ResultPath": "$.validation", "Next": "Route",
                   "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 6,
                              "BackoffRate": 2, "MaxDelaySeconds": 30, "JitterStrategy": "FULL"},
                             {"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}],
                   "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed",
                              "Assign": {"lastError.$": "$.Error"}}]},
      "Route": {"Type": "Choice", "Choices": [
          {"And": [{"Variable": "$.validation.ok", "BooleanEquals": true},
                   {"Variable": "$.items", "IsPresent": true}], "Next": "Fan"}],
        "Default": "Failed"},
      "Fan": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 4, "ResultPath": "$.results",
              "ItemSelector": {"item.$": "$$.Map.Item.Value", "order.$": "$.id"},
              "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Ship",
                "States": {"Ship": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "ship", "Payload.$": "$"}, "OutputPath": "$.Payload", "End": true}}},
              "Next": "Both"},
      "Both": {"Type": "Parallel", "Next": "Pause", "ResultSelector": {"n.$": "States.ArrayLength($)"},
               "Branches": [
                 {"StartAt": "Notify", "States": {"Notify": {"Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "notify", "Payload": {"token.$": "$$.Task.Token"}},
                    "HeartbeatSeconds": 60, "TimeoutSeconds": 600, "End": true}}},
                 {"StartAt": "Bill", "States": {"Bill": {"Type": "Task", "Resource": "fn:bill", "End": true}}}]},
      "Pause": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Done", "Assign": {"paused": true}},
      "Done": {"Type": "Succeed", "OutputPath": "$.results"},
      "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "States.Format('order {}', $.id)"}
    }})json");
}

}  // namespace
}  // namespace switchyard::asl
