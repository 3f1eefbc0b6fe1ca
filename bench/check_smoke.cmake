# The bench smoke test: runs taskstore-bench once with tiny sizes, then checks that it
# exited 0 and that its JSON output holds every expected benchmark, none failed. Asserts
# nothing about timing. Run as:
#   cmake -DBENCH=<taskstore-bench> -DOUT=<json file> -P check_smoke.cmake
#
# Expected names, per backend that `taskstore-bench --list-backends` prints
# ("<backend> <raw_medium or -> <durable|in_process>"), without the suffixes Google
# Benchmark appends for its run settings (/iterations:N, /real_time, /manual_time):
#   footprint/<b>/tasks:N  enqueue/<b>  cycle/<b>  get_task/<b>
#   dequeue/<b>/threads:{1,2,4,8,16}  dequeue_size/<b>/tasks:N  queue_drain/<b>/tasks:N
#   dequeue_processes/<b>/processes:{1,2,4,8}       (durable backends)
#   enqueue/raw_<m>  dequeue/raw_<m>/threads:{1,2,4,8,16}   (backends with a baseline)
cmake_minimum_required(VERSION 3.25)
if(NOT BENCH OR NOT OUT)
  message(FATAL_ERROR "pass -DBENCH=<taskstore-bench> -DOUT=<json file>")
endif()

execute_process(COMMAND "${BENCH}" --list-backends
  OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "taskstore-bench --list-backends exited with ${rc}")
endif()

file(REMOVE "${OUT}")
execute_process(COMMAND "${BENCH}" --smoke --benchmark_min_time=0.0001
                        "--benchmark_out=${OUT}" --benchmark_out_format=json
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "taskstore-bench --smoke exited with ${rc}")
endif()
if(NOT EXISTS "${OUT}")
  message(FATAL_ERROR "taskstore-bench wrote no ${OUT}")
endif()

file(READ "${OUT}" json)
string(JSON count LENGTH "${json}" benchmarks)
set(names "")
set(failures "")
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${json}" benchmarks ${i} name)
  string(JSON error ERROR_VARIABLE no_error GET "${json}" benchmarks ${i} error_occurred)
  if(error STREQUAL "ON" OR error STREQUAL "true")
    string(JSON message ERROR_VARIABLE no_message GET "${json}" benchmarks ${i} error_message)
    string(APPEND failures "  ${name}: ${message}\n")
  endif()
  string(REGEX REPLACE "/(iterations:[0-9]+|real_time|manual_time)" "" name "${name}")
  list(APPEND names "${name}")
endforeach()

set(missing "")
# Appends to `missing` unless some benchmark name matches ^pattern$.
function(expect pattern)
  foreach(name IN LISTS names)
    if(name MATCHES "^${pattern}$")
      return()
    endif()
  endforeach()
  set(missing "${missing}  ${pattern}\n" PARENT_SCOPE)
endfunction()

string(REPLACE "\n" ";" lines "${listing}")
set(backends 0)
foreach(line IN LISTS lines)
  if(line STREQUAL "")
    continue()
  endif()
  string(REPLACE " " ";" fields "${line}")
  list(GET fields 0 b)
  list(GET fields 1 raw)
  list(GET fields 2 kind)
  math(EXPR backends "${backends} + 1")
  foreach(pattern "footprint/${b}/tasks:[0-9]+" "enqueue/${b}" "cycle/${b}" "get_task/${b}"
                  "dequeue_size/${b}/tasks:[0-9]+" "queue_drain/${b}/tasks:[0-9]+")
    expect("${pattern}")
  endforeach()
  foreach(threads 1 2 4 8 16)
    expect("dequeue/${b}/threads:${threads}")
    if(NOT raw STREQUAL "-")
      expect("dequeue/${raw}/threads:${threads}")
    endif()
  endforeach()
  if(NOT raw STREQUAL "-")
    expect("enqueue/${raw}")
  endif()
  if(kind STREQUAL "durable")
    foreach(processes 1 2 4 8)
      expect("dequeue_processes/${b}/processes:${processes}")
    endforeach()
  endif()
endforeach()

if(backends EQUAL 0)
  message(FATAL_ERROR "taskstore-bench --list-backends listed no backend")
endif()
if(missing)
  message(FATAL_ERROR "benchmarks missing from ${OUT}:\n${missing}")
endif()
if(failures)
  message(FATAL_ERROR "benchmarks that failed:\n${failures}")
endif()
message(STATUS "${count} benchmarks ran for ${backends} backends; none missing, none failed")
