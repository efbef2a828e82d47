// The server's own WebSocket frame reader (connections without
// permessage-deflate), byte by byte against RFC 6455.
#include "server/net/ws_frame_reader.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ddp::net_internal {
namespace {

// A masked client frame.
std::string Frame(uint8_t opcode, std::string_view payload, bool fin = true,
                  uint8_t extra_bits = 0, bool masked = true) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | extra_bits | opcode));
  const size_t n = payload.size();
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (n < 126) {
    f.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
  } else if (n <= 0xFFFF) {
    f.push_back(static_cast<char>(mask_bit | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
  } else {
    f.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>(static_cast<uint64_t>(n) >> (8 * i)));
  }
  const char key[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) f.append(key, 4);
  for (size_t i = 0; i < n; ++i) f.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  return f;
}

struct Seen {
  std::vector<std::string> events;
  WsError error;
};

std::string Describe(const WsEvent& ev) {
  switch (ev.kind) {
    case WsEvent::Kind::kText:
      return "text:" + std::string(ev.payload);
    case WsEvent::Kind::kBinary:
      return "binary:" + std::string(ev.payload);
    case WsEvent::Kind::kPing:
      return "ping:" + std::string(ev.payload);
    case WsEvent::Kind::kPong:
      return "pong:" + std::string(ev.payload);
    case WsEvent::Kind::kClose:
      return "close:" + std::to_string(ev.close_code) + ":" + std::string(ev.payload);
  }
  return "?";
}

// Feeds `bytes` in pieces of `step` bytes (0: all at once).
Seen Read(const std::string& bytes, size_t step = 0, size_t max = 1 << 20) {
  WsFrameReader reader(max);
  Seen seen;
  auto on = [&](const WsEvent& ev) { seen.events.push_back(Describe(ev)); };
  if (step == 0) step = bytes.size() == 0 ? 1 : bytes.size();
  for (size_t at = 0; at < bytes.size() && seen.error.code == 0; at += step) {
    seen.error = reader.Feed(std::string_view(bytes).substr(at, step), on);
  }
  if (seen.error.code == 0) {
    EXPECT_FALSE(reader.buffering());
  }
  return seen;
}

TEST(WsFrameReaderTest, MessagesAndControlFramesInAnySplit) {
  std::string big(70000, 'x');  // a 64-bit length
  std::string mid(300, 'y');    // a 16-bit length
  const std::string stream = Frame(0x1, R"({"msg":"ping"})") + Frame(0x9, "hb") +
                             Frame(0x1, "hel", false) + Frame(0x9, "inside") +
                             Frame(0x0, "lo ", false) + Frame(0x0, "w\xc3\xb6rld") +
                             Frame(0x2, "\x01\x02") + Frame(0x1, mid) + Frame(0x1, big) +
                             Frame(0xA, "") + Frame(0x8, std::string("\x03\xe8", 2) + "bye");
  const std::vector<std::string> expected = {
      R"(text:{"msg":"ping"})", "ping:hb", "ping:inside", "text:hello w\xc3\xb6rld",
      "binary:\x01\x02", "text:" + mid, "text:" + big, "pong:", "close:1000:bye"};
  for (size_t step : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{4096}}) {
    Seen seen = Read(stream, step);
    EXPECT_EQ(seen.error.code, 0) << "step " << step << ": " << seen.error.reason;
    EXPECT_EQ(seen.events, expected) << "step " << step;
  }
  EXPECT_EQ(Read(Frame(0x8, "")).events, std::vector<std::string>{"close:1005:"});
}

TEST(WsFrameReaderTest, ProtocolErrorsNameTheirCloseCode) {
  struct Case {
    std::string bytes;
    uint16_t code;
  };
  const std::vector<Case> cases = {
      {Frame(0x1, "x", true, 0, /*masked=*/false), 1002},
      {Frame(0x1, "x", true, 0x40), 1002},  // RSV1 without an extension
      {Frame(0x3, "x"), 1002},              // reserved opcode
      {Frame(0x9, std::string(126, 'p')), 1002},
      {Frame(0x9, "p", /*fin=*/false), 1002},
      {Frame(0x0, "x"), 1002},  // continuation without a message
      {Frame(0x1, "a", false) + Frame(0x1, "b"), 1002},
      {Frame(0x8, "\x03"), 1002},                          // 1-byte close payload
      {Frame(0x8, std::string("\x03\xed", 2)), 1002},      // close code 1005 may not be sent
      {Frame(0x8, std::string("\x03\xe8\xff", 3)), 1007},  // close reason not UTF-8
      {Frame(0x1, "\xff"), 1007},
      {Frame(0x1, "ab\xc3", false) + Frame(0x0, "x"), 1007},  // split code point, then garbage
      {Frame(0x1, std::string(2000, 'a')), 1009},
      {Frame(0x1, std::string(600, 'a'), false) + Frame(0x0, std::string(600, 'a')), 1009},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Seen seen = Read(cases[i].bytes, 0, /*max=*/1000);
    EXPECT_EQ(seen.error.code, cases[i].code) << "case " << i << ": " << seen.error.reason;
    EXPECT_FALSE(seen.error.reason.empty()) << "case " << i;
  }
  // Too big is known from the header alone, before the payload arrives.
  std::string header = Frame(0x1, std::string(70000, 'a')).substr(0, 14);
  EXPECT_EQ(Read(header, 0, 1000).error.code, 1009);
  // The error sticks.
  WsFrameReader reader(1000);
  auto ignore = [](const WsEvent&) {};
  EXPECT_EQ(reader.Feed(Frame(0x1, "\xff"), ignore).code, 1007);
  EXPECT_EQ(reader.Feed(Frame(0x1, "fine"), ignore).code, 1007);
}

