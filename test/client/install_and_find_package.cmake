# Run by CTest with cmake -P: the client as a user installs and consumes it.
#
#   -D SOURCE_DIR=... -D BUILD_DIR=... -D CONSUMER_MAIN=.../consumer/main.cpp
#   [-D CONFIG=...] [-D CONSUMER_FLAGS="-fsanitize=..."]
#
# In a fresh directory under the system's temporary directory (outside the
# source tree):
#   1. installs BUILD_DIR (the static library) into static/prefix;
#   2. configures, builds and installs a second tree of SOURCE_DIR with
#      BUILD_SHARED_LIBS=ON and BUILD_TESTING=OFF (GoogleTest disabled, so
#      it must not be needed) into shared/prefix;
#   3. for each prefix, generates a consumer project that uses
#      find_package(url_shortener_client 1.2), checks that no PQXX_*
#      variable reached its scope and that no include directory is listed
#      twice, builds it and runs it; then builds the same program through
#      pkg-config (the static prefix with and without --static) and runs it;
#   4. runs the installed url-shortener --version from each prefix (the
#      shared one must start without LD_LIBRARY_PATH: its RPATH), and checks
#      that the shared library exports the public API and nothing of src/.
# The directory is removed when everything passed.

function(run_step)
    execute_process(COMMAND ${ARGV} RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "failed (${status}): ${ARGV}")
    endif()
endfunction()

# Runs a command and returns its standard output in out_var.
function(run_capture out_var)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out)
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "failed (${status}): ${ARGN}")
    endif()
    set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

if(DEFINED ENV{TMPDIR})
    set(temp $ENV{TMPDIR})
else()
    set(temp /tmp)
endif()
string(RANDOM LENGTH 10 suffix)
set(work ${temp}/url_shortener_consumer_${suffix})
file(REMOVE_RECURSE ${work})
file(MAKE_DIRECTORY ${work})

set(config_args "")
if(CONFIG)
    set(config_args --config ${CONFIG})
endif()

# 1 and 2: the two installed prefixes.
run_step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${work}/static/prefix ${config_args})
run_step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${work}/shared/build
    -D BUILD_SHARED_LIBS=ON -D BUILD_TESTING=OFF -D CMAKE_DISABLE_FIND_PACKAGE_GTest=ON
    -D CMAKE_BUILD_TYPE=${CONFIG}
    "-D CMAKE_CXX_FLAGS=${CONSUMER_FLAGS}" "-D CMAKE_EXE_LINKER_FLAGS=${CONSUMER_FLAGS}"
    "-D CMAKE_SHARED_LINKER_FLAGS=${CONSUMER_FLAGS}")
run_step(${CMAKE_COMMAND} --build ${work}/shared/build -j 2 ${config_args})
run_step(${CMAKE_COMMAND} --install ${work}/shared/build --prefix ${work}/shared/prefix ${config_args})
# Nothing may still find the library in the build tree: only the install.
file(REMOVE_RECURSE ${work}/shared/build)

# 3: the consumer project, the same for both.
file(WRITE ${work}/consumer-src/CMakeLists.txt [=[
cmake_minimum_required(VERSION 3.16)
project(url_shortener_consumer LANGUAGES CXX)
find_package(url_shortener_client 1.2 REQUIRED)

get_cmake_property(variables VARIABLES)
list(FILTER variables INCLUDE REGEX "^PQXX_")
if(variables)
    message(FATAL_ERROR "the package config leaked: ${variables}")
endif()
get_target_property(includes url_shortener::client INTERFACE_INCLUDE_DIRECTORIES)
set(unique ${includes})
list(REMOVE_DUPLICATES unique)
if(NOT includes STREQUAL unique)
    message(FATAL_ERROR "include directories listed twice: ${includes}")
endif()

add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE url_shortener::client)
]=])
configure_file(${CONSUMER_MAIN} ${work}/consumer-src/main.cpp COPYONLY)

find_program(PKG_CONFIG pkg-config REQUIRED)
find_program(CXX NAMES c++ g++ REQUIRED)
separate_arguments(flags UNIX_COMMAND "${CONSUMER_FLAGS}")

