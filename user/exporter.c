// SPDX-License-Identifier: GPL-2.0
/*
 * exporter.c - `icmpwall exporter --listen ADDR:PORT [DEV...]`: /metrics over HTTP, served
 * by libmicrohttpd. Every scrape reads the maps afresh.
 */
#include "cli.h"
#include "log.h"
#include "maps.h"
#include "prom.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>

struct exporter {
	char **devs;
	int ndevs;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
			     const char *type, char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct exporter *e = cls;
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     strdup("only GET\n"), 9);
	if (strcmp(url, "/metrics")) {
		if (!strcmp(url, "/"))
			return reply(conn, MHD_HTTP_OK, "text/plain",
				     strdup("icmpwall exporter: see /metrics\n"), 32);
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", strdup("not found\n"), 10);
	}
	f = open_memstream(&body, &len);
	if (!f)
		return MHD_NO;
	if (prom_write(f, e->devs, e->ndevs)) {
		fclose(f);
		free(body);
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
			     strdup("cannot read icmpwall's maps\n"), 28);
	}
	fclose(f);
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

/* ADDR:PORT, [V6ADDR]:PORT or :PORT (every address). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2] = "";
	const char *colon = strrchr(s, ':');
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	uint64_t port;

	memset(ss, 0, sizeof(*ss));
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		goto bad;
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	if (parse_u64(colon + 1, 1, 65535, "port", &port))
		return -EINVAL;
	if (!*host || !strcmp(host, "[::]")) {
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_any;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return 0;
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			goto bad;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		goto bad;
	a4->sin_family = AF_INET;
	a4->sin_port = htons(port);
	*len = sizeof(*a4);
	return 0;
bad:
	pr_err("invalid --listen '%s' (ADDR:PORT, [IPV6]:PORT or :PORT)", s);
	return -EINVAL;
}

int cmd_exporter(struct cmd_args *a)
{
	const char *listen_at = opt_val(a, "listen");
	struct exporter e = { .devs = a->argv, .ndevs = a->argc };
	struct sockaddr_storage ss;
	struct MHD_Daemon *mhd;
	socklen_t sslen;
	sigset_t set;
	int fd, one = 1, zero = 0, sig;
	bool any6;

	if (!listen_at) {
		fprintf(stderr, "icmpwall: exporter needs --listen ADDR:PORT\n");
		return EXIT_USAGE;
	}
	if (parse_listen(listen_at, &ss, &sslen))
		return EXIT_USAGE;
	for (int i = 0; i < a->argc; i++)
		if (iw_check_ifname(a->argv[i]))
			return 1;
	any6 = ss.ss_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EAFNOSUPPORT && any6) {
		/* every address, on a kernel without IPv6: every IPv4 address */
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		in_port_t port = ((struct sockaddr_in6 *)&ss)->sin6_port;

		memset(&ss, 0, sizeof(ss));
		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
		a4->sin_port = port;
		sslen = sizeof(*a4);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	/* every address means IPv4 too, whatever net.ipv6.bindv6only says */
	if (fd >= 0 && ss.ss_family == AF_INET6 && any6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, sslen) || listen(fd, 64)) {
		pr_err("cannot listen on %s: %s", listen_at, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	/* signals go to this thread, not to libmicrohttpd's */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			       (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			       0, NULL, NULL, handle, &e,
			       MHD_OPTION_LISTEN_SOCKET, fd,
			       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
			       MHD_OPTION_END);
	if (!mhd) {
		pr_err("cannot start the HTTP server on %s", listen_at);
		close(fd);
		return 1;
	}
	fprintf(stderr, "icmpwall: serving http://%s/metrics\n", listen_at);
	sigwait(&set, &sig);
	MHD_stop_daemon(mhd);
	close(fd);
	return 0;
}
