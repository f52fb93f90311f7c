// The stored form of history events: lossless for any text, compact for ours.
#include "switchyard/store/event_codec.hpp"

#include <gtest/gtest.h>

#include <random>

namespace {

using switchyard::store::decode_event;
using switchyard::store::encode_event;
using switchyard::store::is_encoded_event;

// Events as the router writes them (a Task step, a failure, a start with escapes and non-ASCII).
const std::vector<std::string> kEvents{
    R"({"type":"TaskStateEntered","timestamp":"2026-11-22T23:32:54.697Z","stateEnteredEventDetails":{"input":"{\"payload\":\"xxxxxxxxxxxxxxxx\"}","inputDetails":{"truncated":false},"name":"S1"}})",
    R"({"type":"TaskScheduled","timestamp":"2026-11-22T23:32:54.697Z","taskScheduledEventDetails":{"parameters":"{\"payload\":\"x\"}","region":"us-east-1","resource":"echo","resourceType":"fn"}})",
    R"({"type":"TaskStarted","timestamp":"2026-11-22T23:32:54.697Z","taskStartedEventDetails":{"resource":"echo","resourceType":"fn"}})",
    R"({"type":"TaskSucceeded","timestamp":"2026-11-22T23:32:54.719Z","taskSucceededEventDetails":{"output":"{\"payload\":\"x\"}","outputDetails":{"truncated":false},"resource":"echo","resourceType":"fn"}})",
    R"({"type":"TaskStateExited","timestamp":"2026-11-22T23:32:54.719Z","stateExitedEventDetails":{"name":"S1","output":"{}","outputDetails":{"truncated":false}}})",
    R"({"type":"TaskFailed","timestamp":"2026-11-22T23:32:54.719Z","taskFailedEventDetails":{"cause":"a \\\"quoted\\\" cause \\\\","error":"States.Timeout","resource":"echo","resourceType":"fn"}})",
    R"({"type":"ExecutionStarted","timestamp":"2026-11-22T23:32:54.696Z","executionStartedEventDetails":{"input":"{\"name\":\"Zoë \\u0001 ✓\"}","inputDetails":{"truncated":false},"roleArn":""}})",
    R"({"type":"ExecutionSucceeded","timestamp":"2026-11-22T23:32:54.720Z","executionSucceededEventDetails":{"output":"null","outputDetails":{"truncated":false}}})",
};

TEST(EventCodec, EveryEventRoundTripsAndTheStepsEventsTakeUnderHalfTheBytes) {
  size_t plain = 0;
  size_t stored = 0;
  for (const auto& e : kEvents) {
    SCOPED_TRACE(e);
    std::string s = encode_event(e);
    EXPECT_TRUE(is_encoded_event(s));
    EXPECT_EQ(decode_event(s), e);
    plain += e.size();
    stored += s.size();
  }
  EXPECT_LT(stored * 2, plain) << stored << " of " << plain << " bytes";
}

TEST(EventCodec, TextsItDoesNotKnowAreStoredAsTheyAre) {
  // Not an event as the router writes it (data from before ids were positions, other shapes).
  for (std::string text : std::vector<std::string>{R"({"id":3,"type":"TaskStarted"})", R"({"type" : "x"})", "{}"}) {
    EXPECT_EQ(encode_event(text), text);
    EXPECT_FALSE(is_encoded_event(text));
    EXPECT_EQ(decode_event(text), text);
  }
  // A raw control byte (not valid JSON text) would be ambiguous with a marker: kept as it is.
  std::string raw = std::string(R"({"type":"Task)") + '\x01' + R"(","timestamp":"t"})";
  EXPECT_EQ(encode_event(raw), raw);
  EXPECT_EQ(decode_event(encode_event(raw)), raw);
  // A text starting with the encoded form's first byte is not an event: refused, not stored
  // to be misread later.
  EXPECT_THROW(encode_event(std::string(1, '\x01') + "abc"), std::invalid_argument);
  // JSON whitespace is not a marker.
  std::string spaced = "{\"type\":\"TaskStarted\",\n\t\"timestamp\":\"t\"\r}";
  EXPECT_TRUE(is_encoded_event(encode_event(spaced)));
  EXPECT_EQ(decode_event(encode_event(spaced)), spaced);
}

TEST(EventCodec, RandomTextsOfVocabularyFragmentsRoundTrip) {
  // Words, their prefixes and overlaps, escapes and plain bytes in random order: whatever the
  // greedy encoder matches, decoding gives back exactly the input.
  const std::vector<std::string> pieces{"Task",
                                        "Tas",
                                        "StateEntered",
                                        "StateExit",
                                        "Succeeded",
                                        "Failed",
                                        "Execution",
                                        "EventDetails\":{",
                                        "\"inputDetails\":{\"truncated\":false}",
                                        "\"inputDetails\":{\"truncated\":true}",
                                        "\\\"",
                                        "\\\\",
                                        "\"",
                                        "\",\"timestamp\":\"",
                                        "\"}}",
                                        "\"}",
                                        "{",
                                        "}",
                                        ",",
                                        ":",
                                        "x",
                                        "é",
                                        "\"name\":\"",
                                        "\"resource\":\"",
                                        "\"resourceType\":\"",
                                        "\"error\":\"",
                                        "\"cause\":\"",
                                        "\n",
                                        "\t"};
  std::mt19937 rng(7);  // fixed seed: the same texts every run
  for (int n = 0; n < 2000; ++n) {
    std::string text = "{\"type\":\"";
    int len = static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) {
      text += pieces[rng() % pieces.size()];
    }
    std::string stored = encode_event(text);
    ASSERT_TRUE(is_encoded_event(stored)) << text;
    ASSERT_EQ(decode_event(stored), text);
    ASSERT_LE(stored.size(), text.size());
  }
}

}  // namespace
