# Man pages, generated from the public headers by scripts/gen-manpages.py: one section-3 page per
# public function (from its doc comment) and the overview virtio-xen(7). Hand-written pages in
# doc/man<N>/*.<N> (e.g. doc/man8/ for the daemons) are copied along. Built by the `man` target
# (part of `all`) into ${CMAKE_BINARY_DIR}/man/man<N>/, installed to ${CMAKE_INSTALL_MANDIR}.
# The ctest man_pages_complete_and_clean (tests/abi) checks them.
option(VXEN_BUILD_MAN "Generate and install man pages (needs python3)" ON)
if(NOT VXEN_BUILD_MAN)
	return()
endif()
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
	message(WARNING "python3 not found: man pages are not generated (VXEN_BUILD_MAN=OFF)")
	set(VXEN_BUILD_MAN OFF CACHE BOOL "" FORCE)
	return()
endif()

set(VXEN_MAN_DIR ${CMAKE_BINARY_DIR}/man)
file(GLOB VXEN_MAN_INPUTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/virtio-xen/*.h
	${PROJECT_SOURCE_DIR}/doc/man[0-9]/*.[0-9])
set(VXEN_MAN_ARGS)
if(TARGET xensim)
	list(APPEND VXEN_MAN_ARGS --xensim)
endif()
add_custom_command(OUTPUT ${VXEN_MAN_DIR}/pages.stamp
	COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/gen-manpages.py
		--include-dir ${PROJECT_SOURCE_DIR}/include --out ${VXEN_MAN_DIR}
		--version ${PROJECT_VERSION} --extra-dir ${PROJECT_SOURCE_DIR}/doc ${VXEN_MAN_ARGS}
		--stamp ${VXEN_MAN_DIR}/pages.stamp
	DEPENDS ${PROJECT_SOURCE_DIR}/scripts/gen-manpages.py ${VXEN_MAN_INPUTS}
	COMMENT "Generating man pages from the public headers"
	VERBATIM)
add_custom_target(man ALL DEPENDS ${VXEN_MAN_DIR}/pages.stamp)
install(DIRECTORY ${VXEN_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}
	FILES_MATCHING REGEX "/man[0-9]/[^/]+\\.[0-9]$")
