// Regular expressions for $regex and regex equality, on RE2.
//
// Patterns use the JavaScript/PCRE syntax that RE2 shares (classes,
// quantifiers, anchors, groups, alternation). Options: i (case-insensitive),
// m (^ and $ at line breaks), s (. matches newline); g, y and u are
// accepted and ignored (JavaScript flags that do not change a test()).
// Backreferences and look-around are not supported by RE2: such patterns
// are rejected with InvalidArgument, as is the x option.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}

namespace ddp::query {

class CompiledRegex {
 public:
  explicit CompiledRegex(std::unique_ptr<re2::RE2> re);
  ~CompiledRegex();
  // True when the pattern matches anywhere in `s` (JavaScript's test()).
  bool Matches(std::string_view s) const;

 private:
  std::unique_ptr<re2::RE2> re_;
};

absl::StatusOr<std::shared_ptr<const CompiledRegex>> CompileRegex(std::string_view pattern,
                                                                  std::string_view flags);

}  // namespace ddp::query
