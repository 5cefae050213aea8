# SPDX-License-Identifier: GPL-2.0
# Included by the top-level Makefile: `make bench`. Timing lives here, never in `make check`.
#
#   make bench                 the micro benchmark, then the flood benchmark (about 6 minutes)
#   make bench BENCH_QUICK=1   a short run of both (about 2 minutes)
#   make bench-micro | bench-flood
#
# Tables go to the terminal; the same results as JSON to build/bench/micro.json and
# build/bench/flood.json. Environment: BENCH_REPEAT, BENCH_ROUNDS, BENCH_CPU (micro);
# BENCH_SECONDS, BENCH_ROUNDS, BENCH_CPU, BENCH_CONFIGS (flood). See docs/benchmarks.md.

BENCH_DIR  := $(BUILD)/bench
BENCH_BINS := $(BENCH_DIR)/micro $(BENCH_DIR)/xdpgen

.PHONY: bench bench-micro bench-flood bench-build

bench-build: $(BIN) $(BENCH_BINS)

bench: bench-build
	$(Q)$(BENCH_DIR)/micro -j $(BENCH_DIR)/micro.json
	$(Q)tests/bench/flood.sh $(BUILD)

bench-micro: bench-build
	$(Q)$(BENCH_DIR)/micro -j $(BENCH_DIR)/micro.json

bench-flood: bench-build
	$(Q)tests/bench/flood.sh $(BUILD)

$(BENCH_DIR):
	$(Q)mkdir -p $@

$(BENCH_DIR)/floor.bpf.o: tests/bench/floor.bpf.c | $(BENCH_DIR)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BENCH_DIR)/floor.skel.h: $(BENCH_DIR)/floor.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bench_floor > $@

$(BENCH_DIR)/%.o: tests/bench/%.c $(BENCH_DIR)/floor.skel.h | $(BENCH_DIR) $(SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(BENCH_DIR) $(DEPFLAGS) -c $< -o $@

# Linked like the unit tests: with the CLI's objects except main.o.
$(BENCH_DIR)/micro: $(BENCH_DIR)/micro.o $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BENCH_DIR)/xdpgen: $(BENCH_DIR)/xdpgen.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Made by pattern rules and named by no rule: kept, or the next make would build them again.
.SECONDARY: $(BENCH_DIR)/floor.bpf.o $(BENCH_DIR)/floor.skel.h $(BENCH_DIR)/micro.o \
	    $(BENCH_DIR)/xdpgen.o

-include $(BENCH_DIR)/floor.bpf.d $(BENCH_DIR)/micro.d $(BENCH_DIR)/xdpgen.d
