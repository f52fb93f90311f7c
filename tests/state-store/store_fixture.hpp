#pragma once
// A real redis-server, an io_context and an ExecutionStore on it: the base of the
// state-store tests that drive Lua scripts and check keys directly.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "switchyard/store/execution_store.hpp"
#include "switchyard/store/redis.hpp"
#include "switchyard/testing/process.hpp"
#include "switchyard/testing/run.hpp"

namespace switchyard::store {

class StoreTest : public ::testing::Test {
 protected:
  testing::RedisServer server;
  boost::asio::io_context ioc;
  Redis redis{ioc.get_executor(), Address::parse(server.url())};
  ExecutionStore store{redis};

  /// One raw command, run to completion.
  Reply cmd(std::vector<std::string> args) { return testing::run(ioc, redis.command(std::move(args))); }
};

}  // namespace switchyard::store
