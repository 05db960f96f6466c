/* The runner behind tests/test.h: one line per test, then "N passed, N failed". */
#include "test.h"

int ant_test_main(int argc, char **argv, const struct ant_test_case *cases, size_t count)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        if (argc > 1) {
            int wanted = 0;
            for (int a = 1; a < argc; a++)
                wanted |= strcmp(argv[a], cases[i].name) == 0;
            if (!wanted)
                continue;
        }
        ant_test_failures = 0;
        fprintf(stderr, "[ RUN  ] %s\n", cases[i].name);
        cases[i].fn();
        if (ant_test_failures == 0) {
            passed++;
            fprintf(stderr, "[  OK  ] %s\n", cases[i].name);
        } else {
            failed++;
            fprintf(stderr, "[ FAIL ] %s (%d checks)\n", cases[i].name, ant_test_failures);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
