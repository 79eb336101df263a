#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_check_layout.sh - scripts/check-layout on small fixture trees: each rule fires, a clean tree passes
# Usage: test_check_layout.sh [path/to/check-layout]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
check=${1:-$here/scripts/check-layout}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# put FILE CONTENT: writes a fixture file under the current tree.
put() { mkdir -p "$(dirname "$tree/$1")"; printf '%s\n' "$2" >"$tree/$1"; }
new_tree() { tree=$tmp/$1; mkdir -p "$tree/shared" "$tree/controller" "$tree/edge"; }

# expect NAME STATUS PATTERN: runs the check on $tree; the exit status and one output line must match.
expect() {
    local out rc=0
    out=$("$check" --root "$tree" 2>&1) || rc=$?
    if [ "$rc" != "$2" ] || ! grep -qE -- "$3" <<<"$out"; then
        echo "FAIL $1: exit $rc (want $2), output:"; echo "$out"; fail=1
    else
        echo "ok   $1"
    fi
}

clean_tree() { # a lower module used by a higher one, one header per .c, allocation through mem.h
    new_tree "$1"
    put shared/mem.h '#include <stddef.h>
void *cp_xmalloc(size_t n);'
    put shared/mem.c '#include <stdlib.h>
#include "shared/mem.h"
void *cp_xmalloc(size_t n) { return malloc(n); /* the one place */ }'
    put controller/store/store.h 'int ctl_store_get(void);
typedef struct ctl_store ctl_store_t;'
    put controller/store/store.c '#include "controller/store/store.h"
#include "shared/mem.h"
static int helper(void) { return 1; }
int ctl_store_get(void) { char *s = "malloc(3) in a string"; (void)s; return helper(); }'
    put controller/work/work.h 'int ctl_work_run(void);'
    put controller/work/work.c '#include "controller/work/work.h"
#include "controller/store/store.h"
/* calls ctl_work_run() only in a comment; malloc(1) too */
int ctl_work_run(void) { return ctl_store_get(); }'
    put edge/main.c '#include "shared/mem.h"
int main(void) { return cp_xmalloc(1) == 0; }'
}

clean_tree clean
expect "clean tree passes" 0 '^$'

clean_tree cycle
put controller/store/a.h 'int ctl_a(void);'
put controller/store/a.c '#include "controller/store/a.h"
int ctl_b(void);
int ctl_a(void) { return ctl_b(); }'
put controller/store/b.c 'int ctl_c(void);
int ctl_b(void) { return ctl_c(); }'
put controller/store/c.c 'int ctl_a(void);
int g_count = 0;
int ctl_c(void) { return ctl_a() + g_count; }'
expect "3-file cycle is printed as a path" 1 \
    '^cycle: controller/store/a\.c -> controller/store/b\.c -> controller/store/c\.c -> controller/store/a\.c$'

clean_tree global
put controller/store/x.c 'extern int g_y; int g_x = 1; int ctl_x(void) { return g_y; }'
put controller/store/y.c 'extern int g_x; int g_y = 2; int ctl_y(void) { return g_x; }'
expect "a cycle through globals" 1 '^cycle: controller/store/x\.c -> controller/store/y\.c -> controller/store/x\.c$'

clean_tree layer
put controller/store/store.c '#include "controller/store/store.h"
#include "controller/work/work.h"
int ctl_store_get(void) { return 0; }'
expect "a lower layer including a higher one" 1 \
    '^layer: controller/store/store\.c includes controller/work/work\.h'

clean_tree edge_layer
put edge/main.c '#include "controller/store/store.h"
int main(void) { return 0; }'
expect "the edge including a controller header" 1 '^layer: edge/main\.c includes controller/store/store\.h'

clean_tree mixed
put controller/work/work_job.c 'int ctl_work__job(void) { return 0; }'
put controller/work/sched.c 'int ctl_work__tick(void) { return 0; }'
put controller/work/sched.h 'int ctl_work__tick(void);
int ctl_work__job(void);'
put controller/work/types.h 'int ctl_work__job(void);'
expect "a header declaring a function of another module" 1 \
    '^header: controller/work/sched\.h declares ctl_work__job\(\), defined in controller/work/work_job\.c, outside module controller/work/sched'
expect "a header of no module declaring a function" 1 \
    '^header: controller/work/types\.h declares ctl_work__job\(\), defined in controller/work/work_job\.c, outside module controller/work/types'

clean_tree module
put controller/work/work_job.c 'int ctl_work__job(void) { return 0; }'
put controller/work/work_internal.h 'int ctl_work__job(void);'
put controller/work/work.h 'int ctl_work_run(void);
int ctl_work__job(void);'
expect "a module's headers declaring its parts' functions" 0 ''

clean_tree alloc
put edge/main.c '#include <string.h>
#include <stdlib.h>
int main(void) { char *p = strdup("x"); void *q = calloc(1, 2); free(q); free(p); return 0; }'
expect "a raw strdup" 1 '^alloc: edge/main\.c:3: raw strdup\(\)'
expect "a raw calloc" 1 '^alloc: edge/main\.c:3: raw calloc\(\)'

clean_tree asprintf
put controller/cli/main.c '#include <stdio.h>
int main(void) { char *p; return asprintf(&p, "%d", 1); }'
expect "a raw asprintf" 1 '^alloc: controller/cli/main\.c:2: raw asprintf\(\)'

"$check" --help | grep -q 'cycle' || { echo "FAIL --help"; fail=1; }
exit $fail
