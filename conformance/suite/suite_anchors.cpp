#include "suite_anchors.hpp"

namespace taskstore::conformance::detail {

int suite_anchor_enqueue();
int suite_anchor_dequeue();
int suite_anchor_completion();
int suite_anchor_failure();
int suite_anchor_get_task();
int suite_anchor_reschedule();
int suite_anchor_errors();
int suite_anchor_round_trip();
int suite_anchor_concurrency();

int link_all_suites() {
  return suite_anchor_enqueue() + suite_anchor_dequeue() + suite_anchor_completion() +
         suite_anchor_failure() + suite_anchor_get_task() + suite_anchor_reschedule() +
         suite_anchor_errors() + suite_anchor_round_trip() + suite_anchor_concurrency();
}

}  // namespace taskstore::conformance::detail
