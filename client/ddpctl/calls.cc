// ddpctl call / publish / tx / query: one method call each (publish from
// stdin: one call per batch of lines).
#include <iostream>
#include <memory>

#include "client/ddpctl/ddpctl.h"
#include "common/strings.h"
#include "protocol/json.h"

namespace ddp::ctl {

namespace {

absl::StatusOr<std::unique_ptr<SyncClient>> Open(const Globals& g) { return OpenOneShot(g); }

// Calls and returns the result, or the exit code after printing why.
absl::StatusOr<Value> CallOnce(SyncClient& c, const Globals& g, const std::string& method,
                               Array params) {
  CallOptions opts;
  opts.skip_updated = true;  // nothing here waits for data messages
  return c.Call(method, std::move(params), g.timeout(), opts);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SyncClient>> OpenOneShot(const Globals& g) {
  absl::Status last;
  for (const std::string& url : g.Urls()) {
    ClientOptions o = g.ClientOpts();
    o.url = url;
    o.urls.clear();
    o.auto_reconnect = false;  // one-shot commands report a lost connection
    auto c = SyncClient::Connect(o, g.timeout());
    if (c.ok()) return c;
    last = c.status();
  }
  return last;
}

int RunCall(const Globals& g, const std::string& method, const std::vector<std::string>& args) {
  Array params;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::StatusOr<Value> v = ParseArg(StrCat("argument ", i + 1), args[i]);
    if (!v.ok()) return Fail("call", v.status());
    params.push_back(std::move(*v));
  }
  auto c = Open(g);
  if (!c.ok()) return Fail(StrCat("cannot connect to ", g.url), c.status());
  absl::StatusOr<Value> r = CallOnce(**c, g, method, std::move(params));
  if (!r.ok()) return Fail(StrCat("method '", method, "'"), r.status());
  PrintValue(*r, g.json);
  return kOk;
}

int RunTx(const Globals& g, const std::string& ops_text, const std::string& key) {
  std::string text = ops_text;
  if (text.empty() || text == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  absl::StatusOr<Value> ops = ParseArg("the operations", text);
  if (!ops.ok()) return Fail("tx", ops.status());
  if (!ops->is_array()) {
    return Fail("tx", absl::InvalidArgumentError(
                          "the operations must be a JSON array of {\"op\": ...} objects"));
  }
  Object options;
  if (!key.empty()) options.Append("key", Value(key));
  auto c = Open(g);
  if (!c.ok()) return Fail(StrCat("cannot connect to ", g.url), c.status());
  absl::StatusOr<Value> r = CallOnce(**c, g, "tx", Array{std::move(*ops), Value(std::move(options))});
  if (!r.ok()) return Fail("tx", r.status());
  if (g.json) {
    PrintValue(*r, true);
    return kOk;
  }
  const Value* seq = r->is_object() ? r->as_object().Find("seq") : nullptr;
  PrintLine(StrCat("committed at seq ", seq ? ToJson(*seq) : "?"));
  if (const Value* results = r->is_object() ? r->as_object().Find("results") : nullptr) {
    PrintLine(PrettyJson(*results));
  }
  return kOk;
}

int RunQuery(const Globals& g, const std::string& topic, const std::string& query) {
  Array params{Value(topic)};
  if (!query.empty()) {
    absl::StatusOr<Value> q = ParseArg("--query", query);
    if (!q.ok()) return Fail("query", q.status());
    params.push_back(std::move(*q));
  }
  auto c = Open(g);
  if (!c.ok()) return Fail(StrCat("cannot connect to ", g.url), c.status());
  absl::StatusOr<Value> r = CallOnce(**c, g, "query", std::move(params));
  if (!r.ok()) return Fail("query", r.status());
  if (g.json) {
    PrintValue(*r, true);
    return kOk;
  }
  // One document per line, then how many (on stderr, so that stdout stays
  // a clean stream of JSON documents).
  size_t n = 0;
  if (r->is_array()) {
    for (const Value& d : r->as_array()) {
      PrintLine(ToJson(d));
      ++n;
    }
  } else {
    PrintValue(*r, false);
  }
  std::cerr << n << " document" << (n == 1 ? "" : "s") << "\n";
  return kOk;
}

int RunPublish(const Globals& g, const PublishArgs& a) {
  std::vector<Value> batches;  // each: a doc or an array of docs
  if (!a.doc.empty() && a.doc != "-") {
    absl::StatusOr<Value> d = ParseArg("the document", a.doc);
    if (!d.ok()) return Fail("publish", d.status());
    batches.push_back(std::move(*d));
  }
  bool from_stdin = batches.empty();
  auto c = Open(g);
  if (!c.ok()) return Fail(StrCat("cannot connect to ", g.url), c.status());
  int64_t published = 0;
  Value last_seq;
  auto send = [&](Value docs) -> int {
    absl::StatusOr<Value> r = CallOnce(**c, g, "publish", Array{Value(a.topic), std::move(docs)});
    if (!r.ok()) return Fail("publish", r.status());
    if (g.json) PrintValue(*r, true);
    if (r->is_object()) {
      if (const Value* ids = r->as_object().Find("ids"); ids && ids->is_array()) {
        published += static_cast<int64_t>(ids->as_array().size());
      }
      if (const Value* seq = r->as_object().Find("seq")) last_seq = *seq;
    }
    return kOk;
  };
  if (!from_stdin) {
    if (int rc = send(std::move(batches[0])); rc != kOk) return rc;
  } else {
    // One JSON document per line; sent in batches (one transaction each).
    Array batch;
    std::string line;
    int64_t line_no = 0;
    while (std::getline(std::cin, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      absl::StatusOr<Value> d = ParseArg(StrCat("line ", line_no), line);
      if (!d.ok()) return Fail("publish", d.status());
      batch.push_back(std::move(*d));
      if (static_cast<int>(batch.size()) >= std::max(a.batch, 1)) {
        if (int rc = send(Value(std::move(batch))); rc != kOk) return rc;
        batch = Array();
      }
    }
    if (!batch.empty()) {
      if (int rc = send(Value(std::move(batch))); rc != kOk) return rc;
    }
  }
  if (!g.json) {
    PrintLine(StrCat("published ", published, " document", published == 1 ? "" : "s", " to ",
                     a.topic, last_seq.is_null() ? "" : StrCat(" (last seq ", ToJson(last_seq), ")")));
  }
  return kOk;
}

}  // namespace ddp::ctl
