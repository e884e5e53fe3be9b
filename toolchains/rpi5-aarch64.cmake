# Raspberry Pi 5 (Cortex-A76) on a 64-bit OS.
set(EDGEATTN_ARM_CPU cortex-a76 CACHE STRING "Core to tune for (-mcpu)")
include(${CMAKE_CURRENT_LIST_DIR}/aarch64-linux-gnu.cmake)
