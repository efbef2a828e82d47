# ddp_module(<target> DIR <dir> SOURCES ... DEPS ... [PRIVATE_DEPS ...])
#
# One library per module. Every module sees only the headers of itself and of
# the modules it declares: each target's include root is a folder in the build
# tree that holds a single symlink to the module's own source folder, so
# `#include "storage/store.h"` from query/ fails to compile instead of
# silently creating a dependency in the wrong direction.
function(ddp_module_include_root target dir out_root)
  set(root "${CMAKE_BINARY_DIR}/include_roots/${target}")
  get_filename_component(parent "${root}/${dir}" DIRECTORY)
  file(MAKE_DIRECTORY "${parent}")
  if(NOT EXISTS "${root}/${dir}")
    file(CREATE_LINK "${CMAKE_SOURCE_DIR}/${dir}" "${root}/${dir}" SYMBOLIC)
  endif()
  set(${out_root} "${root}" PARENT_SCOPE)
endfunction()

function(ddp_module target)
  cmake_parse_arguments(M "" "DIR;ALIAS" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  ddp_module_include_root(${target} ${M_DIR} root)
  if(M_SOURCES)
    add_library(${target} STATIC ${M_SOURCES})
    # Installed headers live under include/ddp/<module>/ (see cmake/Install.cmake).
    target_include_directories(${target} PUBLIC "$<BUILD_INTERFACE:${root}>"
                                                "$<INSTALL_INTERFACE:include/ddp>")
    target_link_libraries(${target} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE "$<BUILD_INTERFACE:${root}>")
    target_link_libraries(${target} INTERFACE ${M_DEPS})
  endif()
  if(M_ALIAS)
    add_library(${M_ALIAS} ALIAS ${target})
  endif()
endfunction()
