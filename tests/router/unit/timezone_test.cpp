// Time zones of schedule triggers: POSIX TZ rules, TZif files of the system's time zone
// database (Debian's tzdata), and wall-clock times the clock skips or repeats.
#include "switchyard/router/timezone.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "switchyard/testing/utc.hpp"

namespace {

using switchyard::router::PosixTz;
using switchyard::router::TimeZone;
using namespace std::chrono;

sys_seconds at(const char* s) { return switchyard::testing::utc(s); }

constexpr int64_t kH = 3600;

TEST(PosixTz, ParsesTheRulesOfTheDatabasesFooters) {
  struct Case {
    const char* rule;
    int64_t std_offset;
    bool dst;
    int64_t dst_offset;
  };
  const Case cases[] = {
      {"CET-1CEST,M3.5.0,M10.5.0/3", kH, true, 2 * kH},
      {"EST5EDT,M3.2.0,M11.1.0", -5 * kH, true, -4 * kH},
      {"AEST-10AEDT,M10.1.0,M4.1.0/3", 10 * kH, true, 11 * kH},
      {"<+0530>-5:30", 5 * kH + 1800, false, 0},
      {"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", -3 * kH, true, -2 * kH},
      {"IST-2IDT,M3.4.4/26,M10.5.0", 2 * kH, true, 3 * kH},
      {"NZST-12NZDT,M9.5.0,M4.1.0/3", 12 * kH, true, 13 * kH},
      {"UTC0", 0, false, 0},
      {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 10 * kH + 1800, true, 11 * kH},  // Lord Howe
  };
  for (const auto& c : cases) {
    auto tz = PosixTz::parse(c.rule);
    ASSERT_TRUE(tz) << c.rule << ": " << tz.error().cause;
    EXPECT_EQ(tz->std_offset.count(), c.std_offset) << c.rule;
    EXPECT_EQ(tz->has_dst, c.dst) << c.rule;
    if (c.dst) {
      EXPECT_EQ(tz->dst_offset.count(), c.dst_offset) << c.rule;
    }
  }
  for (const char* bad : {"", "CET", "C-1", "CET-1CEST,M13.1.0,M10.5.0", "CET-1CEST,M3.5.0",
                          "CET-1CEST,M3.5.0,M10.5.0/3x", "CET-1CEST,M3.6.0,M10.5.0", "<+03", "CET-25"}) {
    EXPECT_FALSE(PosixTz::parse(bad)) << bad;
  }
}

TEST(PosixTz, KnowsWhenDaylightSavingStartsAndEnds) {
  struct Case {
    const char* rule;
    const char* utc;
    int64_t offset;
  };
  const Case cases[] = {
      // Berlin: the last Sunday of March at 02:00 CET (01:00Z), of October at 03:00 CEST (01:00Z).
      {"CET-1CEST,M3.5.0,M10.5.0/3", "2026-03-29T00:59:59Z", kH},
      {"CET-1CEST,M3.5.0,M10.5.0/3", "2026-03-29T01:00:00Z", 2 * kH},
      {"CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25T00:59:59Z", 2 * kH},
      {"CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25T01:00:00Z", kH},
      {"CET-1CEST,M3.5.0,M10.5.0/3", "2093-07-01T12:00:00Z", 2 * kH},
      // New York: the second Sunday of March, the first of November, at 02:00 local.
      {"EST5EDT,M3.2.0,M11.1.0", "2026-03-08T06:59:59Z", -5 * kH},
      {"EST5EDT,M3.2.0,M11.1.0", "2026-03-08T07:00:00Z", -4 * kH},
      {"EST5EDT,M3.2.0,M11.1.0", "2026-11-01T05:59:59Z", -4 * kH},
      {"EST5EDT,M3.2.0,M11.1.0", "2026-11-01T06:00:00Z", -5 * kH},
      // Sydney: southern hemisphere, daylight saving across the new year.
      {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-01-15T00:00:00Z", 11 * kH},
      {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-04-04T15:59:59Z", 11 * kH},
      {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-04-04T16:00:00Z", 10 * kH},
      {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-10-03T15:59:59Z", 10 * kH},
      {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-10-03T16:00:00Z", 11 * kH},
      {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-12-31T23:00:00Z", 11 * kH},
      // Julian days: J60 is March 1 in every year; zero-based 59 is February 29 in a leap year.
      {"XST0XDT,J60/0,J300/0", "2028-03-01T00:00:00Z", kH},
      {"XST0XDT,J60/0,J300/0", "2028-02-29T23:59:59Z", 0},
      {"XST0XDT,59/0,300/0", "2028-02-28T23:59:59Z", 0},
      {"XST0XDT,59/0,300/0", "2028-02-29T00:00:00Z", kH},
      {"XST0XDT,59/0,300/0", "2027-03-01T00:00:00Z", kH},
      {"XST0XDT,59/0,300/0", "2027-02-28T23:59:59Z", 0},
      // A change that a rule's time of day moves into the year before: Jan 1 at -10:00 is Dec 31.
      {"AAA3BBB,J1/-10,J300/2", "1999-12-31T16:59:59Z", -3 * kH},
      {"AAA3BBB,J1/-10,J300/2", "2000-01-01T02:00:00Z", -2 * kH},
      // Daylight saving all year (its end meets the next start).
      {"EST5EDT,0/0,J365/25", "2026-07-01T00:00:00Z", -4 * kH},
      {"EST5EDT,0/0,J365/25", "2026-01-01T05:00:00Z", -4 * kH},
      {"EST5EDT,0/0,J365/25", "2026-12-31T23:59:59Z", -4 * kH},
  };
  for (const auto& c : cases) {
    auto tz = PosixTz::parse(c.rule);
    ASSERT_TRUE(tz) << c.rule;
    EXPECT_EQ(tz->offset_at(at(c.utc)).count(), c.offset) << c.rule << " at " << c.utc;
  }
}

TEST(TimeZone, ReadsIanaZonesFromTheSystemDatabase) {
  struct Case {
    const char* zone;
    const char* utc;
    int64_t offset;
  };
  const Case cases[] = {
      {"Europe/Berlin", "2026-03-29T00:59:59Z", kH},
      {"Europe/Berlin", "2026-03-29T01:00:00Z", 2 * kH},
      {"Europe/Berlin", "2026-10-25T01:00:00Z", kH},
      {"Europe/Berlin", "1990-07-01T00:00:00Z", 2 * kH},  // a transition of the file itself
      {"Europe/Berlin", "2093-07-01T00:00:00Z", 2 * kH},  // after its last one: the footer's rule
      {"America/New_York", "2026-03-08T07:00:00Z", -4 * kH},
      {"America/New_York", "2026-11-01T06:00:00Z", -5 * kH},
      {"Asia/Kolkata", "2026-06-01T00:00:00Z", 5 * kH + 1800},
      {"Australia/Lord_Howe", "2026-01-15T00:00:00Z", 11 * kH},  // half an hour of daylight saving
      {"Australia/Lord_Howe", "2026-07-15T00:00:00Z", 10 * kH + 1800},
      {"Australia/Sydney", "2026-01-15T00:00:00Z", 11 * kH},
      {"UTC", "2026-06-01T00:00:00Z", 0},
      {"+02:00", "2026-06-01T00:00:00Z", 2 * kH},
  };
  for (const auto& c : cases) {
    auto zone = TimeZone::named(c.zone);
    ASSERT_TRUE(zone) << c.zone << ": " << zone.error().cause;
    EXPECT_EQ(zone->name(), c.zone);
    EXPECT_EQ(zone->offset_at(at(c.utc)).count(), c.offset) << c.zone << " at " << c.utc;
  }
  EXPECT_FALSE(TimeZone::named("Europe/Berlin")->fixed_offset());
  EXPECT_EQ(TimeZone::named("-05:30")->fixed_offset(), seconds{-5 * kH - 1800});
  EXPECT_EQ(TimeZone::named("Etc/GMT+5")->fixed_offset(), seconds{-5 * kH});  // POSIX sign: west
  EXPECT_EQ(TimeZone::named("Etc/Zulu")->fixed_offset(), seconds{0});
}

TEST(TimeZone, SkippedWallClockTimesDoNotExistAndRepeatedOnesAreTheirFirstOccurrence) {
  auto berlin = TimeZone::named("Europe/Berlin");
  ASSERT_TRUE(berlin);
  struct Case {
    const char* local;
    const char* utc;  // "" = does not exist
  };
  const Case cases[] = {
      {"2026-06-01T12:00:00Z", "2026-06-01T10:00:00Z"},
      {"2026-01-01T12:00:00Z", "2026-01-01T11:00:00Z"},
      {"2026-03-29T01:59:00Z", "2026-03-29T00:59:00Z"},
      {"2026-03-29T02:00:00Z", ""},  // 02:00-02:59 CET never shows on the clock
      {"2026-03-29T02:30:00Z", ""},
      {"2026-03-29T03:00:00Z", "2026-03-29T01:00:00Z"},
      {"2026-10-25T01:59:00Z", "2026-10-24T23:59:00Z"},
      {"2026-10-25T02:00:00Z", "2026-10-25T00:00:00Z"},  // first as CEST, again an hour later as CET
      {"2026-10-25T02:59:00Z", "2026-10-25T00:59:00Z"},
      {"2026-10-25T03:00:00Z", "2026-10-25T02:00:00Z"},
  };
  for (const auto& c : cases) {
    auto u = berlin->to_utc(at(c.local));
    if (*c.utc == '\0') {
      EXPECT_FALSE(u) << c.local;
    } else {
      ASSERT_TRUE(u) << c.local;
      EXPECT_EQ(*u, at(c.utc)) << c.local;
    }
  }
}

TEST(TimeZone, NamesThatAreNotZonesAreRefusedWithTheReason) {
  for (const char* name :
       {"Europe/Berln", "../../etc/passwd", "/etc/passwd", "Europe/../Europe/Berlin", "Europe//Berlin", "",
        "Europe/Berlin ", "Europe", "+15:00", "localtime", "posixrules", "Factory"}) {
    auto zone = TimeZone::named(name);
    ASSERT_FALSE(zone) << name;
    EXPECT_EQ(zone.error().error, "InvalidTimezone");
    EXPECT_NE(zone.error().cause.find("Europe/Berlin"), std::string::npos) << zone.error().cause;  // the hint
  }
  auto garbage = TimeZone::from_tzif("X", "not a zone file");
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().cause.find("not a TZif file"), std::string::npos);
  // A real file cut short.
  std::ifstream in("/usr/share/zoneinfo/Europe/Berlin", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 100U);
  EXPECT_FALSE(TimeZone::from_tzif("X", std::string_view(bytes).substr(0, bytes.size() / 2)));
}

TEST(TimeZone, TzdirPointsAtAnotherDatabase) {
  auto dir = std::filesystem::temp_directory_path() / ("sy-tzdir-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "Test");
  std::filesystem::copy_file("/usr/share/zoneinfo/America/New_York", dir / "Test" / "Zone",
                             std::filesystem::copy_options::overwrite_existing);
  ::setenv("TZDIR", dir.c_str(), 1);
  auto zone = TimeZone::named("Test/Zone");
  ::unsetenv("TZDIR");
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(zone) << zone.error().cause;
  EXPECT_EQ(zone->offset_at(at("2026-07-01T00:00:00Z")).count(), -4 * kH);
}

}  // namespace
