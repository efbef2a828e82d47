// Document payloads and ids for the write benchmarks (ddp_bench,
// rocksdb_raw_bench), the same on both sides so that ddpd and raw RocksDB
// store alike bytes under alike keys.
#pragma once

#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// "x": one string of `size` repeated 'x' (RocksDB compresses it to almost
// nothing); "random": 1024 strings of `size` random alphanumerics (which
// it cannot compress) — the two ends of what real documents do. Callers
// cycle through the strings.
inline std::vector<std::string> Payloads(std::string_view kind, size_t size) {
  std::vector<std::string> out;
  if (kind != "random") {
    out.emplace_back(size, 'x');
    return out;
  }
  std::mt19937_64 rng(1);
  const std::string_view alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (int i = 0; i < 1024; ++i) {
    std::string p(size, ' ');
    for (char& c : p) c = alphabet[rng() % alphabet.size()];
    out.push_back(std::move(p));
  }
  return out;
}

// A random id as Meteor clients choose them (Random.id(): 17 characters of
// the 55-character "unmistakable" alphabet), from the caller's generator.
inline std::string MeteorStyleId(std::mt19937_64& rng) {
  const std::string_view alphabet = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
  std::string id(17, ' ');
  for (char& c : id) c = alphabet[rng() % alphabet.size()];
  return id;
}

}  // namespace bench
