# SPDX-License-Identifier: GPL-2.0
# Included by the top-level Makefile. Unit tests are C programs in tests/unit/test_*.c, each
# linked with tests/unit/testlib.c and the CLI's objects except main.o; end-to-end tests
# are scripts in tests/e2e/. tests/run-all.sh runs both.

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_OBJS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%.o,$(UNIT_SRCS) tests/unit/testlib.c)
# The CLI objects the unit tests link against: the ones with no command-line entry point.
LIB_OBJS  := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))
# The reference model of docs/semantics.md and the frame/policy generator (tests/model/).
MODEL_SRCS := $(wildcard tests/model/*.c)
MODEL_OBJS := $(patsubst tests/model/%.c,$(BUILD)/tests/model/%.o,$(MODEL_SRCS))

.PHONY: tests
tests: $(UNIT_BINS) $(BIN)

$(BUILD)/tests/model:
	$(Q)mkdir -p $@

$(BUILD)/tests/%.o: tests/unit/%.c | $(BUILD)/tests $(SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(DEPFLAGS) -c $< -o $@

$(BUILD)/tests/model/%.o: tests/model/%.c | $(BUILD)/tests/model
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(BUILD)/tests/testlib.o $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The differential test runs the XDP program against the model.
$(BUILD)/tests/test_differential: $(MODEL_OBJS)

# Made by pattern rules and named by no rule: kept, or the next make would build them again.
.SECONDARY: $(UNIT_OBJS)

-include $(UNIT_OBJS:.o=.d) $(MODEL_OBJS:.o=.d)
