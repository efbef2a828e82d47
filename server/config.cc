#include "server/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/strings.h"
#include "server/access/rules.h"
#include "server/engine/topic_name.h"

namespace ddp {
namespace {

// `--data-dir` <-> DDPD_DATA_DIR.
std::string EnvName(std::string_view long_name) {
  std::string env = "DDPD_";
  for (char c : long_name) env.push_back(c == '-' ? '_' : absl::ascii_toupper(c));
  return env;
}

// Reads `key = value` lines (TOML/INI style; [sections] and # comments are
// ignored; values may be quoted). Keys are long option names, with - or _.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadConfigFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("cannot read config file '", path, "'"));
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string_view l = line;
    while (!l.empty() && absl::ascii_isspace(l.front())) l.remove_prefix(1);
    while (!l.empty() && absl::ascii_isspace(l.back())) l.remove_suffix(1);
    if (l.empty() || l[0] == '#' || l[0] == ';' || l[0] == '[') continue;
    size_t eq = l.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(
          StrCat(path, ":", number, ": expected `key = value`, got '", l, "'"));
    }
    std::string key(l.substr(0, eq));
    std::string value(l.substr(eq + 1));
    auto trim = [](std::string& s) {
      while (!s.empty() && absl::ascii_isspace(s.back())) s.pop_back();
      size_t i = 0;
      while (i < s.size() && absl::ascii_isspace(s[i])) ++i;
      s.erase(0, i);
    };
    trim(key);
    trim(value);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    for (char& c : key) {
      if (c == '_') c = '-';
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace

ParsedConfig ParseConfig(int argc, const char* const* argv) {
  ParsedConfig result;
  // A bad value or config file: the message, exit status 2 (as CLI11's own
  // parse errors).
  auto usage_error = [&result](std::string message) {
    result.exit = true;
    result.exit_code = 2;
    result.message = std::move(message);
    return result;
  };
  ServerOptions& o = result.options;
  NetOptions& net = o.net;
  SessionOptions& session = net.session;

  int64_t heartbeat_interval_ms = 15000, heartbeat_timeout_ms = 15000, connect_timeout_ms = 10000;
  int64_t shutdown_grace_ms = 5000;
  int64_t disconnect_grace_ms = 15000;
  std::string config_file;
  std::string jwt_secret_file, jwks_file, jwt_issuer, jwt_audience;
  std::vector<std::string> jwt_public_key_files;
  int64_t login_token_ttl_ms = int64_t{90} * 24 * 3600 * 1000;

  CLI::App app{
      "ddpd: a real-time publish/subscribe data server speaking DDP over WebSocket.\n"
      "Every option can also be set with a DDPD_* environment variable (--data-dir ->\n"
      "DDPD_DATA_DIR) or in the --config file (data-dir = ./data). A flag wins over\n"
      "the environment, which wins over the file.",
      "ddpd"};
  app.option_defaults()->always_capture_default()->multi_option_policy(
      CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", std::string(kDdpdVersion));
  app.add_option("--config", config_file, "Read options from this file (key = value lines)");
  app.add_option("--port", net.port, "TCP port for HTTP and WebSocket (0: ephemeral)");
  app.add_option("--bind", net.bind, "Address to listen on");
  app.add_option("--threads", net.threads, "I/O threads (0: one per core)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--data-dir", o.engine.store.path, "Directory of the embedded RocksDB data");
  std::string durability = "sync";
  app.add_option("--durability", durability,
                 "sync: fsync every commit group; batch: fsync every --batch-sync-ms; none")
      ->check(CLI::IsMember({"sync", "batch", "none"}));
  app.add_option("--test-power-loss-journal", o.engine.store.power_loss_journal,
                 "Testing only: journal what each fsync made durable in this file and, at "
                 "start, cut the data files back to it (a SIGKILL then acts as a power cut)");
  int64_t min_free_disk_mb = 64;
  app.add_option("--min-free-disk-mb", min_free_disk_mb,
                 "Refuse writes (reads go on) while the data directory's disk has less free "
                 "space; they resume by themselves when space returns (0: no reserve)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  int64_t batch_sync_ms = 10;
  app.add_option("--batch-sync-ms", batch_sync_ms, "WAL sync interval in batch mode")
      ->check(CLI::Range(int64_t{1}, int64_t{60000}));
  app.add_option("--create-topics", o.engine.create_topics_on_write,
                 "Create topics on their first write (else only --topics may be written)");
  std::string declared;
  app.add_option("--topics", declared,
                 "Comma-separated topic names or patterns that may be written when "
                 "--create-topics=false");
  std::vector<std::string> retention;
  app.add_option("--topic-retention", retention,
                 "PATTERN:max_docs=N,max_age_ms=M (repeatable): oldest documents beyond N or "
                 "older than M are removed")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  std::vector<std::string> strategies;
  app.add_option("--publication-strategy", strategies,
                 "PATTERN=STRATEGY (repeatable): how subscriptions to matching topics reach "
                 "clients: server_merge (default; merge box, retraction on unsub) or "
                 "no_merge_no_history (sent as they are, nothing remembered per client, no "
                 "removed on unsub; for event streams)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--log-max-entries", o.engine.log_max_entries,
                 "Keep at most this many change-log entries (0: all)")
      ->check(CLI::Range(int64_t{0}, INT64_MAX));
  app.add_option("--log-max-age-ms", o.engine.log_max_age_ms,
                 "Drop change-log entries older than this (0: keep)")
      ->check(CLI::Range(int64_t{0}, INT64_MAX));
  int64_t idempotency_ttl_ms = 24 * 3600 * 1000;
  app.add_option("--idempotency-ttl-ms", idempotency_ttl_ms,
                 "How long a tx key is remembered")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  app.add_option("--max-query-results", o.engine.max_query_results,
                 "Most documents a query returns without an explicit limit")
      ->check(CLI::Range(size_t{1}, size_t{100000000}));
  // Live query limits (query::LiveLimits); a query beyond one gets nosub
  // 400 naming the limit.
  query::LiveLimits& live = o.engine.live_limits;
  app.add_option("--max-live-result", live.max_result,
                 "Most documents in one live query's result")
      ->check(CLI::Range(size_t{1}, size_t{1000000000}));
  app.add_option("--max-pipeline-stages", live.max_stages, "Most stages in a pipeline")
      ->check(CLI::Range(size_t{1}, size_t{10000}));
  app.add_option("--max-lookups", live.max_lookups, "Most $lookup stages in a pipeline")
      ->check(CLI::Range(size_t{0}, size_t{1000}));
  app.add_option("--max-open-windows", live.max_open_windows,
                 "Most windows a $window stage keeps open")
      ->check(CLI::Range(size_t{1}, size_t{100000000}));
  app.add_option("--max-groups", live.max_groups, "Most groups a $group stage holds")
      ->check(CLI::Range(size_t{1}, size_t{1000000000}));
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-format", o.log_format,
                 "text (one line per event) or json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--max-message-bytes", net.max_message_bytes,
                 "Largest WebSocket message accepted (larger: close 1009)")
      ->check(CLI::Range(size_t{64}, size_t{1} << 30));
  app.add_option("--max-http-body-bytes", net.max_http_body_bytes, "Largest HTTP request body")
      ->check(CLI::Range(size_t{64}, size_t{1} << 30));
  app.add_option("--outbound-queue-bytes", net.outbound_queue_bytes,
                 "Bytes queued for one client before it is closed as a slow consumer (4001)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 34));
  app.add_option("--outbound-soft-bytes", net.outbound_soft_bytes,
                 "Bytes queued for one client above which its pending changes to one document "
                 "are merged (0: never)")
      ->check(CLI::Range(size_t{0}, size_t{1} << 34));
  app.add_option("--permessage-deflate", net.permessage_deflate,
                 "Negotiate permessage-deflate when the client offers it");
  app.add_option("--heartbeat-interval-ms", heartbeat_interval_ms,
                 "Server ping after this much silence from the client (0: no heartbeats)")
      ->check(CLI::Range(int64_t{0}, int64_t{86400000}));
  app.add_option("--heartbeat-timeout-ms", heartbeat_timeout_ms,
                 "Close when the client stays silent this long after a ping")
      ->check(CLI::Range(int64_t{1}, int64_t{86400000}));
  app.add_option("--connect-timeout-ms", connect_timeout_ms,
                 "Close an upgraded connection that sends no DDP connect in this time")
      ->check(CLI::Range(int64_t{1}, int64_t{86400000}));
  app.add_option("--disconnect-grace-ms", disconnect_grace_ms,
                 "Meteor session resumption: a session whose client went away without a DDP "
                 "disconnect waits this long for it to come back (0: sessions end at once)")
      ->check(CLI::Range(int64_t{0}, int64_t{3600000}));
  app.add_option("--max-parked-messages", session.max_parked_messages,
                 "Messages a waiting session keeps for its client; one more ends the session")
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  app.add_option("--max-parked-sessions", net.max_parked_sessions,
                 "Sessions waiting for their client at once; beyond that a lost connection "
                 "ends its session at once")
      ->check(CLI::Range(size_t{0}, size_t{10000000}));
  app.add_option("--method-rate", session.method_rate,
                 "DDP method calls a second per connection, beyond which a call gets "
                 "too-many-requests (0: no limit)")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--method-burst", session.method_burst,
                 "Method calls one connection may make at once above --method-rate")
      ->check(CLI::Range(1.0, 1e6));
  app.add_option("--sub-rate", session.sub_rate,
                 "Subscriptions a second per connection, beyond which a sub gets nosub "
                 "too-many-requests (0: no limit)")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--sub-burst", session.sub_burst,
                 "Subscriptions one connection may start at once above --sub-rate")
      ->check(CLI::Range(1.0, 1e6));
  app.add_option("--user-method-rate", net.user_method_rate,
                 "Method calls a second of one logged-in user across its connections "
                 "(a token bucket; 0: no limit)")
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--user-method-burst", net.user_method_burst,
                 "Method calls one user may make at once above --user-method-rate")
      ->check(CLI::Range(1.0, 1e6));
  app.add_option("--user-sub-rate", net.user_sub_rate,
                 "Subscriptions a second of one logged-in user across its connections (0: no limit)")
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--user-sub-burst", net.user_sub_burst,
                 "Subscriptions one user may start at once above --user-sub-rate")
      ->check(CLI::Range(1.0, 1e6));
  app.add_option("--max-subscriptions", session.max_subscriptions,
                 "Live subscriptions per connection (0: no limit)")
      ->check(CLI::Range(size_t{0}, size_t{1} << 30));
  app.add_option("--max-connections-per-ip", net.max_connections_per_ip,
                 "WebSocket connections from one IP at once, beyond which the upgrade gets "
                 "HTTP 429 (0: no limit; behind a proxy every client has the proxy's address)")
      ->check(CLI::Range(size_t{0}, size_t{1} << 30));
  app.add_option("--allow-anonymous", session.allow_anonymous,
                 "Serve clients that have not logged in (false: everything but login gets 401)");
  app.add_option("--jwt-secret-file", jwt_secret_file,
                 "File holding the HS256 secret for `login` with a JWT (32 bytes or more)");
  app.add_option("--jwt-public-key-file", jwt_public_key_files,
                 "PEM public key (RSA >= 2048 bits: RS256, P-256: ES256) for JWT logins; "
                 "repeatable")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--jwks-file", jwks_file, "JWKS file ({\"keys\": [...]}) for JWT logins");
  app.add_option("--jwt-issuer", jwt_issuer, "Required `iss` of login JWTs (empty: any)");
  app.add_option("--jwt-audience", jwt_audience, "Required `aud` of login JWTs (empty: any)");
  app.add_option("--tls-cert", net.tls_cert_file,
                 "PEM certificate chain: the port speaks TLS (wss://, https://); reloaded on SIGHUP");
  app.add_option("--tls-key", net.tls_key_file, "PEM private key of --tls-cert");
  app.add_option("--tls-allow-plain", net.tls_allow_plain,
                 "With TLS, also serve plain ws:// and http:// on the same port");
  app.add_option("--metrics", o.metrics, "Serve GET /metrics (Prometheus text format)");
  app.add_option("--admin", o.admin,
                 "Serve the admin page at /admin (data for users with --admin-role; for anyone "
                 "when no logins are configured)");
  app.add_option("--admin-role", o.admin_role,
                 "The `roles` claim value that may see the admin page's data");
  app.add_option("--rules", o.rules_file,
                 "Access rules file (JSON; docs/SECURITY.md), reloaded on SIGHUP. Empty: "
                 "every caller may do everything (with --allow-anonymous, anyone)");
  std::string api_keys_file;
  app.add_option("--api-keys-file", api_keys_file,
                 "HTTP API keys, lines of '<name> <read,write> <key>' (Authorization: Bearer)");
  app.add_option("--login-failure-rate", o.auth.login_failure_rate,
                 "Failed logins a second from one IP address (a token bucket; 0: no limit)")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--login-failure-burst", o.auth.login_failure_burst,
                 "Failed logins one IP address may make at once")
      ->check(CLI::Range(1.0, 1e6));
  app.add_option("--login-token-ttl-ms", login_token_ttl_ms,
                 "Lifetime of the resume tokens `login` returns (a JWT's exp ends them earlier)")
      ->check(CLI::Range(int64_t{1000}, int64_t{1} << 50));
  app.add_option("--shutdown-grace-ms", shutdown_grace_ms,
                 "On SIGTERM/SIGINT, time sessions get to flush before they are closed")
      ->check(CLI::Range(int64_t{0}, int64_t{3600000}));

