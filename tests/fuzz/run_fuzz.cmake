# Run one libFuzzer target for a bounded time over a scratch copy of its seed corpus.
# Invoked by ctest (see CMakeLists.txt) as:
#   cmake -DFUZZER=<exe> -DCORPUS=<seed dir> -DWORKDIR=<scratch> -DARTIFACTS=<dir>
#         -DSECONDS=<n> -P run_fuzz.cmake
# Fails (non-zero exit) when the fuzzer finds a crash, a leak, a timeout or an invariant failure.
foreach(var FUZZER CORPUS WORKDIR ARTIFACTS SECONDS)
	if(NOT DEFINED ${var})
		message(FATAL_ERROR "run_fuzz.cmake: ${var} not set")
	endif()
endforeach()

file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR} ${ARTIFACTS})
if(IS_DIRECTORY ${CORPUS})
	file(GLOB seeds ${CORPUS}/*)
	if(seeds)
		file(COPY ${seeds} DESTINATION ${WORKDIR})
	endif()
endif()

execute_process(
	COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix=${ARTIFACTS}/ ${WORKDIR}
	RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "${FUZZER} failed (${rc}); reproducers in ${ARTIFACTS}")
endif()
