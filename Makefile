# gradcam-study: build, run, test.
#   make          build bin/gradcam-study
#   make run      install missing packages, build, make the data, run the study, write REPORT.md
#   make data     export the default inputs from the committed weights
#   make train    retrain the networks (long; not part of CI)
#   make report   regenerate galleries, figures and REPORT.md from out/default
#   make test     install missing packages, build, run the whole test suite
#   make asan     the test suite under AddressSanitizer + UBSan (make test runs it too)
#   make valgrind memcheck on an end-to-end run
#   make bench    engine vs Python baseline vs raw-read roofline (out/bench, README figures)
#   make MPI=1    the engine against Open MPI + parallel HDF5, in bin-mpi/
#   make clean
# Libraries come from pkg-config (hdf5-serial named explicitly: installing the
# MPI flavour makes plain "hdf5" point to it).

CC      ?= gcc
BUILD   ?= build
BIN     ?= bin
OPT     ?= -O3
SAN     ?=
PY      := /usr/bin/python3
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

HDF5_CFLAGS := $(shell pkg-config --cflags hdf5-serial 2>/dev/null)
HDF5_LIBS   := $(shell pkg-config --libs hdf5-serial 2>/dev/null)
# Debian's static libhdf5.a when it is there (libhdf5-dev ships it): the shared
# library needs libcurl for an S3 driver this engine never uses, and with it
# about 30 more libraries that every process start maps and relocates (23 ms
# against 12 ms for `--help` here, and every run starts a process). The static
# archive is the same library and version; only what the engine calls is
# linked, and the S3 driver is not.
HDF5_A      := $(wildcard $(patsubst -L%,%,$(filter -L%,$(HDF5_LIBS)))/libhdf5.a)
ifneq ($(HDF5_A),)
HDF5_LIBS   := $(HDF5_A) -lsz -lz -ldl
endif
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
PNG_CFLAGS  := $(shell pkg-config --cflags libpng 2>/dev/null)
PNG_LIBS    := $(shell pkg-config --libs libpng 2>/dev/null)
CRYPTO_LIBS := $(shell pkg-config --libs libcrypto 2>/dev/null)
JANSSON_CFLAGS := $(shell pkg-config --cflags jansson 2>/dev/null)
JANSSON_LIBS   := $(shell pkg-config --libs jansson 2>/dev/null)
# LAPACK (eigencam: dsyevr through LAPACKE), Debian's reference LAPACK and BLAS
# (liblapacke-dev, liblapack-dev, libblas-dev: single-threaded, deterministic).
LAPACK_CFLAGS := $(shell pkg-config --cflags lapacke 2>/dev/null)
LAPACK_LIBS   := $(shell pkg-config --libs lapacke 2>/dev/null || echo -llapacke) -llapack -lblas

# make MPI=1: the same engine against Open MPI and parallel HDF5, in build-mpi/ and
# bin-mpi/ (the serial build stays the default and needs no MPI).
MPI     ?=
ifeq ($(MPI),1)
CC          := mpicc
BUILD       := build-mpi
BIN         := bin-mpi
HDF5_CFLAGS := $(shell pkg-config --cflags hdf5-openmpi 2>/dev/null) -DGCS_MPI
HDF5_LIBS   := $(shell pkg-config --libs hdf5-openmpi 2>/dev/null)
endif

WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes
CFLAGS  := -std=c11 -I. $(OPT) -fno-trapping-math -g $(WARN) -fopenmp $(SAN) $(HDF5_CFLAGS) $(PNG_CFLAGS) \
           $(JANSSON_CFLAGS) $(LAPACK_CFLAGS) \
           -DGCS_VERSION='"$(VERSION)"' -D_DEFAULT_SOURCE
LDFLAGS := -fopenmp -pthread $(SAN)
LDLIBS  := $(HDF5_LIBS) $(PNG_LIBS) $(CRYPTO_LIBS) $(JANSSON_LIBS) $(LAPACK_LIBS) -lm

