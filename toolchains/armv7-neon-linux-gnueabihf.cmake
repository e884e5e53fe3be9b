# 32-bit ARMv7-A with NEON, hard float (Debian's g++-arm-linux-gnueabihf):
# Raspberry Pi 2/3/4 on a 32-bit OS.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7-a)
set(_triple arm-linux-gnueabihf)
set(CMAKE_C_COMPILER ${_triple}-gcc)
set(CMAKE_CXX_COMPILER ${_triple}-g++)
set(_arch_flags "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
set(CMAKE_C_FLAGS_INIT "${_arch_flags}")
# -Wno-psabi: GCC's notes on a 32-bit ARM ABI change in GCC 7.1, of no concern here.
set(CMAKE_CXX_FLAGS_INIT "${_arch_flags} -Wno-psabi")

include(${CMAKE_CURRENT_LIST_DIR}/common-cross.cmake)
edgeattn_cross_setup(${_triple} qemu-arm "")
