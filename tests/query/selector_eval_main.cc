// selector_eval: a line-oriented driver for differential tests of
// ddp::query::Selector (see tests/js/selector_mingo.js).
//
// Reads stdin one line at a time; each line is the JSON text
//   {"selector": S, "docs": [D, ...]}
// and for each it prints exactly one line:
//   {"ok":true,"matches":[true,false,...]}   one entry per document
//   {"ok":false,"error":"<message>"}         when S does not compile (or the
//                                             line is malformed)
// flushing after every line so that a driver can talk to it interactively.
#include <iostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/json.h"
#include "protocol/value.h"
#include "query/selector.h"

namespace {

std::string ErrorLine(std::string_view message) {
  std::string out = "{\"ok\":false,\"error\":";
  ddp::AppendJsonString(message, &out);
  out += "}";
  return out;
}

std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

std::string Evaluate(const std::string& line) {
  absl::StatusOr<ddp::Value> input = ddp::ParseJson(line);
  if (!input.ok()) return ErrorLine("bad input: " + Message(input.status()));
  if (!input->is_object()) return ErrorLine("bad input: not an object");
  const ddp::Value* selector = input->Find("selector");
  const ddp::Value* docs = input->Find("docs");
  if (selector == nullptr || docs == nullptr || !docs->is_array()) {
    return ErrorLine("bad input: needs \"selector\" and \"docs\" (an array)");
  }
  absl::StatusOr<ddp::query::Selector> compiled = ddp::query::Selector::Compile(*selector);
  if (!compiled.ok()) return ErrorLine(Message(compiled.status()));
  std::string out = "{\"ok\":true,\"matches\":[";
  bool first = true;
  for (const ddp::Value& doc : docs->as_array()) {
    if (!first) out += ",";
    first = false;
    out += compiled->Matches(doc) ? "true" : "false";
  }
  out += "]}";
  return out;
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::cout << Evaluate(line) << '\n' << std::flush;
  }
  return 0;
}
