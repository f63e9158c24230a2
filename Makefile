# url_shortener: PGXS build of the PostgreSQL extension (C++17).
#
#   make && make install            build and install into pg_config's tree
#   make installcheck               pg_regress + isolation tests against a running server
#                                   (run it under pg_virtualenv for a throwaway cluster)
#   make dist                       the PGXN release zip of HEAD, url_shortener-<version>.zip

MODULE_big = url_shortener
OBJS = \
	extension/entry_guard.o \
	extension/search_path_guard.o \
	extension/settings.o \
	extension/url_validation.o \
	extension/code_alphabet.o \
	extension/code_generator.o \
	extension/url_argument.o \
	extension/link_store.o \
	extension/direct_insert.o \
	extension/check_constraint_cache.o \
	extension/extension_locks.o \
	extension/citus_node.o \
	extension/shorten.o \
	extension/shorten_batch.o \
	extension/shorten_batch_keyed.o \
	extension/idempotency.o \
	extension/keyed_mac.o \
	extension/reserved_codes.o \
	extension/link_options.o \
	extension/edit.o \
	extension/lifecycle.o \
	extension/maintenance.o \
	extension/resolve.o \
	extension/module.o

# The control file lives in extension/ with the scripts, so it is installed
# through DATA (PGXS's EXTENSION variable expects it at the top level).
MODULEDIR = extension
DATA = extension/url_shortener.control extension/url_shortener--1.0.sql extension/url_shortener--1.0--1.1.sql \
	extension/url_shortener--1.1--1.2.sql extension/url_shortener--1.2.sql \
	extension/url_shortener--1.2--1.3.sql extension/url_shortener--1.3--1.4.sql \
	extension/url_shortener--1.4--1.5.sql extension/url_shortener--1.5--1.6.sql \
	extension/url_shortener--1.6--1.7.sql extension/url_shortener--1.7.sql
PGFILEDESC = "url_shortener - concurrency-safe short links inside PostgreSQL"

REGRESS = setup shorten resolve bad_input collisions locked shorten_urls lifecycle maintenance settings memory hostile_urls privileges upgrade upgrade_grants upgrade_1_2 schema_rename search_path_guard idempotency upgrade_1_3 base_script check_constraints lifecycle_at_version released_codes altered_table direct_insert
REGRESS_OPTS = --inputdir=$(srcdir)

ISOLATION = collision_retry collision_after_rollback locked_waits locked_lock_timeout locked_vs_optimistic batch_race batch_deadlock alias_claim click_limit concurrent_edit reuse_race purge_race collision_after_invalidation locked_fresh_snapshot purge_not_stalled schema_rename_open_session idempotency_race check_constraint_change snapshot_isolation_conflict change_at_version_vs_click release_vs_repeat release_while_going_past snapshot_isolation_click snapshot_isolation_release snapshot_isolation_stale_link snapshot_isolation_clicked_holder keyed_batch_lock keyed_batch_after_single_call keyed_batch_vs_single_call_rows keyed_batch_vs_single_on_released_code keyed_single_waits_for_stripe_on_released_code repeat_without_lock repeats_in_opposite_order batch_lock_timeout trigger_created_while_preparing trigger_created_on_side_table dropped_while_waiting code_taken_again_while_changing
ISOLATION_OPTS = --inputdir=$(srcdir)/test/isolation

SHLIB_LINK += -luriparser -lcrypto -lstdc++

# PostgreSQL 15's spinlock headers still say "register", which C++17
# removed; clang rejects it unless told otherwise.
PG_CXXFLAGS += -std=c++17 -Wno-register

# Recompile an object when a header it includes changes (PGXS writes the
# dependencies to .deps/; Makefile.global sets autodepend empty, hence override).
override autodepend = yes

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The LLVM bitcode step (with_llvm=yes on Debian) compiles the C++ sources a
# second time with clang for JIT inlining; it must see the same language
# level.  Makefile.global defines COMPILE.cxx.bc, so this follows the include.
COMPILE.cxx.bc += $(PG_CXXFLAGS)

# A VPATH build (pg_buildext builds in build-<version>/, as Debian's
# packaging does) writes the objects under extension/ in the build
# directory, which nothing else creates.
ifdef VPATH
$(shell mkdir -p extension)
endif

# PGXN release: a zip of the committed tree (git archive of HEAD, so no build
# outputs), named after META.json's version, which must be the control
# file's default_version in semantic-version form (1.1 -> 1.1.0).
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(srcdir)/extension/url_shortener.control)
DISTVERSION = $(if $(word 3,$(subst ., ,$(EXTVERSION))),$(EXTVERSION),$(EXTVERSION).0)
DISTZIP ?= url_shortener-$(DISTVERSION).zip

dist:
	@meta=$$(perl -MJSON::PP -0777 -ne '$$m = decode_json($$_); print "$$m->{version} $$m->{provides}{url_shortener}{version}"' $(srcdir)/META.json) && \
	test "$$meta" = "$(DISTVERSION) $(DISTVERSION)" || \
	    { echo "META.json says $$meta; extension/url_shortener.control says $(EXTVERSION), so both must be $(DISTVERSION)" >&2; exit 1; }
	@git -C $(srcdir) diff --quiet HEAD || echo "warning: uncommitted changes are not in $(DISTZIP)" >&2
	git -C $(srcdir) archive --format zip --prefix=url_shortener-$(DISTVERSION)/ -o $(abspath $(DISTZIP)) HEAD

.PHONY: dist
