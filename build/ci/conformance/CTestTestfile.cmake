# CMake generated Testfile for 
# Source directory: /work/main/conformance
# Build directory: /work/main/build/ci/conformance
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
