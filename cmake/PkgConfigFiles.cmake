# pkg-config files virtio-xen.pc and (with xensim) xensim.pc.
#
# They are written at install time, not at configure time, so that they name the prefix really
# installed to: `cmake --install build --prefix /opt/x` gives prefix=/opt/x, and a DESTDIR
# staging install keeps the final prefix. Relative install dirs are written as ${prefix}/...,
# absolute ones as they are.
set(VXEN_PC_REQUIRES_PRIVATE "xengnttab xenevtchn xendevicemodel xenforeignmemory xenstore")

function(vxen_install_pkgconfig template name)
	set(out ${CMAKE_BINARY_DIR}/pkgconfig/${name}.pc)
	foreach(d LIBDIR INCLUDEDIR BINDIR)
		if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
			set(pc_${d} "${CMAKE_INSTALL_${d}}")
		else()
			set(pc_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
		endif()
	endforeach()
	install(CODE "
		set(VXEN_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
		set(VXEN_PC_LIBDIR [[${pc_LIBDIR}]])
		set(VXEN_PC_INCLUDEDIR [[${pc_INCLUDEDIR}]])
		set(VXEN_PC_BINDIR [[${pc_BINDIR}]])
		set(VXEN_PC_VERSION [[${PROJECT_VERSION}]])
		set(VXEN_PC_REQUIRES_PRIVATE [[${VXEN_PC_REQUIRES_PRIVATE}]])
		file(READ [[${template}]] _vxen_pc)
		string(CONFIGURE \"\${_vxen_pc}\" _vxen_pc @ONLY)
		file(WRITE [[${out}]] \"\${_vxen_pc}\")
	")
	install(FILES ${out} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()

vxen_install_pkgconfig(${PROJECT_SOURCE_DIR}/virtio-xen.pc.in virtio-xen)
if(TARGET xensim)
	vxen_install_pkgconfig(${PROJECT_SOURCE_DIR}/cmake/xensim.pc.in xensim)
endif()
