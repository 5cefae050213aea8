/* SPDX-License-Identifier: GPL-2.0 */
/* csum.h - the Internet checksum of the frames the tests and benchmarks build (test_xdp.c,
 * tests/bench/micro.c, tests/bench/xdpgen.c). */
#ifndef ICMPWALL_TESTS_CSUM_H
#define ICMPWALL_TESTS_CSUM_H

#include <arpa/inet.h>
#include <stddef.h>

/* Adds len bytes at buf, as 16-bit big-endian words, to sum. */
static inline unsigned int sum16(unsigned int sum, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (unsigned int)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (unsigned int)p[len - 1] << 8;
	return sum;
}

/* The checksum field for sum, in network order. */
static inline unsigned short csum(unsigned int sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((unsigned short)~sum);
}

#endif
