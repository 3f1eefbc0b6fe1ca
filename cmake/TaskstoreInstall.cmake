# `cmake --install`: the public headers, the libraries, the taskstore-conformance program
# and a CMake package with one component per part, so that an out-of-tree project asks
# only for what it uses:
#   find_package(taskstore CONFIG REQUIRED COMPONENTS conformance)
#   target_link_libraries(my_tests PRIVATE taskstore::examples_suite ...)
# (examples/out-of-tree-backend does exactly that; ci/test-install.sh checks it without
# PostgreSQL, SQLite or zlib). Included once from the top-level CMakeLists.txt, after every
# target exists, so this one file says what the package holds. Tests, examples, fuzzers
# and taskstore::backend_internal are not installed.

include(CMakePackageConfigHelpers)
set(taskstore_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/taskstore)

# taskstore_install_component(<component> <target> <export name> [<target> <export name>]...)
# installs the targets in their own export set, taskstore-<component>-targets.cmake; each
# alias in the build (taskstore::spec, ...) is the same name, so a user's CMake code works
# on both.
function(taskstore_install_component component)
  set(pairs ${ARGN})
  set(targets "")
  while(pairs)
    list(POP_FRONT pairs target export_name)
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
    list(APPEND targets ${target})
  endwhile()
  # Static libraries export their PRIVATE dependencies as $<LINK_ONLY:...>, so the package
  # config finds every dependency of a component's link interfaces
  # (cmake/taskstoreConfig.cmake.in). The suites are OBJECT libraries: their objects are
  # installed too, and a program that links a suite gets every one of its tests.
  install(TARGETS ${targets}
    EXPORT taskstore-${component}-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    OBJECTS DESTINATION ${CMAKE_INSTALL_LIBDIR}/taskstore/objects)
  install(EXPORT taskstore-${component}-targets
    NAMESPACE taskstore::
    DESTINATION ${taskstore_cmake_dir})
endfunction()

taskstore_install_component(spec taskstore_asio asio taskstore_spec spec)
taskstore_install_component(memory taskstore_memory memory)
taskstore_install_component(file taskstore_file file)
taskstore_install_component(sqlite taskstore_sqlite sqlite)
taskstore_install_component(postgres taskstore_postgres postgres)
taskstore_install_component(queue taskstore_queue queue)
taskstore_install_component(conformance
  taskstore_conformance conformance
  taskstore_examples_suite examples_suite
  taskstore_concurrency_suite concurrency_suite
  taskstore_crash_suite crash_suite
  taskstore_property_suite property_suite)
# Each reference backend's hook into the kit; the config loads it when both the backend's
# component and `conformance` are asked for.
foreach(backend memory file sqlite postgres)
  taskstore_install_component(${backend}_conformance
    taskstore_${backend}_conformance ${backend}_conformance)
endforeach()

install(TARGETS taskstore-conformance
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The system-call fault layer, preloaded (LD_PRELOAD) into a store's process.
install(TARGETS taskstore_faults
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
# The public headers only: backend machinery lives in backends/internal/, outside this tree.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/taskstore
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
# Failure messages and reports name requirement IDs of spec/requirements.md: ship it.
install(FILES ${PROJECT_SOURCE_DIR}/spec/requirements.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/taskstoreConfig.cmake.in
  ${PROJECT_BINARY_DIR}/taskstoreConfig.cmake
  INSTALL_DESTINATION ${taskstore_cmake_dir})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/taskstoreConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/taskstoreConfig.cmake
  ${PROJECT_BINARY_DIR}/taskstoreConfigVersion.cmake
  DESTINATION ${taskstore_cmake_dir})