  std::string cluster;
  app.add_option("--cluster", cluster,
                 "Cluster mode: comma-separated NATS URLs (nats://h1:4222,nats://h2:4222) of a "
                 "JetStream cluster that holds the shared commit log; empty: one node, embedded "
                 "log");
  app.add_option("--cluster-stream", o.cluster.stream,
                 "JetStream stream of the commit log (subject ddpd.<stream>.log)");
  app.add_option("--cluster-replicas", o.cluster.replicas,
                 "Replicas of the stream when this node creates it")
      ->check(CLI::Range(1, 5));
  app.add_option("--node-id", o.cluster.node_id,
                 "This node's name in the cluster (default: a random one)");
  int64_t cluster_publish_timeout_ms = 10000;
  int64_t cluster_max_age_ms = 0;
  app.add_option("--cluster-max-age-ms", cluster_max_age_ms,
                 "Stream retention: JetStream removes records older than this (0: keep all). A "
                 "node further behind must rejoin from a snapshot (empty --data-dir)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 50));
  app.add_option("--cluster-max-bytes", o.cluster.max_bytes,
                 "Stream retention: JetStream removes the oldest records beyond this size "
                 "(0: keep all)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 60));
  app.add_option("--cluster-publish-timeout-ms", cluster_publish_timeout_ms,
                 "How long a commit waits for JetStream's acknowledgement before failing")
      ->check(CLI::Range(int64_t{100}, int64_t{600000}));

  // Precedence without relying on CLI11's: the file's values, then the
  // environment's, then the command line, parsed in that order with "last
  // value wins".
  std::vector<std::string> cmdline(argv + 1, argv + argc);
  // Find --config on the command line (or in the environment) first.
  for (size_t i = 0; i < cmdline.size(); ++i) {
    if (cmdline[i] == "--config" && i + 1 < cmdline.size()) config_file = cmdline[i + 1];
    if (cmdline[i].rfind("--config=", 0) == 0) config_file = cmdline[i].substr(9);
  }
  if (config_file.empty()) {
    if (const char* env = std::getenv("DDPD_CONFIG")) config_file = env;
  }
  std::vector<std::string> args;
  if (!config_file.empty()) {
    auto entries = ReadConfigFile(config_file);
    if (!entries.ok()) return usage_error(std::string(entries.status().message()));
    for (auto& [key, value] : *entries) {
      if (key == "config") continue;
      if (app.get_option_no_throw("--" + key) == nullptr) {
        return usage_error(StrCat(config_file, ": unknown option '", key, "'"));
      }
      args.push_back("--" + key);
      args.push_back(value);
    }
  }
  for (const CLI::Option* opt : app.get_options()) {
    std::string name = opt->get_single_name();
    if (name.empty() || name == "help" || name == "version" || name == "config") continue;
    if (const char* env = std::getenv(EnvName(name).c_str())) {
      args.push_back("--" + name);
      args.push_back(env);
    }
  }
  args.insert(args.end(), cmdline.begin(), cmdline.end());
  // CLI11 parses a reversed vector of arguments.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    result.exit = true;
    result.exit_code = app.exit(e, out, err);
    result.message = out.str() + err.str();
    return result;
  }
  o.engine.store.min_free_bytes = static_cast<uint64_t>(min_free_disk_mb) << 20;
  o.engine.store.durability = durability == "sync"    ? storage::Durability::kSync
                              : durability == "batch" ? storage::Durability::kBatch
                                                      : storage::Durability::kNone;
  o.engine.store.batch_sync_interval = std::chrono::milliseconds(batch_sync_ms);
  o.engine.idempotency_ttl = std::chrono::milliseconds(idempotency_ttl_ms);
  for (absl::string_view t : absl::StrSplit(declared, ',', absl::SkipWhitespace())) {
    o.engine.declared_topics.emplace_back(absl::StripAsciiWhitespace(t));
  }
  for (const std::string& rule : retention) {
    size_t colon = rule.rfind(':');
    engine::TopicRetention r;
    bool ok = colon != std::string::npos && colon > 0;
    if (ok) {
      r.pattern = rule.substr(0, colon);
      for (absl::string_view kv : absl::StrSplit(rule.substr(colon + 1), ',')) {
        std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
        int64_t n;
        if (!absl::SimpleAtoi(p.second, &n) || n < 0) {
          ok = false;
        } else if (p.first == "max_docs") {
          r.max_docs = n;
        } else if (p.first == "max_age_ms") {
          r.max_age_ms = n;
        } else {
          ok = false;
        }
      }
    }
    if (!ok) {
      return usage_error(
          StrCat("--topic-retention '", rule, "': expected PATTERN:max_docs=N,max_age_ms=M"));
    }
    o.engine.retention.push_back(std::move(r));
  }
  for (const std::string& rule : strategies) {
    std::pair<std::string, std::string> p = absl::StrSplit(rule, absl::MaxSplits('=', 1));
    PublicationStrategyRule r;
    r.pattern = p.first;
    bool ok = engine::ValidateTopicPattern(r.pattern).ok();  // a plain name is a pattern too
    if (p.second == "server_merge") {
      r.strategy = PublicationStrategy::kServerMerge;
    } else if (p.second == "no_merge_no_history") {
      r.strategy = PublicationStrategy::kNoMergeNoHistory;
    } else {
      ok = false;
    }
    if (!ok) {
      return usage_error(StrCat("--publication-strategy '", rule,
                                "': expected PATTERN=server_merge or PATTERN=no_merge_no_history"));
    }
    o.api.strategies.push_back(std::move(r));
  }
  for (absl::string_view url : absl::StrSplit(cluster, ',', absl::SkipWhitespace())) {
    url = absl::StripAsciiWhitespace(url);
    if (!absl::StartsWith(url, "nats://") && !absl::StartsWith(url, "tls://")) {
      return usage_error(StrCat("--cluster '", url, "': expected nats://host:port"));
    }
    o.cluster.servers.emplace_back(url);
  }
  if (!engine::ValidateTopicName(o.cluster.stream).ok() ||
      o.cluster.stream.find('.') != std::string::npos) {
    return usage_error(StrCat("--cluster-stream '", o.cluster.stream,
                              "': expected letters, digits, - and _"));
  }
  for (char c : o.cluster.node_id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return usage_error(StrCat("--node-id '", o.cluster.node_id,
                                "': expected letters, digits, - and _ (it names NATS subjects)"));
    }
  }
  o.cluster.publish_timeout = std::chrono::milliseconds(cluster_publish_timeout_ms);
  o.cluster.max_age = std::chrono::milliseconds(cluster_max_age_ms);
  session.heartbeat_interval = std::chrono::milliseconds(heartbeat_interval_ms);
  session.heartbeat_timeout = std::chrono::milliseconds(heartbeat_timeout_ms);
  session.connect_timeout = std::chrono::milliseconds(connect_timeout_ms);
  session.json_limits.max_text_bytes = net.max_message_bytes;
  net.shutdown_grace = std::chrono::milliseconds(shutdown_grace_ms);
  session.disconnect_grace_period = std::chrono::milliseconds(disconnect_grace_ms);
  o.auth.token_ttl = std::chrono::milliseconds(login_token_ttl_ms);
  if (net.tls_cert_file.empty() != net.tls_key_file.empty()) {
    return usage_error("--tls-cert and --tls-key go together");
  }
  if (!o.rules_file.empty()) {
    // Checked now, so that a bad rules file stops ddpd at start with the reason.
    absl::StatusOr<std::shared_ptr<const access::Rules>> rules = access::Rules::Load(o.rules_file);
    if (!rules.ok()) return usage_error(StrCat("--rules: ", rules.status().message()));
  }
  if (!api_keys_file.empty()) {
    std::ifstream in(api_keys_file, std::ios::binary);
    if (!in) return usage_error(StrCat("--api-keys-file: cannot read '", api_keys_file, "'"));
    std::stringstream ss;
    ss << in.rdbuf();
    o.api_keys = ss.str();
    absl::StatusOr<auth::ApiKeys> keys = auth::ApiKeys::Parse(o.api_keys);
    if (!keys.ok()) return usage_error(std::string(keys.status().message()));
  }
  if (!jwt_secret_file.empty() || !jwt_public_key_files.empty() || !jwks_file.empty()) {
    auth::JwtOptions jwt;
    auto slurp = [&](const std::string& path, std::string* out) {
      std::ifstream in(path, std::ios::binary);
      if (!in) return false;
      std::stringstream ss;
      ss << in.rdbuf();
      *out = ss.str();
      return true;
    };
    if (!jwt_secret_file.empty()) {
      if (!slurp(jwt_secret_file, &jwt.hs256_secret)) {
        return usage_error(StrCat("--jwt-secret-file: cannot read '", jwt_secret_file, "'"));
      }
      // A secret file usually ends with a newline that is not the secret's.
      while (!jwt.hs256_secret.empty() &&
             (jwt.hs256_secret.back() == '\n' || jwt.hs256_secret.back() == '\r')) {
        jwt.hs256_secret.pop_back();
      }
    }
    for (const std::string& path : jwt_public_key_files) {
      std::string pem;
      if (!slurp(path, &pem)) {
        return usage_error(StrCat("--jwt-public-key-file: cannot read '", path, "'"));
      }
      jwt.public_keys_pem.push_back(std::move(pem));
    }
    if (!jwks_file.empty() && !slurp(jwks_file, &jwt.jwks_json)) {
      return usage_error(StrCat("--jwks-file: cannot read '", jwks_file, "'"));
    }
    jwt.issuer = jwt_issuer;
    jwt.audience = jwt_audience;
    // Checked now, so that a bad key stops ddpd at start with the reason.
    absl::StatusOr<std::unique_ptr<auth::JwtVerifier>> v = auth::JwtVerifier::Create(jwt);
    if (!v.ok()) return usage_error(StrCat("JWT keys: ", v.status().message()));
    o.jwt = std::move(jwt);
  }
  return result;
}

}  // namespace ddp
