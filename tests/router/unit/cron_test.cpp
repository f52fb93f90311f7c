// Cron parsing and next/last fire times as tables, plus a brute-force cross-check.
#include "switchyard/router/cron.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "switchyard/testing/utc.hpp"

namespace {

using switchyard::router::CronSchedule;
using switchyard::router::iso_minute;
using switchyard::router::parse_utc_offset;
using switchyard::router::TimeZone;
using namespace std::chrono;

sys_seconds at(const char* s) { return switchyard::testing::utc(s); }
std::string show(std::optional<sys_seconds> t) { return switchyard::testing::show_utc(t); }

struct NextCase {
  const char* cron;
  const char* tz;
  const char* after;
  const char* want;  // "never" when none
};

TEST(Cron, NextFireAfter) {
  const NextCase cases[] = {
      {"* * * * *", "UTC", "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"},
      {"* * * * *", "UTC", "2024-01-01T00:00:30Z", "2024-01-01T00:01:00Z"},
      {"0 * * * *", "UTC", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z"},
      {"*/15 * * * *", "UTC", "2024-01-01T10:07:00Z", "2024-01-01T10:15:00Z"},
      {"*/15 * * * *", "UTC", "2024-01-01T10:45:00Z", "2024-01-01T11:00:00Z"},
      {"1-5/2,30 * * * *", "UTC", "2024-01-01T10:00:00Z", "2024-01-01T10:01:00Z"},
      {"1-5/2,30 * * * *", "UTC", "2024-01-01T10:03:00Z", "2024-01-01T10:05:00Z"},
      {"1-5/2,30 * * * *", "UTC", "2024-01-01T10:05:00Z", "2024-01-01T10:30:00Z"},
      {"10/20 * * * *", "UTC", "2024-01-01T10:31:00Z", "2024-01-01T10:50:00Z"},
      {"5 4 * * *", "UTC", "2024-01-01T04:05:00Z", "2024-01-02T04:05:00Z"},
      {"0 0 1 1 *", "UTC", "2024-12-31T23:59:00Z", "2025-01-01T00:00:00Z"},
      {"59 23 31 12 *", "UTC", "2024-06-01T00:00:00Z", "2024-12-31T23:59:00Z"},
      {"0 0 31 * *", "UTC", "2024-01-31T00:00:00Z", "2024-03-31T00:00:00Z"},
      {"0 0 29 2 *", "UTC", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
      {"0 0 30 2 *", "UTC", "2024-01-01T00:00:00Z", "never"},
      // 2024-01-01 is a Monday; Sunday is 0, 7 or SUN.
      {"0 0 * * MON", "UTC", "2024-01-01T00:00:00Z", "2024-01-08T00:00:00Z"},
      {"0 0 * * 0", "UTC", "2024-01-01T00:00:00Z", "2024-01-07T00:00:00Z"},
      {"0 0 * * 7", "UTC", "2024-01-01T00:00:00Z", "2024-01-07T00:00:00Z"},
      {"0 0 * * sun", "UTC", "2024-01-01T00:00:00Z", "2024-01-07T00:00:00Z"},
      {"0 0 * * 5-7", "UTC", "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z"},
      {"0 9 * * MON-FRI", "UTC", "2024-01-05T10:00:00Z", "2024-01-08T09:00:00Z"},
      {"30 9 * JAN-MAR MON-FRI", "UTC", "2024-03-29T10:00:00Z", "2025-01-01T09:30:00Z"},
      {"0 0 1 jun,dec *", "UTC", "2024-06-01T00:00:00Z", "2024-12-01T00:00:00Z"},
      // Both day fields restricted: either matches (Vixie cron).
      {"0 12 1 * MON", "UTC", "2024-01-02T00:00:00Z", "2024-01-08T12:00:00Z"},
      {"0 12 1 * MON", "UTC", "2024-01-29T13:00:00Z", "2024-02-01T12:00:00Z"},
      // A day field starting with '*' does not count as restricted: both must match.
      {"0 12 */2 * MON", "UTC", "2024-01-01T13:00:00Z", "2024-01-15T12:00:00Z"},
      {"@hourly", "UTC", "2024-01-01T10:59:59Z", "2024-01-01T11:00:00Z"},
      {"@daily", "UTC", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"},
      {"@weekly", "UTC", "2024-01-01T00:00:00Z", "2024-01-07T00:00:00Z"},
      {"@monthly", "UTC", "2024-01-15T00:00:00Z", "2024-02-01T00:00:00Z"},
      {"@YEARLY", "UTC", "2024-01-15T00:00:00Z", "2025-01-01T00:00:00Z"},
      // Fixed offsets: 09:00 at +02:00 is 07:00Z; at -05:30 it is 14:30Z.
      {"0 9 * * *", "+02:00", "2024-01-01T00:00:00Z", "2024-01-01T07:00:00Z"},
      {"0 9 * * *", "-05:30", "2024-01-01T00:00:00Z", "2024-01-01T14:30:00Z"},
      {"0 0 1 * *", "+02:00", "2024-01-15T00:00:00Z", "2024-01-31T22:00:00Z"},
  };
  for (const auto& c : cases) {
    auto cron = CronSchedule::parse(c.cron);
    ASSERT_TRUE(cron) << c.cron << ": " << cron.error().cause;
    auto off = parse_utc_offset(c.tz);
    ASSERT_TRUE(off) << c.tz;
    EXPECT_EQ(show(cron->next_fire_after(at(c.after), *off)), c.want) << c.cron << " " << c.tz << " after " << c.after;
  }
}

TEST(Cron, LastFireAtOrBefore) {
  const NextCase cases[] = {
      {"* * * * *", "UTC", "2024-01-01T10:07:30Z", "2024-01-01T10:07:00Z"},
      {"0 * * * *", "UTC", "2024-01-01T10:07:00Z", "2024-01-01T10:00:00Z"},
      {"0 12 * * *", "UTC", "2024-01-02T11:00:00Z", "2024-01-01T12:00:00Z"},
      {"0 0 1 1 *", "UTC", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"},
      {"0 0 29 2 *", "UTC", "2027-01-01T00:00:00Z", "2024-02-29T00:00:00Z"},
      {"0 0 31 * *", "UTC", "2024-03-30T00:00:00Z", "2024-01-31T00:00:00Z"},
      {"0 9 * * *", "+02:00", "2024-01-01T06:59:00Z", "2023-12-31T07:00:00Z"},
      {"0 0 * * MON", "UTC", "2024-01-07T23:59:00Z", "2024-01-01T00:00:00Z"},
      {"0 0 30 2 *", "UTC", "2024-01-01T00:00:00Z", "never"},
  };
  for (const auto& c : cases) {
    auto cron = CronSchedule::parse(c.cron);
    ASSERT_TRUE(cron) << c.cron;
    auto off = parse_utc_offset(c.tz);
    ASSERT_TRUE(off) << c.tz;
    EXPECT_EQ(show(cron->last_fire_at_or_before(at(c.after), *off)), c.want) << c.cron << " at " << c.after;
  }
}

// The searches skip whole months, days and hours; walking minute by minute with
// matches() must find the same minutes.
TEST(Cron, SearchesAgreeWithMinuteByMinuteWalk) {
  const char* exprs[] = {"*/7 * * * *", "0 */5 * * *",     "15 3 * * 1-5",    "0 0 1,15 * SUN",
                         "0 0 L * *",   "45 23 28-31 * *", "0 12 * FEB,MAR *"};
  const sys_seconds starts[] = {at("2024-01-01T00:00:00Z"), at("2024-02-27T22:13:41Z"), at("2023-12-30T23:59:59Z")};
  for (const char* e : exprs) {
    auto cron = CronSchedule::parse(e);
    if (!cron) {
      EXPECT_STREQ(e, "0 0 L * *") << cron.error().cause;  // 'L' is not standard cron
      continue;
    }
    for (auto start : starts) {
      std::optional<sys_seconds> walked;
      for (auto t = floor<minutes>(start) + minutes{1}; t < start + days{70}; t += minutes{1}) {
        if (cron->matches(t)) {
          walked = t;
          break;
        }
      }
      ASSERT_TRUE(walked) << e;
      EXPECT_EQ(show(cron->next_fire_after(start)), show(walked)) << e << " after " << show(start);
      EXPECT_EQ(show(cron->last_fire_at_or_before(*walked + seconds{59})), show(walked)) << e;
      EXPECT_EQ(show(cron->last_fire_at_or_before(*walked - seconds{1})), show(cron->last_fire_at_or_before(start)))
          << e << " (nothing between start and the next fire)";
    }
  }
}

TEST(Cron, RejectsInvalidExpressions) {
  struct Bad {
    const char* cron;
    const char* fragment;  // expected in the message
  };
  const Bad cases[] = {
      {"", "empty"},
      {"* * * *", "5 fields"},
      {"* * * * * *", "5 fields"},
      {"60 * * * *", "minute field: 60 is out of range 0-59"},
      {"* 24 * * *", "hour field: 24"},
      {"* * 0 * *", "day-of-month field: 0"},
      {"* * 32 * *", "day-of-month field: 32"},
      {"* * * 13 *", "month field: 13"},
      {"* * * * 8", "day-of-week field: 8"},
      {"5-1 * * * *", "ends before it starts"},
      {"*/0 * * * *", "step 0"},
      {"a * * * *", "not a number"},
      {"* * * FOO *", "'FOO'"},
      {"1,,2 * * * *", "empty value"},
      {"*/ * * * *", "bad step"},
      {"@reboot", "unknown macro"},
  };
  for (const auto& c : cases) {
    auto cron = CronSchedule::parse(c.cron);
    ASSERT_FALSE(cron) << c.cron;
    EXPECT_EQ(cron.error().error, "InvalidCron");
    EXPECT_NE(cron.error().cause.find(c.fragment), std::string::npos) << c.cron << ": " << cron.error().cause;
  }
}

TEST(Cron, TimezonesAreUtcOrFixedOffsets) {
  struct Tz {
    const char* tz;
    int64_t seconds;  // -1: rejected
  };
  const Tz cases[] = {{"UTC", 0},          {"Etc/UTC", 0},  {"GMT", 0},     {"+02:00", 7200},      {"-05:30", -19800},
                      {"UTC+01:00", 3600}, {"+0100", 3600}, {"+14", 50400}, {"Europe/Berlin", -1}, {"+15:00", -1},
                      {"+02:60", -1},      {"2:00", -1},    {"", -1}};
  for (const auto& c : cases) {
    auto off = parse_utc_offset(c.tz);
    if (c.seconds == -1) {
      ASSERT_FALSE(off) << c.tz;
      EXPECT_NE(off.error().cause.find("UTC"), std::string::npos);
    } else {
      ASSERT_TRUE(off) << c.tz;
      EXPECT_EQ(off->count(), c.seconds) << c.tz;
    }
  }
}

TEST(Cron, IanaZonesSkipWhatTheClockSkipsAndFireRepeatedTimesOnce) {
  struct Case {
    const char* cron;
    const char* tz;
    const char* after;
    const char* want;
  };
  const Case cases[] = {
      // Berlin, spring forward on 2026-03-29 (02:00 CET -> 03:00 CEST): 02:30 does not exist that day.
      {"30 2 * * *", "Europe/Berlin", "2026-03-27T02:00:00Z", "2026-03-28T01:30:00Z"},
      {"30 2 * * *", "Europe/Berlin", "2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"},
      {"0 3 * * *", "Europe/Berlin", "2026-03-28T02:00:00Z", "2026-03-29T01:00:00Z"},
      {"* * * * *", "Europe/Berlin", "2026-03-29T00:59:00Z", "2026-03-29T01:00:00Z"},  // 01:59 CET, 03:00 CEST
      // Fall back on 2026-10-25 (03:00 CEST -> 02:00 CET): 02:30 shows twice and fires once.
      {"30 2 * * *", "Europe/Berlin", "2026-10-24T23:59:00Z", "2026-10-25T00:30:00Z"},
      {"30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
      {"* * * * *", "Europe/Berlin", "2026-10-25T00:59:00Z", "2026-10-25T02:00:00Z"},  // 02:00-02:59 CET again
      // New York, 09:00 local: 14:00Z in winter, 13:00Z from the second Sunday of March.
      {"0 9 * * *", "America/New_York", "2026-03-06T15:00:00Z", "2026-03-07T14:00:00Z"},
      {"0 9 * * *", "America/New_York", "2026-03-07T15:00:00Z", "2026-03-08T13:00:00Z"},
      {"0 9 * * 1-5", "America/New_York", "2026-10-30T13:00:00Z", "2026-11-02T14:00:00Z"},
      // Sydney (southern hemisphere) and a zone without daylight saving.
      {"0 8 * * *", "Australia/Sydney", "2026-01-10T00:00:00Z", "2026-01-10T21:00:00Z"},
      {"0 8 * * *", "Australia/Sydney", "2026-07-10T00:00:00Z", "2026-07-10T22:00:00Z"},
      {"15 10 * * *", "Asia/Kolkata", "2026-06-01T00:00:00Z", "2026-06-01T04:45:00Z"},
  };
  for (const auto& c : cases) {
    auto cron = CronSchedule::parse(c.cron);
    auto zone = TimeZone::named(c.tz);
    ASSERT_TRUE(cron && zone) << c.cron << " " << c.tz;
    EXPECT_EQ(show(cron->next_fire_after(at(c.after), *zone)), c.want) << c.cron << " " << c.tz << " after " << c.after;
  }
  const Case last[] = {
      // Just after the clock fell back (02:10 CET, 01:10Z), the last fire of "50 2" was 02:50 CEST (00:50Z).
      {"50 2 * * *", "Europe/Berlin", "2026-10-25T01:10:00Z", "2026-10-25T00:50:00Z"},
      {"30 2 * * *", "Europe/Berlin", "2026-10-25T01:45:00Z", "2026-10-25T00:30:00Z"},
      {"30 2 * * *", "Europe/Berlin", "2026-03-29T12:00:00Z", "2026-03-28T01:30:00Z"},
      {"0 9 * * *", "America/New_York", "2026-03-08T13:00:00Z", "2026-03-08T13:00:00Z"},
  };
  for (const auto& c : last) {
    auto cron = CronSchedule::parse(c.cron);
    auto zone = TimeZone::named(c.tz);
    ASSERT_TRUE(cron && zone) << c.cron << " " << c.tz;
    EXPECT_EQ(show(cron->last_fire_at_or_before(at(c.after), *zone)), c.want) << c.cron << " at " << c.after;
  }
}

// Against the definition, minute by minute around both of Berlin's changes in 2026: a minute
// fires when its wall-clock time matches and has not shown on the clock before.
TEST(Cron, IanaZoneFiresMatchAWalkOverEveryMinute) {
  auto zone = TimeZone::named("Europe/Berlin");
  ASSERT_TRUE(zone);
  for (const char* expr : {"30 2 * * *", "*/7 * * * *", "0 * * * *", "59 1,2 * * *", "0 2 * * 0"}) {
    auto cron = CronSchedule::parse(expr);
    ASSERT_TRUE(cron) << expr;
    for (const char* from : {"2026-03-28T12:00:00Z", "2026-10-24T12:00:00Z"}) {
      sys_seconds start = at(from);
      std::vector<sys_seconds> walked;
      sys_seconds seen_max = start + zone->offset_at(start);  // the latest wall-clock time shown so far
      for (sys_seconds u = start + minutes{1}; u < start + hours{48}; u += minutes{1}) {
        sys_seconds local = u + zone->offset_at(u);
        if (local > seen_max) {
          seen_max = local;
          if (cron->matches(local)) {
            walked.push_back(u);
          }
        }
      }
      std::vector<sys_seconds> chained;
      for (auto t = cron->next_fire_after(start, *zone); t && *t < start + hours{48};
           t = cron->next_fire_after(*t, *zone)) {
        chained.push_back(*t);
      }
      ASSERT_EQ(chained.size(), walked.size()) << expr << " from " << from;
      for (size_t k = 0; k < walked.size(); ++k) {
        EXPECT_EQ(show(chained[k]), show(walked[k])) << expr << " from " << from;
      }
      // The last fire at or before any instant of the window (also within the repeated hour).
      size_t next = 0;
      for (sys_seconds u = start + minutes{1} + seconds{30}; u < start + hours{48}; u += minutes{1}) {
        while (next < walked.size() && walked[next] <= u) {
          ++next;
        }
        if (next > 0) {
          EXPECT_EQ(show(cron->last_fire_at_or_before(u, *zone)), show(walked[next - 1])) << expr << " at " << show(u);
        }
      }
    }
  }
}

TEST(Cron, IsoMinuteIsBasicFormatUtc) {
  EXPECT_EQ(iso_minute(at("2026-11-22T15:09:58Z")), "20261122T1509Z");
  EXPECT_EQ(iso_minute(at("2024-01-01T00:00:00Z")), "20240101T0000Z");
}

}  // namespace
