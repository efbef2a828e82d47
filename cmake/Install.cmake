# `cmake --install <build> --prefix P` installs the C++ client SDK as a CMake
# package (find_package(ddp) + target ddp::client), its headers under
# P/include/ddp/{client,protocol,common}/, and the ddpd and ddpctl binaries.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(ddp_common PROPERTIES EXPORT_NAME common)
set_target_properties(ddp_protocol PROPERTIES EXPORT_NAME protocol)
set_target_properties(ddp_client PROPERTIES EXPORT_NAME client)
install(TARGETS ddp_common ddp_protocol ddp_client EXPORT ddpTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS ddpd ddpctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(dir common protocol client)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ddp/${dir}
          FILES_MATCHING PATTERN "*.h" PATTERN "ddpctl" EXCLUDE)
endforeach()

set(cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/ddp)
install(EXPORT ddpTargets NAMESPACE ddp:: DESTINATION ${cmake_dir})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/ddpConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/ddpConfig.cmake INSTALL_DESTINATION ${cmake_dir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/ddpConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/ddpConfig.cmake ${CMAKE_BINARY_DIR}/ddpConfigVersion.cmake
        DESTINATION ${cmake_dir})
