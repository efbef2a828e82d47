// The raw RocksDB rate that ddpd's durable commits are compared with:
// one thread writing WriteBatches of --batch records of --payload-bytes
// with sync=true (the best a group commit of that size can do on this
// disk). A measurement tool, so it uses RocksDB directly; product code
// reaches RocksDB only through storage/.
//
//   rocksdb_raw_bench --dir /path --batch 64 --payload-bytes 128 --seconds 5 [--keys random]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>
#include <string>

#include "CLI/CLI.hpp"
#include "payloads.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

int main(int argc, char** argv) {
  CLI::App app{"raw RocksDB WriteBatch + sync rate"};
  std::string dir = "/tmp/rocksdb_raw_bench";
  int batch = 64, payload = 128;
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
  int64_t records = 0, key = 0;
  std::mt19937_64 rng(42);
  const std::string_view alphabet = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
  auto next_key = [&]() {
    if (keys == "counter") return "k" + std::to_string(key++);
    std::string k(17, ' ');
    for (char& c : k) c = alphabet[rng() % alphabet.size()];
    return k;
  };
  while (std::chrono::steady_clock::now() < end) {
    rocksdb::WriteBatch wb;
    for (int i = 0; i < batch; ++i) wb.Put(next_key(), values[(records + i) % values.size()]);
    s = db->Write(wo, &wb);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    records += batch;
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"mode\":\"rocksdb_raw\",\"batch\":%d,\"keys\":\"%s\",\"payload\":\"%s\",\"payload_bytes\":%d,\"records_per_s\":%.0f,"
              "\"syncs_per_s\":%.0f}\n",
              batch, keys.c_str(), payload_kind.c_str(), payload, static_cast<double>(records) / elapsed,
              static_cast<double>(records) / batch / elapsed);
  db.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
