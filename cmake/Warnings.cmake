# Applied to every Switchyard target through switchyard_target().
add_library(switchyard_options INTERFACE)
target_compile_options(switchyard_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wno-mismatched-new-delete  # g++ 12 false positive in coroutine frames
  $<$<BOOL:${SWITCHYARD_WERROR}>:-Werror>)
# Asio: no deprecated APIs, and one translation unit style for all targets.
target_compile_definitions(switchyard_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_BOOST_COROUTINE)
if(SWITCHYARD_SANITIZE)
  target_compile_options(switchyard_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(switchyard_options INTERFACE -fsanitize=address,undefined)
endif()

# switchyard_library(NAME DIR [DEPS...]): a static library from DIR/src/*.cpp with
# public headers under DIR/include. New source files are picked up on the next build.
function(switchyard_library name dir)
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${dir}/src/*.cpp)
  if(NOT srcs)
    # An area still without sources (during bring-up) links as headers only.
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${dir}/include)
    target_link_libraries(${name} INTERFACE ${ARGN})
    return()
  endif()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC ${dir}/include)
  target_link_libraries(${name} PRIVATE switchyard_options PUBLIC ${ARGN})
endfunction()
