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
int suite_anchor_thread_race();
int suite_anchor_process_race();
int suite_anchor_crash();
int suite_anchor_model_property();
int suite_anchor_round_trip_property();

int link_all_suites() {
  return suite_anchor_enqueue() + suite_anchor_dequeue() + suite_anchor_completion() +
         suite_anchor_failure() + suite_anchor_get_task() + suite_anchor_reschedule() +
         suite_anchor_errors() + suite_anchor_round_trip() + suite_anchor_concurrency() +
         suite_anchor_thread_race() + suite_anchor_process_race() + suite_anchor_crash() +
         suite_anchor_model_property() + suite_anchor_round_trip_property();
}

}  // namespace taskstore::conformance::detail
