// Function name resolution: local host first, then the URL template.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "switchyard/knative/function_host.hpp"
#include "switchyard/testing/process.hpp"

namespace switchyard::knative {
namespace {

TEST(Resolver, FillsTheDefaultKnativeTemplate) {
  Resolver resolver(nullptr);
  auto t = resolver.resolve_function("resize-image");
  ASSERT_TRUE(t.ok()) << t.error().cause;
  EXPECT_TRUE(t->local_function.empty());
  EXPECT_EQ(t->url.host, "resize-image.default.svc.cluster.local");
  EXPECT_EQ(t->url.port, "80");
  EXPECT_EQ(t->url.target, "/");
}

TEST(Resolver, FillsACustomTemplateEverywhere) {
  Resolver resolver(nullptr, "http://gw.{namespace}.local:8081/fn/{name}?ns={namespace}&n={name}", "team-a");
  auto t = resolver.resolve_function("Echo_2");
  ASSERT_TRUE(t.ok()) << t.error().cause;
  EXPECT_EQ(t->url.host, "gw.team-a.local");
  EXPECT_EQ(t->url.port, "8081");
  EXPECT_EQ(t->url.target, "/fn/Echo_2?ns=team-a&n=Echo_2");
}

TEST(Resolver, PrefersTheLocalFunctionHost) {
  boost::asio::io_context ioc;
  testing::TempDir dir;
  LocalFunctionHost host(ioc.get_executor(), {{"echo", FunctionSpec{{"python3"}, {}, 8, 60, 4}}}, dir.path());
  Resolver resolver(&host);
  auto local = resolver.resolve_function("echo");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->local_function, "echo");
  auto remote = resolver.resolve_function("other");
  ASSERT_TRUE(remote.ok());
  EXPECT_TRUE(remote->local_function.empty());
  EXPECT_EQ(remote->url.host, "other.default.svc.cluster.local");
}

TEST(Resolver, RejectsNamesThatCannotBeServices) {
  Resolver resolver(nullptr);
  for (const std::string& bad : std::vector<std::string>{"", "a.b", "a/b", "a b", "a:1", std::string(64, 'x')}) {
    SCOPED_TRACE(bad);
    auto t = resolver.resolve_function(bad);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().error, "States.Runtime");
  }
  EXPECT_TRUE(resolver.resolve_function(std::string(63, 'x')).ok());
}

TEST(Resolver, RejectsBadTemplatesUpFront) {
  for (const char* bad : {"ftp://{name}.svc", "http://fixed.host/", "{name}.svc", "http://{name}:notaport/"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(Resolver(nullptr, bad), std::invalid_argument);
  }
  EXPECT_THROW(Resolver(nullptr, "http://{name}.{namespace}", "bad.ns"), std::invalid_argument);
}

}  // namespace
}  // namespace switchyard::knative
