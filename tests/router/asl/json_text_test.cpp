// dump_json/append_json/json_size must give exactly nlohmann's dump() text.
#include <gtest/gtest.h>

#include "switchyard/asl/json.hpp"

namespace switchyard {
namespace {

TEST(JsonText, SameTextAsNlohmannDump) {
  const std::vector<Json> cases = {
      Json(),
      Json(true),
      Json(false),
      Json(0),
      Json(-42),
      Json(INT64_MIN),
      Json(UINT64_MAX),
      Json(1.5),
      Json(1e300),
      Json(0.1),
      Json(-0.0),
      Json(std::nan("")),
      Json(""),
      Json("plain"),
      Json("quote \" backslash \\ slash /"),
      Json(std::string("controls \b\f\n\r\t \x01\x1f\x7f end")),
      Json(std::string("nul \0 inside", 12)),
      Json("unicode: żółw, 日本, emoji 😀"),
      Json::object(),
      Json::array(),
      Json::parse(R"({"b":1,"a":[1,2,{"z":null,"y":"x\"y"}],"c":{"nested":{"deep":[[],{}]}},"é":"ü"})"),
      Json::parse(R"([{"payload":"xxxxxxxxxxxxxxxx"},"{\"payload\":\"x\"}",-1,2.25,true,null])"),
  };
  for (const auto& j : cases) {
    EXPECT_EQ(dump_json(j), j.dump()) << j.dump();
    EXPECT_EQ(json_size(j), j.dump().size()) << j.dump();
    std::string out = "prefix:";
    append_json(out, j);
    EXPECT_EQ(out, "prefix:" + j.dump());
  }
}

// Strings are scanned 8 bytes at a time: a byte that needs a look at every
// offset of words and tails, and strings of every length around a word.
TEST(JsonText, SpecialBytesAtEveryOffsetGiveTheSameText) {
  const std::vector<std::string> specials = {"\"", "\\", "\n", std::string(1, '\0'), "\x1f", "\x7f", " ", "\xc3\xa9"};
  for (size_t len = 0; len <= 26; ++len) {
    for (size_t at = 0; at <= len; ++at) {
      for (const auto& sp : specials) {
        std::string text(len, 'a');
        text.insert(at, sp);
        Json j = text;
        ASSERT_EQ(dump_json(j), j.dump()) << "len " << len << " at " << at;
        const Json object = {{"k", j}};
        std::string out = "p";
        append_json(out, object);
        ASSERT_EQ(out, "p" + object.dump()) << "len " << len << " at " << at;
      }
    }
  }
}

// Long strings: escape-dense, plain runs of every length around the 8-byte scan, a non-ASCII
// byte at the end of a long ASCII prefix (the fallback must drop what the fast path wrote).
TEST(JsonText, LongStringsOfEveryShapeGiveTheSameText) {
  const std::vector<std::string> units = {
      "\"",   "a\"",           "ab\\c", std::string(63, 'x') + "\n", std::string(64, 'y') + "\"", std::string(200, 'z'),
      "\x01", "{\"k\":\"v\"},"};
  for (const auto& unit : units) {
    for (size_t len : {60, 63, 64, 65, 127, 128, 250, 255, 256, 257, 262, 511, 512, 513, 1500}) {
      std::string text;
      while (text.size() < len) {
        text += unit;
      }
      text.resize(len);
      for (const std::string& tail : {std::string(), std::string("\xc3\xa9")}) {
        Json j = text + tail;
        ASSERT_EQ(dump_json(j), j.dump()) << "unit " << Json(unit).dump() << " len " << len;
        const Json object = {{"k", j}};
        std::string out = "p";
        append_json(out, object);
        ASSERT_EQ(out, "p" + object.dump()) << "unit " << Json(unit).dump() << " len " << len;
      }
    }
  }
}

TEST(JsonText, InvalidUtf8ThrowsAsDumpDoes) {
  Json bad = std::string("\xff\xfe");
  EXPECT_THROW((void)bad.dump(), Json::type_error);
  EXPECT_THROW((void)dump_json(bad), Json::type_error);
  EXPECT_THROW((void)dump_json(Json{{"k", bad}}), Json::type_error);
}

}  // namespace
}  // namespace switchyard
