#pragma once
// Reading the outcome of a race without drowning in it. A broken claim can hand out
// thousands of tasks twice; these helpers word each kind of problem once, with a count and
// the first few cases, so the failure fits on a screen and still names real tasks.

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace taskstore::conformance {

// One kind of failure, collected case by case and worded as one:
// "3 due tasks were claimed more than once: 'a' (dequeuers 1, 4); 'b' (...); 'c' (...)",
// listing at most `shown` cases and then "... and 12 more".
class FailureDigest {
 public:
  explicit FailureDigest(std::string what, std::size_t shown = 5)
      : what_(std::move(what)), shown_(shown) {}

  void add(std::string case_text);
  bool empty() const { return count_ == 0; }
  std::size_t count() const { return count_; }
  // "" when empty.
  std::string str() const;

 private:
  std::string what_;
  std::size_t shown_;
  std::size_t count_ = 0;
  std::vector<std::string> first_;
};

// Who claimed what in a race of several claimers (threads or processes).
class ClaimCheck {
 public:
  // `claimer` names one racer in messages ("dequeuer", "worker").
  explicit ClaimCheck(std::string claimer) : claimer_(std::move(claimer)) {}

  // Racer number `racer` got task `id` from a dequeue.
  void claimed(const std::string& id, std::size_t racer) { claimed_by_[id].push_back(racer); }

  // Every task of `due` claimed exactly once, none of `not_due` claimed, and nothing else
  // claimed. Returns "" if so, else one line per kind of problem (FailureDigest).
  std::string problems(const std::vector<std::string>& due,
                       const std::vector<std::string>& not_due) const;

 private:
  std::string claimer_;
  std::map<std::string, std::vector<std::size_t>> claimed_by_;
};

// Runs `threads` threads at once; thread t claims with `claim_all(t)` until it finds nothing
// due and returns the ids it got. Returns "" if together they claimed every task of `due`
// exactly once and nothing else, else what went wrong: each thread's error, then the
// ClaimCheck's problems ("thread" names a racer).
std::string race_threads(int threads, const std::function<std::vector<std::string>(int)>& claim_all,
                         const std::vector<std::string>& due);

}  // namespace taskstore::conformance
