# SPDX-License-Identifier: GPL-2.0
# freenos-mm: top-level targets.  The kernel build itself reads Kbuild.

# The newest installed kernel with a build tree (Debian's linux-headers).
KVER ?= $(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n1 | cut -d/ -f4)
KDIR ?= /lib/modules/$(KVER)/build

PREFIX ?= /usr/local
UDEVDIR ?= /etc/udev/rules.d

.PHONY: all modules clean kunit test demo tools install bench

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

bench:
	tools/bench/run.sh

# The module under /lib/modules/VER/extra, the uapi header, libfnmm with
# its pkg-config file, the fnmm CLI and the udev rule.  DESTDIR stages.
install: modules tools
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=extra \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) modules_install
	install -D -m 0644 include/uapi/linux/freenos-mm.h \
		$(DESTDIR)$(PREFIX)/include/linux/freenos-mm.h
	install -D -m 0644 tools/lib/libfnmm.h $(DESTDIR)$(PREFIX)/include/libfnmm.h
	mkdir -p $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	$(CC) -O2 -Wall -fPIC -Iinclude/uapi -c -o tools/bin/libfnmm.o \
		tools/lib/libfnmm.c
	rm -f $(DESTDIR)$(PREFIX)/lib/libfnmm.a
	ar rcs $(DESTDIR)$(PREFIX)/lib/libfnmm.a tools/bin/libfnmm.o
	sed 's|@PREFIX@|$(PREFIX)|' tools/install/libfnmm.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/libfnmm.pc
	install -m 0755 tools/bin/fnmm $(DESTDIR)$(PREFIX)/bin/fnmm
	install -D -m 0644 tools/install/60-freenos-mm.rules \
		$(DESTDIR)$(UDEVDIR)/60-freenos-mm.rules
