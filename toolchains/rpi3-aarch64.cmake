# Raspberry Pi 3 (Cortex-A53) on a 64-bit OS.
set(EDGEATTN_ARM_CPU cortex-a53 CACHE STRING "Core to tune for (-mcpu)")
include(${CMAKE_CURRENT_LIST_DIR}/aarch64-linux-gnu.cmake)
