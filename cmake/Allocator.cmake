# ant_use_allocator(<target>): makes mimalloc the allocator of a whole program when
# ANT_USE_MIMALLOC is ON (malloc/free/calloc/realloc/posix_memalign... for every library it
# links — libcurl, OpenSSL, LMDB, json-c, libarchive, libc itself), and does nothing otherwise.
#
# Static builds (the musl release): mimalloc's single object file mimalloc.o is linked in.
# An object file is always part of the link, so its malloc family is defined before the
# linker ever searches libc.a, and libc's allocator is never pulled in; a duplicate
# definition would be a link error, not a silent fallback.
# Dynamic builds (glibc, Debian's libmimalloc-dev ships only the shared library): the
# program links libmimalloc.so, whose exported malloc family interposes glibc's for the
# program and every shared library it loads.
# Static builds also route calloc through src/alloc/calloc_wrap.c (-Wl,--wrap=calloc): mimalloc
# 2.0.9 writes zeros over every calloc block, fresh memory included, and LMDB's 2 MiB
# dirty-page list would otherwise stay resident for nothing (include/ant/zero_pages.h). A
# dynamic build cannot wrap the calls that shared libraries make, so it keeps mimalloc's calloc.
# Either way the target gets ANT_WITH_MIMALLOC=1 and mimalloc.h on its include path, so a
# program can report its allocator (mi_version()).
function(ant_use_allocator target)
  if(NOT ANT_USE_MIMALLOC)
    return()
  endif()
  if(NOT TARGET mimalloc AND NOT TARGET mimalloc-static)
    message(FATAL_ERROR "ant_use_allocator(${target}): ANT_USE_MIMALLOC is ON but find_package(mimalloc) has not run")
  endif()

  # mimalloc.o lives beside libmimalloc.a. (mimalloc 2.0.9's config file computes
  # MIMALLOC_OBJECT_DIR wrongly for top-level installs, so look next to the archive.)
  set(object "")
  if(TARGET mimalloc-static)
    foreach(prop IMPORTED_LOCATION_RELEASE IMPORTED_LOCATION_RELWITHDEBINFO IMPORTED_LOCATION_NOCONFIG IMPORTED_LOCATION)
      get_target_property(archive mimalloc-static ${prop})
      if(archive)
        get_filename_component(dir "${archive}" DIRECTORY)
        if(EXISTS "${dir}/mimalloc.o")
          set(object "${dir}/mimalloc.o")
          break()
        endif()
      endif()
    endforeach()
  endif()

  if(object)
    target_link_libraries(${target} PRIVATE "${object}")
    set(alloc_dir "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../src/alloc")
    target_sources(${target} PRIVATE "${alloc_dir}/calloc_wrap.c" "${alloc_dir}/zero_pages.c")
    target_include_directories(${target} PRIVATE "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../include")
    target_link_options(${target} PRIVATE "LINKER:--wrap=calloc")
    get_target_property(includes mimalloc-static INTERFACE_INCLUDE_DIRECTORIES)
  elseif(TARGET mimalloc)
    target_link_libraries(${target} PRIVATE mimalloc)
    get_target_property(includes mimalloc INTERFACE_INCLUDE_DIRECTORIES)
  else()
    message(FATAL_ERROR "ant_use_allocator(${target}): found neither mimalloc.o nor a shared libmimalloc")
  endif()
  if(includes)
    target_include_directories(${target} PRIVATE ${includes})
  endif()
  find_package(Threads REQUIRED)
  target_link_libraries(${target} PRIVATE Threads::Threads)
  target_compile_definitions(${target} PRIVATE ANT_WITH_MIMALLOC=1)
endfunction()