foreach(kind static shared)
    set(prefix ${work}/${kind}/prefix)
    run_step(${CMAKE_COMMAND} -S ${work}/consumer-src -B ${work}/${kind}/consumer
        -D CMAKE_PREFIX_PATH=${prefix} -D CMAKE_BUILD_TYPE=${CONFIG}
        "-D CMAKE_CXX_FLAGS=${CONSUMER_FLAGS}" "-D CMAKE_EXE_LINKER_FLAGS=${CONSUMER_FLAGS}")
    run_step(${CMAKE_COMMAND} --build ${work}/${kind}/consumer ${config_args})
    run_step(${work}/${kind}/consumer/consumer)

    # pkg-config finds the .pc under lib/ or lib/<multiarch>/.
    file(GLOB_RECURSE pc_files ${prefix}/*/url_shortener_client.pc)
    list(GET pc_files 0 pc_file)
    get_filename_component(pc_dir ${pc_file} DIRECTORY)
    # The static library links both ways: with --static, and without, as
    # the README's plain command does (Debian's -dev package is static only;
    # libpqxx and libpq were once private there, and that link failed).
    set(link_modes plain)
    if(kind STREQUAL static)
        list(APPEND link_modes static)
    endif()
    set(ENV{PKG_CONFIG_PATH} ${pc_dir})
    run_capture(cflags ${PKG_CONFIG} --cflags url_shortener_client)
    separate_arguments(cflags UNIX_COMMAND "${cflags}")
    get_filename_component(libdir ${pc_dir} DIRECTORY)
    foreach(mode ${link_modes})
        set(static_flag "")
        if(mode STREQUAL static)
            set(static_flag --static)
        endif()
        run_capture(libs ${PKG_CONFIG} ${static_flag} --libs url_shortener_client)
        separate_arguments(libs UNIX_COMMAND "${libs}")
        run_step(${CXX} -std=c++17 ${flags} ${cflags} ${work}/consumer-src/main.cpp -o
            ${work}/${kind}/consumer-pkg-config-${mode} ${libs})
        run_step(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir}
            ${work}/${kind}/consumer-pkg-config-${mode})
    endforeach()

    # The man page and the bash completion are installed where tools look.
    foreach(installed share/man/man1/url-shortener.1 share/bash-completion/completions/url-shortener)
        if(NOT EXISTS ${prefix}/${installed})
            message(FATAL_ERROR "${kind}: ${installed} was not installed")
        endif()
    endforeach()

    # 4: the installed CLI starts and says its version.
    run_capture(version ${prefix}/bin/url-shortener --version)
    if(NOT version MATCHES "^url-shortener [0-9]+\\.[0-9]+\\.[0-9]+")
        message(FATAL_ERROR "${kind} url-shortener --version printed: ${version}")
    endif()
endforeach()

# 4: the shared library exports the public API and hides src/.
file(GLOB_RECURSE shared_libraries ${work}/shared/prefix/*/liburl_shortener_client.so)
list(GET shared_libraries 0 shared_library)
run_capture(exported nm -D --defined-only -C ${shared_library})
foreach(public "url_shortener::Client::shorten" "url_shortener::InTransaction::InTransaction("
               "typeinfo for url_shortener::ConnectionLost" "url_shortener::client_version()")
    string(FIND "${exported}" "${public}" at)
    if(at EQUAL -1)
        message(FATAL_ERROR "the shared library does not export ${public}")
    endif()
endforeach()
# A defined symbol's name follows its address and type letter.
foreach(internal "url_shortener::text_array_literal" "url_shortener::backoff_delay"
                 "url_shortener::classify_failure" "url_shortener::ServerConnection"
                 "url_shortener::check_link_options" "pqxx::")
    string(FIND "${exported}" " ${internal}" at)
    if(NOT at EQUAL -1)
        message(FATAL_ERROR "the shared library exports ${internal}")
    endif()
endforeach()

file(REMOVE_RECURSE ${work})
message(STATUS "installed static and shared packages consumed through CMake and pkg-config")
