/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal test runner: TEST(name) defines a test, the ASSERT_* macros print what was
 * expected and what came, and the runner ends with one line "N passed, N failed" that
 * tests/run-all.sh and CI read. A failed assertion ends its test (not the run).
 *
 *   ./test_x            run every test
 *   ./test_x NAME...    run the tests whose names contain one of the NAMEs
 */
#ifndef ICMPWALL_TESTLIB_H
#define ICMPWALL_TESTLIB_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct test {
	const char *name;
	void (*fn)(void);
	struct test *next;
};

void test_register(struct test *t);
/* Set by the ASSERT macros when an assertion fails; the test returns at once. */
extern bool test_failed;
/* Optional hooks a test file may set from a constructor: run once before/after all. */
extern int (*test_setup_all)(void);
extern void (*test_teardown_all)(void);

#define TEST(name)								\
	static void test_##name(void);						\
	static struct test test_desc_##name = { #name, test_##name, NULL };	\
	__attribute__((constructor)) static void test_reg_##name(void)		\
	{									\
		test_register(&test_desc_##name);				\
	}									\
	static void test_##name(void)

#define TEST_FAIL(fmt, ...)							\
	do {									\
		fprintf(stderr, "    %s:%d: " fmt "\n", __FILE__, __LINE__,	\
			##__VA_ARGS__);						\
		test_failed = true;						\
	} while (0)

#define ASSERT_TRUE(cond)							\
	do {									\
		if (!(cond)) {							\
			TEST_FAIL("expected %s", #cond);			\
			return;							\
		}								\
	} while (0)

#define ASSERT_EQ(actual, expected)						\
	do {									\
		long long a_ = (long long)(actual), e_ = (long long)(expected);	\
		if (a_ != e_) {							\
			TEST_FAIL("%s: expected %lld, got %lld", #actual, e_, a_);	\
			return;							\
		}								\
	} while (0)

#define ASSERT_STR_EQ(actual, expected)						\
	do {									\
		const char *a_ = (actual), *e_ = (expected);			\
		if (!a_ || strcmp(a_, e_)) {					\
			TEST_FAIL("%s: expected \"%s\", got \"%s\"", #actual, e_,	\
				  a_ ? a_ : "(null)");				\
			return;							\
		}								\
	} while (0)

#define ASSERT_OK(err)								\
	do {									\
		long long e_ = (long long)(err);				\
		if (e_) {							\
			TEST_FAIL("%s: expected 0, got %lld (%s)", #err, e_,	\
				  strerror(e_ < 0 ? (int)-e_ : (int)e_));	\
			return;							\
		}								\
	} while (0)

#endif /* ICMPWALL_TESTLIB_H */
