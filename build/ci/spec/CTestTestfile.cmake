# CMake generated Testfile for 
# Source directory: /work/main/spec
# Build directory: /work/main/build/ci/spec
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/ci/spec/spec_tests[1]_include.cmake")