// Fragments are validated as they arrive: invalid text fails before the
// message ends, and characters split across fragments are not mistaken for
// invalid ones (tests/js/ws_conformance.js runs the same over a socket).
TEST(WsFrameReaderTest, FragmentedTextFailsFastAndSplitsAnywhere) {
  const std::string text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
  for (size_t cut = 1; cut < text.size(); ++cut) {
    Seen seen = Read(Frame(0x1, text.substr(0, cut), false) + Frame(0x0, text.substr(cut)));
    EXPECT_EQ(seen.error.code, 0) << "cut at " << cut;
    EXPECT_EQ(seen.events, std::vector<std::string>{"text:" + text}) << "cut at " << cut;
  }
  for (std::string bad : {"{\xff", "ab\xc0", "\xed\xa0\x80", "x\xf5", "\xe2\x28"}) {
    WsFrameReader reader(1 << 20);
    auto ignore = [](const WsEvent&) {};
    EXPECT_EQ(reader.Feed(Frame(0x1, bad, /*fin=*/false), ignore).code, 1007) << bad;
  }
  // An incomplete character at the end of a fragment waits for the next.
  WsFrameReader reader(1 << 20);
  auto ignore = [](const WsEvent&) {};
  EXPECT_EQ(reader.Feed(Frame(0x1, "ok\xf0\x9f", /*fin=*/false), ignore).code, 0);
  EXPECT_EQ(reader.Feed(Frame(0x0, "\x98", /*fin=*/false), ignore).code, 0);
  EXPECT_EQ(reader.Feed(Frame(0x0, "\x80"), ignore).code, 0);
}

TEST(WsFrameReaderTest, Utf8Validation) {
  for (std::string_view ok : {"", "plain ascii, longer than eight bytes", "\xc3\xa9", "\xe2\x82\xac",
                              "\xf0\x9f\x98\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_TRUE(IsValidUtf8(ok)) << ok;
  }
  for (std::string_view bad : {"\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xf0\x80\x80\x80",
                               "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xc3",
                               "abcdefgh\xe2\x82", "\xe2\x28\xa1"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << "bad";
  }
}

// Random valid streams (random messages, fragmentation, interleaved pings)
// cut at random points give back exactly the messages sent; random garbage
// gives events or an error, never a crash or a read out of bounds (ASan in
// `make test`).
TEST(WsFrameReaderTest, RandomStreamsAndGarbage) {
  std::mt19937 rng(12345);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  for (int round = 0; round < 300; ++round) {
    std::string stream;
    std::vector<std::string> expected;
    const int messages = 1 + static_cast<int>(pick(6));
    for (int m = 0; m < messages; ++m) {
      std::string text;
      const size_t len = pick(4) == 0 ? pick(70000) : pick(300);
      for (size_t i = 0; i < len; ++i) text.push_back(static_cast<char>('a' + pick(26)));
      if (pick(3) == 0) text += "\xc3\xa9";  // two-byte code point, maybe split across frames
      const size_t fragments = 1 + pick(4);
      size_t at = 0;
      for (size_t f = 0; f < fragments; ++f) {
        const bool last = f + 1 == fragments;
        const size_t take = last ? text.size() - at : pick(text.size() - at + 1);
        stream += Frame(f == 0 ? 0x1 : 0x0, std::string_view(text).substr(at, take), last);
        at += take;
        if (!last && pick(2) == 0) {
          stream += Frame(0x9, "p");
          expected.push_back("ping:p");
        }
      }
      expected.push_back("text:" + text);
    }
    WsFrameReader reader(1 << 20);
    std::vector<std::string> seen;
    auto on = [&](const WsEvent& ev) { seen.push_back(Describe(ev)); };
    for (size_t at = 0; at < stream.size();) {
      const size_t take = 1 + pick(std::min<size_t>(stream.size() - at, 5000));
      WsError e = reader.Feed(std::string_view(stream).substr(at, take), on);
      ASSERT_EQ(e.code, 0) << "round " << round << ": " << e.reason;
      at += take;
    }
    EXPECT_FALSE(reader.buffering());
    ASSERT_EQ(seen, expected) << "round " << round;
  }
  for (int round = 0; round < 2000; ++round) {
    std::string garbage(pick(200), '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    WsFrameReader reader(1000);
    size_t events = 0;
    WsError e = reader.Feed(garbage, [&](const WsEvent&) { ++events; });
    if (e.code != 0) {
      EXPECT_TRUE(e.code == 1002 || e.code == 1007 || e.code == 1009) << e.code;
    }
  }
}

TEST(WsFrameReaderTest, ServerFrameHeaders) {
  char h[10];
  EXPECT_EQ(ServerFrameHeader(0x1, 125, h), 2u);
  EXPECT_EQ(static_cast<unsigned char>(h[0]), 0x81);
  EXPECT_EQ(h[1], 125);
  EXPECT_EQ(ServerFrameHeader(0xA, 126, h), 4u);
  EXPECT_EQ(static_cast<unsigned char>(h[0]), 0x8A);
  EXPECT_EQ(ServerFrameHeader(0x1, 70000, h), 10u);
  EXPECT_EQ(h[1], 127);
}

}  // namespace
}  // namespace ddp::net_internal
