#include "server/net/io_loop.h"

#include <optional>
#include <vector>

namespace ddp::net_internal {
namespace {

// This thread's loop: the connections that asked during the current turn.
// While any did, the loop holds work on the io_context, so that it cannot
// run out of work (and stop itself) before their flush is posted.
struct Turn {
  asio::io_context* ioc = nullptr;
  std::vector<std::shared_ptr<TurnFlushable>> asked;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> hold;
};

// Null on threads that run no loop.
thread_local Turn* current_turn = nullptr;

}  // namespace

void RunIoLoop(asio::io_context& ioc) {
  Turn turn;
  turn.ioc = &ioc;
  current_turn = &turn;
  while (true) {
    size_t ran = 0;
    while (ran < kMaxHandlersPerTurn && ioc.poll_one() > 0) ++ran;
    if (!turn.asked.empty()) {
      // The flushes run as one handler (on whichever thread takes it), so
      // that each gets onto its connection's strand without a post of its
      // own: dispatch from inside a handler runs at once when the strand
      // is free. It runs in the next turn, after what became ready
      // meanwhile.
      asio::post(ioc, [flushing = std::move(turn.asked)] {
        for (const auto& c : flushing) c->FlushAtTurnEnd();
      });
      turn.asked.clear();
      turn.hold.reset();
      continue;
    }
    if (ioc.stopped()) break;
    if (ran == 0 && ioc.run_one() == 0) break;
  }
  current_turn = nullptr;
}

bool FlushAtEndOfTurn(std::shared_ptr<TurnFlushable> c) {
  if (current_turn == nullptr) return false;
  if (current_turn->asked.empty()) current_turn->hold.emplace(current_turn->ioc->get_executor());
  current_turn->asked.push_back(std::move(c));
  return true;
}

}  // namespace ddp::net_internal
