# SPDX-License-Identifier: GPL-2.0
# Included by the top-level Makefile. `make fuzz`:
#   1. the differential test (tests/unit/test_differential.c) at length: FUZZ_PACKETS frames
#      (default 2000000) over FUZZ_POLICIES policies, from a random seed it prints
#      (ICMPWALL_SEED=N to replay one);
#   2. libFuzzer targets, built with clang -fsanitize=fuzzer,address,undefined into
#      $(BUILD)/fuzz/: fuzz_policy (policy_parse_buf, policy_show and the re-parse round
#      trip, policy_compile) and fuzz_cli (parse_args, the option helpers, --help), each run
#      for FUZZ_SECONDS (default 60) from its seed corpus tests/fuzz/corpus/<target>/; new
#      inputs go to $(BUILD)/fuzz/corpus/<target>/, crashes to $(BUILD)/fuzz/crashes/<target>/.
# Every part runs; the target fails if any of them failed.

FUZZ_DIR      := $(BUILD)/fuzz
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_PACKETS  ?= 2000000
FUZZ_POLICIES ?= $(shell echo $$(( $(FUZZ_PACKETS) / 400 + 1 )))
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   := -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -std=gnu11 -Wall -Wextra \
		 -Wno-unused-parameter -Werror -D_GNU_SOURCE -Iinclude -Iuser
FUZZ_TARGETS  := policy cli
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

# The CLI sources each target links (no main(), no system calls at the top level).
FUZZ_policy_OBJS := $(FUZZ_DIR)/user/policy.o $(FUZZ_DIR)/user/names.o
FUZZ_cli_OBJS    := $(FUZZ_DIR)/user/cli.o $(FUZZ_DIR)/user/log.o
FUZZ_cli_LIBS    := $(shell pkg-config --libs libxdp libbpf 2>/dev/null || echo -lxdp -lbpf)

.PHONY: fuzz fuzz-build

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/user:
	$(Q)mkdir -p $@

$(FUZZ_DIR)/user/%.o: user/%.c | $(FUZZ_DIR)/user
	$(call msg,CC-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_%.o: tests/fuzz/fuzz_%.c | $(FUZZ_DIR)/user
	$(call msg,CC-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@

.SECONDARY: $(FUZZ_BINS:%=%.o)
$(FUZZ_DIR)/fuzz_policy: $(FUZZ_policy_OBJS)
$(FUZZ_DIR)/fuzz_cli: $(FUZZ_cli_OBJS)
$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/fuzz_%.o
	$(call msg,LD-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(FUZZ_$*_LIBS) -o $@

-include $(wildcard $(FUZZ_DIR)/*.d $(FUZZ_DIR)/user/*.d)

# Not parallel inside: the parts share the CPUs and each reports its own numbers.
fuzz: tests $(FUZZ_BINS)
	$(Q)status=0; \
	seed=$${ICMPWALL_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "=== fuzz: differential test, seed $$seed, $(FUZZ_PACKETS) frames, about $(FUZZ_POLICIES) policies"; \
	start=$$(date +%s); \
	ICMPWALL_SEED=$$seed ICMPWALL_DIFF_PACKETS=$(FUZZ_PACKETS) \
		ICMPWALL_DIFF_POLICIES=$(FUZZ_POLICIES) $(BUILD)/tests/test_differential differential || \
		{ status=1; echo "=== fuzz: the differential test FAILED (seed $$seed)"; }; \
	echo "=== fuzz: differential test took $$(( $$(date +%s) - start )) s"; \
	for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/crashes/$$t; \
		echo "=== fuzz: $$t for $(FUZZ_SECONDS) s"; \
		$(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -dict=tests/fuzz/$$t.dict \
			-artifact_prefix=$(FUZZ_DIR)/crashes/$$t/ \
			$(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t > $(FUZZ_DIR)/$$t.log 2>&1; \
		rc=$$?; \
		grep -E '^(stat::number_of_executed_units|stat::peak_rss|INFO: seed corpus|#[0-9]+ +DONE|Done [0-9]+ runs)' $(FUZZ_DIR)/$$t.log; \
		if [ $$rc -ne 0 ]; then \
			status=1; tail -n 60 $(FUZZ_DIR)/$$t.log; \
			echo "=== fuzz: $$t FAILED (exit $$rc), input in $(FUZZ_DIR)/crashes/$$t/, log $(FUZZ_DIR)/$$t.log"; \
		fi; \
	done; \
	exit $$status
