/*
 * A stand-in for a new ant-node binary in the validation, cache and CLI tests: a real ELF
 * executable for this host that answers `--version` like ant-node does, with the version
 * fixed at compile time (tests/upgrade/CMakeLists.txt builds one per test version), or
 * never answers (FAKE_HANG), to exercise the timeout.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--version") != 0)
        return 2;
#ifdef FAKE_HANG
    for (;;)
        pause();
#else
    printf("ant-node %s\n", FAKE_VERSION);
    return 0;
#endif
}
