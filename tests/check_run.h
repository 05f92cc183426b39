/* Runs a Check suite and returns the number of failed tests (0: all passed).
 * no_fork: run in-process (CK_NOFORK), for suites that keep one OpenCL
 * context across tests; otherwise each test runs in its own process. */
#ifndef PCL_TEST_CHECK_RUN_H
#define PCL_TEST_CHECK_RUN_H

#include <check.h>

static inline int pcl_check_run(Suite *suite, int no_fork)
{
    SRunner *runner = srunner_create(suite);
    if (no_fork) srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed;
}

#endif
