# CMake generated Testfile for 
# Source directory: /work/main/backends/memory
# Build directory: /work/main/build/ci/backends/memory
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
