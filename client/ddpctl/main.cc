// ddpctl: command-line client for ddpd (and any DDP server).
#include <algorithm>
#include <iostream>

#include "CLI/CLI.hpp"
#include "client/ddpctl/ddpctl.h"

namespace {

constexpr const char* kFooter = R"(
Exit codes: 0 ok, 1 the server refused (method error, nosub, login),
2 usage (bad flags or JSON; nothing sent), 3 cannot connect or connection
lost, 4 timed out.

Examples:
  ddpctl publish chat.room1 '{"user":"ann","text":"hi"}'
  ddpctl sub chat.room1 --query '{"sort":{"ts":-1},"limit":20}'
  ddpctl query orders --query '{"pipeline":[{"$group":{"_id":"$sym","n":{"$count":{}}}}]}'
  ddpctl tx '[{"op":"insert","topic":"a","doc":{"_id":"x"}}]' --key k1
  ddpctl call /notes/update '{"_id":"n1"}' '{"$set":{"done":true}}'
  ddpctl bench --subscribers 100 --rate 10000 --duration 10
  ddpctl --url ws://n1:3000/websocket,ws://n2:3000/websocket cluster status)";

}  // namespace

int main(int argc, char** argv) {
  using namespace ddp::ctl;
  BlockTerminationSignals();

  CLI::App app{"ddpctl: talk to ddpd (or any DDP server) from the command line"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  Globals g;
  app.add_option("--url", g.url,
                 "Server WebSocket URL, ws:// or wss://; several, comma-separated, for a "
                 "cluster's nodes (the first that answers; sub fails over between them)")
      ->envname("DDPCTL_URL")
      ->capture_default_str();
  app.add_option("--token", g.token, "Resume token sent as `login` before anything else")
      ->envname("DDPCTL_TOKEN");
  app.add_option("--jwt", g.jwt, "JWT sent as `login` [{jwt}] before anything else")
      ->envname("DDPCTL_JWT");
  app.add_option("--timeout", g.timeout_s, "Seconds to wait for the connection and for each answer")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--ca-file", g.ca_file, "PEM file of CAs trusted for wss:// (default: the system's)")
      ->check(CLI::ExistingFile);
  app.add_flag("--insecure", g.insecure, "wss://: do not verify the server's certificate");
  app.add_flag("--json", g.json, "Machine-readable output: one JSON value per line");

  SubArgs sub;
  CLI::App* s = app.add_subcommand("sub", "Subscribe and print live changes until interrupted");
  s->add_option("name", sub.name, "Topic, topic pattern (a.*, a.>) or publication")->required();
  s->add_option("--query,-q", sub.query, "Live query (JSON): filter, fields, sort, limit, pipeline...");
  s->add_option("--params", sub.params, "Raw subscription params (JSON array), for publications");
  s->add_option("--count,-n", sub.count, "Exit after this many events");
  s->add_option("--for", sub.for_s, "Exit after this many seconds");
  s->add_flag("--until-ready", sub.until_ready, "Print the initial data, then exit");
  s->add_flag("--no-reconnect", sub.no_reconnect, "Exit (code 3) when the connection drops");

  std::string method;
  std::vector<std::string> call_args;
  CLI::App* c = app.add_subcommand("call", "Call a method and print its result");
  c->add_option("method", method, "Method name, e.g. /notes/insert, query, history")->required();
  c->add_option("params", call_args, "Parameters, each a JSON value (quote strings: '\"x\"')");

  PublishArgs pub;
  CLI::App* p = app.add_subcommand("publish", "Publish documents to a topic");
  p->add_option("topic", pub.topic, "Topic name")->required();
  p->add_option("doc", pub.doc,
                "A JSON document or array of documents; omitted or '-': one document per line "
                "from stdin");
  p->add_option("--batch", pub.batch, "stdin: documents per publish call (one transaction)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));

  std::string ops, key;
  CLI::App* t = app.add_subcommand("tx", "Run a transaction: all operations or none");
  t->add_option("ops", ops, "JSON array of operations; omitted or '-': read from stdin");
  t->add_option("--key", key, "Idempotency key: a retry returns the first result");

  std::string qtopic, qquery;
  CLI::App* q = app.add_subcommand("query", "Print the current result of a query (not live)");
  q->add_option("topic", qtopic, "Topic or topic pattern")->required();
  q->add_option("--query,-q", qquery, "Query (JSON), as for sub");

  BenchArgs bench;
  CLI::App* b = app.add_subcommand("bench", "Load test: publishers -> topic -> subscribers");
  b->add_option("--topic", bench.topic, "Topic (default: a fresh bench.<random>)");
  b->add_option("--publishers", bench.publishers, "Publishing connections")->capture_default_str();
  b->add_option("--subscribers", bench.subscribers, "Subscribing connections")->capture_default_str();
  b->add_option("--rate", bench.rate, "Messages/s over all publishers, on a fixed schedule; 0: as fast as the window allows")
      ->capture_default_str();
  b->add_option("--duration", bench.duration_s, "Seconds of publishing")->capture_default_str();
  b->add_option("--size", bench.size, "Payload bytes per message")->capture_default_str();
  b->add_option("--window", bench.window, "Calls in flight per publisher, at most")->capture_default_str();
  b->add_option("--threads", bench.threads, "I/O threads for all connections")->capture_default_str();

  CLI::App* cl = app.add_subcommand("cluster", "A ddpd cluster");
  cl->require_subcommand(1);
  CLI::App* cls = cl->add_subcommand("status", "Nodes, the commit log's end, lag per node");

  // CLI11 reads an argument of a multi-value option written "[a,b]" as a
  // list and splits it at its commas, which breaks JSON array parameters
  // (`ddpctl call publish '"t"' '[{"a":1},{"b":2}]'`). A trailing space
  // keeps it whole; JSON ignores it.
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::string& a : args) {
    if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a.push_back(' ');
  }
  std::reverse(args.begin(), args.end());  // CLI11's order for a vector of arguments
  app.name(argv[0]);  // as parse(argc, argv) would, for the usage line
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }

  if (s->parsed()) return RunSub(g, sub);
  if (c->parsed()) return RunCall(g, method, call_args);
  if (p->parsed()) return RunPublish(g, pub);
  if (t->parsed()) return RunTx(g, ops, key);
  if (q->parsed()) return RunQuery(g, qtopic, qquery);
  if (b->parsed()) return RunBench(g, bench);
  if (cls->parsed()) return RunClusterStatus(g);
  return kUsage;
}
