# Run by CTest with cmake -P: installs the build tree into WORK_DIR/prefix,
# then configures, builds and runs the consumer project against it.
#   -D BUILD_DIR=... -D CONSUMER_SOURCE_DIR=... -D WORK_DIR=... [-D CONFIG=...]
#   [-D CONSUMER_FLAGS="-fsanitize=..."]   for a sanitized build tree

function(run_step)
    execute_process(COMMAND ${ARGV} RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "failed (${status}): ${ARGV}")
    endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

set(config_args "")
if(CONFIG)
    set(config_args --config ${CONFIG})
endif()
run_step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})

run_step(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/consumer
    -D CMAKE_PREFIX_PATH=${prefix}
    -D CMAKE_BUILD_TYPE=${CONFIG}
    "-D CMAKE_CXX_FLAGS=${CONSUMER_FLAGS}"
    "-D CMAKE_EXE_LINKER_FLAGS=${CONSUMER_FLAGS}")
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer ${config_args})
run_step(${WORK_DIR}/consumer/consumer)
