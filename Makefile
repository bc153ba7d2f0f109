# libdoor — build, install, test.
#   make            build libdoor.so.1 (+ libdoor.so), libdoor.a and libdoor_preload.so
#   make demo       build everything and run the demo door server and client
#   make check      run every test (what CI runs)
#   make soak       the long soak test (>= 10^7 calls; CSV and plot in compat-tests/soak/results/)
#   make install PREFIX=/usr/local DESTDIR=   |   make uninstall
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=
CARGO ?= cargo
CC ?= cc
REL := target/release
VERSION := 1.0.0
HEADERS := door.h ucred.h stropts.h thread.h sys/door.h

.PHONY: all lib demo check install uninstall clean format-check bench soak

all: lib

lib:
	$(CARGO) build --release --locked --workspace
	ln -sf libdoor.so $(REL)/libdoor.so.1

# Copies what `make` built (it never runs cargo: under sudo there may be
# none on the PATH).
install:
	@test -f $(REL)/libdoor.so && test -f $(REL)/libdoor_preload.so || { echo "make install: run 'make' first" >&2; exit 1; }
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/sys $(DESTDIR)$(PKGCONFIGDIR)
	# The .pc names this install's own PREFIX/LIBDIR, so it is written anew.
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    pkgconfig/libdoor.pc.in > $(REL)/libdoor.pc
	install -m 755 $(REL)/libdoor.so $(DESTDIR)$(LIBDIR)/libdoor.so.1
	ln -sf libdoor.so.1 $(DESTDIR)$(LIBDIR)/libdoor.so
	install -m 644 $(REL)/libdoor.a $(DESTDIR)$(LIBDIR)/libdoor.a
	# Preload mode (README): next to libdoor.so.1, which it loads from there.
	install -m 755 $(REL)/libdoor_preload.so $(DESTDIR)$(LIBDIR)/libdoor_preload.so
	for h in $(HEADERS); do install -m 644 include/$$h $(DESTDIR)$(INCLUDEDIR)/$$h; done
	install -m 644 $(REL)/libdoor.pc $(DESTDIR)$(PKGCONFIGDIR)/libdoor.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libdoor.so.1 $(DESTDIR)$(LIBDIR)/libdoor.so $(DESTDIR)$(LIBDIR)/libdoor.a
	rm -f $(DESTDIR)$(LIBDIR)/libdoor_preload.so
	for h in $(HEADERS); do rm -f $(DESTDIR)$(INCLUDEDIR)/$$h; done
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/libdoor.pc

demo: lib
	$(MAKE) -C demo run

check: lib
	bash scripts/check.sh

# Benchmarks: door_call next to the IPC floors and alternatives (see benches/README.md).
bench: lib
	$(MAKE) -C benches run

format-check:
	$(CARGO) fmt --check
	clang-format --dry-run --Werror compat-tests/*.c compat-tests/*.h compat-tests/abi/*.c compat-tests/preload/*.c demo/*.c

clean:
	$(CARGO) clean
	$(MAKE) -C compat-tests clean
	$(MAKE) -C demo clean
	$(MAKE) -C compat-tests/soak clean

# Soak: >= 10^7 door calls across 8 processes x 8 threads with descriptor
# passing, revoke, fork and fattach churn; writes
# compat-tests/soak/results/soak.{csv,png,txt} (see compat-tests/soak/soak.c).
soak: lib
	$(MAKE) -C compat-tests/soak full
