#include "query/regex.h"

#include "common/strings.h"
#include "re2/re2.h"

namespace ddp::query {

CompiledRegex::CompiledRegex(std::unique_ptr<re2::RE2> re) : re_(std::move(re)) {}
CompiledRegex::~CompiledRegex() = default;

bool CompiledRegex::Matches(std::string_view s) const {
  return re2::RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *re_);
}

absl::StatusOr<std::shared_ptr<const CompiledRegex>> CompileRegex(std::string_view pattern,
                                                                  std::string_view flags) {
  std::string inline_flags;
  for (char f : flags) {
    switch (f) {
      case 'i':
      case 'm':
      case 's':
        if (inline_flags.find(f) == std::string::npos) inline_flags.push_back(f);
        break;
      case 'g':
      case 'y':
      case 'u':
        break;
      default:
        return absl::InvalidArgumentError(
            StrCat("invalid selector: unsupported regular expression option '", std::string(1, f),
                   "' (supported: i, m, s)"));
    }
  }
  std::string full = inline_flags.empty() ? std::string(pattern)
                                          : StrCat("(?", inline_flags, ")", pattern);
  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);
  auto re = std::make_unique<re2::RE2>(full, options);
  if (!re->ok()) {
    return absl::InvalidArgumentError(StrCat("invalid selector: invalid regular expression /",
                                             pattern, "/: ", re->error()));
  }
  return std::make_shared<const CompiledRegex>(std::move(re));
}

}  // namespace ddp::query
