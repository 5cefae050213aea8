// SPDX-License-Identifier: GPL-2.0
#include "testlib.h"

#include <stdlib.h>

bool test_failed;
int (*test_setup_all)(void);
void (*test_teardown_all)(void);

static struct test *head, **tail = &head;

void test_register(struct test *t)
{
	*tail = t;
	tail = &t->next;
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (test_setup_all && test_setup_all()) {
		printf("setup failed\n0 passed, 1 failed\n");
		return 1;
	}
	for (struct test *t = head; t; t = t->next) {
		if (!selected(t->name, argc, argv))
			continue;
		test_failed = false;
		t->fn();
		printf("%s %s\n", test_failed ? "FAIL" : "ok  ", t->name);
		if (test_failed)
			failed++;
		else
			passed++;
	}
	if (test_teardown_all)
		test_teardown_all();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
