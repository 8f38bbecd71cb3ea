// Fault injection for crash tests: a StateStore that behaves like the store it
// wraps until a number of commits have succeeded, then fails every write, as a
// process would that lost its disk or was killed at that point.
#pragma once

#include <memory>

#include "store/state_store.h"

namespace fm::store {

// Forwards everything to `inner` (borrowed: it must outlive the wrapper).
// A commit is a top-level Transaction that succeeds, or a successful write made
// outside any Transaction. Once `fail_after_commits` commits have happened,
// every further write and every new Transaction returns kStorage "injected store
// failure" without reaching `inner`; reads keep working. A Transaction that
// began before the limit was reached runs to its end. Negative: never fails.
// Thread-safe (writes and transactions are serialised by the wrapper).
std::unique_ptr<StateStore> NewFailingStateStore(StateStore& inner, int fail_after_commits);

}  // namespace fm::store
