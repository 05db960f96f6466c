# Builds ant-node at version VERSION in its own build tree BIN from the sources in SRC, with
# the compiler, build type and sanitizer setting of the calling build, for the devnet
# end-to-end tests (the release they roll out). Run with cmake -P.
foreach(var SRC BIN VERSION CC TYPE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "build_next.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT SANITIZE)
  set(SANITIZE OFF)
endif()
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SRC}" -B "${BIN}" "-DANT_VERSION=${VERSION}"
          "-DCMAKE_C_COMPILER=${CC}" "-DCMAKE_BUILD_TYPE=${TYPE}" "-DANT_SANITIZE=${SANITIZE}"
          -DANT_BUILD_TESTS=OFF
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring ant-node ${VERSION} in ${BIN} failed")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BIN}" --target ant-node -j2
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building ant-node ${VERSION} in ${BIN} failed")
endif()
execute_process(COMMAND "${BIN}/tools/ant-node/ant-node" --version
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "ant-node ${VERSION}\n")
  message(FATAL_ERROR "${BIN}/tools/ant-node/ant-node reports '${out}', want ant-node ${VERSION}")
endif()
