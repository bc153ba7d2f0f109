# libdoor — build, install, test.
#   make            build libdoor.so.1 (+ libdoor.so), libdoor.a, libdoor_preload.so and the door command
#   make deb        Debian packages libdoor1, libdoor-dev, door-tools, door-dkms (in target/deb/)
#   make demo       build everything and run the demo door server and client
#   make check      run every test (what CI runs)
#   make check-kmod build the /dev/door kernel module and test it in a qemu guest (kmod/README.md)
#   make bench-kmod benchmark the kernel backend in that guest (kmod/README.md)
#   make soak       the long soak test (>= 10^7 calls; CSV and plot in compat-tests/soak/results/)
#   make install PREFIX=/usr/local DESTDIR=   |   make uninstall
#   make man-lint   lint the man pages (man/) with mandoc
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
# Debug info of the installed libdoor.so.1 goes to a separate file here, in
# the layout gdb searches (its debug-file-directory, then the library's
# path); DEBUGINFO=0 installs none.
DEBUGDIR ?= $(PREFIX)/lib/debug
DEBUGINFO ?= 1
DESTDIR ?=
CARGO ?= cargo
CC ?= cc
# STRIP= installs the libraries unstripped (for packaging tools that strip
# and split the debug info themselves: make install STRIP= DEBUGINFO=0).
STRIP ?= strip
OBJCOPY ?= objcopy
# Run after installing into a system prefix (DESTDIR empty, PREFIX /usr or
# /usr/local, as root); LDCONFIG= skips it.
LDCONFIG ?= ldconfig
REL := target/release
# The version is written once, in Cargo.toml.
VERSION := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
HEADERS := door.h ucred.h stropts.h thread.h synch.h sys/door.h
MAN3 := $(notdir $(wildcard man/*.3c))
MAN7 := $(notdir $(wildcard man/*.7))
# Alias pages, installed as symlinks: NAME=PAGE (both in man3).
MANLINKS := $(shell sed -e 's/\#.*//' man/links 2>/dev/null)

.PHONY: all lib demo check check-kmod bench-kmod install uninstall ldconfig clean format-check bench soak man-lint version deb

all: lib

# The workspace: the library and the door command (tools/door).
lib:
	$(CARGO) build --release --locked --workspace
	ln -sf libdoor.so $(REL)/libdoor.so.1

# Copies what `make` built (it never runs cargo: under sudo there may be
# none on the PATH).
install:
	@test -f $(REL)/libdoor.so -a -f $(REL)/libdoor_preload.so -a -f $(REL)/door || { echo "make install: run 'make' first" >&2; exit 1; }
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/sys $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(REL)/door $(DESTDIR)$(BINDIR)/door
	[ -z "$(STRIP)" ] || $(STRIP) --strip-unneeded $(DESTDIR)$(BINDIR)/door
	install -m 644 man/door.1 $(DESTDIR)$(MANDIR)/man1/door.1
	# The .pc names this install's own PREFIX/LIBDIR, so it is written anew.
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    pkgconfig/libdoor.pc.in > $(REL)/libdoor.pc
	# Installed stripped; the debug info, if kept, goes to a separate file
	# that the library names (.gnu_debuglink). The build tree is untouched.
	rm -f $(REL)/libdoor.so.1.debug $(REL)/libdoor.so.1.stripped $(REL)/libdoor.a.stripped
	if [ -n "$(STRIP)" ]; then \
	    $(STRIP) --strip-unneeded -o $(REL)/libdoor.so.1.stripped $(REL)/libdoor.so && \
	    $(STRIP) --strip-debug -o $(REL)/libdoor.a.stripped $(REL)/libdoor.a; \
	else \
	    cp $(REL)/libdoor.so $(REL)/libdoor.so.1.stripped && cp $(REL)/libdoor.a $(REL)/libdoor.a.stripped; \
	fi
	if [ "$(DEBUGINFO)" = 1 ]; then \
	    $(OBJCOPY) --only-keep-debug $(REL)/libdoor.so $(REL)/libdoor.so.1.debug && \
	    chmod 644 $(REL)/libdoor.so.1.debug && \
	    (cd $(REL) && $(OBJCOPY) --add-gnu-debuglink=libdoor.so.1.debug libdoor.so.1.stripped) && \
	    install -d $(DESTDIR)$(DEBUGDIR)$(LIBDIR) && \
	    install -m 644 $(REL)/libdoor.so.1.debug $(DESTDIR)$(DEBUGDIR)$(LIBDIR)/libdoor.so.1.debug; \
	fi
	install -m 755 $(REL)/libdoor.so.1.stripped $(DESTDIR)$(LIBDIR)/libdoor.so.1
	ln -sf libdoor.so.1 $(DESTDIR)$(LIBDIR)/libdoor.so
	install -m 644 $(REL)/libdoor.a.stripped $(DESTDIR)$(LIBDIR)/libdoor.a
	# Preload mode (README): next to libdoor.so.1, which it loads from there.
	install -m 755 $(REL)/libdoor_preload.so $(DESTDIR)$(LIBDIR)/libdoor_preload.so
	[ -z "$(STRIP)" ] || $(STRIP) --strip-unneeded $(DESTDIR)$(LIBDIR)/libdoor_preload.so
	for h in $(HEADERS); do install -m 644 include/$$h $(DESTDIR)$(INCLUDEDIR)/$$h; done
	install -m 644 $(REL)/libdoor.pc $(DESTDIR)$(PKGCONFIGDIR)/libdoor.pc
	for m in $(MAN3); do install -m 644 man/$$m $(DESTDIR)$(MANDIR)/man3/$$m; done
	for m in $(MAN7); do install -m 644 man/$$m $(DESTDIR)$(MANDIR)/man7/$$m; done
	for l in $(MANLINKS); do ln -sf $${l#*=} $(DESTDIR)$(MANDIR)/man3/$${l%%=*}; done
	@$(MAKE) -s ldconfig

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libdoor.so.1 $(DESTDIR)$(LIBDIR)/libdoor.so $(DESTDIR)$(LIBDIR)/libdoor.a
	rm -f $(DESTDIR)$(DEBUGDIR)$(LIBDIR)/libdoor.so.1.debug
	rm -f $(DESTDIR)$(LIBDIR)/libdoor_preload.so
	for h in $(HEADERS); do rm -f $(DESTDIR)$(INCLUDEDIR)/$$h; done
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/libdoor.pc
	rm -f $(DESTDIR)$(BINDIR)/door $(DESTDIR)$(MANDIR)/man1/door.1
	for m in $(MAN3); do rm -f $(DESTDIR)$(MANDIR)/man3/$$m; done
	for m in $(MAN7); do rm -f $(DESTDIR)$(MANDIR)/man7/$$m; done
	for l in $(MANLINKS); do rm -f $(DESTDIR)$(MANDIR)/man3/$${l%%=*}; done
	@$(MAKE) -s ldconfig LDHINT=0

# Refreshes the dynamic linker's cache after (un)installing into a system
# prefix, so that programs find libdoor.so.1 at once. Anything else (a
# DESTDIR staging, another PREFIX, not root) is left alone, with a hint.
ldconfig:
	@[ -z "$(DESTDIR)" ] || exit 0; \
	case "$(LIBDIR)" in \
	/usr/lib|/usr/lib/*|/usr/lib64|/usr/local/lib|/usr/local/lib/*|/usr/local/lib64) \
	    if [ -n "$(LDCONFIG)" ] && [ "$$(id -u)" = 0 ]; then echo "$(LDCONFIG)"; eval "$(LDCONFIG)"; \
	    elif [ "$(LDHINT)" != 0 ]; then echo "note: run 'sudo ldconfig' so that programs find libdoor.so.1"; fi;; \
	*) [ "$(LDHINT)" = 0 ] || echo "note: $(LIBDIR) is not searched by the dynamic linker: link with -Wl,-rpath,$(LIBDIR) or set LD_LIBRARY_PATH";; \
	esac

# Every man page must lint clean (warnings count as failures); prints one
# line per page and `N passed, N failed`.
man-lint:
	@bash scripts/man-lint.sh

version:
	@echo $(VERSION)

demo: lib
	$(MAKE) -C demo run

check: lib
	bash scripts/check.sh

# The kernel module: build it, boot Debian's kernel under qemu, load it and
# run kmod/tests and the compat suite (LIBDOOR_BACKEND=kernel) there
# (installs qemu and the kernel headers as root).
check-kmod:
	bash kmod/scripts/guest.sh

# The kernel backend's benchmarks in one guest boot: door_call under both
# backends next to futex, pipe and memcpy, same CPU and different CPUs
# (table in benches/results/kmod.txt; see kmod/README.md).
bench-kmod:
	BENCH=1 bash kmod/scripts/guest.sh > kmod/build/bench.log 2>&1 || { tail -40 kmod/build/bench.log; exit 1; }
	mkdir -p benches/results
	python3 kmod/scripts/bench-report.py kmod/build/serial.txt benches/results/kmod.txt

# Benchmarks: door_call next to the IPC floors and alternatives (see benches/README.md).
bench: lib
	$(MAKE) -C benches run

# The C sources follow the Solaris style (cstyle), which clang-format cannot
# express, so only the Rust formatting is checked.
format-check:
	$(CARGO) fmt --check

clean:
	$(CARGO) clean
	$(MAKE) -C compat-tests clean
	$(MAKE) -C demo clean
	$(MAKE) -C compat-tests/soak clean

# Debian packages (debian/): libdoor1, libdoor-dev, door-tools, door-dkms in target/deb/.
# Built by dpkg-buildpackage from a copy of the tree (so dpkg's ../*.deb and
# the package build's own cargo output stay under target/deb), offline,
# from the crates that `cargo fetch` brings for the committed Cargo.lock.
deb:
	$(CARGO) fetch --locked
	rm -rf target/deb && mkdir -p target/deb/src
	tar --exclude=./target --exclude=./.git --exclude=./fuzz/target --exclude='./compat-tests/build*' --exclude=./kmod/build \
	    -cf - . | tar -xf - -C target/deb/src
	cd target/deb/src && dpkg-buildpackage -us -uc -b
	@ls target/deb/*.deb

# Soak: >= 10^7 door calls across 8 processes x 8 threads with descriptor
# passing, revoke, fork and fattach churn; writes
# compat-tests/soak/results/soak.{csv,png,txt} (see compat-tests/soak/soak.c).
soak: lib
	$(MAKE) -C compat-tests/soak full
