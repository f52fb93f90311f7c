// Cron parsing and the search for the next/previous matching minute.
//
// Each field is a bit set. The search walks calendar units from the largest
// down: a month that does not match skips to the next (or previous) month, a
// day to the next day, an hour to the next hour, and only then minutes, so a
// search costs at most a few hundred steps per year it covers. The search is
// bounded to 10 years, which covers February 29 (8 years apart around 2100).
#include "switchyard/router/cron.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <vector>

namespace switchyard::router {

namespace {

using namespace std::chrono;

struct FieldSpec {
  const char* name;
  int lo;
  int hi;
  const char* const* names;  // names[i] is the value lo_names + i; nullptr when none
  int names_base;
  int names_count;
};

const char* const kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const char* const kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

const FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0, 0}, {"hour", 0, 23, nullptr, 0, 0},     {"day-of-month", 1, 31, nullptr, 0, 0},
    {"month", 1, 12, kMonths, 1, 12}, {"day-of-week", 0, 7, kDays, 0, 7},
};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (true) {
    size_t j = s.find(sep, i);
    out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) {
      return out;
    }
    i = j + 1;
  }
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

// One value of a field: a number or a name.
Result<int> value(std::string_view s, const FieldSpec& f) {
  if (s.empty()) {
    return Error{"InvalidCron", std::string(f.name) + " field: empty value"};
  }
  if (std::isdigit(static_cast<unsigned char>(s[0])) != 0) {
    if (s.size() > 4) {
      return Error{"InvalidCron", std::string(f.name) + " field: '" + std::string(s) + "' is too long"};
    }
    int v = 0;
    for (char c : s) {
      if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
        return Error{"InvalidCron", std::string(f.name) + " field: '" + std::string(s) + "' is not a number"};
      }
      v = v * 10 + (c - '0');
    }
    if (v < f.lo || v > f.hi) {
      return Error{"InvalidCron", std::string(f.name) + " field: " + std::to_string(v) + " is out of range " +
                                      std::to_string(f.lo) + "-" + std::to_string(f.hi)};
    }
    return v;
  }
  std::string u = upper(s);
  for (int i = 0; i < f.names_count; ++i) {
    if (u == f.names[i]) {
      return f.names_base + i;
    }
  }
  return Error{"InvalidCron", std::string(f.name) + " field: '" + std::string(s) + "' is not a " +
                                  (f.names != nullptr ? "number or name" : "number")};
}

// A whole field as a bit set; `star` tells whether it starts with '*' (Vixie's day rule).
Result<uint64_t> field(std::string_view text, const FieldSpec& f, bool& star) {
  star = !text.empty() && text[0] == '*';
  uint64_t bits = 0;
  for (auto item : split(text, ',')) {
    std::string_view range = item;
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      std::string_view st = item.substr(slash + 1);
      if (st.empty() || st.size() > 4) {
        return Error{"InvalidCron", std::string(f.name) + " field: bad step in '" + std::string(item) + "'"};
      }
      step = 0;
      for (char c : st) {
        if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
          return Error{"InvalidCron", std::string(f.name) + " field: bad step in '" + std::string(item) + "'"};
        }
        step = step * 10 + (c - '0');
      }
      if (step < 1 || step > f.hi) {
        return Error{"InvalidCron", std::string(f.name) + " field: step " + std::to_string(step) +
                                        " is out of range 1-" + std::to_string(f.hi)};
      }
    }
    int lo = f.lo;
    int hi = f.hi;
    if (range == "*") {
      if (f.hi == 7) {
        hi = 6;  // day-of-week: 7 is Sunday again, not an eighth day
      }
    } else if (auto dash = range.find('-'); dash != std::string_view::npos) {
      auto a = value(range.substr(0, dash), f);
      if (!a) {
        return a.error();
      }
      auto b = value(range.substr(dash + 1), f);
      if (!b) {
        return b.error();
      }
      lo = *a;
      hi = *b;
      if (lo > hi) {
        return Error{"InvalidCron",
                     std::string(f.name) + " field: range '" + std::string(range) + "' ends before it starts"};
      }
    } else {
      auto a = value(range, f);
      if (!a) {
        return a.error();
      }
      lo = *a;
      // "a/n" means "a-max/n"; a lone "a" is just a.
      hi = item.find('/') != std::string_view::npos ? (f.hi == 7 ? 6 : f.hi) : *a;
    }
    for (int v = lo; v <= hi; v += step) {
      bits |= uint64_t{1} << v;
    }
  }
  return bits;
}

