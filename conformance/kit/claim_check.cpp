#include "taskstore/conformance/claim_check.hpp"

#include <exception>
#include <mutex>
#include <set>
#include <thread>

namespace taskstore::conformance {

void FailureDigest::add(std::string case_text) {
  ++count_;
  if (first_.size() < shown_) first_.push_back(std::move(case_text));
}

std::string FailureDigest::str() const {
  if (count_ == 0) return "";
  std::string text = std::to_string(count_) + " " + what_ + ": ";
  for (std::size_t i = 0; i < first_.size(); ++i) text += (i == 0 ? "" : "; ") + first_[i];
  if (count_ > first_.size()) text += "; ... and " + std::to_string(count_ - first_.size()) + " more";
  return text;
}

std::string ClaimCheck::problems(const std::vector<std::string>& due,
                                 const std::vector<std::string>& not_due) const {
  const auto racers = [&](const std::vector<std::size_t>& by) {
    std::string text = claimer_ + "s ";
    for (std::size_t i = 0; i < by.size(); ++i) text += (i == 0 ? "" : ", ") + std::to_string(by[i]);
    return text;
  };
  FailureDigest twice("due tasks were claimed more than once");
  FailureDigest never("due tasks were never claimed");
  FailureDigest early("tasks were claimed before their eta");
  FailureDigest unknown("claims returned tasks that were never enqueued");
  std::set<std::string> known;
  for (const std::string& id : due) {
    known.insert(id);
    const auto it = claimed_by_.find(id);
    if (it == claimed_by_.end()) {
      never.add("'" + id + "'");
    } else if (it->second.size() > 1) {
      twice.add("'" + id + "' (" + std::to_string(it->second.size()) + " times, by " +
                racers(it->second) + ")");
    }
  }
  for (const std::string& id : not_due) {
    known.insert(id);
    const auto it = claimed_by_.find(id);
    if (it != claimed_by_.end()) early.add("'" + id + "' (by " + racers(it->second) + ")");
  }
  for (const auto& [id, by] : claimed_by_) {
    if (!known.contains(id)) unknown.add("'" + id + "' (by " + racers(by) + ")");
  }
  std::string text;
  for (const FailureDigest* digest : {&twice, &never, &early, &unknown}) {
    if (!digest->empty()) text += (text.empty() ? "" : "\n") + digest->str();
  }
  return text;
}

std::string race_threads(int threads, const std::function<std::vector<std::string>(int)>& claim_all,
                         const std::vector<std::string>& due) {
  std::mutex mutex;
  ClaimCheck claims("thread");
  std::string errors;
  std::vector<std::thread> racers;
  for (int t = 0; t < threads; ++t) {
    racers.emplace_back([&, t] {
      try {
        const std::vector<std::string> mine = claim_all(t);
        const std::lock_guard lock(mutex);
        for (const auto& id : mine) claims.claimed(id, static_cast<std::size_t>(t));
      } catch (const std::exception& e) {
        const std::lock_guard lock(mutex);
        errors += "thread " + std::to_string(t) + " failed: " + e.what() + "\n";
      }
    });
  }
  for (auto& racer : racers) racer.join();
  return errors + claims.problems(due, {});
}

}  // namespace taskstore::conformance
