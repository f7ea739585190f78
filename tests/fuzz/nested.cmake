# Fuzz tier for builds made with a compiler other than clang (the default gcc build).
#
# libFuzzer needs clang, so the gcc build drives a nested clang build in
# ${CMAKE_BINARY_DIR}/fuzz-clang (tests/fuzz/nested.sh), and `ctest -L fuzz` works from either:
#   fuzz_build      (fixture setup) configures the nested build once, builds every fuzz_*.c
#   fuzz_<name>     runs the nested build's ctest fuzz_<name> for VXEN_FUZZ_SECONDS
# Convention: every tests/fuzz/fuzz_<name>.c is registered with vxen_add_fuzz_target(<name> ...);
# an unregistered file makes its ctest fail ("no tests"). Without clang every test reports
# itself skipped. -DVXEN_FUZZ_NESTED=OFF leaves the tier out of the gcc build.
option(VXEN_FUZZ_NESTED "gcc builds: build and run the fuzz targets through a nested clang build"
	ON)
if(NOT VXEN_FUZZ_NESTED)
	return()
endif()

set(VXEN_FUZZ_SECONDS 20 CACHE STRING "How long each fuzz_<name> ctest runs its target")
set(nested_dir ${CMAKE_BINARY_DIR}/fuzz-clang)
set(nested_sh ${CMAKE_CURRENT_SOURCE_DIR}/nested.sh)

add_test(NAME fuzz_build
	COMMAND sh ${nested_sh} build ${PROJECT_SOURCE_DIR} ${nested_dir} ${VXEN_FUZZ_SECONDS})
set_tests_properties(fuzz_build PROPERTIES LABELS fuzz FIXTURES_SETUP vxen_fuzz_clang
	TIMEOUT 1800 SKIP_RETURN_CODE 77)

file(GLOB fuzz_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_*.c)
math(EXPR fuzz_timeout "${VXEN_FUZZ_SECONDS} * 3 + 120")
foreach(src ${fuzz_sources})
	get_filename_component(exe ${src} NAME_WE)
	string(REGEX REPLACE "^fuzz_" "" name ${exe})
	add_test(NAME ${exe} COMMAND sh ${nested_sh} run ${nested_dir} ${name})
	set_tests_properties(${exe} PROPERTIES LABELS fuzz FIXTURES_REQUIRED vxen_fuzz_clang
		TIMEOUT ${fuzz_timeout} SKIP_RETURN_CODE 77)
endforeach()
