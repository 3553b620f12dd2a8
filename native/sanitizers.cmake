# Sanitizer and fuzzing builds, kept out of the main CMakeLists so the two
# change independently. Both are off by default; `npm run test:native-sanitizers`
# (native/tools/run_sanitizers.sh) builds them into build-sanitize/ with clang.
#
#   SNAPKV_SANITIZE=ON  every target under AddressSanitizer + UndefinedBehaviorSanitizer,
#                       any UB report fatal (-fno-sanitize-recover), so a finding fails the run.
#   SNAPKV_FUZZ=ON      snapkv-fuzz-model, a libFuzzer target for the GGUF reader and the
#                       model loader (native/fuzz/model_load_fuzz.cpp), and snapkv-fuzz-prefix,
#                       one for the saved prompt-cache reader (native/fuzz/prefix_load_fuzz.cpp);
#                       needs clang. The readers' and loader's sources get coverage
#                       instrumentation so the fuzzers are guided through them and not
#                       through the kernels.

option(SNAPKV_SANITIZE "Build every target with ASan and UBSan" OFF)
option(SNAPKV_FUZZ "Build the libFuzzer targets for the GGUF reader, model loader and prompt-cache reader (clang)" OFF)

if(SNAPKV_SANITIZE)
  # -O1 after the -O3 of SNAPKV_CPU_FLAGS: the last one wins; fast enough to run
  # the engine's tests, and stack traces stay readable.
  set(SNAPKV_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer -g -O1)
  foreach(target snapkv_core snapkv_addon snapkv-run snapkv-unit-test snapkv-bench snapkv-write-model)
    if(TARGET ${target})
      target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${SNAPKV_SANITIZER_FLAGS}>)
      target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    endif()
  endforeach()
endif()

if(SNAPKV_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SNAPKV_FUZZ needs clang (libFuzzer); configure with CMAKE_CXX_COMPILER=clang++")
  endif()
  if(NOT SNAPKV_SANITIZE)
    message(FATAL_ERROR "SNAPKV_FUZZ needs SNAPKV_SANITIZE=ON: without ASan a bad read is not a finding")
  endif()
  file(GLOB SNAPKV_FUZZED_SOURCES CONFIGURE_DEPENDS
    ${CMAKE_CURRENT_SOURCE_DIR}/src/gguf/*.cpp ${CMAKE_CURRENT_SOURCE_DIR}/src/model/*.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/src/engine/prefix_file.cpp)
  set_source_files_properties(${SNAPKV_FUZZED_SOURCES} PROPERTIES COMPILE_OPTIONS -fsanitize=fuzzer-no-link)
  foreach(fuzzer model prefix)
    add_executable(snapkv-fuzz-${fuzzer} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${fuzzer}_load_fuzz.cpp)
    target_compile_options(snapkv-fuzz-${fuzzer} PRIVATE ${SNAPKV_WARNINGS} ${SNAPKV_SANITIZER_FLAGS} -fsanitize=fuzzer)
    target_link_options(snapkv-fuzz-${fuzzer} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(snapkv-fuzz-${fuzzer} PRIVATE snapkv_core)
  endforeach()
endif()
