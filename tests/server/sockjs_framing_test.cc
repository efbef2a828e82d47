#include "gtest/gtest.h"
#include "server/sockjs/framing.h"

namespace ddp::sockjs {
namespace {

TEST(SockJsFramingTest, Routes) {
  std::optional<Route> r = ParseRoute("/sockjs/123/abc-DEF_9/websocket");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->server, "123");
  EXPECT_EQ(r->session, "abc-DEF_9");
  EXPECT_EQ(r->transport, "websocket");
  EXPECT_EQ(ParseRoute("/sockjs/1/s/xhr_send")->transport, "xhr_send");
  for (const char* bad :
       {"/sockjs/websocket", "/sockjs/info", "/sockjs/1/websocket", "/sockjs//s/xhr",
        "/sockjs/1//xhr", "/sockjs/1.2/s/xhr", "/sockjs/1/s.t/xhr", "/sockjs/1/s/",
        "/sockjs/1/s/xhr/more", "/websocket", "/sockjsx/1/s/xhr", ""}) {
    EXPECT_FALSE(ParseRoute(bad)) << bad;
  }
  EXPECT_FALSE(ParseRoute("/sockjs/1/" + std::string(129, 's') + "/xhr"));
  EXPECT_TRUE(IsFramedWebSocket("/sockjs/1/s/websocket"));
  EXPECT_FALSE(IsFramedWebSocket("/sockjs/websocket"));
  EXPECT_FALSE(IsFramedWebSocket("/sockjs/1/s/xhr"));
}

TEST(SockJsFramingTest, FramesEscapeTheMessageAsAJsonString) {
  EXPECT_EQ(MessageFrame(R"({"msg":"ping"})"), R"(a["{\"msg\":\"ping\"}"])");
  EXPECT_EQ(MessageFrame("line\nbreak \\ \x01"), "a[\"line\\nbreak \\\\ \\u0001\"]");
  EXPECT_EQ(CloseFrame(3000, "Go \"away\""), R"(c[3000,"Go \"away\""])");
  EXPECT_EQ(InfoBody(7),
            R"({"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":7})");
}

TEST(SockJsFramingTest, ClientFrames) {
  auto m = DecodeClientFrame(R"(["{\"msg\":\"connect\"}","x"])", {});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, (std::vector<std::string>{R"({"msg":"connect"})", "x"}));
  auto one = DecodeClientFrame(R"("{\"msg\":\"ping\"}")", {});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (std::vector<std::string>{R"({"msg":"ping"})"}));
  EXPECT_TRUE(DecodeClientFrame("[]", {})->empty());
  for (const char* bad : {"", "[", "[1]", R"(["a",2])", R"({"a":"b"})", "null", "[[\"a\"]]"}) {
    EXPECT_FALSE(DecodeClientFrame(bad, {}).ok()) << bad;
  }
  JsonLimits tight;
  tight.max_depth = 1;
  EXPECT_FALSE(DecodeClientFrame(R"([["deep"]])", tight).ok());
}

}  // namespace
}  // namespace ddp::sockjs
