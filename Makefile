# SPDX-License-Identifier: GPL-2.0
# freenos-mm: top-level targets.  The kernel build itself reads Kbuild.

# The newest installed kernel with a build tree (Debian's linux-headers).
KVER ?= $(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n1 | cut -d/ -f4)
KDIR ?= /lib/modules/$(KVER)/build

.PHONY: all modules clean kunit test demo tools

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C tools clean

tools:
	$(MAKE) -C tools

kunit:
	tools/kunit/run.sh

test:
	tools/test-all.sh

demo:
	tools/demo.sh
