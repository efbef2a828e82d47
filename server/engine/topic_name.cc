#include "server/engine/topic_name.h"

#include <vector>

#include "common/strings.h"

namespace ddp::engine {
namespace {

bool IsSegmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

absl::Status Check(std::string_view s, bool allow_wildcards) {
  if (s.empty()) return InvalidArgument("invalid topic name: empty");
  if (s.size() > kMaxTopicBytes) {
    return InvalidArgument("invalid topic name: longer than ", kMaxTopicBytes, " bytes");
  }
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view seg = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (seg.empty()) return InvalidArgument("invalid topic name '", s, "': empty segment");
    bool last = dot == std::string_view::npos;
    if (allow_wildcards && (seg == "*" || (seg == ">" && last))) {
      // wildcard segment
    } else {
      for (char c : seg) {
        if (!IsSegmentChar(c)) {
          return InvalidArgument("invalid topic ", allow_wildcards ? "pattern" : "name", " '", s,
                                 "': segments are [A-Za-z0-9_-] joined by '.'",
                                 allow_wildcards ? " ('*' one segment, '>' the rest)" : "");
        }
      }
    }
    if (last) break;
    start = dot + 1;
  }
  return absl::OkStatus();
}

std::vector<std::string_view> Segments(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

using Segs = std::vector<std::string_view>;

// '>' is always last and stands for one or more segments.
bool Covers(const Segs& o, size_t i, const Segs& n, size_t j) {
  for (;; ++i, ++j) {
    if (i == o.size()) return j == n.size();
    if (o[i] == ">") return j < n.size();
    if (j == n.size() || n[j] == ">") return false;
    if (o[i] != "*" && (n[j] == "*" || o[i] != n[j])) return false;
  }
}

bool Overlap(const Segs& a, const Segs& b) {
  for (size_t i = 0;; ++i) {
    if (i == a.size() || i == b.size()) return i == a.size() && i == b.size();
    if (a[i] == ">" || b[i] == ">") return true;  // the other has a segment here
    if (a[i] != "*" && b[i] != "*" && a[i] != b[i]) return false;
  }
}

}  // namespace

bool PatternCovers(std::string_view outer, std::string_view inner) {
  // The usual question, a rule's pattern and a topic name, without
  // splitting either.
  if (!IsPattern(inner)) return IsPattern(outer) ? TopicMatches(outer, inner) : outer == inner;
  return Covers(Segments(outer), 0, Segments(inner), 0);
}

bool PatternsOverlap(std::string_view a, std::string_view b) {
  return Overlap(Segments(a), Segments(b));
}

absl::Status ValidateTopicName(std::string_view name) { return Check(name, false); }
absl::Status ValidateTopicPattern(std::string_view pattern) { return Check(pattern, true); }

bool IsPattern(std::string_view s) {
  return s == "*" || s == ">" || s.find(".*") != std::string_view::npos ||
         s.rfind("*.", 0) == 0 || (s.size() >= 2 && s.substr(s.size() - 2) == ".>");
}

bool TopicMatches(std::string_view pattern, std::string_view topic) {
  while (true) {
    size_t pd = pattern.find('.');
    size_t td = topic.find('.');
    std::string_view pseg = pattern.substr(0, pd);
    std::string_view tseg = topic.substr(0, td);
    if (pseg == ">") return !topic.empty();
    if (pseg != "*" && pseg != tseg) return false;
    if (pd == std::string_view::npos || td == std::string_view::npos) {
      return pd == std::string_view::npos && td == std::string_view::npos;
    }
    pattern.remove_prefix(pd + 1);
    topic.remove_prefix(td + 1);
  }
}

}  // namespace ddp::engine