struct Civil {
  sys_days day;
  int hour;
  int minute;
};

Civil civil(sys_seconds t) {
  auto day = floor<days>(t);
  auto rest = duration_cast<minutes>(t - day).count();
  return {day, static_cast<int>(rest / 60), static_cast<int>(rest % 60)};
}

constexpr auto kSearchSpan = years{10};

}  // namespace

Result<CronSchedule> CronSchedule::parse(std::string_view expr) {
  std::string_view s = expr;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
    s.remove_suffix(1);
  }
  if (s.empty()) {
    return Error{"InvalidCron", "the cron expression is empty"};
  }
  if (s.size() > 256) {
    return Error{"InvalidCron", "the cron expression is longer than 256 characters"};
  }
  if (s[0] == '@') {
    static const std::pair<const char*, const char*> kMacros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"}};
    std::string u(s);
    for (auto& c : u) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (const auto& [name, expansion] : kMacros) {
      if (u == name) {
        return parse(expansion);
      }
    }
    return Error{"InvalidCron", "unknown macro '" + std::string(s) +
                                    "' (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)"};
  }
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j])) == 0) {
      ++j;
    }
    fields.push_back(s.substr(i, j - i));
    while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j])) != 0) {
      ++j;
    }
    i = j;
  }
  if (fields.size() != 5) {
    return Error{"InvalidCron", "a cron expression has 5 fields (minute hour day-of-month month day-of-week), got " +
                                    std::to_string(fields.size())};
  }
  CronSchedule c;
  std::array<bool, 5> star{};
  std::array<uint64_t, 5> bits{};
  for (size_t k = 0; k < 5; ++k) {
    bool st = false;
    auto b = field(fields[k], kFields[k], st);
    if (!b) {
      return b.error();
    }
    bits[k] = *b;
    star[k] = st;
  }
  c.minutes_ = bits[0];
  c.hours_ = static_cast<uint32_t>(bits[1]);
  c.days_ = static_cast<uint32_t>(bits[2]);
  c.months_ = static_cast<uint32_t>(bits[3]);
  c.weekdays_ = static_cast<uint32_t>((bits[4] | (bits[4] >> 7)) & 0x7f);  // 7 -> 0
  c.day_or_ = !star[2] && !star[4];
  return c;
}

bool CronSchedule::day_matches(sys_days day) const {
  year_month_day ymd{day};
  bool dom = ((days_ >> static_cast<unsigned>(ymd.day())) & 1U) != 0;
  bool dow = ((weekdays_ >> weekday{day}.c_encoding()) & 1U) != 0;
  return day_or_ ? (dom || dow) : (dom && dow);
}

bool CronSchedule::matches(sys_seconds local) const {
  Civil c = civil(local);
  year_month_day ymd{c.day};
  return ((months_ >> static_cast<unsigned>(ymd.month())) & 1U) != 0 && day_matches(c.day) &&
         ((hours_ >> c.hour) & 1U) != 0 && ((minutes_ >> c.minute) & 1U) != 0;
}

std::optional<sys_seconds> CronSchedule::next_fire_after(sys_seconds t, seconds utc_offset) const {
  sys_seconds local = floor<minutes>(t + utc_offset) + minutes{1};
  const sys_seconds limit = local + duration_cast<seconds>(kSearchSpan);
  while (local <= limit) {
    Civil c = civil(local);
    year_month_day ymd{c.day};
    if (((months_ >> static_cast<unsigned>(ymd.month())) & 1U) == 0) {
      auto first_next = year_month_day{ymd.year() / ymd.month() / 1} + months{1};
      local = sys_days{first_next};
      continue;
    }
    if (!day_matches(c.day)) {
      local = c.day + days{1};
      continue;
    }
    if (((hours_ >> c.hour) & 1U) == 0) {
      local = c.day + hours{c.hour + 1};
      continue;
    }
    if (((minutes_ >> c.minute) & 1U) == 0) {
      local += minutes{1};
      continue;
    }
    return local - utc_offset;
  }
  return std::nullopt;
}

