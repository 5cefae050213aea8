# SPDX-License-Identifier: GPL-2.0
# icmpwall - an XDP/eBPF ICMP filter with a userspace controller.
#
#   make            build build/icmpwall (the BPF object is embedded through a skeleton)
#   make check      install dependencies, build, run every test
#   make demo       install dependencies, build, run a two-namespace demo under a ping flood
#   make bench      benchmarks (timing lives here, never in check)
#   make fuzz       libFuzzer targets and the differential test at length (FUZZ_SECONDS=60)
#   make install    PREFIX=/usr/local DESTDIR=
#   V=1             show the commands
#   SAN=1           build with AddressSanitizer and UndefinedBehaviorSanitizer, in build/san/

.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

ifeq ($(SAN),1)
BUILD    ?= build/san
endif
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
# the multiarch directory of asm/types.h, as the BPF compiler (clang) names it
ARCH_INC := /usr/include/$(shell $(CLANG) -print-multiarch)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -Wall -Wextra -Wno-unused-parameter -Werror \
	      -Iinclude -Ibpf -I$(ARCH_INC)
# CFLAGS given on the command line replace the optimisation and debug flags only
CFLAGS   ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror -D_GNU_SOURCE \
	    -Iinclude -Iuser -I$(BUILD)
DEPFLAGS  = -MMD -MP
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
override CFLAGS  += $(SAN_FLAGS)
override LDFLAGS += $(SAN_FLAGS)
endif
LDLIBS   := $(shell pkg-config --libs libxdp libbpf 2>/dev/null || echo -lxdp -lbpf) -lelf -lz \
	    -lmicrohttpd -lpthread -lm

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
BIN       := $(BUILD)/icmpwall

.PHONY: all
all: $(BIN)

$(BUILD) $(BUILD)/user $(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name icmpwall_bpf > $@

# Made by pattern rules and named by no rule: kept, or the next make would build them again.
.SECONDARY: $(BPF_OBJS) $(SKELS)

# The version for --version, rewritten only when it changes, so that main.o follows it.
$(BUILD)/version.h: FORCE | $(BUILD)
	$(Q)v='#define ICMPWALL_VERSION "$(VERSION)"'; \
	[ "$$(cat $@ 2>/dev/null)" = "$$v" ] || echo "$$v" > $@
$(BUILD)/user/main.o: $(BUILD)/version.h
.PHONY: FORCE

# The skeleton must exist before the first compile; afterwards -MMD records who uses it.
$(BUILD)/user/%.o: user/%.c | $(BUILD)/user $(SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BIN): $(USER_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

-include $(BPF_OBJS:.o=.d) $(USER_OBJS:.o=.d)

# ---- tests -----------------------------------------------------------------------------

include tests/tests.mk
# make fuzz (libFuzzer targets, the differential test at length) and make bench
-include tests/fuzz/fuzz.mk
-include tests/bench/bench.mk

# ---- top-level commands ----------------------------------------------------------------

.PHONY: deps check demo install uninstall clean

deps:
	$(Q)scripts/install-deps.sh

# The unit tests twice: as built, then with the sanitizers (with the CLI's smoke checks).
check: deps
	$(Q)$(MAKE) --no-print-directory all tests
	$(Q)$(MAKE) --no-print-directory SAN=1 BUILD=$(BUILD)/san all tests
	$(Q)status=0; tests/run-all.sh $(BUILD) || status=1; \
	tests/run-san.sh $(BUILD)/san || status=1; exit $$status

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh $(BIN)

install: $(BIN)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX)/sbin/icmpwall)
	$(Q)install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/icmpwall

uninstall:
	$(Q)rm -f $(DESTDIR)$(PREFIX)/sbin/icmpwall

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)