# The tree is built by folder: every .c under kernels/, analysis/ and the folders of pipeline/
# (one wildcard each, no hand list). Two programs: the study's command (pipeline/main.c) and the
# benchmark driver (pipeline/tools/bench_main.c); everything else is one library both link, and
# each unit test links what it needs from it. Headers are found from the root ("kernels/cam.h");
# -MMD writes each object's header dependencies.
SRCDIRS  := kernels analysis $(sort $(patsubst %/,%,$(dir $(wildcard pipeline/*/*.c))))
SOURCES  := $(foreach d,$(SRCDIRS),$(wildcard $(d)/*.c)) pipeline/main.c
MAINS    := pipeline/main.c pipeline/tools/bench_main.c
LIBOBJ   := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(MAINS),$(SOURCES)))
TESTS    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))

.PHONY: all deps run test check-all asan asan-check valgrind fuzz clean data study report train bench

all: $(BIN)/gradcam-study $(BIN)/gradcam-bench

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(LIBOBJ:.o=.d) $(MAINS:%.c=$(BUILD)/%.d)

$(BUILD)/lib.a: $(LIBOBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/gradcam-study: $(BUILD)/pipeline/main.o $(BUILD)/lib.a
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BIN)/gradcam-bench: $(BUILD)/pipeline/tools/bench_main.o $(BUILD)/lib.a
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(BUILD)/lib.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $< $(BUILD)/lib.a $(LDFLAGS) $(CMOCKA_LIBS) $(LDLIBS) -o $@

-include $(TESTS:=.d)

deps:
	@scripts/install-deps.sh

# The default data: four taps of three networks trained on multi-object Fashion-MNIST scenes,
# exported from the committed weights (scripts/export.py). One command writes all four files
# (a grouped target); it reruns only when the weights or the export scripts are newer.
NETS        := vgg-relu gap-linear vgg-signed
WEIGHTS     := $(NETS:%=data/weights/%.pt)
DATA        := data/default/vgg-relu-post.h5 data/default/vgg-relu-pre.h5 \
               data/default/gap-linear.h5 data/default/vgg-signed.h5
EXPORT_DEPS := scripts/export.py scripts/gcexport.py scripts/scenes.py scripts/nets.py

$(DATA) &: $(WEIGHTS) $(EXPORT_DEPS)
	$(PY) scripts/export.py --weights data/weights --out data/default

# Retrain every network from scratch (about 30 minutes each on 2 cores; rewrites the committed
# weights and data/MODELS.md). Not part of CI; the weights have no rule on purpose.
train:
	$(PY) scripts/train.py --all
	$(PY) scripts/models_md.py

data: $(DATA)

# The study: the engine on the default data, then the galleries, the figures and REPORT.md.
# The summary the report is built from is kept in data/report/ (committed with REPORT.md and
# its figures), so a test can regenerate REPORT.md and check that it is not stale.
REPORT_DIR := data/report

# Question 6 runs the networks on the engine's maps, so the study is three steps: the maps
# (--features-only --save-maps: every variant's map, no scoring), the deletion and insertion
# curves per input through its network (scripts/causal.py, out/causal/curves-I.h5), then the
# full run, which reads the curves (--curves, one per input, in order) into summary.json.
CURVES := $(foreach i,0 1 2 3,out/causal/curves-$(i).h5)

study: all data
	$(BIN)/gradcam-study run -o out/maps --features-only --save-maps $(DATA)
	@mkdir -p out/causal
	@i=0; for f in $(DATA); do \
	    echo "$(PY) scripts/causal.py --input $$f --maps out/maps/maps-$$i.h5 --weights data/weights -o out/causal/curves-$$i.h5"; \
	    $(PY) scripts/causal.py --input $$f --maps out/maps/maps-$$i.h5 --weights data/weights \
	        -o out/causal/curves-$$i.h5 || exit 1; i=$$((i + 1)); done
	$(BIN)/gradcam-study run -o out/default --save-maps --tolerance 3 $(CURVES:%=--curves %) $(DATA)
	@echo "results in out/default (summary.json, targets.csv, signs.csv, maps-*.h5); curves in out/causal"
	@$(MAKE) --no-print-directory report

report: all
	@test -f out/default/summary.json || { echo "no out/default/summary.json: run 'make run' first"; exit 1; }
	@mkdir -p $(REPORT_DIR)
	rm -f $(REPORT_DIR)/*.png $(REPORT_DIR)/*.svg
	cp out/default/summary.json $(REPORT_DIR)/summary.json
	$(BIN)/gradcam-study gallery -o $(REPORT_DIR) --run out/default $(DATA)
	$(BIN)/gradcam-study report --out REPORT.md --figures $(REPORT_DIR) --models data/weights \
	    $(REPORT_DIR)/summary.json

run: deps
	@$(MAKE) --no-print-directory study

# The whole suite twice: as built, then under AddressSanitizer + UBSan.
test: deps
	@$(MAKE) --no-print-directory check-all
	@$(MAKE) --no-print-directory asan-check

# The plain pass also builds the MPI engine and checks it against the serial one
# (P = 2 and 3); the sanitizer pass does not (tests/run.sh says so).
check-all: all $(TESTS)
ifeq ($(SAN),)
	@$(MAKE) --no-print-directory MPI=1 all
	@BIN=$(BIN)/gradcam-study MPIBIN=bin-mpi/gradcam-study BUILD=$(BUILD) PY=$(PY) \
	    sh tests/run.sh $(TESTS)
else
	@BIN=$(BIN)/gradcam-study BUILD=$(BUILD) PY=$(PY) sh tests/run.sh $(TESTS)
endif

asan: deps
	@$(MAKE) --no-print-directory asan-check

asan-check:
	@echo "== the test suite under AddressSanitizer + UndefinedBehaviorSanitizer"
	@SUITE=sanitizers $(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/bin OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    check-all

# The benchmark (issue: speed): engine vs the Python baseline vs the raw-read roofline, side by
# side on generated ImageNet-shaped inputs; prints the tables, writes out/bench/ and puts the
# last figures into README.md (between the bench markers). BENCH_ARGS=--quick for a smoke test.
BENCH_ARGS ?=
bench: deps all
	$(PY) scripts/bench.py --out out/bench $(BENCH_ARGS)
	$(PY) scripts/splice_readme.py README.md out/bench/README-snippet.md bench

# valgrind memcheck on an end-to-end run (all variants, maps, intervals), check, gallery, report.
valgrind: all
	@mkdir -p out/valgrind
	$(PY) tests/make_fixture.py out/valgrind/in.h5 --seed 3 --images 6 --channels 8 \
	    --fh 6 --fw 6 --saliency --pixels --dtype f16
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    -q $(BIN)/gradcam-study run -o out/valgrind/out --threads 2 --save-maps \
	    --bootstrap 50 out/valgrind/in.h5
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    -q $(BIN)/gradcam-study check out/valgrind/in.h5
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    -q $(BIN)/gradcam-study gallery -o out/valgrind/gallery --run out/valgrind/out \
	    out/valgrind/in.h5
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    -q $(BIN)/gradcam-study report --out out/valgrind/REPORT.md \
	    --figures out/valgrind/fig out/valgrind/out/summary.json
	@echo "valgrind: clean"

# Fuzzing (libFuzzer, clang from Debian): the loader/validator and the summary reader, each for
# FUZZ_SECONDS. New crashing inputs land in tests/fuzz/crashes/ (commit them: the test suite
# replays every file there); the seed corpora are committed in tests/fuzz/seeds-*.
FUZZ_SECONDS ?= 60
# The summary harness links the whole library (summary.c holds the writer beside the
# reader, and the writer's callees reach most of the tree; clang's -fopenmp is libomp).
# fork mode keeps fuzzing past a finding (each is saved); a finding does not stop the
# second harness from running
FUZZ_KEEP    := -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
FUZZ_CC      := clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz: deps
	@mkdir -p build-fuzz/corpus-h5in build-fuzz/corpus-json tests/fuzz/crashes
	$(FUZZ_CC) $(HDF5_CFLAGS) tests/fuzz/fuzz_h5in.c $(wildcard pipeline/input/*.c) -I. \
	    $(HDF5_LIBS) $(CRYPTO_LIBS) -lm -o build-fuzz/fuzz_h5in
	$(FUZZ_CC) -fopenmp -std=c11 -D_DEFAULT_SOURCE $(HDF5_CFLAGS) $(PNG_CFLAGS) $(JANSSON_CFLAGS) \
	    $(LAPACK_CFLAGS) tests/fuzz/fuzz_summary.c $(filter-out $(MAINS),$(SOURCES)) -I. \
	    $(HDF5_LIBS) $(PNG_LIBS) $(CRYPTO_LIBS) $(JANSSON_LIBS) $(LAPACK_LIBS) -lm \
	    -o build-fuzz/fuzz_summary
	build-fuzz/fuzz_h5in -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 $(FUZZ_KEEP) \
	    -artifact_prefix=tests/fuzz/crashes/h5in- -print_final_stats=1 \
	    build-fuzz/corpus-h5in tests/fuzz/seeds-h5in || \
	    echo "fuzz_h5in: findings saved in tests/fuzz/crashes/ (libFuzzer exit $$?)"
	build-fuzz/fuzz_summary -max_total_time=$(FUZZ_SECONDS) -timeout=10 $(FUZZ_KEEP) \
	    -artifact_prefix=tests/fuzz/crashes/json- -print_final_stats=1 \
	    build-fuzz/corpus-json tests/fuzz/seeds-json || \
	    echo "fuzz_summary: findings saved in tests/fuzz/crashes/ (libFuzzer exit $$?)"
	@echo "fuzz: $$(ls tests/fuzz/crashes | wc -l) inputs in tests/fuzz/crashes/; make test replays them all"

clean:
	rm -rf build build-asan build-fuzz build-mpi bin bin-mpi out