std::optional<sys_seconds> CronSchedule::last_fire_at_or_before(sys_seconds t, seconds utc_offset) const {
  sys_seconds local = floor<minutes>(t + utc_offset);
  const sys_seconds limit = local - duration_cast<seconds>(kSearchSpan);
  while (local >= limit) {
    Civil c = civil(local);
    year_month_day ymd{c.day};
    if (((months_ >> static_cast<unsigned>(ymd.month())) & 1U) == 0) {
      local = sys_days{year_month_day{ymd.year() / ymd.month() / 1}} - minutes{1};  // last minute of the month before
      continue;
    }
    if (!day_matches(c.day)) {
      local = c.day - minutes{1};
      continue;
    }
    if (((hours_ >> c.hour) & 1U) == 0) {
      local = c.day + hours{c.hour} - minutes{1};
      continue;
    }
    if (((minutes_ >> c.minute) & 1U) == 0) {
      local -= minutes{1};
      continue;
    }
    return local - utc_offset;
  }
  return std::nullopt;
}

// Zones whose offset changes: the matching wall-clock minutes, in order, each at its first
// occurrence (a skipped one has none). First occurrences rise with the wall-clock time, so the
// next fire after t is the first match whose instant is after t, and the last one at or before
// t the first match, going down, whose instant is not after t.
namespace {
// A zone's offset moves by at most a few hours (2 h is the largest daylight saving shift), and
// not twice within that span.
constexpr auto kMaxShift = hours{3};
// Matches skipped or repeated around one change: at most a day and a few hours of minutes (a zone
// that moved across the date line skipped a whole day: Pacific/Apia on 2011-12-30).
constexpr int kMaxSkips = 28 * 60;
}  // namespace

std::optional<sys_seconds> CronSchedule::next_fire_after(sys_seconds t, const TimeZone& zone) const {
  if (auto fixed = zone.fixed_offset()) {
    return next_fire_after(t, *fixed);
  }
  auto local = next_fire_after(t + zone.offset_at(t), seconds{0});
  for (int k = 0; local && k < kMaxSkips; ++k) {
    auto u = zone.to_utc(*local);
    if (u && *u > t) {
      return u;
    }
    local = next_fire_after(*local, seconds{0});
  }
  return std::nullopt;
}

std::optional<sys_seconds> CronSchedule::last_fire_at_or_before(sys_seconds t, const TimeZone& zone) const {
  if (auto fixed = zone.fixed_offset()) {
    return last_fire_at_or_before(t, *fixed);
  }
  // From the latest wall-clock time shown so far: just after the clock fell back (by d, within
  // the last few hours), earlier instants read up to d later than now does.
  seconds now_offset = zone.offset_at(t);
  seconds fell_back = std::max(seconds{0}, zone.offset_at(t - kMaxShift) - now_offset);
  auto local = last_fire_at_or_before(t + now_offset + fell_back, seconds{0});
  for (int k = 0; local && k < kMaxSkips; ++k) {
    auto u = zone.to_utc(*local);
    if (u && *u <= t) {
      return u;
    }
    local = last_fire_at_or_before(*local - minutes{1}, seconds{0});
  }
  return std::nullopt;
}

Result<seconds> parse_utc_offset(std::string_view tz) {
  if (tz == "UTC" || tz == "Etc/UTC" || tz == "GMT" || tz == "Etc/GMT" || tz == "Z") {
    return seconds{0};
  }
  std::string_view s = tz;
  if (s.substr(0, 3) == "UTC") {
    s.remove_prefix(3);
  }
  // [+-]HH:MM or [+-]HHMM or [+-]HH
  auto digits = [](std::string_view d) {
    for (char c : d) {
      if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
        return false;
      }
    }
    return !d.empty();
  };
  if (s.size() >= 3 && (s[0] == '+' || s[0] == '-')) {
    std::string_view hh = s.substr(1, 2);
    std::string_view mm = s.size() == 6 && s[3] == ':' ? s.substr(4, 2) : s.size() == 5 ? s.substr(3, 2) : "";
    bool shape_ok = s.size() == 3 || (s.size() == 6 && s[3] == ':') || s.size() == 5;
    if (shape_ok && digits(hh) && (mm.empty() || digits(mm))) {
      int h = (hh[0] - '0') * 10 + (hh[1] - '0');
      int m = mm.empty() ? 0 : (mm[0] - '0') * 10 + (mm[1] - '0');
      if (h <= 14 && m <= 59) {
        seconds off = hours{h} + minutes{m};
        return s[0] == '-' ? -off : off;
      }
    }
  }
  return Error{"InvalidTimezone",
               "time zone '" + std::string(tz) + "' is not UTC or a fixed UTC offset such as \"+02:00\""};
}

std::string iso_minute(sys_seconds t) {
  Civil c = civil(t);
  year_month_day ymd{c.day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), c.hour, c.minute);
  return buf;
}

}  // namespace switchyard::router
