// Plain request/response helpers: header lookup, path, query, percent-decoding.
#include "switchyard/http/message.hpp"

#include <gtest/gtest.h>

namespace switchyard::http {
namespace {

TEST(MessageTest, FindHeaderIgnoresCaseAndReturnsTheFirstMatch) {
  Headers h{{"Content-Type", "application/json"}, {"X-A", "1"}, {"x-a", "2"}};
  EXPECT_EQ(find_header(h, "content-type"), "application/json");
  EXPECT_EQ(find_header(h, "CONTENT-TYPE"), "application/json");
  EXPECT_EQ(find_header(h, "x-a"), "1");
  EXPECT_EQ(find_header(h, "missing"), "");
  EXPECT_EQ(find_header(h, "Content-Typ"), "");
}

TEST(MessageTest, PathDropsTheQuery) {
  struct Case {
    std::string target, path;
  };
  for (const auto& c : std::vector<Case>{{"/", "/"}, {"/a/b?x=1", "/a/b"}, {"/a?", "/a"}, {"?x", ""}}) {
    Request r;
    r.target = c.target;
    EXPECT_EQ(r.path(), c.path) << c.target;
  }
}

TEST(MessageTest, QueryFindsAndDecodesParameters) {
  Request r;
  r.target = "/x?a=1&b=hello%20world&c=a+b&empty=&flag&d%5B%5D=v&a=2";
  EXPECT_EQ(r.query("a"), "1");  // the first of repeated keys
  EXPECT_EQ(r.query("b"), "hello world");
  EXPECT_EQ(r.query("c"), "a b");
  EXPECT_EQ(r.query("empty"), "");
  EXPECT_EQ(r.query("flag"), "");
  EXPECT_EQ(r.query("d[]"), "v");
  EXPECT_EQ(r.query("missing"), std::nullopt);
  Request none;
  none.target = "/x";
  EXPECT_EQ(none.query("a"), std::nullopt);
}

TEST(MessageTest, UrlDecode) {
  struct Case {
    std::string in;
    bool plus_is_space;
    std::string out;
  };
  for (const auto& c : std::vector<Case>{
           {"a%2Fb", false, "a/b"},
           {"%e2%82%ac", false, "\xe2\x82\xac"},
           {"a+b", false, "a+b"},
           {"a+b", true, "a b"},
           {"100%", false, "100%"},  // a malformed escape stays as written
           {"%zz%4", false, "%zz%4"},
           {"%41%42", false, "AB"},
       }) {
    EXPECT_EQ(url_decode(c.in, c.plus_is_space), c.out) << c.in;
  }
}

TEST(MessageTest, UrlEncodeKeepsOnlyUnreservedCharactersAndRoundTrips) {
  EXPECT_EQ(url_encode("abc-XYZ_0.9~"), "abc-XYZ_0.9~");
  EXPECT_EQ(url_encode("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
  EXPECT_EQ(url_encode("+%"), "%2B%25");
  EXPECT_EQ(url_encode("\xe2\x82\xac"), "%E2%82%AC");
  for (const std::string& s : std::vector<std::string>{"x_1_ab", "a b+c/%", std::string("\0\xff", 2)}) {
    EXPECT_EQ(url_decode(url_encode(s), true), s);
  }
}

}  // namespace
}  // namespace switchyard::http
