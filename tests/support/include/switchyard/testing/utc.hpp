#pragma once
/// UTC instants written as text in test tables: "2026-03-29T01:00:00Z" <-> sys_seconds.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

namespace switchyard::testing {

/// "2024-01-01T10:07:30Z" -> sys_seconds (also used for wall-clock times read as UTC).
inline std::chrono::sys_seconds utc(const char* s) {
  using namespace std::chrono;
  int y = 0;
  unsigned mo = 0;
  unsigned d = 0;
  int h = 0;
  int mi = 0;
  int se = 0;
  EXPECT_EQ(std::sscanf(s, "%d-%u-%uT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &se), 6) << s;
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{se};
}

/// The same text back; "never" for nullopt.
inline std::string show_utc(std::optional<std::chrono::sys_seconds> t) {
  using namespace std::chrono;
  if (!t) {
    return "never";
  }
  auto day = floor<days>(*t);
  year_month_day ymd{day};
  hh_mm_ss hms{*t - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace switchyard::testing
