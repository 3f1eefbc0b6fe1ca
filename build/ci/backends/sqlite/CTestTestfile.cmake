# CMake generated Testfile for 
# Source directory: /work/main/backends/sqlite
# Build directory: /work/main/build/ci/backends/sqlite
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
