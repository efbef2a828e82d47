// The raw RocksDB rate that ddpd's durable commits are compared with:
// --threads threads (default 1), each writing WriteBatches of --batch
// records of --payload-bytes with sync=true. One thread with batch N is
// the best a group commit of N records can do on this disk; N threads
// with batch D are what ddpd's N writers of D documents per call are in
// RocksDB's own terms (its write queue groups concurrent writers into one
// WAL write and one sync, as ddpd's committer groups transactions). A
// measurement tool, so it uses RocksDB directly; product code reaches
// RocksDB only through storage/. Prints records/s and `syncs_per_s`, the
// Write calls per second (each asks for a sync; with --threads > 1 RocksDB
// serves concurrent ones with one fsync, so fewer fsyncs happen).
//
//   rocksdb_raw_bench --dir /path --batch 64 --payload-bytes 128 --seconds 5 [--keys random]
//                     [--threads 64]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "payloads.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

int main(int argc, char** argv) {
  CLI::App app{"raw RocksDB WriteBatch + sync rate"};
  std::string dir = "/tmp/rocksdb_raw_bench";
  int batch = 64, payload = 128, threads = 1;
  double seconds = 5;
  std::string keys = "counter", payload_kind = "x";
  app.add_option("--dir", dir);
  app.add_option("--keys", keys,
                 "counter: k0, k1, ... (each insert lands next to the last); random: 17 random "
                 "characters like Meteor's Random.id() (each insert searches the memtable)")
      ->check(CLI::IsMember({"counter", "random"}));
  app.add_option("--payload", payload_kind,
                 "x: one repeated character (compresses to nothing); random: one of 1024 random "
                 "alphanumeric values (does not compress)")
      ->check(CLI::IsMember({"x", "random"}));
  app.add_option("--batch", batch);
  app.add_option("--threads", threads, "concurrent writers, each writing --batch records per sync")
      ->check(CLI::Range(1, 1024));
  app.add_option("--payload-bytes", payload);
  app.add_option("--seconds", seconds);
  CLI11_PARSE(app, argc, argv);
  std::filesystem::remove_all(dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  const std::vector<std::string> values =
      bench::Payloads(payload_kind, static_cast<size_t>(payload));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  std::atomic<int64_t> records{0}, next_counter{0}, syncs{0};
  std::atomic<bool> failed{false};
  auto writer = [&](int index) {
    std::mt19937_64 rng(42 + static_cast<uint64_t>(index));
    auto next_key = [&]() {
      if (keys == "counter") {
        std::string k = "k";
        k += std::to_string(next_counter.fetch_add(1));
        return k;
      }
      return bench::MeteorStyleId(rng);
    };
    int64_t written = 0;
    while (!failed.load() && std::chrono::steady_clock::now() < end) {
      rocksdb::WriteBatch wb;
      for (int i = 0; i < batch; ++i) wb.Put(next_key(), values[(written + i) % values.size()]);
      rocksdb::Status ws = db->Write(wo, &wb);
      if (!ws.ok()) {
        std::fprintf(stderr, "%s\n", ws.ToString().c_str());
        failed = true;
        return;
      }
      written += batch;
      syncs.fetch_add(1);
    }
    records.fetch_add(written);
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(writer, t);
  for (std::thread& t : pool) t.join();
  if (failed) return 1;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"mode\":\"rocksdb_raw\",\"threads\":%d,\"batch\":%d,\"keys\":\"%s\",\"payload\":\"%s\",\"payload_bytes\":%d,\"records_per_s\":%.0f,"
              "\"syncs_per_s\":%.0f}\n",
              threads, batch, keys.c_str(), payload_kind.c_str(), payload,
              static_cast<double>(records.load()) / elapsed, static_cast<double>(syncs.load()) / elapsed);
  db.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
