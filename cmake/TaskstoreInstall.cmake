# `cmake --install`: the public headers, the libraries, the taskstore-conformance program
# and a CMake package, so that an out-of-tree project can write
#   find_package(taskstore CONFIG REQUIRED)
#   target_link_libraries(my_tests PRIVATE taskstore::conformance)
# (examples/out-of-tree-backend does exactly that; ci/test-install.sh checks it).
# Included once from the top-level CMakeLists.txt, after every target exists, so this one
# file says what the package holds. Tests, examples and fuzzers are not installed.

include(CMakePackageConfigHelpers)

# Our library targets and the names they have in the package; each alias in the build
# (taskstore::spec, ...) is the same name, so a user's CMake code works on both.
set(taskstore_exported_targets
  taskstore_asio         asio
  taskstore_spec         spec
  taskstore_memory       memory
  taskstore_file         file
  taskstore_sqlite       sqlite
  taskstore_postgres     postgres
  taskstore_conformance  conformance
  taskstore_queue        queue)
set(taskstore_install_targets "")
while(taskstore_exported_targets)
  list(POP_FRONT taskstore_exported_targets target export_name)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
  list(APPEND taskstore_install_targets ${target})
endwhile()

# Static libraries export their PRIVATE dependencies as $<LINK_ONLY:...>, so the package
# config finds every dependency of the link interfaces below (cmake/taskstoreConfig.cmake.in).
install(TARGETS ${taskstore_install_targets}
  EXPORT taskstoreTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS taskstore-conformance
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/taskstore
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
# Failure messages and reports name requirement IDs of spec/requirements.md: ship it.
install(FILES ${PROJECT_SOURCE_DIR}/spec/requirements.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(taskstore_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/taskstore)
install(EXPORT taskstoreTargets
  NAMESPACE taskstore::
  DESTINATION ${taskstore_cmake_dir}
 )
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
  DESTINATION ${taskstore_cmake_dir}
 )
